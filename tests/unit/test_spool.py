"""SpoolingStore against a fake inner store that fails, rejects and recovers (no cluster)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.documents import Document, document_id
from index.errors import BulkIndexError, StoreUnavailable
from index.spool import SpoolingStore, is_transient
from index.store import UpsertResult


def make(key: str, text: str = "") -> Document:
    url = f"https://example.vn/{key}"
    return Document(
        id=document_id(url), url=url, canonical_url=url, source="s", site="example.vn", text=text
    )


class FakeStore:
    """Keeps documents in a dict; ``down`` makes writes fail, ``reject`` refuses some ids."""

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self.writes: list[list[str]] = []
        self.down = False
        self.reject: dict[str, str] = {}
        self.fail_after: int | None = None  # accept this many more upserts, then go down

    def upsert(self, documents):
        docs = list(documents)
        if self.fail_after is not None:
            if self.fail_after == 0:
                self.down = True
            self.fail_after -= 1
        if self.down:
            raise StoreUnavailable("cluster is away")
        result = UpsertResult()
        errors = []
        for doc in docs:
            if doc.id in self.reject:
                errors.append((doc.id, self.reject[doc.id]))
                continue
            if doc.id in self.docs:
                result.updated += 1
            else:
                result.created += 1
            self.docs[doc.id] = doc
        self.writes.append([doc.id for doc in docs if doc.id not in self.reject])
        if errors:
            raise BulkIndexError(f"{len(errors)} rejected", errors)
        return result

    def count(self) -> int:
        return len(self.docs)

    def close(self) -> None:
        pass

    def drop(self) -> None:
        self.docs.clear()


@pytest.fixture
def fake():
    return FakeStore()


@pytest.fixture
def spooled(fake, tmp_path):
    store = SpoolingStore(fake, tmp_path / "spool" / "spool.db")
    yield store
    store.close()


def test_writes_go_through_when_the_store_is_up(spooled, fake):
    result = spooled.upsert([make("a"), make("b")])
    assert (result.created, result.updated, result.spooled) == (2, 0, 0)
    assert spooled.pending() == 0
    assert fake.count() == 2


def test_outage_spools_then_flush_replays_in_order(spooled, fake):
    fake.down = True
    first = spooled.upsert([make("a", "v1"), make("b")])
    second = spooled.upsert([make("a", "v2"), make("c")])
    assert (first.spooled, second.spooled) == (2, 2)
    assert spooled.pending() == 4
    assert fake.count() == 0

    report = spooled.flush()
    assert not report.complete and report.replayed == 0 and report.remaining == 4

    fake.down = False
    report = spooled.flush()
    assert report.complete and report.replayed == 4
    assert spooled.pending() == 0
    assert fake.docs[make("a").id].text == "v2"  # the later version wins
    assert sorted(fake.docs) == sorted(make(k).id for k in "abc")


def test_new_writes_queue_behind_the_spool(spooled, fake):
    fake.down = True
    spooled.upsert([make("a", "old")])
    fake.down = False
    # The next write first flushes the spool, then goes through: old never overwrites new.
    spooled.upsert([make("a", "new")])
    assert spooled.pending() == 0
    assert fake.docs[make("a").id].text == "new"
    assert fake.writes == [[make("a").id], [make("a").id]]


def test_writes_during_a_failed_flush_are_appended_not_sent(spooled, fake):
    fake.down = True
    spooled.upsert([make("a", "old")])
    result = spooled.upsert([make("a", "new")])
    assert result.spooled == 1 and spooled.pending() == 2
    assert fake.writes == []
    fake.down = False
    assert spooled.flush().complete
    assert fake.docs[make("a").id].text == "new"


def test_flush_stops_at_first_failure_and_keeps_the_rest(spooled, fake):
    fake.down = True
    spooled.upsert([make(f"d{i}") for i in range(7)])
    fake.down = False
    fake.fail_after = 1  # the first batch goes through, the second fails
    report = spooled.flush(batch_size=3)
    assert report.replayed == 3 and report.remaining == 4 and report.error
    fake.down, fake.fail_after = False, None
    report = spooled.flush(batch_size=3)
    assert report.complete and report.replayed == 4
    assert fake.count() == 7


def test_transient_bulk_rejections_are_spooled(spooled, fake):
    busy, ok = make("busy"), make("ok")
    fake.reject = {busy.id: "429 es_rejected_execution_exception: queue full"}
    result = spooled.upsert([busy, ok])
    assert result.spooled == 1 and spooled.pending() == 1
    assert ok.id in fake.docs and busy.id not in fake.docs
    fake.reject = {}
    assert spooled.flush().complete
    assert busy.id in fake.docs


def test_permanent_rejections_raise_and_are_not_spooled(spooled, fake):
    bad = make("bad")
    fake.reject = {bad.id: "400 document_parsing_exception: bad date"}
    with pytest.raises(BulkIndexError) as caught:
        spooled.upsert([bad, make("good")])
    assert caught.value.errors == [(bad.id, "400 document_parsing_exception: bad date")]
    assert spooled.pending() == 0


def test_permanent_rejections_during_flush_move_aside(spooled, fake):
    bad, good = make("bad"), make("good")
    fake.down = True
    spooled.upsert([bad, good])
    fake.down = False
    fake.reject = {bad.id: "400 document_parsing_exception: bad date"}
    report = spooled.flush()
    assert report.complete and report.replayed == 1 and report.rejected == 1
    assert spooled.rejected() == [(bad.id, "400 document_parsing_exception: bad date")]
    assert good.id in fake.docs


def test_spool_survives_reopening(fake, tmp_path):
    path = tmp_path / "spool.db"
    fake.down = True
    first = SpoolingStore(fake, path)
    first.upsert([make("a"), replace(make("b"), title="t")])
    del first  # a crash: never flushed, never closed
    fake.down = False
    again = SpoolingStore(fake, path)
    assert again.pending() == 2
    assert again.flush().complete
    assert fake.docs[make("b").id].title == "t"
    again.close()


def test_reads_are_delegated(spooled, fake):
    spooled.upsert([make("a")])
    assert spooled.count() == 1


@pytest.mark.parametrize(
    ("reason", "transient"),
    [
        ("429 es_rejected_execution_exception: rejected", True),
        ("503 unavailable_shards_exception: primary shard is not active", True),
        ("400 document_parsing_exception: failed to parse", False),
        ("None connection lost", False),
    ],
)
def test_is_transient(reason, transient):
    assert is_transient(reason) is transient
