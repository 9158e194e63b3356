"""The embedded store's fast paths agree with the plain ones.

Searches with words are "staged" (matches collected once into a temp table); facets and the
histogram over all documents read count tables the upsert maintains. Both must give exactly
what the self-contained SQL and a direct count give, also after re-crawls change documents.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

import index.sqlite as sqlite_module
from index import Document, SearchRequest
from index.sqlite import SqliteStore

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
        return statements

    monkeypatch.setattr(sqlite_module, "search_sql", unstaged)
    plain = store.search(request)
    assert staged.total == plain.total
    assert staged.facets == plain.facets
    assert staged.histogram == plain.histogram
    if sort == "newest" or staged.total <= 50:
        assert {h.document.id for h in staged.hits} == {h.document.id for h in plain.hits}
