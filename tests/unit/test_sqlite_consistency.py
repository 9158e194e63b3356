"""The embedded store's fast paths agree with the plain ones.

Searches with words are "staged" (matches collected once into a temp table); facets and the
histogram of a set of matches are counted from in-memory doc values that follow the
database through its change log; over all documents they read count tables the upsert
maintains. All must give exactly what the self-contained SQL and a direct count give, also
after re-crawls and review decisions (from another connection) change documents.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

import index.sqlite as sqlite_module
from index import Document, SearchRequest
from index.sqlite import SqliteStore
from index.sqlite_docvalues import trim_change_log as trim

WORDS = [
    "Hà",
    "Nội",
    "Đà",
    "Nẵng",
    "covid",
    "tiêm",
    "vắc",
    "xin",
    "bão",
    "lũ",
    "giá",
    "vàng",
    "bóng",
    "đá",
    "đội",
    "tuyển",
    "sốt",
    "xuất",
    "huyết",
]
SOURCES = ["demo-songhong", "demo-tonghop24", "vnexpress", "demo-mxh"]


def make_documents(count: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    documents = []
    for i in range(count):
        source = rng.choice(SOURCES)
        flags = [flag for flag in ("covid", "claim") if rng.random() < 0.3]
        documents.append(
            Document(
                id=f"doc{i}",
                url=f"http://{source}.localhost/{i}",
                canonical_url=f"http://{source}.localhost/{i}",
                source=source,
                site=f"{source}.localhost",
                kind="social" if source == "demo-mxh" else "news",
                title=" ".join(rng.choices(WORDS, k=6)),
                text=" ".join(rng.choices(WORDS, k=40)),
                published_at=f"2026-{rng.randint(9, 11):02d}-{rng.randint(1, 28):02d}T0{rng.randint(0, 9)}:00:00+07:00",
                flags=flags,
                scores={"covid": rng.random(), "claim": rng.random()},
            )
        )
    return documents


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "index.db")
    documents = make_documents(300, seed=1)
    store.upsert(documents)
    # A re-crawl moves some documents to another source, kind and date.
    rng = random.Random(2)
    changed = [
        replace(doc, source="vnexpress", site="vnexpress.localhost", kind="news",
                published_at=f"2026-08-{rng.randint(1, 28):02d}T12:00:00+07:00")
        for doc in documents[::7]
    ]  # fmt: skip
    store.upsert(changed)
    yield store
    store.close()


def test_facets_and_histogram_over_all_documents_match_a_direct_count(store):
    documents = list(store.scan(SearchRequest()))
    response = store.search(SearchRequest(facets=True, histogram="day", limit=1))
    assert response.total == len(documents) == 300
    for field in ("source", "site", "kind"):
        expected = Counter(getattr(doc, field) for doc in documents)
        assert {b.key: b.count for b in response.facets[field]} == dict(expected), field
    flags = Counter(flag for doc in documents for flag in doc.flags)
    assert {b.key: b.count for b in response.facets["flags"]} == dict(flags)
    days = Counter(doc.published_at[:10] for doc in documents)
    assert {b.key: b.count for b in response.histogram if b.count} == dict(days)


@pytest.mark.parametrize(
    "query",
    [
        "ha noi",
        "Hà Nội",
        "covid",
        '"vắc xin"',
        "bão OR lũ",
        "tiêm* NOT covid",
        "flags:covid AND gia vang",
    ],
)
@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_staged_search_equals_the_self_contained_sql(store, monkeypatch, query, sort):
    request = SearchRequest(query=query, sort=sort, facets=True, histogram="week", limit=50)
    original = sqlite_module.search_sql
    assert original(sqlite_module.parse_query(query), request).staged is not None
    staged = store.search(request)

    def unstaged(node, req):
        statements = original(node, req)
        statements.staged = None
        statements.rowids = None  # facets and histogram in SQL, not from doc values
        return statements

    monkeypatch.setattr(sqlite_module, "search_sql", unstaged)
    plain = store.search(request)
    assert staged.total == plain.total
    assert staged.facets == plain.facets
    assert staged.histogram == plain.histogram
    if sort == "newest" or staged.total <= 50:
        assert {h.document.id for h in staged.hits} == {h.document.id for h in plain.hits}


def _sql_only(monkeypatch):
    """Make the store answer facets and histograms with SQL alone (the reference)."""
    original = sqlite_module.search_sql

    def plain(node, req):
        statements = original(node, req)
        statements.staged = None
        statements.rowids = None
        return statements

    monkeypatch.setattr(sqlite_module, "search_sql", plain)


QUERIES = ["ha noi", "covid", "bão OR lũ", "flags:covid", "source:vnexpress", "NOT covid"]


def _facets_of(store, queries):
    found = {}
    for query in queries:
        response = store.search(SearchRequest(query=query, facets=True, histogram="day"))
        found[query] = (response.total, response.facets, response.histogram)
    return found


def test_doc_values_follow_writes_from_another_connection(store, tmp_path, monkeypatch):
    before = _facets_of(store, QUERIES)  # builds the reader's doc values
    writer = SqliteStore(tmp_path / "index.db")
    documents = list(writer.scan(SearchRequest(query="covid", sort="oldest")))
    # A re-crawl moves documents to a new source and day and drops their flags; new
    # documents arrive; analysts decide review items.
    writer.upsert(
        replace(doc, source="tuoitre", site="tuoitre.localhost", flags=[],
                published_at="2026-07-04T09:00:00+07:00")
        for doc in documents[:20]
    )  # fmt: skip
    writer.upsert(replace(doc, id=f"new{doc.id}") for doc in make_documents(40, seed=9))
    for item in writer.review_list("covid", limit=5):
        writer.review_decide(item.id, "analyst", "false", expected_version=item.version)
    after = _facets_of(store, QUERIES)
    assert after != before
    _sql_only(monkeypatch)
    assert after == _facets_of(store, QUERIES)
    writer.close()


def test_doc_values_rebuild_when_the_change_log_was_trimmed(store, tmp_path, monkeypatch):
    _facets_of(store, QUERIES)
    monkeypatch.setattr(sqlite_module, "trim_change_log", lambda conn: trim(conn, keep=3))
    writer = SqliteStore(tmp_path / "index.db")
    writer.upsert(
        replace(doc, id=f"late{doc.id}", source="late") for doc in make_documents(30, seed=5)
    )
    found = _facets_of(store, QUERIES)
    assert any(b.key == "late" for b in found["covid"][1]["source"])
    _sql_only(monkeypatch)
    assert found == _facets_of(store, QUERIES)
    writer.close()


def test_rows_missing_from_the_log_are_counted_in_sql(store, tmp_path, monkeypatch):
    _facets_of(store, QUERIES)
    # A writer that does not log (an older version of this program, say).
    monkeypatch.setattr(sqlite_module, "log_changes", lambda conn, rowids: None)
    writer = SqliteStore(tmp_path / "index.db")
    writer.upsert(
        replace(doc, id=f"unlogged{doc.id}", source="unlogged")
        for doc in make_documents(25, seed=6)
    )
    found = _facets_of(store, QUERIES)
    assert any(b.key == "unlogged" for b in found["ha noi"][1]["source"])
    _sql_only(monkeypatch)
    assert found == _facets_of(store, QUERIES)
    writer.close()
