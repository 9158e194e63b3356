"""Neighbour evidence of the claim classifier: nearest labelled posts, compact and text-free."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from analysis.claim_neighbours import NEIGHBOUR_NAMES, NeighbourIndex

TRAIN = [
    "uống nước muối ấm chữa khỏi virus corona chia sẻ ngay",
    "tỏi sống mỗi sáng giúp không bao giờ nhiễm bệnh",
    "bộ y tế ghi nhận thêm 12 ca mắc mới đều đã cách ly",
    "thành phố tổ chức tiêm vắc xin cho người trên 65 tuổi",
]
LABELS = [1, 1, 0, 0]


@pytest.fixture(scope="module")
def fitted():
    vectorizer = TfidfVectorizer().fit(TRAIN)
    return vectorizer, NeighbourIndex.fit(vectorizer.transform(TRAIN), np.array(LABELS))


def test_near_copy_takes_its_neighbours_label(fitted):
    vectorizer, index = fitted
    posts = [
        "uống nước muối ấm chữa khỏi virus corona, chia sẻ ngay nhé",  # repost of a rumour
        "bộ y tế ghi nhận thêm 12 ca mắc mới",  # repost of a bulletin
    ]
    rumour, bulletin = index.features(vectorizer.transform(posts))
    assert len(rumour) == len(NEIGHBOUR_NAMES)
    assert rumour[0] > 0.8 > rumour[1] and rumour[2] > 0.9
    assert bulletin[1] > 0.7 > bulletin[0] and bulletin[2] < 0.1


def test_unrelated_post_gets_the_base_rate(fitted):
    vectorizer, index = fitted
    (features,) = index.features(vectorizer.transform(["hoàn toàn khác"]))
    assert features[0] == features[1] == 0.0
    assert features[2] == pytest.approx(np.mean(LABELS))


def test_index_is_compact_and_survives_pickling(fitted):
    vectorizer, index = fitted
    assert index.values.dtype == np.float16 and index.indices.dtype == np.uint16
    copy = pickle.loads(pickle.dumps(index))
    assert "_matrix" not in copy.__dict__  # rebuilt after loading, never saved
    x = vectorizer.transform(TRAIN)
    assert copy.features(x) == pytest.approx(index.features(x))
    # a training post finds itself (float16 values: cosine 1 within rounding)
    assert index.features(x)[:, :2].max(axis=1) == pytest.approx(1.0, abs=1e-2)


def test_no_training_text_is_kept(fitted):
    _, index = fitted
    blob = pickle.dumps(index)
    for text in TRAIN:
        for word in text.split():
            if len(word) > 3:
                assert word.encode("utf-8") not in blob


def test_empty_inputs():
    index = NeighbourIndex.fit(np.zeros((0, 3)), np.zeros(0))
    assert index.features(np.ones((2, 3))).shape == (2, len(NEIGHBOUR_NAMES))


def _users_posting_twice() -> tuple[list, list[int]]:
    """16 users, each posting one text twice (a copy stays with its user), 8 per label."""
    from analysis.claim_model import ClaimExample

    topics = ["tỏi", "gừng", "chanh", "muối", "sả", "rượu", "mật ong", "lá xông"]
    places = ["Hà Nội", "Đà Nẵng", "Huế", "Cần Thơ", "Hải Phòng", "Vinh", "Nha Trang", "Sóc Trăng"]
    examples, labels = [], []
    for user in range(16):
        label = user % 2
        topic, place = topics[user // 2], places[(user * 3) % 8]
        if label:
            text = f"chia sẻ ngay uống {topic} chữa khỏi virus, tin từ {place} nhóm {user}"
        else:
            text = f"Sở Y tế {place} thông báo lịch tiêm chủng đợt {user}, mang theo {topic}"
        for copy in range(2):
            examples.append(ClaimExample(text, {"likes": 10 + copy}, group=f"user-{user}"))
            labels.append(label)
    return examples, labels


def test_neighbours_never_see_the_scored_post_or_its_user(monkeypatch):
    """Out-of-fold in training and in cross-validation: each post's copy (same user) is never
    in the index that scores it, so no similarity reaches 1; the shipped index has them all."""
    from analysis import claim_neighbours
    from analysis.claim_model import train_claim_classifier
    from analysis.claim_training import cross_validate

    seen: list[np.ndarray] = []
    original = claim_neighbours.NeighbourIndex.features

    def spy(self, vectors, k=claim_neighbours.DEFAULT_NEIGHBOURS):
        out = original(self, vectors, k)
        seen.append(out)
        return out

    monkeypatch.setattr(claim_neighbours.NeighbourIndex, "features", spy)
    examples, labels = _users_posting_twice()
    model = train_claim_classifier(examples, labels)
    assert seen, "the inner folds compute neighbour features"
    assert max(out[:, :2].max() for out in seen) < 0.99
    seen.clear()
    cross_validate(examples, labels, k=2)
    assert seen and max(out[:, :2].max() for out in seen) < 0.99
    # positive control: the fitted model's index holds every training post
    assert len(model.neighbours.labels) == len(examples)
    seen.clear()
    model.predict_proba(examples[:4])
    assert seen[-1][:, :2].max(axis=1) == pytest.approx(1.0, abs=1e-2)
