"""Hostile pages through the crawl's own components, without a network (issue #13).

Each row test drives the public path a page takes: the spider's parsing, then the item
pipelines the crawl settings list, into a SQLite store. Rows: 1 (a post writes another
site's document; ``javascript:`` permalinks), 3 (a year-1 date loses the batch), 11 (gzip
sitemaps), 14 (JSON-LD that is not an object) and 15 (links to another port).
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.exceptions import DropItem, IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from crawler.extract.article import extract_page
from crawler.extract.urls import canonical_url
from crawler.items import PostItem
from crawler.processing.tasks import PageJob, extract_one
from crawler.resources.sources import Selectors, Source
from crawler.settings import BASE_SETTINGS
from crawler.spiders.news import NewsSpider
from crawler.spiders.social import SocialSpider
from index import Document, document_id
from index.sqlite import SqliteStore

FETCHED_AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
PAPER = "http://127.0.0.3:8001"
GROUP = "http://127.0.0.2:8002"
SELECTORS = Selectors(
    post="article.post", text=".text", author=".author", link="a.permalink::attr(href)"
)
PARAGRAPH = (
    "Sáng nay, Sở Y tế thành phố cho biết tình hình dịch bệnh trên địa bàn đã được kiểm soát, "
    "số ca mắc mới giảm liên tục trong hai tuần qua nhờ các biện pháp phòng chống quyết liệt."
)


def _crawler(tmp_path: Path, spider_cls: type, source: Source, **settings):
    values = {
        **BASE_SETTINGS,
        "MM_INDEX_URI": f"sqlite:///{tmp_path / 'index.db'}",
        "MM_ANALYSIS_ENABLED": False,
        **settings,
    }
    crawler = get_crawler(spider_cls, settings_dict=values)
    crawler.spider = spider_cls.from_crawler(crawler, source=source)
    crawler.stats.open_spider()
    return crawler


def _pipelines(crawler) -> list:
    """The item pipelines the crawl settings list, in order (disabled ones left out)."""
    built = []
    for path, _ in sorted(crawler.settings.getdict("ITEM_PIPELINES").items(), key=lambda kv: kv[1]):
        try:
            built.append(load_object(path).from_crawler(crawler))
        except NotConfigured:
            continue
    return built


def _crawl(crawler, items: Iterable[PostItem]) -> list[PostItem]:
    """``items`` through every pipeline; what reached the end. Then the spider closes."""
    pipelines = _pipelines(crawler)
    kept = []
    for item in items:
        try:
            for pipeline in pipelines:
                item = pipeline.process_item(item)
        except DropItem:
            continue
        kept.append(item)
    for pipeline in reversed(pipelines):
        if hasattr(pipeline, "close_spider"):
            pipeline.close_spider()
    crawler._mm_store.close()
    return kept


def _stored(tmp_path: Path) -> dict[str, Document]:
    store = SqliteStore(tmp_path / "index.db")
    try:
        return {doc.url: doc for doc in store.scan(_everything())}
    finally:
        store.close()


def _everything():
    from index import SearchRequest

    return SearchRequest()


def _paper_article(url: str, title: str = "Bộ Y tế: tình hình dịch ổn định") -> Document:
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="paper",
        site="127.0.0.3",
        title=title,
        text=PARAGRAPH,
        published_at="2026-11-27T08:00:00+07:00",
        fetched_at="2026-11-27T09:00:00+07:00",
    )


# -- row 1: a document belongs to the site that served it ---------------------------------------
def _group_page(
    permalink: str, text: str = "Báo lớn xác nhận: uống nước muối chữa khỏi Covid!"
) -> str:
    return (
        "<html><head><title>Nhóm sức khỏe</title></head><body>"
        f'<article class="post"><span class="author">Kẻ tung tin</span>'
        f'<a class="permalink" href="{permalink}">bài gốc</a><div class="text">{text}</div></article>'
        '<article class="post"><span class="author">An</span>'
        '<a class="permalink" href="/posts/2">2</a><div class="text">Bài thường của nhóm.</div>'
        "</article></body></html>"
    )


def _group_source() -> Source:
    return Source(name="group", kind="social", start_urls=[GROUP + "/"], selectors=SELECTORS)


def test_a_post_never_overwrites_another_sites_article(tmp_path: Path):
    article_url = PAPER + "/bai/1.html"
    store = SqliteStore(tmp_path / "index.db")
    store.upsert([_paper_article(article_url)])
    store.close()
    crawler = _crawler(tmp_path, SocialSpider, _group_source())
    items = list(crawler.spider.items_from_html(_group_page(article_url), GROUP + "/"))
    _crawl(crawler, items)

    stored = _stored(tmp_path)
    paper = stored[article_url]
    assert paper.site == "127.0.0.3" and paper.source == "paper"
    assert paper.title == "Bộ Y tế: tình hình dịch ổn định" and paper.text == PARAGRAPH
    # The post is kept, under an address of the group, with the article as a link.
    (post,) = [doc for doc in stored.values() if doc.author == "Kẻ tung tin"]
    assert post.url.startswith(GROUP + "/#post-") and post.site == "127.0.0.2"
    assert post.outlinks == [article_url]
    assert GROUP + "/posts/2" in stored


@pytest.mark.parametrize(
    "permalink", ["javascript:alert(1)", "data:text/html,x", "mailto:a@b.vn", "http://[::1"]
)
def test_a_permalink_that_is_no_web_url_never_becomes_a_document(tmp_path: Path, permalink):
    crawler = _crawler(tmp_path, SocialSpider, _group_source())
    items = list(crawler.spider.items_from_html(_group_page(permalink), GROUP + "/"))
    _crawl(crawler, items)  # closing the spider refreshes site profiles: no failure there
    stored = _stored(tmp_path)
    assert len(stored) == 2
    assert all(url.startswith(GROUP + "/") for url in stored)
    assert all(doc.site == "127.0.0.2" for doc in stored.values())


def test_the_store_refuses_a_write_that_moves_a_document_to_another_site(tmp_path, caplog):
    url = PAPER + "/bai/1.html"
    store = SqliteStore(tmp_path / "index.db")
    store.upsert([_paper_article(url)])
    hijack = _paper_article(url, title="Tin giả")
    hijack.site, hijack.source = "127.0.0.2", "group"
    other = _paper_article(PAPER + "/bai/2.html")
    with caplog.at_level(logging.WARNING, logger="index.documents"):
        result = store.upsert([hijack, other])
    assert (result.created, result.updated, getattr(result, "refused", None)) == (1, 0, 1)
    kept = store.get(document_id(url))
    assert kept is not None and kept.title != "Tin giả" and kept.site == "127.0.0.3"
    assert "refused" in caplog.text and document_id(url) in caplog.text
    store.close()


def test_items_off_the_source_hosts_are_dropped(tmp_path: Path):
    source = Source(name="paper", start_urls=[PAPER + "/"])
    crawler = _crawler(tmp_path, NewsSpider, source)
    good = _news_item(PAPER + "/bai/1.html")
    offsite = _news_item("http://127.0.0.9:8001/bai/1.html")
    kept = _crawl(crawler, [good, offsite])
    assert [item.canonical_url for item in kept] == [good.canonical_url]
    assert crawler.stats.get_value("mm/boundary/not_owned") == 1


# -- row 3: a date out of range costs that date, never the batch ------------------------------
def _news_item(url: str, **fields) -> PostItem:
    values = {
        "source": "paper",
        "site": "127.0.0.3",
        "title": "Tin " + url.rsplit("/", 1)[-1],
        "text": PARAGRAPH,
        "published_at": "2026-11-27T08:00:00+07:00",
        "fetched_at": FETCHED_AT.isoformat(),
        **fields,
    }
    return PostItem(url=url, canonical_url=url, **values)


@pytest.mark.parametrize(
    "published_at",
    ["0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00+07:00", "9999-12-31T23:59:59-14:00"],
)
def test_an_absurd_date_is_dropped_with_a_note_and_the_batch_is_stored(tmp_path, published_at):
    source = Source(name="paper", start_urls=[PAPER + "/"])
    crawler = _crawler(tmp_path, NewsSpider, source)
    items = [_news_item(f"{PAPER}/bai/{n}.html") for n in range(1, 4)]
    items[1].published_at = published_at
    _crawl(crawler, items)
    stored = _stored(tmp_path)
    assert len(stored) == 3  # the good pages of the batch are not lost
    bad = stored[f"{PAPER}/bai/2.html"]
    assert bad.published_at is None and bad.text == PARAGRAPH
    assert any("published_at" in note for note in bad.analysis.get("notes", []))
    assert stored[f"{PAPER}/bai/1.html"].published_at == "2026-11-27T08:00:00+07:00"


def test_one_document_that_cannot_be_written_costs_only_itself(tmp_path, monkeypatch):
    source = Source(name="paper", start_urls=[PAPER + "/"])
    crawler = _crawler(tmp_path, NewsSpider, source)
    original = SqliteStore.upsert

    def upsert(self, documents):
        documents = list(documents)
        if any(doc.title == "Tin 2.html" for doc in documents):
            raise RuntimeError("this one document breaks the write")
        return original(self, documents)

    monkeypatch.setattr(SqliteStore, "upsert", upsert)
    _crawl(crawler, [_news_item(f"{PAPER}/bai/{n}.html") for n in range(1, 4)])
    monkeypatch.setattr(SqliteStore, "upsert", original)
    assert sorted(_stored(tmp_path)) == [f"{PAPER}/bai/1.html", f"{PAPER}/bai/3.html"]
    assert crawler.stats.get_value("mm/docs/failed") == 1


# -- row 14: JSON-LD that is valid JSON but no object costs nothing ---------------------------
@pytest.mark.parametrize(
    "json_ld",
    ["42", '{"@graph": 5}', '"text"', "null", '[1, "a", null]', "[" * 100_000, "9" * 5000],
)
def test_json_ld_of_any_shape_never_loses_the_page(json_ld):
    body = "".join(f"<p>Đoạn {n}. {PARAGRAPH}</p>" for n in range(6))
    html = (
        '<html><head><meta property="og:type" content="article"><title>Bài</title>'
        '<meta property="article:published_time" content="2026-11-27T08:00:00+07:00">'
        f'<script type="application/ld+json">{json_ld}</script></head>'
        f"<body><article><h1>Bài</h1>{body}</article></body></html>"
    )
    page = extract_page(html, PAPER + "/bai/1.html", fetched_at=FETCHED_AT)
    assert page.is_article and PARAGRAPH[:40] in page.text


# -- row 11: gzip sitemaps are read, with a size cap -----------------------------------------
def _sitemap_spider(tmp_path: Path, **settings):
    source = Source(name="paper", sitemaps=[PAPER + "/sitemap.xml.gz"])
    return _crawler(tmp_path, NewsSpider, source, **settings).spider


def _urlset(count: int) -> bytes:
    urls = "".join(f"<url><loc>{PAPER}/bai/{n}.html</loc></url>" for n in range(count))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


def test_a_gzip_sitemap_is_unpacked(tmp_path: Path):
    spider = _sitemap_spider(tmp_path)
    body = gzip.compress(_urlset(3))
    response = Response(
        PAPER + "/sitemap.xml.gz", body=body, headers={"Content-Type": "application/gzip"}
    )
    requests = list(spider.parse_sitemap(response))
    assert [request.url for request in requests] == [f"{PAPER}/bai/{n}.html" for n in range(3)]


def test_a_gzip_bomb_sitemap_stops_at_the_cap(tmp_path: Path):
    spider = _sitemap_spider(tmp_path, MM_SITEMAP_MAX_BYTES=1024 * 1024)
    bomb = gzip.compress(_urlset(1)[:-9] + b" " * (64 * 1024 * 1024) + b"</urlset>")
    assert len(bomb) < 1024 * 1024
    response = Response(PAPER + "/sitemap.xml.gz", body=bomb)
    assert list(spider.parse_sitemap(response)) == []
    assert spider.crawler.stats.get_value("mm/discovery/sitemap/bad_gzip") == 1


# -- row 15: links to another port of an allowed host are not followed ------------------------
def _guard(tmp_path: Path, **source_fields):
    source = Source(name="paper", start_urls=[PAPER + "/"], **source_fields)
    crawler = _crawler(tmp_path, NewsSpider, source)
    for path, _ in crawler.settings.getdict("DOWNLOADER_MIDDLEWARES").items():
        if path.endswith("HostGuardMiddleware"):
            return load_object(path).from_crawler(crawler), crawler
    raise AssertionError("no middleware keeps requests on the source's hosts")


def test_requests_to_another_port_of_an_allowed_host_are_dropped(tmp_path: Path):
    guard, crawler = _guard(tmp_path)
    assert guard.process_request(Request(PAPER + "/bai/1.html")) is None
    assert guard.process_request(Request("http://127.0.0.3/bai/1.html")) is None  # port 80
    for url in ("http://127.0.0.3:6379/", "http://127.0.0.3:9200/_cat", "http://127.0.0.1:8001/"):
        with pytest.raises(IgnoreRequest):
            guard.process_request(Request(url))
    assert crawler.stats.get_value("mm/hosts/other_port") == 2
    assert crawler.stats.get_value("mm/hosts/offsite") == 1
    open_guard, _ = _guard(tmp_path, other_ports=True)
    assert open_guard.process_request(Request("http://127.0.0.3:6379/")) is None


def test_the_news_spider_does_not_follow_links_to_other_ports(tmp_path: Path):
    source = Source(name="paper", start_urls=[PAPER + "/"])
    crawler = _crawler(tmp_path, NewsSpider, source)
    html = (
        f'<html><body><a href="{PAPER}/muc/1.html">mục</a>'
        '<a href="http://127.0.0.3:6379/">redis</a></body></html>'
    )
    response = HtmlResponse(PAPER + "/", body=html.encode(), encoding="utf-8")
    fetched_at = datetime.now(UTC)
    # What parse_page does once the page comes back from the processing workers.
    page = extract_one(
        PageJob(response.url, response.text, fetched_at, crawler.spider.page_context)
    )
    results = crawler.spider.page_results(response, 0, fetched_at, page)
    followed = [r.url for r in results if isinstance(r, Request)]
    guard, _ = _guard(tmp_path)
    fetched = []
    for url in followed:
        try:
            guard.process_request(Request(url))
            fetched.append(url)
        except IgnoreRequest:
            pass
    assert fetched == [PAPER + "/muc/1.html"]


# -- URL canonicalisation under fuzzing --------------------------------------------------------
_URL_PART = st.sampled_from(
    ["http://", "https://", "HTTP://", "javascript:", "//", "a.vn", "WWW.A.VN", ":8080", ":99999",
     "/", "x", "?utm_source=x", "&b=2", "?a=1", "#frag", ";jsessionid=1", "%zz", "[::1]", " ", "é"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_URL_PART, max_size=10).map("".join))
def test_canonical_urls_are_stable_and_only_web_urls_are_owned(url):
    from crawler.extract.validate import HostPolicy, is_web_url

    once = canonical_url(url)  # never raises: what is no URL becomes ""
    if is_web_url(once):  # the form every document id comes from is a fixed point
        assert canonical_url(once) == once
    policy = HostPolicy.for_source(["a.vn"], ["http://a.vn/"])
    if policy.owns(once):
        assert is_web_url(once) and once.split("://", 1)[0] in ("http", "https")
        assert "a.vn" in once.split("/")[2]


# -- row 6 (without a browser): the network flags and the page guard's policy --------------------
def test_the_browser_proxies_everything_but_the_source_hosts_to_nowhere():
    from crawler.browser_guard import BLACKHOLE_PROXY, browser_network_args
    from crawler.extract.validate import HostPolicy

    policy = HostPolicy.for_source(["127.0.0.2", "vnexpress.net"], ["http://127.0.0.2:8002/"])
    proxy, bypass = browser_network_args(policy)
    assert proxy == f"--proxy-server={BLACKHOLE_PROXY}"
    rules = bypass.removeprefix("--proxy-bypass-list=").split(";")
    assert rules[0] == "<-loopback>"  # loopback gets no implicit pass
    assert "127.0.0.2:8002" in rules and "*.127.0.0.2:8002" not in rules
    assert {"vnexpress.net:443", "*.vnexpress.net:443", "vnexpress.net:80"} <= set(rules)
    assert not any(rule.startswith("127.0.0.1") for rule in rules)


def test_browser_requests_get_the_page_guard(tmp_path: Path):
    source = Source(name="group", kind="social", start_urls=[GROUP + "/"], selectors=SELECTORS)
    crawler = _crawler(tmp_path, SocialSpider, source)
    guard = None
    for path in crawler.settings.getdict("DOWNLOADER_MIDDLEWARES"):
        if path.endswith("BrowserGuardMiddleware"):
            guard = load_object(path).from_crawler(crawler)
    assert guard is not None
    request = Request(GROUP + "/", meta={"playwright": True})
    guard.process_request(request)
    assert request.meta["playwright_page_init_callback"] == "crawler.browser_guard.guard_page"
    assert request.meta["mm_browser_hosts"]["domains"] == ["127.0.0.2"]
    plain = Request(GROUP + "/robots.txt")
    guard.process_request(plain)
    assert "playwright_page_init_callback" not in plain.meta


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.2:8002/x", True),
        ("http://127.0.0.2:8003/x", False),
        ("http://127.0.0.1:8002/x", False),
        ("http://10.0.0.1/x", False),
        ("http://localhost:8002/x", False),
        ("http://a.vn.127.0.0.2/x", False),
        ("https://www.vnexpress.net/x", True),
        ("https://tin.vnexpress.net/x", True),
        ("https://vnexpress.net.evil.vn/x", False),
        ("https://vnexpress.net:8443/x", False),
        ("ftp://vnexpress.net/x", False),
        ("javascript:alert(1)", False),
    ],
)
def test_host_policy(url, allowed):
    from crawler.extract.validate import HostPolicy

    policy = HostPolicy.for_source(["127.0.0.2", "vnexpress.net"], ["http://127.0.0.2:8002/"])
    assert policy.allows(url) is allowed


# -- dates as pages print them, under fuzzing ---------------------------------------------------
_DATE_PART = st.sampled_from(
    ["0001", "9999", "31", "12", "/", "-", ":", " ", "T", "Z", "+14:00", "-12:00", "GMT+7",
     "GMT+99", "99999999999", "năm", "ngày", "giờ", "trước", "hôm qua lúc", "20:15", "."]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_DATE_PART, max_size=12).map("".join))
def test_any_printed_date_is_a_date_or_none_and_the_window_never_raises(text):
    from crawler.extract.dates import parse_iso, parse_vietnamese_date
    from crawler.extract.validate import sane_date

    for parse in (parse_iso, parse_vietnamese_date):
        value = parse(text, now=FETCHED_AT)
        assert value is None or value.tzinfo is not None
        kept = sane_date(value, now=FETCHED_AT)
        if kept is not None:
            utc = kept.astimezone(UTC)
            assert utc.year >= 1990 and utc <= FETCHED_AT + timedelta(days=1)
