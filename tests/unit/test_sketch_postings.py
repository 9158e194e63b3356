"""Bounded lookups in the LSH postings: a key many sketches hold, a cluster of many copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from index import clusters, postings_files, sketch_postings
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


def _random_operations(seed: int, postings: list[Postings]) -> None:
    """The same adds, re-adds, bulk loads and removals applied to each of ``postings``,
    with keys drawn from a small range (600) so that many sketches share them."""
    rng = np.random.default_rng(seed)
    for _ in range(600):
        action = rng.random()
        rowid = int(rng.integers(0, 400))
        if action < 0.05:
            for each in postings:
                each.remove(rowid)
        elif action < 0.15:
            count = int(rng.integers(1, 40))
            rowids = rng.integers(0, 400, size=count).tolist()
            signatures = rng.integers(0, 2**32, size=(count, NUM_PERM), dtype=np.uint32)
            keys = [rng.integers(0, 600, size=int(rng.integers(0, 30))) for _ in range(count)]
            for each in postings:
                each.add_many(rowids, signatures, [50] * count, keys, [3] * count)
        else:
            signature = rng.integers(0, 2**32, size=NUM_PERM, dtype=np.uint32)
            keys = rng.integers(0, 600, size=int(rng.integers(0, 60)))
            for each in postings:
                each.add(rowid, signature, int(rng.integers(1, 99)), keys, 2)


@pytest.mark.parametrize("seed", range(4))
def test_postings_spilled_to_files_answer_exactly_as_in_memory(
    tmp_path, monkeypatch, seed: int
) -> None:
    # Small tiers and blocks, so that keys span blocks and the files are merged many times.
    monkeypatch.setattr(sketch_postings, "BUFFER_KEYS", 256)
    monkeypatch.setattr(sketch_postings, "MAX_POSTINGS_PER_KEY", 9)
    monkeypatch.setattr(postings_files, "BLOCK", 4)
    monkeypatch.setattr(postings_files, "MERGE_CHUNK", 64)
    if seed % 2:  # a filter at its size limit lets absent keys through: still exact
        monkeypatch.setattr(postings_files, "FILTER_MAX_BYTES", 16)
    in_memory = Postings(NUM_PERM)
    spilled = Postings(NUM_PERM, spill_directory=tmp_path, memory_keys=500, memory_slots=50)
    _random_operations(seed, [in_memory, spilled])
    assert spilled.spilled_bytes() > spilled.count * NUM_PERM * 4  # keys and signatures
    assert spilled.nbytes() < in_memory.nbytes()
    assert len(spilled) == len(in_memory)
    rng = np.random.default_rng(seed + 100)
    texts = [rng.integers(0, 600, size=int(rng.integers(1, 80))) for _ in range(40)]
    exclude = rng.integers(-1, 400, size=40).tolist()
    expected = in_memory.lookup_batch(texts, exclude_rowids=exclude)
    found = spilled.lookup_batch(texts, exclude_rowids=exclude)
    assert len(expected.slots) > 100
    for column in ("query", "slots", "bands", "fingerprints"):
        np.testing.assert_array_equal(getattr(found, column), getattr(expected, column))
    slots = np.unique(expected.slots)
    np.testing.assert_array_equal(spilled.signatures_of(slots), in_memory.signatures_of(slots))
    spilled.close()
    assert not list(tmp_path.iterdir())  # anonymous files: nothing left behind


def test_a_store_keeps_its_postings_in_files_past_the_memory_limits(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sketch_postings, "MEMORY_SLOTS", 10)
    monkeypatch.setattr(sketch_postings, "MEMORY_KEYS", 200)
    monkeypatch.setattr(sketch_postings, "BUFFER_KEYS", 64)
    store = SqliteStore(tmp_path / "index.db")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    copies = [_copy(number, start + timedelta(minutes=number)) for number in range(40)]
    for number in range(0, 40, 8):
        store.upsert(copies[number : number + 8])
    assert store._lsh().spilled_bytes() > 40 * 128 * 4  # keys and signatures
    assert len({store.get(doc.id).cluster_id for doc in copies}) == 1
    store.close()


def test_the_key_filter_never_turns_a_held_key_away_and_lets_few_absent_ones_through() -> None:
    rng = np.random.default_rng(7)
    held = rng.integers(-(2**63), 2**63 - 1, size=20_000, dtype=np.int64)
    bloom = postings_files._BloomFilter(len(held))
    bloom.add(held[:10_000])
    bloom.add(held[10_000:])
    assert bloom.holds(held).all()
    absent = rng.integers(-(2**63), 2**63 - 1, size=20_000, dtype=np.int64)
    assert bloom.holds(absent).mean() < 0.12  # one hash, 8 to 16 bits a key
