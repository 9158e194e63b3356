"""The Store contract, run against every backend.

``sqlite`` always runs (a file in ``tmp_path``, so the read-only connection and WAL are
exercised); ``elasticsearch`` runs only when ``MISINFO_ES_URL`` points at a node, each test in
its own throw-away index prefix. Backends must make writes visible to the next read.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from index.documents import Document, document_id
from index.errors import ConflictError, LeaseError, NotFound, QuerySyntaxError, ReviewError
from index.sqlite import SqliteStore
from index.store import SearchRequest, Store

ES_URL = os.environ.get("MISINFO_ES_URL")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "elasticsearch",
            marks=[
                pytest.mark.elasticsearch,
                pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set"),
            ],
        ),
    ]
)
def store(request, tmp_path):
    if request.param == "sqlite":
        backend = SqliteStore(tmp_path / "index.db")
    else:
        from index.elastic import ElasticsearchStore

        backend = ElasticsearchStore(ES_URL, index_prefix=f"misinfo-test-{uuid.uuid4().hex[:12]}")
    yield backend
    backend.drop()


def make(key: str, title: str, text: str, **fields) -> Document:
    url = f"https://example.vn/{key}"
    fields.setdefault("source", "vnexpress")
    fields.setdefault("site", "vnexpress.net")
    fields.setdefault("fetched_at", "2026-12-02T00:00:00+00:00")
    fields.setdefault("content_hash", f"hash-{key}")
    return Document(
        id=document_id(url), url=url, canonical_url=url, title=title, text=text, **fields
    )


DOCS = {
    "hanoi": make(
        "hanoi",
        "Hà Nội ghi nhận thêm 120 ca nhiễm Covid-19",
        "Sáng 2/11, Sở Y tế Hà Nội cho biết thành phố ghi nhận thêm 120 ca nhiễm mới, "
        "phần lớn ở các quận nội thành.",
        author="Minh Anh",
        published_at="2026-11-02T08:00:00+07:00",
        flags=["covid"],
        scores={"covid": 0.92, "claim": 0.1},
        engagement={"likes": 50},
        analysis={"covid": {"score": 0.92, "terms": ["ca nhiễm", "covid-19"]}},
    ),
    "danang": make(
        "danang",
        "Đà Nẵng đón đoàn khách du lịch quốc tế đầu tiên",
        "Thành phố Đà Nẵng tổ chức lễ đón đoàn khách quốc tế tại sân bay.",
        source="tuoitre",
        site="tuoitre.vn",
        published_at="2026-11-05T20:30:00+07:00",
        scores={"covid": 0.05, "claim": 0.0},
    ),
    "vaccine": make(
        "vaccine",
        "Tin đồn tiêm vắc xin gây vô sinh lan truyền trên mạng",
        "Bài đăng cho rằng tiêm vắc xin Covid-19 gây vô sinh ở phụ nữ trẻ. "
        "Bộ Y tế khẳng định thông tin này là sai sự thật.",
        source="facebook",
        site="facebook.com",
        kind="post",
        author="Trang Tin Sức Khỏe",
        published_at="2026-10-20T22:00:00+07:00",
        flags=["claim", "covid"],
        scores={"covid": 0.7, "claim": 0.85},
        engagement={"likes": 1200, "shares": 300},
        analysis={"claim": {"score": 0.85, "signals": ["tin đồn"]}},
    ),
    "typo": make(
        "typo",
        "Người dân đi bộ quanh hồ",
        "Buổi sáng ở hà nôi, người dân đi bộ quanh hồ Gươm.",
        published_at="2026-09-15T07:00:00+07:00",
    ),
    "fuel": make(
        "fuel",
        "Giá xăng giảm từ đêm nay",
        "Liên Bộ Công Thương - Tài chính điều chỉnh giá xăng dầu lúc 23 giờ.",
        source="tuoitre",
        site="tuoitre.vn",
        published_at="2026-11-30T23:30:00+07:00",
        scores={"covid": 0.0, "claim": 0.2},
    ),
    "hagiang": make(
        "hagiang",
        "Thời tiết Hà Giang chuyển lạnh",
        "Không khí lạnh tràn về, nhiệt độ ở vùng núi Hà Giang xuống dưới 10 độ.",
        source="tuoitre",
        site="tuoitre.vn",
        published_at="2026-12-01T00:30:00+07:00",
    ),
}
KEY_OF = {doc.id: key for key, doc in DOCS.items()}
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def filled(store: Store) -> Store:
    store.upsert(DOCS.values())
    return store


def keys(store: Store, query: str = "", **options) -> list[str]:
    response = store.search(SearchRequest(query=query, limit=100, **options))
    return [KEY_OF[hit.document.id] for hit in response.hits]


# -- writes and reads ------------------------------------------------------------------------


def test_store_satisfies_protocol(store):
    assert isinstance(store, Store)


def test_upsert_counts_created_then_updated(store):
    assert (store.upsert(DOCS.values()).created, store.count()) == (6, 6)
    again = store.upsert(DOCS.values())
    assert (again.created, again.updated) == (0, 6)
    changed = replace(DOCS["fuel"], title="Giá xăng tăng từ đêm nay", content_hash="hash-2")
    extra = make("extra", "Tin mới", "Nội dung mới.")
    result = store.upsert([changed, extra])
    assert (result.created, result.updated, store.count()) == (1, 1, 7)
    assert store.get(changed.id).title == "Giá xăng tăng từ đêm nay"
    assert keys(store, "tăng") == ["fuel"]
    assert keys(store, "giảm") == []


def test_reupsert_is_idempotent(filled):
    before = filled.get(DOCS["vaccine"].id)
    filled.upsert(DOCS.values())
    after = filled.get(DOCS["vaccine"].id)
    assert after == before
    assert filled.count() == len(DOCS)
    assert keys(filled, "vô sinh") == ["vaccine"]


def test_get_round_trips_fields(filled):
    doc = filled.get(DOCS["vaccine"].id)
    original = DOCS["vaccine"]
    for name in ("url", "title", "text", "author", "kind", "flags", "scores", "engagement"):
        assert getattr(doc, name) == getattr(original, name), name
    assert doc.analysis == original.analysis
    assert filled.get("no-such-id") is None


def test_content_hashes_only_for_known_ids(filled):
    ids = [DOCS["hanoi"].id, DOCS["fuel"].id, "unknown"]
    assert filled.content_hashes(ids) == {
        DOCS["hanoi"].id: "hash-hanoi",
        DOCS["fuel"].id: "hash-fuel",
    }
    assert filled.content_hashes([]) == {}


# -- query language --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ha noi", {"hanoi", "typo"}),  # without diacritics: folded, finds both spellings
        ("Hà Nội", {"hanoi"}),  # with diacritics: that exact spelling only
        ("hà nôi", {"typo"}),
        ("HÀ NỘI", {"hanoi"}),
        ("da nang", {"danang"}),  # "d" matches "đ"
        ("Đà Nẵng", {"danang"}),
        ("DA NANG", {"danang"}),
        ('"ca nhiễm"', {"hanoi"}),
        ('"ca nhiem"', {"hanoi"}),
        ('"nhiễm ca"', set()),
        ('title:"vắc xin"', {"vaccine"}),
        ("title:covid", {"hanoi"}),
        ("author:minh", {"hanoi"}),
        ("covid-19", {"hanoi", "vaccine"}),
        ("source:tuoitre", {"danang", "fuel", "hagiang"}),
        ("site:facebook.com", {"vaccine"}),
        ("kind:post", {"vaccine"}),
        ("flags:covid", {"hanoi", "vaccine"}),
        ("flags:*", {"hanoi", "vaccine"}),
        ("source:tuoi*", {"danang", "fuel", "hagiang"}),
        (f"id:{DOCS['fuel'].id}", {"fuel"}),
        (f'url:"{DOCS["fuel"].url}"', {"fuel"}),
        ("covid AND vô sinh", {"vaccine"}),
        ('(da nang) OR "giá xăng"', {"danang", "fuel"}),
        ('da nang OR "giá xăng"', {"danang", "fuel"}),  # space binds tighter than OR
        ("(da nang OR xăng) AND source:tuoitre", {"danang", "fuel"}),
        ("ha noi NOT covid", {"typo"}),
        ("ha noi -covid", {"typo"}),
        ("NOT source:tuoitre", {"hanoi", "vaccine", "typo"}),
        ("source:vnexpress AND NOT covid", {"typo"}),
        ("+lạnh", {"hagiang"}),
        ("published_at:[2026-11-01 TO 2026-11-30]", {"hanoi", "danang", "fuel"}),
        ("published_at:2026-11-30", {"fuel"}),
        ("published_at:>=2026-12-01", {"hagiang"}),
        ("published_at:<2026-10", {"typo"}),
        ("published_at:{2026-10-20 TO 2026-11-05]", {"hanoi", "danang"}),
        ("claim_score:>0.8", {"vaccine"}),
        ("covid_score:[0.5 TO *]", {"hanoi", "vaccine"}),
        ("claim_score:<=0.1", {"hanoi", "danang"}),
        ("tiêm*", {"vaccine"}),
        ("vac*", {"vaccine"}),
        ("giang*", {"hagiang"}),
        ("", set(DOCS)),
        ("*", set(DOCS)),
    ],
)
def test_query_language(filled, query, expected):
    assert set(keys(filled, query)) == expected


@pytest.mark.parametrize("query", ["foo:bar", "a AND (b", "claim_score:abc", "ti*m", "a~2"])
def test_bad_query_raises_syntax_error(filled, query):
    with pytest.raises(QuerySyntaxError):
        filled.search(SearchRequest(query=query))


def test_unknown_field_error_lists_fields(filled):
    with pytest.raises(QuerySyntaxError, match=r"unknown field 'foo'.*source"):
        filled.search(SearchRequest(query="foo:bar"))


# -- filters, sorting, paging ----------------------------------------------------------------


def test_filters_or_within_and_across_fields(filled):
    assert set(keys(filled, filters={"source": ["vnexpress", "facebook"]})) == {
        "hanoi",
        "vaccine",
        "typo",
    }
    assert set(keys(filled, filters={"source": ["vnexpress", "facebook"], "kind": ["post"]})) == {
        "vaccine"
    }
    assert set(keys(filled, "covid", filters={"flags": ["claim"]})) == {"vaccine"}


def test_date_range_filter_is_inclusive_in_vietnam_time(filled):
    assert set(keys(filled, date_from="2026-11-01", date_to="2026-11-30")) == {
        "hanoi",
        "danang",
        "fuel",
    }
    assert set(keys(filled, date_from="2026-12-01")) == {"hagiang"}


def test_sorts(filled):
    assert keys(filled, sort="newest") == ["hagiang", "fuel", "danang", "hanoi", "vaccine", "typo"]
    assert keys(filled, sort="oldest") == ["typo", "vaccine", "hanoi", "danang", "fuel", "hagiang"]
    assert keys(filled, "covid", sort="score")[0] == "hanoi"  # max(covid, claim) 0.92 > 0.85
    assert keys(filled, "ha noi", sort="relevance") == ["hanoi", "typo"]  # title counts more


def test_pagination(filled):
    pages = []
    for offset in (0, 2, 4):
        response = filled.search(SearchRequest(sort="newest", offset=offset, limit=2))
        assert response.total == 6
        pages.append([KEY_OF[hit.document.id] for hit in response.hits])
    assert pages == [["hagiang", "fuel"], ["danang", "hanoi"], ["vaccine", "typo"]]


def test_facets(filled):
    response = filled.search(SearchRequest(facets=True))
    facets = {name: {b.key: b.count for b in buckets} for name, buckets in response.facets.items()}
    assert facets["source"] == {"tuoitre": 3, "vnexpress": 2, "facebook": 1}
    assert facets["kind"] == {"news": 5, "post": 1}
    assert facets["flags"] == {"covid": 2, "claim": 1}
    assert facets["site"]["tuoitre.vn"] == 3
    assert sum(facets["review_status"].values()) == 6
    assert [b.key for b in response.facets["source"]] == ["tuoitre", "vnexpress", "facebook"]
    narrowed = filled.search(SearchRequest(query="covid", facets=True))
    assert {b.key: b.count for b in narrowed.facets["source"]} == {"vnexpress": 1, "facebook": 1}


def test_histogram_months_and_days(filled):
    response = filled.search(SearchRequest(histogram="month"))
    assert [(b.key, b.count) for b in response.histogram] == [
        ("2026-09-01", 1),
        ("2026-10-01", 1),
        ("2026-11-01", 3),
        ("2026-12-01", 1),
    ]
    days = filled.search(
        SearchRequest(query="published_at:[2026-11-30 TO 2026-12-01]", histogram="day")
    )
    assert [(b.key, b.count) for b in days.histogram] == [("2026-11-30", 1), ("2026-12-01", 1)]
    weeks = filled.search(SearchRequest(query="source:tuoitre", histogram="week"))
    assert weeks.histogram[0].key == "2026-11-02"  # the Monday before Thursday 5 November
    assert sum(b.count for b in weeks.histogram) == 3


def test_highlight_pieces(filled):
    hit = filled.search(SearchRequest(query="ha noi")).hits[0]
    assert KEY_OF[hit.document.id] == "hanoi"
    matched = [text for text, is_match in hit.snippet if is_match]
    assert matched[:2] == ["Hà", "Nội"]
    assert hit.snippet_text.strip("…") in hit.document.text
    assert "<" not in hit.snippet_text
    plain = filled.search(SearchRequest(query="ha noi", highlight=False)).hits[0]
    assert plain.snippet == []


def test_scan_streams_every_match(filled):
    assert sorted(KEY_OF[doc.id] for doc in filled.scan(SearchRequest(query="covid"))) == [
        "hanoi",
        "vaccine",
    ]
    many = [make(f"bulk{i}", f"Bản tin số {i}", "Tin ngắn về thời tiết.") for i in range(1100)]
    filled.upsert(many)
    scanned = [doc.id for doc in filled.scan(SearchRequest(query="thoi tiet"))]
    assert len(scanned) == len(set(scanned)) == 1101


def test_counts_by(filled):
    assert filled.counts_by("source") == {"tuoitre": 3, "vnexpress": 2, "facebook": 1}
    assert filled.counts_by("flags") == {"covid": 2, "claim": 1}


# -- sites -----------------------------------------------------------------------------------


def test_sites(store):
    store.upsert_site({"site": "tintuc24h.info", "score": 0.8, "flag": "", "pages": 40})
    store.upsert_site({"site": "baomoi.vn", "score": 0.2, "flag": "", "evidence": []})
    assert store.get_site("tintuc24h.info")["pages"] == 40
    assert store.get_site("nowhere.vn") is None
    store.upsert_site(
        {"site": "tintuc24h.info", "score": 0.9, "flag": "site_style", "evidence": ["no masthead"]}
    )
    assert store.get_site("tintuc24h.info")["score"] == 0.9
    assert [p["site"] for p in store.list_sites()] == ["tintuc24h.info", "baomoi.vn"]
    [item] = store.review_list("site")
    assert (item.target_id, item.evidence) == ("tintuc24h.info", ["no masthead"])


# -- review queues ---------------------------------------------------------------------------


def test_flagged_documents_enter_their_queues_once(filled):
    covid = filled.review_list("covid")
    assert [KEY_OF[item.target_id] for item in covid] == ["hanoi", "vaccine"]  # newer first
    [claim] = filled.review_list("claim")
    assert KEY_OF[claim.target_id] == "vaccine"
    assert claim.title == DOCS["vaccine"].title and "vô sinh" in claim.excerpt
    assert filled.review_counts()["covid"] == {"open": 2, "decided": 0}
    filled.upsert(DOCS.values())
    assert len(filled.review_list("covid")) == 2
    assert set(keys(filled, "review_status:open")) == {"hanoi", "vaccine"}
    assert [entry.action for entry in filled.review_history(claim.id)] == ["enqueue"]


def test_review_flow(filled):
    item_id = filled.review_list("claim")[0].id
    claimed = filled.review_claim(item_id, "lan", now=NOW)
    assert claimed.leased_to(NOW) == "lan"
    with pytest.raises(LeaseError, match="lan"):
        filled.review_claim(item_id, "hung", now=NOW + timedelta(minutes=5))
    # the lease expires: someone else may take the item
    taken = filled.review_claim(item_id, "hung", now=NOW + timedelta(minutes=16))
    with pytest.raises(ConflictError, match="hung"):
        filled.review_decide(item_id, "lan", "false", "", expected_version=claimed.version, now=NOW)
    with pytest.raises(LeaseError):
        filled.review_decide(
            item_id,
            "lan",
            "false",
            "",
            expected_version=taken.version,
            now=NOW + timedelta(minutes=17),
        )
    with pytest.raises(ReviewError, match="verdict"):
        filled.review_decide(
            item_id, "hung", "confirmed", "", expected_version=taken.version, now=NOW
        )
    decided = filled.review_decide(
        item_id,
        "hung",
        "false",
        "Bộ Y tế bác bỏ",
        expected_version=taken.version,
        now=NOW + timedelta(minutes=18),
    )
    assert (decided.status, decided.verdict, decided.decided_by) == ("decided", "false", "hung")
    assert decided.title == DOCS["vaccine"].title and decided.excerpt
    assert filled.get(DOCS["vaccine"].id).review_status == "false"
    assert keys(filled, "review_status:false") == ["vaccine"]
    assert filled.review_list("claim") == []
    assert [i.id for i in filled.review_list("claim", status="decided")] == [item_id]
    with pytest.raises(ReviewError):
        filled.review_claim(item_id, "lan", now=NOW + timedelta(hours=1))

    # a re-crawl does not reset the decision
    filled.upsert([DOCS["vaccine"]])
    assert filled.get(DOCS["vaccine"].id).review_status == "false"
    assert filled.review_get(item_id).verdict == "false"

    reopened = filled.review_reopen(
        item_id, "lan", "cần kiểm tra lại", expected_version=decided.version
    )
    assert (reopened.status, reopened.verdict) == ("open", None)
    assert filled.get(DOCS["vaccine"].id).review_status == "open"
    history = filled.review_history(item_id)
    assert [(e.action, e.user) for e in history] == [
        ("enqueue", "system"),
        ("claim", "lan"),
        ("claim", "hung"),
        ("decide", "hung"),
        ("reopen", "lan"),
    ]
    assert history[3].before["status"] == "open"
    assert history[3].after["verdict"] == "false"
    assert history[3].note == "Bộ Y tế bác bỏ"


def test_review_errors(filled):
    with pytest.raises(NotFound):
        filled.review_get("claim:nope")
    with pytest.raises(NotFound):
        filled.review_claim("claim:nope", "lan")
    item = filled.review_list("covid")[0]
    with pytest.raises(ReviewError):
        filled.review_reopen(item.id, "lan", "", expected_version=item.version)
    with pytest.raises(ReviewError):
        filled.review_list("nope")
    site_item = None
    filled.upsert_site({"site": "tinnong.net", "score": 0.7, "flag": "site_style"})
    site_item = filled.review_list("site")[0]
    with pytest.raises(ReviewError, match="confirmed"):
        filled.review_decide(site_item.id, "lan", "false", "", expected_version=site_item.version)
    done = filled.review_decide(
        site_item.id, "lan", "confirmed", "", expected_version=site_item.version
    )
    assert done.verdict == "confirmed"
    assert filled.get_site("tinnong.net")["review_status"] == "confirmed"
