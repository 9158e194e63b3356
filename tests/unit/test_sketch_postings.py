"""Bounded lookups in the LSH postings: a key many sketches hold, a cluster of many copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from index import clusters, sketch_postings
from index.clusters import postings_candidates
from index.documents import Document, document_id
from index.sketch_postings import Postings
from index.sqlite import SqliteStore

NUM_PERM = 8
HOT_KEY = 2  # band keys are even, sentence fingerprints odd


def _postings(holders: int) -> Postings:
    """``holders`` sketches sharing :data:`HOT_KEY`, each with a key of its own too."""
    postings = Postings(NUM_PERM)
    for rowid in range(holders):
        own = 1_000 + 2 * rowid
        postings.add(
            rowid,
            np.full(NUM_PERM, rowid, dtype=np.uint32),
            50,
            np.array([HOT_KEY, own], dtype=np.int64),
            0,
        )
    return postings


@pytest.mark.parametrize("holders", [3_000, 20_000])  # the keys in the buffer / sorted tiers
def test_a_key_held_by_thousands_of_sketches_finds_only_its_newest_holders(holders: int) -> None:
    postings = _postings(holders)
    found = postings.lookup([HOT_KEY])
    # At most the cap from each sorted tier, plus the unsorted buffer of the latest keys.
    bound = 2 * sketch_postings.MAX_POSTINGS_PER_KEY + sketch_postings.BUFFER_KEYS
    assert sketch_postings.MAX_POSTINGS_PER_KEY <= len(found.slots) <= bound
    assert int(postings.rowids[found.slots].max()) == holders - 1  # the newest is among them
    assert int(postings.rowids[found.slots].min()) >= holders - bound


def test_candidates_per_text_are_capped_keeping_those_sharing_most_keys() -> None:
    postings = _postings(3_000)
    # The text shares the hot key with every sketch, and its own key too with sketch 2,999.
    shared_two = np.array([HOT_KEY, 1_000 + 2 * 2_999], dtype=np.int64)
    found = postings_candidates(postings, [shared_two], exclude_rowids=[-1], min_fingerprints=2)
    assert len(found) == clusters.MAX_CANDIDATES
    best = int(np.argmax(found.bands))
    assert found.bands[best] == 2
    assert postings.rowids[found.refs[found.ref[best]]] == 2_999


RUMOUR = (
    "Một bác sĩ giấu tên ở bệnh viện tuyến tỉnh cho biết virus trú ngụ ở cổ họng vài ngày "
    "trước khi xuống phổi. Chỉ cần súc miệng và uống một cốc nước muối ấm pha đặc ba lần mỗi "
    "ngày là virus sẽ bị tiêu diệt hoàn toàn, người bệnh khỏi hẳn mà không cần dùng thuốc. "
    "Đây là cách rẻ tiền mà hiệu quả nhưng ít ai nói cho người dân biết, vì vậy mỗi gia đình "
    "nên dự trữ vài ký muối hột trong nhà."
)


def _copy(number: int, when: datetime) -> Document:
    url = f"https://trang{number}.example.vn/bai/{number}"
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        site=f"trang{number}.example.vn",
        source="test",
        kind="social",
        title="",
        text=f"Chia sẻ lần {number}: {RUMOUR}",
        published_at=when.isoformat(),
        fetched_at=when.isoformat(),
    )


def test_a_copy_of_a_rumour_with_more_copies_than_the_caps_joins_its_cluster(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(sketch_postings, "MAX_POSTINGS_PER_KEY", 4)
    monkeypatch.setattr(clusters, "MAX_CANDIDATES", 3)
    store = SqliteStore(tmp_path / "index.db")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    copies = [_copy(number, start + timedelta(minutes=number)) for number in range(33)]
    store.upsert(copies[:30])
    store.upsert(copies[30:])  # a later write: found through the stored postings
    cluster_ids = {store.get(doc.id).cluster_id for doc in copies}
    assert len(cluster_ids) == 1
    store.close()
