"""The Elasticsearch backend: pure translation rules (no node), then index layout and bulk
errors against a real node (``-m elasticsearch``, needs ``MISINFO_ES_URL``).

The Store contract itself (search, facets, review...) is ``tests/test_store_contract.py``.
"""

from __future__ import annotations

import copy
import os
import uuid

import elastic_transport
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from index.documents import Document, document_id
from index.elastic_client import PlainJsonTransport, mapped_errors, plain_mimetype
from index.elastic_dsl import (
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    document_from_source,
    document_source,
    exact_copy,
    folded_copy,
    query_dsl,
    search_body,
    sort_dsl,
    split_highlight,
    uses_text,
)
from index.elastic_review import parse_version, version_token
from index.elastic_schema import KINDS, IndexNames, load_schema, schema_version
from index.errors import (
    BulkIndexError,
    ConflictError,
    QuerySyntaxError,
    SearchError,
    StoreUnavailable,
)
from index.query import parse_query, tokenize
from index.store import SearchRequest

ES_URL = os.environ.get("MISINFO_ES_URL")


def make(key: str, **fields) -> Document:
    url = fields.pop("url", f"https://example.vn/{key}")
    fields.setdefault("source", "vnexpress")
    fields.setdefault("site", "vnexpress.net")
    return Document(id=document_id(url), url=url, canonical_url=url, **fields)


# -- search copies of the text -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hà Nội ghi nhận thêm 120 ca nhiễm Covid-19",
        "Đà Nẵng: giá xăng tăng 3.5%, don't panic!",
        "hà_nội (tiêm vắc-xin) «Thuỷ» ĐẢO",
        "",
    ],
)
def test_search_copies_keep_offsets_and_tokens(text):
    exact, folded = exact_copy(text), folded_copy(text)
    assert len(exact) == len(text) == len(folded)
    # Splitting on blanks gives exactly the tokens the query side (and SQLite) uses.
    assert exact.split() == tokenize(text)
    assert folded.split() == [folded_copy(token) for token in tokenize(text)]


def test_folded_copy_folds_vietnamese():
    assert folded_copy("Đà Nẵng, Hà Nội") == "da nang  ha noi"


# -- documents -----------------------------------------------------------------------------


def test_document_source_round_trip_keeps_dates_as_written():
    doc = make(
        "a",
        title="Tin giả về vắc xin",
        text="Nội dung",
        published_at="2026-11-02T08:00:00+07:00",
        fetched_at="2026-11-02 09:00:00",  # naive: Vietnam time
        scores={"covid": 0.2, "claim": 0.9},
        flags=["claim"],
        analysis={"claim": {"matches": [["x", 0.8]]}},
        engagement={"likes": 3},
    )
    source = document_source(doc)
    assert source["published_at"] == "2026-11-02T01:00:00Z"
    assert source["fetched_at"] == "2026-11-02T02:00:00Z"
    assert source["first_seen"] == "2026-11-02T02:00:00Z"  # defaults to fetched_at
    assert source["max_score"] == 0.9 and source["covid_score"] == 0.2
    assert source["title_f"] == "tin gia ve vac xin"
    back = document_from_source(source)
    assert back == Document.from_dict({**doc.to_dict(), "first_seen": doc.fetched_at})


def test_document_source_keeps_an_earlier_first_seen():
    doc = make("a", fetched_at="2026-11-05T00:00:00+00:00")
    source = document_source(doc, first_seen="2026-11-01T00:00:00+00:00")
    assert source["raw_dates"]["first_seen"] == "2026-11-01T00:00:00+00:00"
    assert document_from_source(source).first_seen == "2026-11-01T00:00:00+00:00"


def test_unparseable_dates_do_not_fail_the_write():
    source = document_source(make("a", published_at="hôm qua"))
    assert source["published_at"] is None
    assert document_from_source(source).published_at == "hôm qua"


# -- query translation ---------------------------------------------------------------------


