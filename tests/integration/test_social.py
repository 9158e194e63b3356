"""Social pages: post parsing and engagement numbers (fast), and the JS demo group crawled
through Chromium end to end (marked ``browser``)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from crawler.app import App
from crawler.demosite import DemoServer
from crawler.resources.sources import Selectors, Source
from crawler.service.runner import spider_class
from crawler.settings import BrowserNotFound, crawl_settings, find_browser
from crawler.spiders.news import NewsSpider
from crawler.spiders.social import (
    RenderedNewsSpider,
    SocialSpider,
    parse_count,
    parse_posts,
    post_title,
    posts_to_items,
)
from index import SearchRequest, open_store
from tests.helpers import FAST_CRAWL_SETTINGS, run_cli, write_config

REPO_ROOT = Path(__file__).resolve().parents[2]
MXH = "mxh.localhost"
FETCHED_AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # 17:00 in Vietnam
SELECTORS = Selectors(
    post="article.post",
    text=".text",
    author=".author",
    time="time",
    link="a.permalink::attr(href)",
    likes=".likes",
    comments=".comments",
    shares=".shares",
)

SNIPPET = """
<html><head><title>Nhóm: Hội những người thích đọc</title></head><body>
<div id="feed">
  <article class="post">
    <header><span class="author">Nguyễn Văn An</span>
      <a class="permalink" href="/posts/abc?utm_source=x#top">
        <time datetime="2026-11-28T15:30:00+07:00">1 giờ trước</time></a></header>
    <div class="text">Uống nước chanh ấm chữa khỏi Covid. Chia sẻ cho mọi người!</div>
    <footer><span class="likes">1,2K</span> · <span class="comments">1.200</span>
      · <span class="shares">37</span></footer>
  </article>
  <article class="post">
    <header><span class="author">Trần Thị Bình</span>
      <a class="permalink" href="/posts/def"><time>hôm qua lúc 20:15</time></a></header>
    <div class="text">Dòng   một

      Dòng hai\t</div>
    <footer><span class="likes">3 N</span></footer>
  </article>
  <article class="post"><div class="text">   </div></article>
  <article class="post">
    <header><span class="author">Lê Cường</span><time>2 giờ trước</time></header>
    <div class="text">Bài không có liên kết riêng</div>
  </article>
</div>
<footer><p>Mạng xã hội MXH</p></footer>
</body></html>
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("37", 37),
        ("1,2K", 1200),
        ("1.2k", 1200),
        ("1.200", 1200),
        ("1,200", 1200),
        ("12.345.678", 12_345_678),
        ("3 N", 3000),
        ("2,5 nghìn", 2500),
        ("1,5 triệu", 1_500_000),
        ("1.5M", 1_500_000),
        ("2tr", 2_000_000),
        ("12 lượt thích", 12),
        ("  7 bình luận · ", 7),
        ("1,5", 2),
        ("", None),
        ("Thích", None),
        (None, None),
    ],
)
def test_parse_count(text: str | None, expected: int | None):
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Uống nước chanh. Chia sẻ ngay!", "Uống nước chanh."),
        ("Có thật không? Ai biết", "Có thật không?"),
        ("Không có dấu chấm", "Không có dấu chấm"),
        ("từ " * 60, ("từ " * 40).strip() + "…"),
        ("Phiên bản 2.0 ra mắt. Xem", "Phiên bản 2.0 ra mắt."),
    ],
)
def test_post_title(text: str, expected: str):
    assert post_title(text) == expected


def test_parse_posts_on_a_static_snippet():
    posts = parse_posts(
        SNIPPET,
        page_url="http://mxh.localhost:8765/",
        selectors=SELECTORS,
        fetched_at=FETCHED_AT,
    )
    assert len(posts) == 3  # the post without text is left out
    first, second, third = posts
    assert first.url == "http://mxh.localhost:8765/posts/abc"
    assert first.author == "Nguyễn Văn An"
    assert first.published_at == datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    assert first.text == "Uống nước chanh ấm chữa khỏi Covid. Chia sẻ cho mọi người!"
    assert first.engagement == {"likes": 1200, "comments": 1200, "shares": 37}
    # No datetime attribute: the shown relative time, resolved against the fetch time.
    assert second.published_at is not None
    assert second.published_at.astimezone(UTC) == datetime(2026, 11, 27, 13, 15, tzinfo=UTC)
    assert second.text == "Dòng một\nDòng hai"
    assert second.engagement == {"likes": 3000}
    # No permalink: a stable address derived from the page and the post.
    assert third.url.startswith("http://mxh.localhost:8765/#post-")
    assert third.published_at == FETCHED_AT - timedelta(hours=2)
    again = parse_posts(
        SNIPPET, page_url="http://mxh.localhost:8765/", selectors=SELECTORS, fetched_at=FETCHED_AT
    )
    assert again[2].url == third.url


