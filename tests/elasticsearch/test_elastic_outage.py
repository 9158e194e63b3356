"""Nothing is lost when the cluster goes away mid-crawl (a real node, ``-m elasticsearch``).

Starts a second, private node with ``scripts/elasticsearch.sh`` (its own port and node
directory, so the shared node of the session stays up), writes through a
:class:`~index.spool.SpoolingStore`, stops the node between batches, keeps writing (new
documents and new versions of earlier ones), restarts it, flushes, and checks that every
document is there exactly once, in its latest version. Takes about a minute (two node starts).
"""

from __future__ import annotations

import os

import pytest

from index.documents import Document, document_id
from index.spool import SpoolingStore
from index.store import SearchRequest

SPARE_NODE_PORT = PORT = int(os.environ.get("MISINFO_ES_OUTAGE_PORT", "9250"))

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(
        not os.environ.get("MISINFO_ES_URL"), reason="MISINFO_ES_URL is not set (no node here)"
    ),
]


def make(i: int, version: int) -> Document:
    url = f"https://example.vn/outage/{i}"
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="outage",
        site="example.vn",
        title=f"Bài {i}",
        text=f"phiên bản {version}",
        content_hash=f"{i}-{version}",
    )


def test_outage_loses_and_duplicates_nothing(spare_es_node, tmp_path):
    from index.elastic import ElasticsearchStore

    spare_es_node.start()
    inner = ElasticsearchStore(
        f"http://127.0.0.1:{PORT}", index_prefix="misinfo-outage", request_timeout=5, max_retries=1
    )
    store = SpoolingStore(inner, tmp_path / "spool.db")
    latest: dict[str, int] = {}

    def write(batch: list[Document]) -> int:
        for doc in batch:
            latest[doc.id] = int(doc.content_hash.split("-")[1])
        return store.upsert(batch).spooled

    # Up: the first batches go straight through.
    assert write([make(i, 1) for i in range(0, 50)]) == 0
    assert write([make(i, 1) for i in range(50, 100)]) == 0
    assert store.pending() == 0

    # Down mid-crawl: new documents and new versions of old ones are spooled, in order.
    spare_es_node.stop()
    assert write([make(i, 1) for i in range(100, 150)]) == 50
    assert write([make(i, 2) for i in range(0, 30)]) == 30
    assert write([make(i, 3) for i in range(0, 10)] + [make(i, 1) for i in range(150, 160)]) == 20
    assert store.pending() == 100
    assert not store.flush().complete  # still down: nothing lost, nothing removed
    assert store.pending() == 100

    # Back: flush replays everything once, and later writes go through again.
    spare_es_node.start()
    report = store.flush()
    assert report.complete and report.replayed == 100
    assert write([make(i, 1) for i in range(160, 170)]) == 0

    assert inner.count() == len(latest) == 170
    assert inner.counts_by("source") == {"outage": 170}
    stored = {doc.id: doc for doc in inner.scan(SearchRequest(query="source:outage"))}
    assert len(stored) == 170
    assert {doc_id: int(doc.content_hash.split("-")[1]) for doc_id, doc in stored.items()} == latest
    store.drop()