def test_words_without_diacritics_search_the_folded_copies():
    assert query_dsl(parse_query("hanoi")) == {
        "multi_match": {
            "query": "hanoi",
            "fields": ["title_f^4", "text_f^1", "author_f^1"],
            "type": "best_fields",
            "operator": "and",
        }
    }


def test_words_with_diacritics_search_the_exact_copies():
    dsl = query_dsl(parse_query('title:"Hà Nội"'))
    assert dsl == {"multi_match": {"query": "hà nội", "fields": ["title_x^4"], "type": "phrase"}}


def test_mixed_phrase_is_folded_phrase_and_exact_words():
    dsl = query_dsl(parse_query('"Hà noi"'))
    must = dsl["bool"]["must"]
    assert must[0]["multi_match"]["query"] == "ha noi"
    assert must[0]["multi_match"]["fields"][0] == "title_f^4"
    assert must[1]["multi_match"]["query"] == "hà"
    assert must[1]["multi_match"]["fields"][0] == "title_x^4"


def test_prefix_keyword_range_and_boolean_nodes():
    assert query_dsl(parse_query("tiêm*")) == {
        "bool": {
            "should": [
                {"prefix": {"title_x": "tiêm"}},
                {"prefix": {"text_x": "tiêm"}},
                {"prefix": {"author_x": "tiêm"}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert query_dsl(parse_query("source:vnexpress")) == {"term": {"source": "vnexpress"}}
    assert query_dsl(parse_query("source:vn*")) == {"prefix": {"source": "vn"}}
    assert query_dsl(parse_query("flags:*")) == {"exists": {"field": "flags"}}
    has_site = query_dsl(parse_query("site:*"))["bool"]
    assert has_site["filter"] == [{"exists": {"field": "site"}}]
    assert has_site["must_not"] == [{"term": {"site": ""}}]
    url = query_dsl(parse_query('url:"https://a.vn/x"'))["bool"]["should"]
    assert url == [
        {"term": {"url": "https://a.vn/x"}},
        {"term": {"canonical_url": "https://a.vn/x"}},
    ]
    assert query_dsl(parse_query("claim_score:>0.7")) == {"range": {"claim_score": {"gt": 0.7}}}
    assert query_dsl(parse_query("published_at:2026-11-30")) == {
        "range": {"published_at": {"gte": "2026-11-29T17:00:00Z", "lt": "2026-11-30T17:00:00Z"}}
    }
    negated = query_dsl(parse_query("covid NOT source:tuoitre"))["bool"]
    assert negated["must_not"] == [{"term": {"source": "tuoitre"}}]
    assert "multi_match" in negated["must"][0]
    assert query_dsl(parse_query("NOT covid"))["bool"]["must_not"][0]["multi_match"]
    either = query_dsl(parse_query("kind:post OR kind:video"))["bool"]
    assert either["minimum_should_match"] == 1 and len(either["should"]) == 2
    assert query_dsl(parse_query("")) == {"match_all": {}}


@pytest.mark.parametrize(
    ("query", "ranked"),
    [
        ("covid", True),
        ("covid AND source:tuoitre", True),
        ("source:tuoitre", False),
        ("NOT covid", False),
        ("covid OR source:tuoitre", False),
        ("", False),
    ],
)
def test_relevance_ranks_only_full_text_queries(query, ranked):
    node = parse_query(query)
    assert uses_text(node) is ranked
    assert (sort_dsl("relevance", node)[0] == {"_score": {"order": "desc"}}) is ranked


def test_search_body_filters_facets_histogram_and_highlight():
    request = SearchRequest(
        query="covid",
        filters={"source": ["a", "b"], "flags": ["claim"]},
        date_from="2026-11-01",
        facets=True,
        histogram="week",
        offset=20,
        limit=10,
    )
    body = search_body(parse_query(request.query), request)
    assert body["from"] == 20 and body["size"] == 10
    assert body["query"]["bool"]["filter"] == [
        {"terms": {"flags": ["claim"]}},
        {"terms": {"source": ["a", "b"]}},
        {"range": {"published_at": {"gte": "2026-10-31T17:00:00Z"}}},
    ]
    assert body["aggs"]["facet_source"]["terms"]["field"] == "source"
    histogram = body["aggs"]["histogram"]["date_histogram"]
    assert histogram["calendar_interval"] == "week" and histogram["time_zone"] == "+07:00"
    assert body["highlight"]["pre_tags"] == [HIGHLIGHT_PRE]
    assert body["highlight"]["fields"]["text"]["matched_fields"] == ["text_x", "text_f"]


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(filters={"title": ["x"]}),
        SearchRequest(histogram="year"),
        SearchRequest(sort="random"),  # type: ignore[arg-type]
        SearchRequest(offset=9_995, limit=10),
        SearchRequest(limit=-1),
    ],
)
def test_search_body_rejects_bad_requests(request_):
    with pytest.raises(QuerySyntaxError):
        search_body(parse_query(request_.query), request_)


def test_split_highlight_pieces_never_carry_markup():
    original = "Mở đầu. Sở Y tế <b>Hà Nội</b> cho biết thêm nhiều điều khác nữa."
    fragment = f"Sở Y tế <b>{HIGHLIGHT_PRE}Hà{HIGHLIGHT_POST} {HIGHLIGHT_PRE}Nội{HIGHLIGHT_POST}</b> cho biết"
    pieces = split_highlight(fragment, original)
    assert pieces[0] == ("…", False) and pieces[-1] == ("…", False)
    assert [text for text, hit in pieces if hit] == ["Hà", "Nội"]
    assert "".join(text for text, _ in pieces[1:-1]) == "Sở Y tế <b>Hà Nội</b> cho biết"
    assert split_highlight("whole text", "whole text") == [("whole text", False)]


# -- client boundary -----------------------------------------------------------------------


def test_plain_mimetype_drops_the_compatibility_version():
    assert plain_mimetype("application/vnd.elasticsearch+json; compatible-with=9") == (
        "application/json"
    )
    assert plain_mimetype("application/vnd.elasticsearch+x-ndjson; compatible-with=9") == (
        "application/x-ndjson"
    )
    assert plain_mimetype("application/json") == "application/json"


def test_transport_sends_plain_json(monkeypatch):
    seen = {}

    def fake_perform(self, method, target, *, headers=None, **kwargs):
        seen.update(headers)
        return "ok"

    monkeypatch.setattr(elastic_transport.Transport, "perform_request", fake_perform)
    transport = PlainJsonTransport([NodeConfig("http", "127.0.0.1", 9)])
    transport.perform_request(
        "GET",
        "/",
        headers=HttpHeaders({"accept": "application/vnd.elasticsearch+json; compatible-with=9"}),
    )
    assert seen == {"accept": "application/json"}


def _api_error(status: int, error_type: str, reason: str) -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )
    body = {"error": {"root_cause": [{"type": error_type, "reason": reason}]}, "status": status}
    return ApiError(error_type, meta=meta, body=body)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (elastic_transport.ConnectionError("refused"), StoreUnavailable),
        (elastic_transport.ConnectionTimeout("slow"), StoreUnavailable),
        (_api_error(429, "es_rejected_execution_exception", "queue full"), StoreUnavailable),
        (_api_error(503, "cluster_block_exception", "no master"), StoreUnavailable),
        (_api_error(400, "parsing_exception", "unknown query"), QuerySyntaxError),
        (_api_error(403, "cluster_block_exception", "read-only"), SearchError),
        (ConflictError("mine"), ConflictError),
    ],
)
def test_errors_are_mapped_from_the_original(raised, expected):
    with pytest.raises(expected) as caught, mapped_errors("test"):
        raise raised
    assert type(caught.value) is expected
    if expected is not type(raised):
        assert caught.value.__cause__ is raised