def test_posts_become_social_items_with_page_signals():
    source = Source(
        name="mxh", kind="social", start_urls=["http://mxh.localhost:8765/"], selectors=SELECTORS
    )
    posts = parse_posts(
        SNIPPET, page_url=source.start_urls[0], selectors=SELECTORS, fetched_at=FETCHED_AT
    )
    items = list(
        posts_to_items(
            posts,
            html=SNIPPET,
            page_url=source.start_urls[0],
            source=source,
            fetched_at=FETCHED_AT,
        )
    )
    item = items[0]
    assert (item.kind, item.source, item.site) == ("social", "mxh", "mxh.localhost")
    assert item.canonical_url == item.url == "http://mxh.localhost:8765/posts/abc"
    assert item.title == "Uống nước chanh ấm chữa khỏi Covid."
    assert item.published_at == "2026-11-28T15:30:00+07:00"
    assert item.site_name == "Nhóm: Hội những người thích đọc"
    assert item.page_signals["kind"] == "post"
    assert item.page_signals["author"] == "Nguyễn Văn An"


def test_text_selector_with_pseudo_elements_and_attr_time():
    selectors = Selectors(post="div.p", text="p::text", author="b::text", time="span::attr(data-t)")
    html = '<div class="p"><b>An</b><span data-t="3 ngày"></span><p>Một</p><p>Hai</p></div>'
    (post,) = parse_posts(
        html, page_url="http://x.localhost/", selectors=selectors, fetched_at=FETCHED_AT
    )
    assert (post.text, post.author) == ("Một\nHai", "An")
    assert post.published_at == FETCHED_AT - timedelta(days=3)


# -- spider selection and browser settings ----------------------------------------------------
def _source(**fields) -> Source:
    return Source(name="s", start_urls=["http://a.localhost/"], **fields)


def test_spider_selection():
    assert spider_class(_source()) is NewsSpider
    assert spider_class(_source(render=True)) is RenderedNewsSpider
    assert spider_class(_source(kind="social", selectors=SELECTORS)) is SocialSpider


def test_news_crawls_never_get_the_browser_handler(tmp_path: Path):
    app = App(config_dir=write_config(tmp_path / "cfg", []), data_dir=tmp_path / "data")
    settings = crawl_settings(app, _source(), index_uri="sqlite:///x.db")
    assert "PLAYWRIGHT_LAUNCH_OPTIONS" not in settings.copy_to_dict()
    assert "scrapy_playwright" not in str(settings.getdict("DOWNLOAD_HANDLERS"))


