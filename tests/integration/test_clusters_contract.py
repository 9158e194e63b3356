"""Near-duplicate clusters, travelling verdicts and watch alerts, against every store.

Same backends as ``tests/test_store_contract.py``: SQLite always, Elasticsearch when
``MISINFO_ES_URL`` points at a node (a throw-away index prefix per test).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from analysis.near_duplicate_eval import strip_marks
from index.documents import Document, document_id
from index.errors import NotFound, QuerySyntaxError
from index.spread import SpreadStore, cluster_summary, decide_cluster, list_clusters
from index.sqlite import SqliteStore
from index.store import SearchRequest
from index.watches import WatchStore, new_watch

ES_URL = os.environ.get("MISINFO_ES_URL")

RUMOUR = (
    "Một bác sĩ giấu tên ở bệnh viện tuyến tỉnh cho biết virus Covid-19 trú ngụ ở cổ họng "
    "vài ngày trước khi xuống phổi. Chỉ cần súc miệng và uống một cốc nước muối ấm pha đặc "
    "ba lần mỗi ngày là virus sẽ bị tiêu diệt hoàn toàn, người bệnh khỏi hẳn mà không cần "
    "dùng thuốc. Đây là cách rẻ tiền mà hiệu quả nhưng ít ai nói cho người dân biết, vì vậy "
    "mỗi gia đình nên dự trữ vài ký muối hột trong nhà."
)
#: The rumour passed on: a prefix, a few words changed, the order of two sentences swapped.
COPY = (
    "Chia sẻ: Chỉ cần súc miệng và uống một cốc nước muối ấm pha thật đặc ba lần mỗi ngày là "
    "virus sẽ bị tiêu diệt hết, người bệnh khỏi hẳn mà không cần uống thuốc. Một bác sĩ giấu "
    "tên ở bệnh viện tỉnh cho biết virus Covid-19 trú ngụ ở cổ họng vài ngày trước khi xuống "
    "phổi. Đây là cách rẻ tiền mà hiệu quả nhưng ít ai nói cho người dân biết, vì vậy mỗi gia "
    "đình nên dự trữ vài ký muối hột."
)
#: The same topic, another story (must stay apart).
OTHER = (
    "Sở Y tế Hà Nội cho biết trong tuần qua thành phố ghi nhận 120 ca mắc Covid-19 mới, "
    "phần lớn ở các quận nội thành. Ngành y tế khuyến cáo người cao tuổi và người có bệnh nền "
    "đi tiêm mũi nhắc lại trước mùa lạnh, đồng thời đeo khẩu trang ở nơi đông người và đến cơ "
    "sở y tế khi có triệu chứng sốt, ho hoặc khó thở để được khám và điều trị kịp thời."
)
#: A long article that quotes the whole rumour among its own paragraphs.
ARTICLE = (
    "Bộ Y tế vừa phát đi cảnh báo về những thông tin sai sự thật liên quan đến cách phòng và "
    "chữa Covid-19 đang lan truyền trên mạng xã hội trong những ngày gần đây. "
    "Theo cơ quan này, nhiều bài đăng tự nhận là lời khuyên của bác sĩ nhưng không có nguồn "
    "gốc rõ ràng và không được kiểm chứng bởi các chuyên gia y tế. "
    "Một bài viết được chia sẻ hàng nghìn lần có nội dung như sau. " + RUMOUR + " "
    "Các chuyên gia khẳng định nước muối chỉ giúp làm sạch khoang miệng và họng, không thể "
    "tiêu diệt virus trong cơ thể và càng không thể thay thế thuốc điều trị hay vắc xin. "
    "Người dân khi có triệu chứng sốt, ho, đau họng hoặc khó thở cần liên hệ cơ sở y tế gần "
    "nhất để được tư vấn và điều trị kịp thời, không tự ý áp dụng các mẹo truyền miệng. "
    "Bộ Y tế cũng đề nghị các nền tảng mạng xã hội phối hợp gỡ bỏ những nội dung sai lệch và "
    "xử lý nghiêm các tài khoản cố tình phát tán thông tin gây hoang mang trong cộng đồng. "
    "Trước đó, nhiều địa phương đã xử phạt hành chính những người đăng tải tin giả về dịch "
    "bệnh với mức phạt từ năm đến mười triệu đồng tùy theo mức độ vi phạm và hậu quả gây ra. "
    "Cơ quan chức năng khuyến cáo người dân chỉ tiếp nhận thông tin từ các nguồn chính thống "
    "như trang của Bộ Y tế, Sở Y tế các tỉnh thành và các cơ quan báo chí được cấp phép. "
    "Theo thống kê của Cục Phát thanh, truyền hình và thông tin điện tử, riêng trong quý ba đã "
    "có hơn hai trăm bài viết về các bài thuốc dân gian chữa bệnh bị báo cáo vi phạm. "
    "Phần lớn các bài viết này xuất hiện trong những hội nhóm kín có hàng chục nghìn thành viên, "
    "nơi thông tin được chia sẻ lại rất nhanh và khó kiểm soát nguồn gốc ban đầu. "
    "Các nhà nghiên cứu truyền thông cho rằng tin giả về sức khỏe thường đánh vào tâm lý lo "
    "lắng của người cao tuổi và những gia đình có con nhỏ, vốn ít có điều kiện kiểm chứng. "
    "Nhiều trường học và tổ dân phố đã tổ chức các buổi sinh hoạt hướng dẫn người dân cách nhận "
    "biết tin giả, kiểm tra nguồn tin và báo cáo nội dung sai lệch tới cơ quan chức năng. "
    "Một số bệnh viện lớn cũng mở đường dây nóng giải đáp thắc mắc về các phương pháp phòng bệnh "
    "được lan truyền trên mạng, giúp người dân có thêm kênh thông tin đáng tin cậy."
)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
#: The claim analysis a flagged post carries.
CLAIM = {"claim": {"score": 0.9, "flag": True, "signals": ["chia sẻ"]}}


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


def post(site: str, slug: str, text: str, *, when: str, **fields) -> Document:
    url = f"https://{site}/{slug}"
    fields.setdefault("kind", "post")
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=site.split(".")[0],
        site=site,
        text=text,
        published_at=when,
        fetched_at=when,
        content_hash=f"h-{slug}-{len(text)}",
        **fields,
    )


ORIGINAL_DOC = post(
    "doisongxanh.vn",
    "nuoc-muoi",
    RUMOUR,
    when="2026-11-20T08:00:00+07:00",
    author="Nhóm PV",
    flags=["claim"],
    scores={"claim": 0.9},
    analysis=CLAIM,
    engagement={"likes": 100, "shares": 20},
)
COPY_DOC = post(
    "facebook.com",
    "groups/suckhoe/1",
    COPY,
    when="2026-11-20T11:30:00+07:00",
    author="Hội mẹ bỉm",
    engagement={"likes": 40, "shares": 60},
)
STRIPPED_DOC = post(
    "zalo.me", "kenh/2", strip_marks(RUMOUR), when="2026-11-21T07:00:00+07:00", author="Tin nhanh"
)
OTHER_DOC = post(
    "songhong.vn", "ha-noi-covid", OTHER, when="2026-11-20T09:00:00+07:00", kind="news"
)
ARTICLE_DOC = post(
    "baomoi24.vn", "canh-bao", ARTICLE, when="2026-11-22T10:00:00+07:00", kind="news"
)


def cluster_of(store, doc: Document) -> str:
    stored = store.get(doc.id)
    assert stored is not None and stored.cluster_id
    return stored.cluster_id


def test_stores_provide_the_spread_protocols(store):
    assert isinstance(store, SpreadStore)
    assert isinstance(store, WatchStore)


def test_copies_join_the_first_post_and_other_stories_stay_apart(store):
    store.upsert([ORIGINAL_DOC, OTHER_DOC])
    store.upsert([COPY_DOC])
    store.upsert([STRIPPED_DOC])
    first = cluster_of(store, ORIGINAL_DOC)
    assert cluster_of(store, COPY_DOC) == first
    assert cluster_of(store, STRIPPED_DOC) == first  # diacritics removed
    assert cluster_of(store, OTHER_DOC) != first
    hits = store.search(SearchRequest(query=f"cluster:{first}", sort="oldest")).hits
    assert [hit.document.id for hit in hits] == [ORIGINAL_DOC.id, COPY_DOC.id, STRIPPED_DOC.id]
    assert {hit.cluster_size for hit in hits} == {3}
    other = store.search(SearchRequest(query="Sở Y tế Hà Nội")).hits
    assert [(hit.document.id, hit.cluster_size) for hit in other] == [(OTHER_DOC.id, 1)]
    assert store.cluster_sizes([first, "nope"]) == {first: 3}


@pytest.mark.parametrize("article_first", [True, False])
def test_a_post_quoted_in_a_long_article_joins_it_by_containment(store, article_first):
    quote = post(
        "facebook.com",
        "quote/1",
        "Nóng: chỉ cần súc miệng và uống một cốc nước muối ấm pha đặc ba lần mỗi ngày là virus "
        "sẽ bị tiêu diệt hoàn toàn, người bệnh khỏi hẳn mà không cần dùng thuốc.",
        when="2026-11-23T10:00:00+07:00",
    )
    first, second = (ARTICLE_DOC, quote) if article_first else (quote, ARTICLE_DOC)
    store.upsert([first])
    store.upsert([second])
    assert cluster_of(store, quote) == cluster_of(store, ARTICLE_DOC)
    [member] = [m for m in store.cluster_members(cluster_of(store, quote)) if m.how]
    assert (member.document.id, member.how, member.matched_id) == (
        second.id,
        "containment",
        first.id,
    )
    assert member.similarity >= 0.9


def test_recrawls_keep_the_cluster_and_a_rewritten_text_leaves_it(store):
    store.upsert([ORIGINAL_DOC, COPY_DOC])
    first = cluster_of(store, COPY_DOC)
    store.upsert([ORIGINAL_DOC, COPY_DOC])
    assert cluster_of(store, COPY_DOC) == first
    rewritten = replace(COPY_DOC, text=OTHER + " Bài viết đã được chỉnh sửa.", content_hash="x")
    store.upsert([rewritten])
    assert cluster_of(store, COPY_DOC) != first
    assert store.cluster_sizes([first]) == {first: 1}


def test_cluster_summaries(store):
    store.upsert([ORIGINAL_DOC, OTHER_DOC, COPY_DOC, STRIPPED_DOC])
    first = cluster_of(store, ORIGINAL_DOC)
    assert store.cluster_ids() == [first]  # clusters of two or more
    assert store.cluster_ids(min_size=1, limit=10)[0] == first  # the most recent first
    assert store.cluster_ids(since="2026-12-01T00:00:00Z") == []
    assert store.cluster_ids(flagged=True) == [first]
    [summary] = list_clusters(store)
    assert summary.size == 3
    assert summary.first.document.id == ORIGINAL_DOC.id
    assert summary.last_seen == STRIPPED_DOC.published_at
    assert dict(summary.sites) == {"doisongxanh.vn": 1, "facebook.com": 1, "zalo.me": 1}
    assert summary.engagement == {"likes": 140, "shares": 80}
    assert summary.flags == {"claim": 1}
    assert cluster_summary(store, "no-such-cluster") is None
    activity = store.cluster_activity("2026-11-20T03:00:00Z")  # 10:00 in Hà Nội
    assert sorted(cluster for cluster, _ in activity) == [first, first]


def test_a_false_verdict_sends_copies_now_and_later_to_the_claim_queue(store):
    store.upsert([ORIGINAL_DOC, COPY_DOC, OTHER_DOC])
    [item] = store.review_list("claim")
    assert item.target_id == ORIGINAL_DOC.id
    store.review_decide(item.id, "lan", "false", "Bộ Y tế bác bỏ", expected_version=item.version)
    queued = {queued.target_id: queued for queued in store.review_list("claim")}
    assert set(queued) == {COPY_DOC.id}  # the other story is not touched
    link = queued[COPY_DOC.id].evidence["cluster_verdict"]
    assert (link["decision"], link["verdict"], link["decided_by"]) == (item.id, "false", "lan")
    assert link["document"] == ORIGINAL_DOC.id and 0.3 < link["similarity"] < 1
    history = store.review_history(queued[COPY_DOC.id].id)
    assert history[0].action == "enqueue" and item.id in history[0].note
    assert store.get(COPY_DOC.id).review_status == "open"

    store.upsert([STRIPPED_DOC])  # a later copy
    later = {queued.target_id: queued for queued in store.review_list("claim")}
    assert set(later) == {COPY_DOC.id, STRIPPED_DOC.id}
    assert later[STRIPPED_DOC.id].evidence["cluster_verdict"]["decision"] == item.id


def test_a_verdict_applied_to_the_whole_cluster_is_audited_per_item(store):
    store.upsert([ORIGINAL_DOC, COPY_DOC, STRIPPED_DOC, OTHER_DOC])
    first = cluster_of(store, ORIGINAL_DOC)
    outcome = decide_cluster(store, first, "hung", "false", "Bộ Y tế đã bác bỏ")
    assert len(outcome.decided) == 3 and outcome.already == [] and outcome.skipped == []
    for doc in (ORIGINAL_DOC, COPY_DOC, STRIPPED_DOC):
        item = store.review_get(f"claim:{doc.id}")
        assert (item.status, item.verdict, item.decided_by) == ("decided", "false", "hung")
        actions = [entry.action for entry in store.review_history(item.id)]
        assert actions[-1] == "decide"
        assert f"cluster {first}" in store.review_history(item.id)[-1].note
        assert store.get(doc.id).review_status == "false"
    assert store.get(OTHER_DOC.id).review_status == "none"
    again = decide_cluster(store, first, "hung", "false", "")
    assert again.decided == [] and len(again.already) == 3
    with pytest.raises(NotFound):
        decide_cluster(store, "no-such-cluster", "hung", "false", "")


def test_watch_queries_raise_one_alert_per_document(store):
    watch = new_watch("Nước muối", '"nước muối" OR "nuoc muoi"', "lan", NOW)
    store.watch_save(watch)
    store.watch_save(new_watch("Hà Nội", "site:songhong.vn", "lan", NOW + timedelta(minutes=1)))
    assert [w.name for w in store.watch_list()] == ["Nước muối", "Hà Nội"]
    store.upsert([ORIGINAL_DOC, OTHER_DOC])
    store.upsert([STRIPPED_DOC])
    store.upsert([ORIGINAL_DOC])  # a re-crawl alerts no one again
    alerts = store.alerts_list()
    assert sorted(alert.doc_id for alert in alerts if alert.watch_id == watch.id) == sorted(
        [ORIGINAL_DOC.id, STRIPPED_DOC.id]
    )
    assert len(alerts) == 3
    newest = alerts[0]
    assert newest.doc_id == STRIPPED_DOC.id
    assert newest.payload["watch"]["query"] == watch.query
    assert newest.payload["document"]["cluster_id"] == cluster_of(store, STRIPPED_DOC)
    assert newest.payload["document"]["cluster_size"] == 2
    pending = store.alerts_list(pending=True)
    assert [alert.doc_id for alert in pending][:2] == [ORIGINAL_DOC.id, OTHER_DOC.id]
    store.alerts_mark([pending[0].id], delivered_at="2026-11-22T00:00:00+00:00", error=None)
    store.alerts_mark([pending[1].id], delivered_at=None, error="503 from receiver")
    again = {alert.id: alert for alert in store.alerts_list(pending=True)}
    assert pending[0].id not in again
    assert (again[pending[1].id].attempts, again[pending[1].id].last_error) == (
        1,
        "503 from receiver",
    )
    store.watch_delete(watch.id)
    assert [w.name for w in store.watch_list()] == ["Hà Nội"]
    with pytest.raises(NotFound):
        store.watch_delete(watch.id)


def test_a_bulk_write_is_checked_against_watches_a_bounded_chunk_at_a_time(store, monkeypatch):
    """A bulk import of any size: each watch search covers at most WATCH_CHUNK documents
    (SQLite's bound variables, Elasticsearch's result window), and every match alerts."""
    from index import watches

    monkeypatch.setattr(watches, "WATCH_CHUNK", 2)
    store.watch_save(new_watch("Nước muối", '"nước muối"', "lan", NOW))
    searched: list[int] = []
    search = store.search

    def counting_search(request):
        if request.ids is not None:
            searched.append(len(request.ids))
        return search(request)

    monkeypatch.setattr(store, "search", counting_search)
    docs = [
        post(
            f"trang{number}.vn",
            f"bai-{number}",
            f"{OTHER} Tin số {number} về nước muối.",
            when=f"2026-11-2{number}T08:00:00+07:00",
        )
        for number in range(5)
    ]
    store.upsert(docs)
    assert sorted(alert.doc_id for alert in store.alerts_list()) == sorted(doc.id for doc in docs)
    assert searched and max(searched) <= 2


def test_a_bad_watch_query_is_refused():
    with pytest.raises(QuerySyntaxError):
        new_watch("x", "a AND (b", "lan")
    with pytest.raises(QuerySyntaxError):
        new_watch("x", "  ", "lan")


def test_rebuild_gives_the_clusters_the_writes_gave(store):
    store.upsert([ORIGINAL_DOC, OTHER_DOC])
    store.upsert([COPY_DOC, ARTICLE_DOC])
    store.upsert([STRIPPED_DOC])
    before = {
        doc.id: cluster_of(store, doc)
        for doc in (ORIGINAL_DOC, OTHER_DOC, COPY_DOC, ARTICLE_DOC, STRIPPED_DOC)
    }
    assert store.rebuild_clusters() == 5
    after = {doc_id: cluster_of(store, store.get(doc_id)) for doc_id in before}
    assert after == before
    assert not store.clusters_stale()


def test_decided_and_moved_posts_are_still_found_by_their_words(store):
    """Review decisions and cluster moves rewrite stored documents: their search copies
    (with and without diacritics) must survive that on every store."""
    store.upsert([ORIGINAL_DOC, COPY_DOC, OTHER_DOC])
    decide_cluster(store, cluster_of(store, ORIGINAL_DOC), "lan", "false", "")
    for query in ("nuoc muoi", "nước muối", "muối hột"):
        found = {hit.document.id for hit in store.search(SearchRequest(query=query)).hits}
        assert {ORIGINAL_DOC.id, COPY_DOC.id} <= found, query
    assert store.rebuild_clusters() == 3
    assert {
        hit.document.id for hit in store.search(SearchRequest(query="vo sinh OR muoi")).hits
    } >= {ORIGINAL_DOC.id}
