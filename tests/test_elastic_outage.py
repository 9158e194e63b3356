"""Nothing is lost when the cluster goes away mid-crawl (a real node, ``-m elasticsearch``).

Starts a second, private node with ``scripts/elasticsearch.sh`` (its own port and node
directory, so the shared node of the session stays up), writes through a
:class:`~index.spool.SpoolingStore`, stops the node between batches, keeps writing (new
documents and new versions of earlier ones), restarts it, flushes, and checks that every
document is there exactly once, in its latest version. Takes about a minute (two node starts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from index.documents import Document, document_id
from index.spool import SpoolingStore
from index.store import SearchRequest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "elasticsearch.sh"
PORT = int(os.environ.get("MISINFO_ES_OUTAGE_PORT", "9250"))

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(
        not os.environ.get("MISINFO_ES_URL"), reason="MISINFO_ES_URL is not set (no node here)"
    ),
]


def _node(command: str, node_dir: Path) -> None:
    env = {
        **os.environ,
        "MISINFO_ES_PORT": str(PORT),
        "MISINFO_ES_NODE_DIR": str(node_dir),
        "MISINFO_ES_HEAP": "256m",
    }
    subprocess.run(
        ["bash", str(SCRIPT), command], env=env, check=True, capture_output=True, timeout=300
    )


@pytest.fixture
def node_dir():
    # Under the repo's .es/ (not pytest's 0700 tmp dir): the node runs as an unprivileged user.
    path = REPO / ".es" / f"outage-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    _node("stop", path)
    shutil.rmtree(path, ignore_errors=True)


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


def test_outage_loses_and_duplicates_nothing(node_dir, tmp_path):
    from index.elastic import ElasticsearchStore

    _node("start", node_dir)
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
    _node("stop", node_dir)
    assert write([make(i, 1) for i in range(100, 150)]) == 50
    assert write([make(i, 2) for i in range(0, 30)]) == 30
    assert write([make(i, 3) for i in range(0, 10)] + [make(i, 1) for i in range(150, 160)]) == 20
    assert store.pending() == 100
    assert not store.flush().complete  # still down: nothing lost, nothing removed
    assert store.pending() == 100

    # Back: flush replays everything once, and later writes go through again.
    _node("start", node_dir)
    report = store.flush()
    assert report.complete and report.replayed == 100
    assert write([make(i, 1) for i in range(160, 170)]) == 0

    assert inner.count() == len(latest) == 170
    assert inner.counts_by("source") == {"outage": 170}
    stored = {doc.id: doc for doc in inner.scan(SearchRequest(query="source:outage"))}
    assert len(stored) == 170
    assert {doc_id: int(doc.content_hash.split("-")[1]) for doc_id, doc in stored.items()} == latest
    store.drop()
