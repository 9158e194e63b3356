"""CRF features for named entities: same strings as underthesea's Rust featurizer, same tags."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from analysis import text as text_module
from analysis.crf_features import TemplateFeaturizer, is_title
from analysis.crfsuite_model import model_attributes
from analysis.text import extract_entities, tag_entities, tokenize_words

SENTENCES = [
    "Ông Putin ca ngợi những thành tựu vĩ đại của Liên Xô",
    "Bộ Y tế họp khẩn tại Hà Nội chiều 12/3 về dịch Covid-19.",
    "Sở GD&ĐT TP.HCM cho học sinh nghỉ đến hết tháng 3!!!",
    "CHIA SẺ NGAY: uống nước chanh nóng diệt virus corona",
    "Thủ tướng Nguyễn Xuân Phúc chỉ đạo Đà Nẵng, Quảng Nam cách ly",
    "a",
]
MODEL_FILES = {
    "pos": "pos_tag/pos_crf_2017_10_11.bin",
    "chunk": "chunking/chunk_crf_2017_10_12.bin",
    "ner": "ner/ner_crf_2017_10_12.bin",
}
TEMPLATES = {
    "pos": text_module._POS_TEMPLATE,
    "chunk": text_module._CHUNK_TEMPLATE,
    "ner": text_module._NER_TEMPLATE,
}


def _model_path(name: str) -> Path:
    import underthesea.pipeline as pipeline

    return Path(pipeline.__file__).resolve().parent / MODEL_FILES[name]


def _sentences() -> list[list[str]]:
    """Real sentences plus random odd ones (case-changing letters, digits, marks, new code points)."""
    rng = random.Random(7)
    alphabet = "aAđĐÀàẫẪ ΣσİıΑ1_.!\u1c89\ua7cb"
    odd = [
        ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(size)]
        for size in [rng.randint(1, 7) for _ in range(200)]
    ]
    return [tokenize_words(s) for s in SENTENCES] + odd


def _rust_features(template: list[str], columns: list[list[str]]) -> list[list[str]]:
    """underthesea_core's featurizer with ``istitle`` by the training-time rule."""
    from underthesea_core import CRFFeaturizer

    rows = [list(row) for row in zip(*columns, strict=True)]
    features = CRFFeaturizer(template, set()).process([rows])[0]
    titles = [(i, int(n[2:].split("]")[0]), n) for i, n in enumerate(template) if ".istitle" in n]
    for i, token in enumerate(features):
        for index, offset, name in titles:
            if 0 <= i + offset < len(rows):
                token[index] = f"{name}={is_title(rows[i + offset][0])}"
    return features


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_features_equal_the_rust_featurizer(name: str) -> None:
    template = TEMPLATES[name]
    known = model_attributes(_model_path(name).read_bytes())
    every = TemplateFeaturizer(template, reference_lower=text_module._rust_lower)
    filtered = TemplateFeaturizer(template, known=known, reference_lower=text_module._rust_lower)
    rng = random.Random(3)
    for sentence in _sentences():
        words = [text_module._safe_word(word) for word in sentence]
        tags = [[rng.choice(["N", "V", "Np", "CH", "B-NP"]) for _ in words] for _ in range(2)]
        columns = [words, *tags, ["X"] * len(words)]
        expected = _rust_features(template, columns)
        assert [list(t) for t in every.features(columns)] == expected
        assert [list(t) for t in filtered.features(columns)] == [
            [f for f in token if f in known] for token in expected
        ]


def test_python_lower_equals_rust_lower_on_every_known_code_point() -> None:
    """The premise of the featurizer's fallback: only unassigned characters differ."""
    from underthesea_core import CRFFeaturizer

    words = [
        f"a{chr(code)}b"
        for code in range(1, 0x110000)
        if not 0xD800 <= code < 0xE000
        and not chr(code).isspace()
        and unicodedata.category(chr(code)) != "Cn"
    ]
    features = CRFFeaturizer(["T[0].lower"], set()).process([[[w] for w in words]])[0]
    differ = [w for w, (f,) in zip(words, features, strict=True) if f != f"T[0].lower={w.lower()}"]
    assert differ == []


@pytest.mark.parametrize("name", sorted(MODEL_FILES))
def test_model_attributes_reads_every_name(name: str) -> None:
    from underthesea_core import CRFModel

    data = _model_path(name).read_bytes()
    names = model_attributes(data)
    assert len(names) == CRFModel.load(str(_model_path(name))).num_attributes
    assert "T[0].istitle=True" in names or "T[0].istitle=False" in names


def test_model_attributes_rejects_other_bytes() -> None:
    data = _model_path("ner").read_bytes()
    with pytest.raises(ValueError, match="magic"):
        model_attributes(b"XXXX" + data[4:])
    with pytest.raises(ValueError):
        model_attributes(data[:200])


@pytest.mark.parametrize(
    "entry", ["T[0,1].lower", "T[0][1].istitle", "T[1,0]", "W[0]", "T[0].upper"]
)
def test_unsupported_template_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        TemplateFeaturizer([entry], reference_lower=str.lower)


def test_ner_reads_no_chunk_tags() -> None:
    assert 2 not in text_module._ner_stages()[2].featurizer.columns


@pytest.mark.parametrize("sentence", SENTENCES)
def test_tags_and_entities_equal_underthesea_ner(sentence: str) -> None:
    from underthesea import ner

    rows = [tuple(row) for row in ner(sentence)]
    tokens = tokenize_words(sentence)
    assert tag_entities(tokens) == rows
    # entities without the chunk stage: the spans underthesea's tags give
    expected, span = [], []
    for word, _pos, _chunk, tag in [*rows, ("", "", "", "O")]:
        if tag.startswith("I-") and span and tag[2:] == span[1]:
            span[0].append(word)
            continue
        if span and (" ".join(span[0]), span[1]) not in expected:
            expected.append((" ".join(span[0]), span[1]))
        span = [[word], tag[2:]] if tag.startswith(("B-", "I-")) else []
    assert [(e.text, e.type) for e in extract_entities(tokens)] == expected
