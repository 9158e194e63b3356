"""Issue #13 on a real Elasticsearch node (``MISINFO_ES_URL``): the store refuses a write
that moves a document to another site, and a search past its time limit is "query too
expensive", not a partial answer."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

import pytest

from index.documents import Document, document_id
from index.elastic import ElasticsearchStore
from index.errors import QueryTooComplex, QueryTooExpensive
from index.store import SearchRequest

ES_URL = os.environ.get("MISINFO_ES_URL")
pytestmark = pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set")


@pytest.fixture
def store():
    backend = ElasticsearchStore(ES_URL, index_prefix=f"misinfo-test-{uuid.uuid4().hex[:12]}")
    yield backend
    backend.drop()


def _doc(url: str, site: str, title: str) -> Document:
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=site.split(".")[0],
        site=site,
        title=title,
        text="Bộ Y tế cho biết tình hình dịch bệnh đã ổn định.",
        published_at="2026-11-27T08:00:00+07:00",
    )


def test_a_write_that_moves_a_document_to_another_site_is_refused(store, caplog):
    url = "http://127.0.0.3/bai/1.html"
    store.upsert([_doc(url, "127.0.0.3", "Bài gốc")])
    with caplog.at_level(logging.WARNING, logger="index.documents"):
        result = store.upsert(
            [_doc(url, "127.0.0.2", "Tin giả"), _doc("http://127.0.0.2/p/1", "127.0.0.2", "Bài")]
        )
    assert (result.created, result.updated, result.refused) == (1, 0, 1)
    kept = store.get(document_id(url))
    assert kept is not None and (kept.site, kept.title) == ("127.0.0.3", "Bài gốc")
    assert "refused" in caplog.text


def test_searches_send_their_time_limit_and_a_timeout_is_too_expensive(store, monkeypatch):
    store.upsert([_doc(f"http://a.vn/{n}", "a.vn", f"covid {n}") for n in range(20)])
    sent: list[dict[str, Any]] = []
    real = store.client

    class Recording:
        def options(self, **options: Any) -> Recording:
            sent.append({"options": options})
            self.inner = real.options(**options)
            return self

        def search(self, **kwargs: Any) -> Any:
            sent.append(kwargs)
            return self.inner.search(**kwargs)

    monkeypatch.setattr(store, "client", Recording())
    assert store.search(SearchRequest(query="covid")).total == 20
    # The first search is the documents' (cluster sizes of the hits are looked up after it).
    documents_search = next(call for call in sent if "options" not in call)
    assert documents_search["timeout"] == "5000ms"

    class TimedOut(Recording):
        def search(self, **kwargs: Any) -> Any:
            response = self.inner.search(**kwargs)
            response.body["timed_out"] = True  # what the node says when it stops early
            return response

    monkeypatch.setattr(store, "client", TimedOut())
    with pytest.raises(QueryTooExpensive, match="query too expensive"):
        store.search(SearchRequest(query="covid"))


def test_query_limits_hold_before_the_cluster_is_asked(store):
    with pytest.raises(QueryTooComplex):
        store.search(SearchRequest(query=" OR ".join(["c*"] * 1000)))
