"""Vietnamese text layer: normalisation, matching form, diacritics, language, entities."""

from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.folding import CONTEXT_FOLD
from analysis.language import EN_STOPWORDS, VI_STOPWORDS
from analysis.matching import MATCH_WORD, words_and_folds
from analysis.text import (
    canonical_terms,
    canonical_tokens,
    detect_language,
    diacritics_ratio,
    extract_entities,
    fold_diacritics,
    normalize_text,
    segment_words,
    tag_entities,
    tokenize_words,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hoà bình", "hòa bình"),
        ("Thuỷ điện", "Thủy điện"),
        (unicodedata.normalize("NFD", "Hà Nội"), "Hà Nội"),
        ("  Hà   Nội \n\n\n  mưa ", "Hà Nội\n\nmưa"),
    ],
)
def test_normalize_text_one_tone_convention_and_nfc(raw: str, expected: str) -> None:
    out = normalize_text(raw)
    assert out == expected
    assert unicodedata.is_normalized("NFC", out)


#: Words that the tone-mark table rewrites, words it keeps, and separators (including the
#: underscore, a word character, and "ð", which underthesea's character table rewrites).
_MIXED_TEXT = st.lists(
    st.sampled_from(
        [
            *(
                "hoà",
                "Hoà",
                "thuỷ",
                "THUỶ",
                "oà",
                "loè",
                "hòa",
                "nước",
                "ðã",
                "ð",
                "Ðoàn",
                "covid19",
            ),
            *("_", " ", "  ", "\n", "\n\n", "-", ".", "hoà_bình", "xhoà", "hoàx", "1hoà", "\u0300"),
        ]
    ),
    max_size=30,
).map("".join)


@given(_MIXED_TEXT)
def test_normalize_text_rewrites_exactly_the_words_the_token_table_rewrites(text: str) -> None:
    """Only the changed words are replaced now; the result is still each \\w+ word of the
    NFC text through the token table, as a call per word gave it."""
    import re

    from analysis.text import _normalize_token

    nfc = unicodedata.normalize("NFC", text)
    by_word = re.sub(r"\w+", lambda match: _normalize_token(match.group()), nfc)
    lines = [
        re.sub(r"[ \t\u00a0\u200b\u202f]+", " ", line).strip() for line in by_word.splitlines()
    ]
    expected = re.sub(r"\n\s*\n+", "\n\n", "\n".join(lines)).strip()
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dịch cô vít ở Hà Nội", "dich covid o ha noi"),
        ("co vit lan nhanh", "covid lan nhanh"),
        ("Cô-vi đang lan", "covid dang lan"),
        ("C0VID-19 lan nhanh", "covid19 lan nhanh"),
        ("covy", "covid"),
        ("tiêm vắc xin", "tiem vacxin"),
        ("tiêm vắc-xin", "tiem vacxin"),
        ("vaccine", "vacxin"),
        ("vác xin", "vacxin"),
        ("vaxin", "vacxin"),
        ("SARS-CoV-2", "sarscov2"),
        ("F0 ko dc ra ngoài", "f0 khong duoc ra ngoai"),
        ("đc k", "duoc khong"),
        ("coronavirus", "virus corona"),
        # ordinary words that only look like obfuscations stay as they are
        ("có vịt trong ao", "co vit trong ao"),
        ("có vị ngọt", "co vi ngot"),
    ],
)
def test_canonical_terms(text: str, expected: str) -> None:
    assert canonical_terms(text) == expected


