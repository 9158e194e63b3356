"""Named entities: the fast CRF path tags exactly as underthesea's public ``ner`` does, and
steps aside (with a warning) when it would not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis.entities import CHECK_SENTENCES, extract_entities, is_title, tag_entities
from analysis.text import tokenize_words

SENTENCES = [
    *CHECK_SENTENCES,
    "Bộ Y tế họp khẩn tại Hà Nội chiều 12/3 về dịch Covid-19.",
    "Sở GD&ĐT TP.HCM cho học sinh nghỉ đến hết tháng 3!!!",
    "CHIA SẺ NGAY: uống nước chanh nóng diệt virus corona",
    "Thủ tướng Nguyễn Xuân Phúc chỉ đạo Đà Nẵng, Quảng Nam cách ly",
    "a",
]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_fast_path_rows_equal_underthesea_ner(sentence: str) -> None:
    from underthesea import ner

    assert tag_entities(tokenize_words(sentence)) == [tuple(row) for row in ner(sentence)]


def test_is_title_is_every_syllable_capitalised() -> None:
    assert is_title("Hà Nội") and is_title("TP.HCM")
    assert not is_title("Hà nội") and not is_title("") and not is_title("đi")


_FALLBACK = """
import json, warnings
import underthesea
real = underthesea.ner
# a library whose NER disagrees with the fast path: everything is a place
underthesea.ner = lambda sentence, *a, **k: [(*row[:3], "B-LOC") for row in real(sentence)]
from analysis.entities import extract_entities, tag_entities
from analysis.text import tokenize_words
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    rows = tag_entities(tokenize_words("Ông Putin ca ngợi Liên Xô"))
print(json.dumps({"warnings": [str(w.message) for w in caught], "tags": [r[3] for r in rows]}))
"""


def test_a_disagreeing_library_turns_the_fast_path_off_with_a_warning() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FALLBACK], capture_output=True, text=True, check=True, timeout=120
    )
    out = json.loads(result.stdout)
    assert any("fast CRF path is off" in message for message in out["warnings"])
    assert out["tags"] and set(out["tags"]) == {"B-LOC"}  # the library's own answer


def test_extract_entities_merges_b_and_i_tags_in_order() -> None:
    tokens = tokenize_words("Bà Nguyễn Thị Lan đến thăm Bệnh viện Chợ Rẫy ở TP.HCM.")
    entities = [(entity.text, entity.type) for entity in extract_entities(tokens)]
    assert ("Nguyễn Thị Lan", "PER") in entities
    assert entities.index(("Nguyễn Thị Lan", "PER")) == 0