def test_configured_browser_path_is_used_or_named_in_the_error(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MISINFO_CHROMIUM", raising=False)
    fake = tmp_path / "chrome"
    fake.write_text("")
    settings = {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": str(fake)}}
    app = App(config_dir=write_config(tmp_path / "cfg", [], settings), data_dir=tmp_path / "d")
    assert find_browser(app) == str(fake)
    crawl = crawl_settings(app, _source(render=True), index_uri="sqlite:///x.db")
    assert crawl.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")["executable_path"] == str(fake)
    assert (
        "--host-resolver-rules=MAP *.localhost 127.0.0.1"
        in (crawl.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")["args"])
    )
    assert crawl.getdict("DOWNLOAD_HANDLERS")["http"].startswith("scrapy_playwright.")
    missing = {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": str(tmp_path / "nope")}}
    app = App(config_dir=write_config(tmp_path / "cfg2", [], missing), data_dir=tmp_path / "d")
    with pytest.raises(BrowserNotFound, match=r"browser\.executable_path"):
        find_browser(app)


def test_crawl_without_a_browser_fails_in_one_line(tmp_path: Path):
    source = {
        "name": "mxh",
        "kind": "social",
        "start_urls": ["http://mxh.localhost:1/"],
        "selectors": {"post": "article", "text": ".text"},
    }
    settings = {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": str(tmp_path / "none")}}
    config = write_config(tmp_path / "cfg", [source], settings)
    result = run_cli(config, tmp_path / "data", "crawl", "mxh", check=False, timeout=60)
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert error_lines == [
        f"Error: {config / 'settings.yaml'}: field 'browser.executable_path': "
        f"{tmp_path / 'none'} does not exist"
    ]


# -- the JS-rendered demo group, through Chromium --------------------------------------------
def _chromium() -> str | None:
    path = os.environ.get("MISINFO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _demo_mxh_entry(server: DemoServer) -> dict:
    bundled = yaml.safe_load((REPO_ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    (entry,) = [source for source in bundled["sources"] if source["name"] == "demo-mxh"]
    return {**entry, "start_urls": [server.base_url(MXH) + "/"]}


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="needs Chromium (MISINFO_CHROMIUM or chromium)")
def test_js_group_page_yields_every_post_through_chromium(tmp_path: Path, demo_server: DemoServer):
    settings = {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": _chromium()}}
    config = write_config(tmp_path / "cfg", [_demo_mxh_entry(demo_server)], settings)
    data = tmp_path / "data"
    demo_server.clear_requests()
    result = run_cli(config, data, "crawl", "demo-mxh", timeout=180)
    assert "demo-mxh" in result.stdout

    truth = {post.url: post for post in demo_server.social_posts()}
    assert len(truth) > 8  # more than the first page: scrolling is needed for the rest
    store = open_store(f"sqlite:///{data / 'index.db'}")
    try:
        stored = {doc.canonical_url: doc for doc in store.scan(SearchRequest())}
    finally:
        store.close()
    assert set(stored) == set(truth)
    for url, post in truth.items():
        doc = stored[url]
        assert doc.kind == "social" and doc.source == "demo-mxh"
        assert doc.author == post.author
        assert doc.text.split() == post.text.split()
        assert doc.engagement == {
            "likes": post.likes,
            "comments": post.comments,
            "shares": post.shares,
        }
        assert doc.published_at is not None
        published = datetime.fromisoformat(doc.published_at)
        assert abs(published - post.posted) < timedelta(minutes=1)
    fetched_pages = [path for host, path in demo_server.requests if host == MXH]
    assert sum(path.startswith("/api/posts?page=") for path in fetched_pages) >= 2
    assert not (data / "jobs" / "demo-mxh").exists()  # a finished run leaves no job dir


def test_demo_skips_browser_sources_in_one_line_when_no_browser(tmp_path: Path):
    from crawler.cli.demo import without_browserless

    news = _source()
    social = Source(
        name="demo-mxh", kind="social", start_urls=["http://mxh.localhost/"], selectors=SELECTORS
    )
    missing = {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": str(tmp_path / "none")}}
    app = App(config_dir=write_config(tmp_path / "cfg", [], missing), data_dir=tmp_path / "d")
    kept, message = without_browserless(app, [news, social])
    assert kept == [news]
    assert message is not None and "\n" not in message
    assert message.startswith("Skipping demo-mxh: ") and "browser.executable_path" in message
    assert without_browserless(app, [news]) == ([news], None)


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="needs Chromium (MISINFO_CHROMIUM or chromium)")
def test_render_true_news_source_is_fetched_through_chromium(
    tmp_path: Path, demo_server: DemoServer
):
    host = "doisongxanh.localhost"
    base = demo_server.base_url(host)
    source = {
        "name": "rendered",
        "kind": "news",
        "render": True,
        "start_urls": [base + "/"],
        "follow_depth": 1,
        "max_pages": 8,
    }
    settings = {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": _chromium()}}
    config = write_config(tmp_path / "cfg", [source], settings)
    demo_server.clear_requests()
    run_cli(config, tmp_path / "data", "crawl", "rendered", timeout=180)
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'index.db'}")
    try:
        docs = list(store.scan(SearchRequest()))
    finally:
        store.close()
    assert docs and all(doc.kind == "news" and doc.site == host for doc in docs)
    truth = {article.url: article for article in demo_server.articles(host)}
    for doc in docs:
        assert doc.title == truth[doc.canonical_url].title
    # Only a browser loads a page's stylesheet: the HTML pages went through Chromium.
    assert any(path.endswith(".css") for h, path in demo_server.requests if h == host)
