"""One folding for the analysis and both stores: the same results as the four foldings it
replaced (the analysis' same-length fold, the SQLite index's and highlighter's table, the
Elasticsearch search copy), character by character, wherever they agreed with each other."""

from __future__ import annotations

import unicodedata
from functools import cache

import pytest

from analysis.folding import fold_diacritics
from index.elastic_dsl import folded_copy

# -- the previous implementations, verbatim in substance ---------------------------------------


def _old_same_length_table() -> dict[int, str]:
    """analysis.text._fold_same_length: A-Z and Latin letters whose fold is one character."""
    table = {code: chr(code + 32) for code in range(ord("A"), ord("Z") + 1)}
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        folded = fold_diacritics(chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    return table


_OLD_SAME_LENGTH = _old_same_length_table()


def _old_fast_fold_table() -> list[str]:
    """index.query.fast_fold: a list over code points below 0x2000, combining marks dropped."""
    table: list[str] = []
    for code in range(0x2000):
        char = chr(code)
        if code >= 0x80 and unicodedata.combining(char):
            table.append("")
            continue
        folded = fold_diacritics(char) if code >= 0x80 else char
        table.append(folded if folded != char.lower() else char)
    return table


_OLD_FAST = _old_fast_fold_table()


def _old_fast_fold(text: str, *, lower: bool = True) -> str:
    folded = text.translate(_OLD_FAST)
    return folded.lower() if lower else folded


@cache
def _old_folded_char(char: str) -> str:
    """index.elastic_dsl._folded_char before it called the one folding."""
    import re

    if not re.match(r"[^\W_]", char):
        return " "
    folded = fold_diacritics(char)
    if len(folded) == 1:
        return folded
    lower = char.lower()
    return lower if len(lower) == 1 else char


VIETNAMESE = (
    "Đà Nẵng, Hà Nội, Thừa Thiên Huế, Quảng Ngãi, Bắc Ninh, Khánh Hòa, Ðồng Tháp; "
    "ắằẳẵặ ấầẩẫậ éèẻẽẹ ếềểễệ íìỉĩị óòỏõọ ốồổỗộ ớờởỡợ úùủũụ ứừửữự ýỳỷỹỵ ĂÂÊÔƠƯĐ "
    "CHIA SẺ NGAY: uống nước chanh nóng diệt virus corona!!! Crème brûlée, São Paulo"
)


def test_vietnamese_folds_the_same_everywhere() -> None:
    folded = fold_diacritics(VIETNAMESE)
    assert fold_diacritics(VIETNAMESE, keep_length=True) == folded
    assert folded == _old_fast_fold(VIETNAMESE)
    assert folded == VIETNAMESE.translate(_OLD_SAME_LENGTH)
    assert folded_copy(VIETNAMESE) == "".join(map(_old_folded_char, VIETNAMESE))
    assert folded.startswith("da nang, ha noi, thua thien hue")


def test_same_length_fold_keeps_offsets() -> None:
    for char in ["ß", "İ", "\u0301", "ǰ", "ﬁ", "Σ"]:
        assert len(fold_diacritics(f"a{char}b", keep_length=True)) == 3


@pytest.mark.parametrize("block", [range(0, 0x3000), range(0x3000, 0x10000)])
def test_search_copy_equals_the_old_elasticsearch_fold(block: range) -> None:
    """Every code point of the BMP: the ES ``*_f`` copy is unchanged, so no reindex."""
    for code in block:
        char = chr(code)
        assert folded_copy(char) == _old_folded_char(char), hex(code)


def test_analysis_fold_equals_the_old_one_on_latin() -> None:
    """The matching form is unchanged for ASCII and the Latin blocks (Vietnamese included);
    elsewhere it now also folds and lower-cases (Greek, Cyrillic...), as the stores did."""
    for code in [*range(0x20, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        old = char.translate(_OLD_SAME_LENGTH)
        if not unicodedata.combining(char):
            assert fold_diacritics(char, keep_length=True) == old.lower(), hex(code)


def test_index_and_highlight_fold_equal_the_old_table() -> None:
    """Below 0x2000, the SQLite ``*_f`` columns (case is folded by the FTS5 tokenizer) and the
    highlighter's folded text are what the old table gave, except where the old table changed
    the length (it dropped lone combining marks and expanded a few Tibetan letters, and the
    highlighter then fell back to token by token): the one folding keeps the length."""
    for code in range(0x2000):
        char = chr(code)
        if code >= 0x80 and unicodedata.combining(char):
            assert _old_fast_fold(char) == ""
            assert fold_diacritics(char, keep_length=True) == char
            continue
        assert fold_diacritics(char) == _old_fast_fold(char, lower=False).lower(), hex(code)
        if len(_old_fast_fold(char)) != 1:
            assert len(fold_diacritics(char, keep_length=True)) == 1, hex(code)
            continue
        assert fold_diacritics(char, keep_length=True) == _old_fast_fold(char), hex(code)