def test_canonical_tokens_keep_spans_of_the_written_words() -> None:
    text = "Dịch cô vít ở Hà Nội"
    tokens = canonical_tokens(text)
    covid = next(t for t in tokens if t.form == "covid")
    assert text[covid.start : covid.end] == "cô vít"


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Hà Nội hôm nay trời mưa to", 0.5, 1.0),
        ("dich covid o ha noi", 0.0, 0.0),
        ("", 0.0, 0.0),
    ],
)
def test_diacritics_ratio(text: str, low: float, high: float) -> None:
    assert low <= diacritics_ratio(text) <= high


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hà Nội ghi nhận thêm ca mắc mới trong cộng đồng", "vi"),
        ("dich covid o ha noi dang lan rong, nguoi dan khong nen ra duong", "vi"),
        ("The outbreak is spreading fast and the hospitals are full", "en"),
        ("新型冠状病毒肺炎疫情在全球蔓延", "other"),
        ("ok", "unknown"),
        ("", "unknown"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_fold_diacritics() -> None:
    assert fold_diacritics("Đà Nẵng") == "da nang"
    assert fold_diacritics("ΟΔΟΣ Σ") == "οδος σ"  # final sigma: folded by context


def _reference_fold(text: str) -> str:
    """fold_diacritics as first written: NFD, drop combining marks, NFC, lower case."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


def _reference_ratio(text: str) -> float:
    """diacritics_ratio as first written: word by word over the same-length fold."""
    pairs = [
        (text[m.start() : m.end()], m.group())
        for m in MATCH_WORD.finditer(fold_diacritics(text, keep_length=True))
        if not m.group().isdigit()
    ]
    marked = sum(1 for word, folded in pairs if not word.isascii() and folded.isascii())
    return marked / len(pairs) if pairs else 0.0


_VARIED_TEXTS = [
    "Đà Nẵng ghi nhận 12 ca mắc COVID-19, tỏi và gừng KHÔNG chữa được!!!",
    unicodedata.normalize("NFD", "Thủy điện Hòa Bình xả lũ"),
    "dich covid o ha noi, x² + ٣ = ½ café naïve İstanbul ﬁnal",
    "ΟΔΟΣ Σ σοφία ἀλήθεια, 안녕하세요 한국어, ဦ ဥ\u102e\u1037\u102e, नमस्ते, ཀ\u0fb5",
    "新型冠状病毒 🙂 ＡＢＣ１２３ tiếng Việt",
    "",
]


def test_fold_diacritics_equals_its_definition_on_varied_text() -> None:
    rng = random.Random(7)
    pool = [
        chr(code)
        for code in [
            *range(32, 0x250),
            *range(0x300, 0x370),
            *range(0x1E00, 0x1F00),
            *(0x3A3, 0x3C3, 0x1025, 0x102E, 0x1037, 0xAC00, 0x1161, 0x11A8, 0x4E00, 0x0E01),
            *(0x130, 0x2460, 0xB2, 0x663, 0xFF10, 0xFB01, 0x1F600, 0x0F92, 0x0FB7),
        ]
    ]
    texts = _VARIED_TEXTS + ["".join(rng.choices(pool, k=rng.randint(1, 12))) for _ in range(3000)]
    for text in texts:
        assert fold_diacritics(text) == _reference_fold(text), repr(text)
        assert diacritics_ratio(text) == _reference_ratio(text), repr(text)


def test_fold_cache_guard_covers_every_composing_pair() -> None:
    """Per-character folding is only exact outside the characters that compose as a pair's
    second half with combining class 0 (a stripped mark between two of them joins them)."""
    second_halves = {*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)}  # Hangul jamo
    for code in range(0x20000):
        decomposition = unicodedata.decomposition(chr(code)).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            second = int(decomposition[1], 16)
            if unicodedata.combining(chr(second)) == 0:
                second_halves.add(second)
    uncovered = [hex(c) for c in second_halves if not CONTEXT_FOLD.match(chr(c))]
    assert uncovered == []


def test_segment_words_joins_syllables() -> None:
    assert "Hà_Nội" in segment_words("Tôi sống ở Hà Nội")
    assert "Hà Nội" in tokenize_words("Tôi sống ở Hà Nội")


def test_tag_entities_matches_underthesea_ner() -> None:
    from underthesea import ner

    sentence = "Ông Putin ca ngợi những thành tựu vĩ đại của Liên Xô"
    assert tag_entities(tokenize_words(sentence)) == [tuple(row) for row in ner(sentence)]


def test_extract_entities_types_and_order() -> None:
    tokens = tokenize_words("Ông Putin ca ngợi Liên Xô. Bộ Y tế họp tại Hà Nội.")
    entities = [(e.text, e.type) for e in extract_entities(tokens)]
    assert ("Putin", "PER") in entities
    assert ("Hà Nội", "LOC") in entities
    assert entities.index(("Putin", "PER")) < entities.index(("Hà Nội", "LOC"))


def test_extract_entities_survives_odd_tokens() -> None:
    # a token made of underscores or spaces crashed the Rust featurizer once
    entities = extract_entities(["______", " ", "Hà Nội", "."])
    assert all(entity.type in {"PER", "LOC", "ORG", "MISC"} for entity in entities)
    assert "______" not in [entity.text for entity in entities]


@pytest.mark.parametrize(
    "text",
    [
        "cô vít lại bùng phát, co-vi ko đáng sợ",
        "Món này có vị cay, tks cả nhà",
        "corona virus và SARS-CoV-2, F0 đi cách ly",
        "Uong nuoc chanh nong pha mat ong luc doi la virus corona chet ngay!!!",
        "Vắc-xin, vacxin, vaccine: tiêm mũi nhắc lại ở Đà Nẵng",
        "",
    ],
)
def test_canonical_forms_equal_canonical_tokens(text):
    """The fast string form the Covid detector uses gives the same tokens and spans."""
    from analysis.text import canonical_forms

    tokens = canonical_tokens(text)
    forms = canonical_forms(text)
    assert forms.forms == [token.form for token in tokens]
    for index, token in enumerate(tokens):
        assert forms.span(index, index) == (token.start, token.end)


def test_letter_counts_equal_a_list_of_letters() -> None:
    """letter_counts is the count of ``[^\\W\\d_]`` matches and of the upper-case ones."""
    import re

    from analysis.text import letter_counts

    rng = random.Random(11)
    pool = [chr(c) for c in [*range(32, 0x250), *range(0x370, 0x400), 0x1C5, 0x2160, 0x24B6]]
    pool += ["Đ", "Ễ", "ǅ", "_", "٣", "\U0001d400"]
    texts = _VARIED_TEXTS + ["".join(rng.choices(pool, k=rng.randint(0, 30))) for _ in range(2000)]
    for text in texts:
        letters = re.findall(r"[^\W\d_]", text)
        assert letter_counts(text) == (len(letters), sum(map(str.isupper, letters))), repr(text)


def test_fold_each_equals_folding_each_word() -> None:
    from analysis.text import fold_each

    rng = random.Random(5)
    pool = [*"aĐễ_ΣΟσ ", "\n", "İ", "한", "\u0fb5", "ǅ"]
    words = _VARIED_TEXTS + ["".join(rng.choices(pool, k=rng.randint(0, 6))) for _ in range(400)]
    for size in (0, 1, 2, 5, 40):
        for start in range(0, len(words), 37):
            chunk = words[start : start + size]
            assert fold_each(chunk) == [fold_diacritics(word) for word in chunk], chunk
    assert fold_each(["Nước_Muối", "COVID", "Đà_Nẵng"]) == ["nuoc_muoi", "covid", "da_nang"]


def test_folded_text_is_already_lower_case() -> None:
    """The signals detector relies on it (it does not lower-case folded text again)."""
    rng = random.Random(9)
    pool = [chr(c) for c in [*range(32, 0x250), *range(0x370, 0x400), 0x130, 0x1E9E, 0x2126]]
    texts = _VARIED_TEXTS + ["".join(rng.choices(pool, k=rng.randint(0, 20))) for _ in range(2000)]
    for text in texts:
        assert fold_diacritics(text).lower() == fold_diacritics(text), repr(text)


def _reference_language(text: str, min_words: int = 3) -> str:
    """detect_language's definition on folded words (character by character, in Python)."""
    pairs = [(w, f) for w, f in words_and_folds(text)]
    folded = [f for _, f in pairs]
    letters = sum(map(len, folded))
    non_latin = sum(1 for f in folded for ch in f if not ch.isascii() and ch.isalpha())
    if letters >= 4 * min_words and non_latin / letters > 0.5:
        return "other"
    if len(folded) < min_words:
        return "unknown"
    if sum(1 for f in folded if f.isascii()) / len(folded) < 0.5:
        return "other"
    # a word with diacritics is non-ASCII as written and ASCII once folded
    ratio = sum(1 for w, f in pairs if not w.isascii() and f.isascii()) / len(pairs)
    if ratio >= 0.2 and ratio * len(folded) >= 2:
        return "vi"
    vi_hits = sum(1 for f in folded if f in VI_STOPWORDS)
    en_hits = sum(1 for w, f in pairs if f in EN_STOPWORDS and w.isascii())
    if en_hits > vi_hits and en_hits / len(folded) >= 0.08:
        return "en"
    return "vi" if vi_hits / len(folded) >= 0.08 or ratio >= 0.2 else "other"


def test_detect_language_equals_its_definition() -> None:
    rng = random.Random(13)
    pool = [chr(c) for c in [*range(32, 0x250), *range(0x370, 0x400), *range(0x1E00, 0x1F00)]]
    pool += ["½", "Ⅻ", "〇", "²", "١", "０", "中", "ก", "한", "İ", "ı", "ſ"]
    words = ["the", "and", "là", "của", "½", "Ⅻ", "abc", "đi", "²", "١٢", "ﬁ", "Việt", "of"]
    texts = _VARIED_TEXTS + ["".join(rng.choices(pool, k=rng.randint(0, 40))) for _ in range(3000)]
    texts += [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(3000)]
    for text in texts:
        assert detect_language(text) == _reference_language(text), repr(text)
