"""The sketch of a text (analysis/near_duplicates.py): pure functions, no store."""

from __future__ import annotations

import random

import numpy as np
import pytest

from analysis import near_duplicates
from analysis.near_duplicates import (
    SketchParams,
    containment,
    estimated_jaccard,
    is_fingerprint,
    shared_count,
    shingle_hashes,
    sketch,
    text_similarity,
    words,
)

STORY = (
    "Sở Y tế Hà Nội cho biết trong tuần qua thành phố ghi nhận 120 ca mắc mới, phần lớn ở các "
    "quận nội thành. Ngành y tế khuyến cáo người cao tuổi và người có bệnh nền đi tiêm mũi nhắc "
    "lại trước mùa lạnh. Người dân nên đeo khẩu trang ở nơi đông người và đến cơ sở y tế khi có "
    "triệu chứng sốt, ho hoặc khó thở để được khám và điều trị kịp thời."
)
OTHER = (
    "Giá xăng trong nước được điều chỉnh tăng từ chiều nay theo kỳ điều hành mới của liên bộ. "
    "Các doanh nghiệp đầu mối cho biết nguồn cung vẫn được bảo đảm cho thị trường cuối năm, "
    "trong khi giá dầu thế giới biến động mạnh sau quyết định cắt giảm sản lượng."
)


def exact_jaccard(first: str, second: str) -> float:
    a, b = set(shingle_hashes(words(first)).tolist()), set(shingle_hashes(words(second)).tolist())
    return len(a & b) / len(a | b)


def test_words_are_folded_syllables() -> None:
    assert words("Đà Nẵng: 5 ca, THUỶ điện") == ["da", "nang", "5", "ca", "thuy", "dien"]
    assert words("") == []


def test_a_text_below_the_minimum_has_an_empty_sketch() -> None:
    short = sketch("chỉ ba từ", SketchParams())
    assert short.empty and short.size == 0 and len(short.keys) == 0


def test_the_same_text_with_or_without_diacritics_has_the_same_sketch() -> None:
    plain = near_duplicates._fold(STORY)
    first, second = sketch(STORY), sketch(plain)
    assert np.array_equal(first.signature, second.signature)
    assert np.array_equal(first.keys, second.keys)
    assert estimated_jaccard(first.signature, second.signature) == 1.0


def test_band_keys_are_even_and_sentence_fingerprints_odd() -> None:
    drawn = sketch(STORY)
    params = SketchParams()
    bands = [key for key in drawn.keys.tolist() if not is_fingerprint(key)]
    prints = [key for key in drawn.keys.tolist() if is_fingerprint(key)]
    assert len(bands) == params.num_perm // params.rows
    # Two fingerprints for each of the three sentences long enough to have them.
    assert 3 <= len(prints) <= 6


def test_an_edit_elsewhere_in_a_sentence_keeps_one_of_its_fingerprints() -> None:
    edited = STORY.replace("ghi nhận 120 ca mắc mới", "ghi nhận thêm 125 ca mắc mới")
    before = {key for key in sketch(STORY).keys.tolist() if is_fingerprint(key)}
    after = {key for key in sketch(edited).keys.tolist() if is_fingerprint(key)}
    # The two untouched sentences keep both of theirs; the edited one usually keeps one.
    assert len(before & after) >= 4


@pytest.mark.parametrize("share", [0.1, 0.3])
def test_the_signature_estimates_the_jaccard_of_an_edited_copy(share: float) -> None:
    rng = random.Random(7)
    tokens = (STORY + " " + STORY.replace("Hà Nội", "Hải Phòng")).split()
    edited = [rng.choice(OTHER.split()) if rng.random() < share else token for token in tokens]
    copy = " ".join(edited)
    original = " ".join(tokens)
    truth = exact_jaccard(original, copy)
    estimate = estimated_jaccard(sketch(original).signature, sketch(copy).signature)
    # 128 permutations: about 0.04 standard deviation around these values.
    assert abs(estimate - truth) < 0.15
    assert estimated_jaccard(sketch(original).signature, sketch(OTHER).signature) < 0.05


def test_containment_finds_a_quoted_post_inside_a_longer_text() -> None:
    commentary = (
        "Các chuyên gia khẳng định những lời khuyên không rõ nguồn gốc trên mạng xã hội không "
        "thay thế được chỉ dẫn của cơ quan y tế, và người dân chỉ nên tin các nguồn chính thống "
        "như trang của Bộ Y tế, Sở Y tế các tỉnh thành và các cơ quan báo chí được cấp phép."
    )
    article = f"{OTHER} Một bài viết lan truyền có nội dung: {STORY} {commentary}"
    assert containment(STORY, article) == 1.0
    assert containment(OTHER, STORY) < 0.05
    # Reported as containment when the shorter text is at most half the longer one.
    similarity, how = text_similarity(STORY, article)
    assert how == "containment" and similarity == 1.0
    assert text_similarity(STORY, STORY) == (1.0, "jaccard")


def test_the_word_hash_cache_starts_over_at_its_limit(monkeypatch) -> None:
    cache = near_duplicates._WordHashes()
    monkeypatch.setattr(near_duplicates._WordHashes, "LIMIT", 3)
    hashes = [cache[word] for word in ("mot", "hai", "ba", "bon", "nam")]
    assert len(cache) <= 3
    assert hashes[0] == cache["mot"]  # recomputed after the reset: the same value


def test_shared_count_counts_the_values_two_shingle_sets_have_in_common() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        pool = rng.integers(0, 2**32, 400, dtype=np.uint64)
        first = np.unique(rng.choice(pool, int(rng.integers(0, 300))))
        second = np.unique(rng.choice(pool, int(rng.integers(0, 300))))
        expected = len(set(first.tolist()) & set(second.tolist()))
        assert shared_count(first, second) == expected == shared_count(second, first)
    high = np.array([2**32 - 1], dtype=np.uint64)  # past the other's last value
    assert shared_count(high, np.array([1, 2], dtype=np.uint64)) == 0
    assert shared_count(np.zeros(0, dtype=np.uint64), high) == 0


@pytest.mark.parametrize(
    "text",
    [
        STORY,
        OTHER,
        "Tin nóng: 3.5 triệu liều vắc-xin... đã về! Bộ Y tế; TP.HCM: 1.200 ca\nDòng mới_x y",
        "BN17 ở Vĩnh Phúc -- cách ly 14 ngày?? Ổ dịch mới… phong tỏa  khu phố\n\n" * 3,
    ],
)
def test_a_sketch_keeps_the_shingles_of_its_whole_text(text: str) -> None:
    # The clusterer checks stored texts exactly with the shingles of their recent sketches
    # instead of hashing the texts again: the two must be the same set.
    assert np.array_equal(sketch(text).shingles, shingle_hashes(words(text)))