def test_version_tokens():
    assert parse_version(version_token(12, 3)) == (12, 3)
    with pytest.raises(ConflictError):
        parse_version(7)


def test_schema_files_are_versioned_and_strict():
    for kind in KINDS:
        body = load_schema(kind)
        assert schema_version(body) >= 1
        assert body["mappings"]["dynamic"] == "strict"
    names = IndexNames("misinfo")
    assert names.alias("documents") == "misinfo-documents"
    assert names.index("documents", 1) == "misinfo-documents-v1"


# -- against a node ------------------------------------------------------------------------


@pytest.fixture
def es_store():
    from index.elastic import ElasticsearchStore

    store = ElasticsearchStore(ES_URL, index_prefix=f"misinfo-test-{uuid.uuid4().hex[:12]}")
    yield store
    store.drop()


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set")
def test_indices_are_versioned_behind_aliases(es_store):
    created = es_store.ensure_indices()
    prefix = es_store.names.prefix
    assert created == {f"{prefix}-{kind}": f"{prefix}-{kind}-v1" for kind in KINDS}
    assert es_store.ensure_indices() == created  # idempotent


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set")
def test_schema_migration_copies_and_switches_the_alias(es_store):
    docs = [
        make("dn", title="Đà Nẵng mưa lớn", first_seen="2026-01-01T00:00:00+00:00"),
        make("hn", title="Hà Nội nắng nóng"),
    ]
    es_store.upsert(docs)
    body = copy.deepcopy(load_schema("documents"))
    body["mappings"]["_meta"]["schema_version"] = 2
    body["mappings"]["properties"]["section"] = {
        "type": "keyword",
        "fields": {"text": {"type": "text"}},
    }
    report = es_store.migrate_schema("documents", body, delete_old=True)
    prefix = es_store.names.prefix
    assert (report.old_index, report.new_index, report.copied) == (
        f"{prefix}-documents-v1",
        f"{prefix}-documents-v2",
        2,
    )
    aliases = es_store.client.indices.get_alias(name=f"{prefix}-documents").body
    assert list(aliases) == [f"{prefix}-documents-v2"]
    assert not es_store.client.indices.exists(index=f"{prefix}-documents-v1")
    # Search copies were rebuilt from the documents (they are not in _source).
    hits = es_store.search(SearchRequest(query="da nang")).hits
    assert [hit.document.id for hit in hits] == [docs[0].id]
    assert es_store.get(docs[0].id).first_seen == "2026-01-01T00:00:00+00:00"
    # Running it again is a no-op.
    assert es_store.migrate_schema("documents", body).copied == 0


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set")
def test_rejected_documents_are_reported_not_dropped(es_store):
    good = make("good", title="ok")
    bad = make("bad", url="https://example.vn/" + "x" * 40_000)  # keyword term too long
    with pytest.raises(BulkIndexError) as caught:
        es_store.upsert([good, bad])
    assert [doc_id for doc_id, _ in caught.value.errors] == [bad.id]
    assert caught.value.errors[0][1].startswith("400 ")
    assert es_store.get(good.id) is not None and es_store.get(bad.id) is None


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set")
def test_blocked_index_rejects_every_document(es_store):
    es_store.ensure_indices()
    alias = es_store.names.alias("documents")
    es_store.client.indices.put_settings(index=alias, settings={"index.blocks.write": True})
    try:
        docs = [make(f"d{i}") for i in range(3)]
        with pytest.raises(BulkIndexError) as caught:
            es_store.upsert(docs)
        assert sorted(doc_id for doc_id, _ in caught.value.errors) == sorted(d.id for d in docs)
        assert all(reason.startswith("403 ") for _, reason in caught.value.errors)
    finally:
        es_store.client.indices.put_settings(index=alias, settings={"index.blocks.write": False})


def test_unreachable_cluster_is_store_unavailable():
    from index.elastic import ElasticsearchStore

    store = ElasticsearchStore("http://127.0.0.1:9", request_timeout=1, max_retries=0)
    with pytest.raises(StoreUnavailable):
        store.upsert([make("a")])
    with pytest.raises(StoreUnavailable):
        store.search(SearchRequest(query="covid"))
    store.close()


@pytest.mark.parametrize("prefix", ["Misinfo", "misinfo test", "-misinfo", ""])
def test_index_prefix_must_be_a_valid_index_name(prefix):
    with pytest.raises(ValueError, match="index prefix"):
        IndexNames(prefix)
