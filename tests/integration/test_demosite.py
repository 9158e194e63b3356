"""The local demo sites: virtual hosts, pages, feeds, sitemaps, robots, social API, bench."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from crawler.demosite import CONTENT_DIR, DemoServer
from crawler.demosite.app import host_name
from crawler.demosite.content import ContentError, load_articles
from crawler.demosite.sites import SiteConfigError, load_sites
from crawler.demosite.vndates import VN_TZ, format_page_date

SONGHONG = "songhong.localhost"
TONGHOP = "tonghop24.localhost"
DOISONG = "doisongxanh.localhost"
MXH = "mxh.localhost"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XSS = '<script>alert("xss")</script>'
FIRST_PUBLISHED = datetime(2026, 11, 20, 9, 15, tzinfo=VN_TZ)


def _article(i: int, section: str, **extra: object) -> dict[str, object]:
    published = FIRST_PUBLISHED - timedelta(hours=5 * i)
    return {
        "slug": f"bai-viet-so-{i}",
        "section": section,
        "title": f"Bài viết số {i} về chuyên mục {section}",
        "sapo": f"Tóm tắt bài số {i}.",
        "author": ("Nguyễn Minh Anh", "Trần Thu Hà", "Lê Văn Bình")[i % 3],
        "published": published.isoformat(),
        "body": [f"Đoạn một của bài {i}.", f"Đoạn hai của bài {i}."],
        "tags": ["Covid-19" if i % 2 else "Hà Nội", f"thẻ {i}"],
        "topic": "other",
        **extra,
    }


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """23 Thời sự + 5 Sức khỏe articles, one hostile; two small sites; 19 social posts."""
    root = tmp_path_factory.mktemp("content")
    songhong = [_article(i, "thoi-su") for i in range(23)]
    songhong += [_article(i, "suc-khoe") for i in range(23, 28)]
    songhong.append(_article(28, "suc-khoe", title=f"Tin giả {XSS}", author="<b>Kẻ xấu</b>"))
    _write_jsonl(root / "songhong.jsonl", songhong)
    _write_jsonl(
        root / "tonghop24.jsonl",
        [_article(40, "thoi-su", source_credit="VnExpress"), _article(41, "suc-khoe")],
    )
    _write_jsonl(root / "doisongxanh.jsonl", [_article(50, "doi-song", source_credit="Dân trí")])
    posted = datetime(2026, 11, 27, 20, 15, tzinfo=VN_TZ)
    _write_jsonl(
        root / "social.jsonl",
        [
            {
                "id": f"p{n:02d}",
                "author": f"Thành viên {n}",
                "posted": (posted - timedelta(minutes=37 * n)).isoformat(),
                "text": f"Bài đăng số {n}\nDòng thứ hai",
                "likes": n,
                "comments": 2 * n,
                "shares": n % 3,
            }
            for n in range(19)
        ],
    )
    return root


@pytest.fixture(scope="module")
def server(content_dir: Path):
    with DemoServer(content_dir=content_dir, bench_pages=45) as demo:
        yield demo


@pytest.fixture(scope="module")
def client(server: DemoServer):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http:
        yield http


def get(client: httpx.Client, host: str, path: str, **headers: str) -> httpx.Response:
    return client.get(path, headers={"Host": f"{host}:8765", **headers})


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def article_paths(html: str) -> set[str]:
    """Article links on a page, tracking parameters stripped (as a crawler would)."""
    return {
        urlsplit(href.replace("&amp;", "&")).path
        for href in links(html)
        if re.search(r"-\d+\.html", href)
    }


def walk_listing(client: httpx.Client, host: str, section: str) -> tuple[set[str], int]:
    """Follow "Trang sau" from ``/<section>/``: the article paths listed and pages seen."""
    found: set[str] = set()
    path: str | None = f"/{section}/"
    pages = 0
    while path:
        html = get(client, host, path).text
        listing = html.split('class="content"')[1].split("</main>")[0]
        found |= article_paths(listing.split('class="pagination"')[0])
        pages += 1
        following = re.search(r'<a class="next" href="([^"]+)">Trang sau</a>', html)
        path = following[1] if following else None
    return found, pages


# -- server basics ---------------------------------------------------------------------------


def test_server_runs_on_a_free_port(server: DemoServer, client: httpx.Client):
    assert server.port > 0
    assert server.base_url(SONGHONG) == f"http://songhong.localhost:{server.port}"
    assert set(server.hosts) == {SONGHONG, TONGHOP, DOISONG, MXH, "bench.localhost"}
    response = get(client, SONGHONG, "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "last-modified" in response.headers


def test_stop_closes_the_port(content_dir: Path):
    demo = DemoServer(content_dir=content_dir).start()
    port = demo.port
    assert httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": SONGHONG}).status_code == 200
    demo.stop()
    demo.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": SONGHONG}, timeout=2)


def test_unknown_host_and_path_are_404(client: httpx.Client):
    for host, path in [
        ("unknown.localhost", "/"),
        (SONGHONG, "/khong-co/"),
        (SONGHONG, "/thoi-su/trang-9.html"),
        (SONGHONG, "/thoi-su/sai-slug-1234567.html"),
        (SONGHONG, "/rss/khong-co.rss"),
        (MXH, "/posts/khong-co"),
    ]:
        response = get(client, host, path)
        assert response.status_code == 404, (host, path)
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "Không tìm thấy trang" in response.text


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("songhong.localhost:8765", SONGHONG),
        ("SongHong.Localhost.", SONGHONG),
        ("[::1]:80", "[::1]"),
        (None, ""),
    ],
)
def test_host_header_parsing(header: str | None, host: str):
    assert host_name(header) == host


# -- home and listings -----------------------------------------------------------------------


def test_home_has_menu_latest_and_most_read(server: DemoServer, client: httpx.Client):
    html = get(client, SONGHONG, "/").text
    assert "<title>Báo Sông Hồng</title>" in html
    assert '<a href="/thoi-su/">Thời sự</a>' in html
    assert '<a href="/suc-khoe/">Sức khỏe</a>' in html
    assert "Đọc nhiều" in html
    newest = sorted(server.articles(SONGHONG), key=lambda a: a.published, reverse=True)
    news_list = html.split('class="news-list"')[1].split("</section>")[0]
    featured = html.split('class="featured"')[1].split("</section>")[0]
    shown = article_paths(featured) | article_paths(news_list)
    assert shown == {a.path for a in newest[:15]}
    assert "Giấy phép hoạt động báo điện tử số 215/GP-BTTTT" in html
    assert 'href="/tim-kiem?q=' in html and 'href="/admin/"' in html


def test_listing_pagination_reaches_every_article(server: DemoServer, client: httpx.Client):
    for section in ("thoi-su", "suc-khoe"):
        expected = {a.path for a in server.articles(SONGHONG) if a.section == section}
        found, pages = walk_listing(client, SONGHONG, section)
        assert found == expected
        assert pages == -(-len(expected) // 10)
    assert 'href="/thoi-su/trang-2.html"' in get(client, SONGHONG, "/thoi-su/").text


def test_page_one_alias_redirects(client: httpx.Client):
    response = get(client, SONGHONG, "/thoi-su/trang-1.html")
    assert response.status_code == 301
    assert response.headers["location"] == "/thoi-su/"


# -- articles --------------------------------------------------------------------------------


def _article_page(server: DemoServer, client: httpx.Client, host: str, index: int):
    article = next(a for a in server.articles(host) if a.index == index)
    return article, get(client, host, article.path)


def test_article_page_metadata_and_clutter(server: DemoServer, client: httpx.Client):
    article, response = _article_page(server, client, SONGHONG, 0)
    html = response.text
    assert response.status_code == 200
    assert (
        article.url
        == f"http://songhong.localhost:{server.port}/thoi-su/bai-viet-so-0-{article.id}.html"
    )
    assert f'<link rel="canonical" href="{article.url}">' in html
    assert f"<title>{article.title} - Báo Sông Hồng</title>" in html
    assert f'<h1 class="title-detail">{article.title}</h1>' in html
    assert f'<meta property="og:title" content="{article.title}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert 'content="2026-11-20T09:15:00+07:00"' in html  # article:published_time
    assert '<meta name="author" content="Nguyễn Minh Anh">' in html
    assert "Thứ sáu, 20/11/2026, 09:15 (GMT+7)" in html  # 20/11/2026 is a Friday
    assert '<p class="author"><strong>Nguyễn Minh Anh</strong></p>' in html
    assert '<p class="sapo"><strong>Tóm tắt bài số 0.</strong></p>' in html
    assert "Giấy phép hoạt động báo điện tử số 215/GP-BTTTT" in html
    assert "Tổng biên tập: Trần Quốc Hưng" in html
    related = html.split('class="related"')[1].split("</section>")[0]
    assert len(article_paths(related)) == 4 and article.path not in article_paths(related)
    comments = html.split('class="comments"')[1].split("</section>")[0]
    assert 2 <= comments.count('class="comment"') <= 3
    assert "Đọc nhiều" in html and "Chia sẻ" in html
    assert parsedate_to_datetime(response.headers["last-modified"]) == article.modified


def test_article_variants_alternate(server: DemoServer, client: httpx.Client):
    second, response = _article_page(server, client, SONGHONG, 1)
    html = response.text
    local = second.published.astimezone(VN_TZ)
    assert f'<span class="date">{local:%d-%m-%Y - %H:%M}</span>' in html
    assert "article:published_time" not in html and 'name="author"' not in html
    assert f'<span class="byline">Theo <span class="byline-name">{second.author}</span>' in html
    third, response = _article_page(server, client, SONGHONG, 2)
    assert f"{third.published.astimezone(VN_TZ):%d/%m/%Y %H:%M} GMT+7" in response.text


@pytest.mark.parametrize(
    ("moment", "style", "expected"),
    [
        (
            datetime(2026, 11, 20, 9, 15, tzinfo=VN_TZ),
            "weekday",
            "Thứ sáu, 20/11/2026, 09:15 (GMT+7)",
        ),
        (
            datetime(2026, 11, 22, 23, 5, tzinfo=VN_TZ),
            "weekday",
            "Chủ nhật, 22/11/2026, 23:05 (GMT+7)",
        ),
        (
            datetime(2026, 11, 23, 0, 30, tzinfo=VN_TZ),
            "weekday",
            "Thứ hai, 23/11/2026, 00:30 (GMT+7)",
        ),
        (
            datetime(2026, 11, 22, 17, 30, tzinfo=VN_TZ) - timedelta(hours=7),
            "dash",
            "22-11-2026 - 10:30",
        ),
        (datetime(2026, 1, 5, 8, 0, tzinfo=VN_TZ), "slash", "05/01/2026 08:00 GMT+7"),
    ],
)
def test_page_date_formats(moment: datetime, style: str, expected: str):
    assert format_page_date(moment, style) == expected


def test_tracking_params_on_links_never_on_canonical(server: DemoServer, client: httpx.Client):
    article, response = _article_page(server, client, SONGHONG, 0)
    tracked = [href for href in links(response.text) if "utm_source=" in href]
    assert tracked and all("utm_medium=box" in href for href in tracked)
    assert "utm_" not in response.text.split('rel="canonical" href="')[1].split('"')[0]
    again = get(client, SONGHONG, article.path + "?utm_source=home&utm_medium=box")
    assert again.status_code == 200 and f'href="{article.url}"' in again.text


def test_hostile_content_is_escaped(server: DemoServer, client: httpx.Client):
    hostile = next(a for a in server.articles(SONGHONG) if "xss" in a.title)
    html = get(client, SONGHONG, hostile.path).text
    assert XSS not in html and "<b>Kẻ xấu</b>" not in html
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Kẻ xấu&lt;/b&gt;" in html
    feed = get(client, SONGHONG, "/rss/suc-khoe.rss").content
    titles = [item.findtext("title") for item in ET.fromstring(feed).iter("item")]
    assert hostile.title in titles


def test_aggregator_credits_and_newspaper_style_bylines(server: DemoServer, client: httpx.Client):
    _, response = _article_page(server, client, TONGHOP, 0)
    assert '<p class="source-credit"><em>Nguồn: VnExpress</em></p>' in response.text
    assert "Chịu trách nhiệm nội dung" in response.text
    assert "Tổng biên tập" not in response.text
    article, response = _article_page(server, client, DOISONG, 0)
    html = response.text
    assert "<title>" in html and "Báo Đời Sống Xanh" in html
    assert f"Phóng viên: {article.author}" in html
    assert "Nguồn:" not in html  # it copies without credit
    assert "trang thông tin điện tử tổng hợp" in html and "Tổng biên tập" in html


def test_update_article_changes_page_and_dates(content_dir: Path):
    with DemoServer(content_dir=content_dir) as demo:
        http = httpx.Client(base_url=f"http://127.0.0.1:{demo.port}")
        before = demo.articles(SONGHONG)[3]
        old = http.get(before.path, headers={"Host": SONGHONG})
        updated = demo.update_article(
            SONGHONG, before.slug, title="Tiêu đề đã sửa", body=["Nội dung mới hoàn toàn."]
        )
        new = http.get(before.path, headers={"Host": SONGHONG})
        assert updated.url == before.url and updated.modified > before.modified
        assert "Tiêu đề đã sửa" in new.text and "Nội dung mới hoàn toàn." in new.text
        assert before.title not in new.text and "(Cập nhật:" in new.text
        assert new.headers["last-modified"] != old.headers["last-modified"]
        urlset = ET.fromstring(
            http.get("/sitemaps/thoi-su.xml", headers={"Host": SONGHONG}).content
        )
        lastmod = {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in urlset}
        assert lastmod[before.url] == updated.modified.isoformat()
        assert demo.articles(SONGHONG)[3].title == "Tiêu đề đã sửa"
        with pytest.raises(KeyError):
            demo.update_article(SONGHONG, "khong-co-bai-nay", title="x")


def test_if_modified_since_gives_304(server: DemoServer, client: httpx.Client):
    article, response = _article_page(server, client, SONGHONG, 5)
    stamp = response.headers["last-modified"]
    again = get(client, SONGHONG, article.path, **{"If-Modified-Since": stamp})
    assert again.status_code == 304 and again.content == b""
    older = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert get(client, SONGHONG, article.path, **{"If-Modified-Since": older}).status_code == 200


# -- feeds, sitemaps, robots -----------------------------------------------------------------


def test_rss_feeds_list_every_article(server: DemoServer, client: httpx.Client):
    articles = server.articles(SONGHONG)
    for section in ("thoi-su", "suc-khoe"):
        response = get(client, SONGHONG, f"/rss/{section}.rss")
        assert response.headers["content-type"].startswith("application/rss+xml")
        items = list(ET.fromstring(response.content).iter("item"))
        assert {item.findtext("link") for item in items} == {
            a.url for a in articles if a.section == section
        }
        for item in items:
            assert item.findtext("title") and item.findtext("description")
            assert parsedate_to_datetime(item.findtext("pubDate")).utcoffset() == timedelta(hours=7)
    latest = ET.fromstring(get(client, SONGHONG, "/rss/tin-moi-nhat.rss").content)
    newest = sorted(articles, key=lambda a: a.published, reverse=True)[:20]
    assert [item.findtext("link") for item in latest.iter("item")] == [a.url for a in newest]
    index = get(client, SONGHONG, "/rss.html").text
    assert 'href="/rss/tin-moi-nhat.rss"' in index and 'href="/rss/the-gioi.rss"' in index


def test_sitemap_index_covers_every_article(server: DemoServer, client: httpx.Client):
    for host in (SONGHONG, TONGHOP, DOISONG):
        index = ET.fromstring(get(client, host, "/sitemap.xml").content)
        assert index.tag == f"{SM}sitemapindex"
        found = set()
        for loc in index.iter(f"{SM}loc"):
            assert loc.text.startswith(server.base_url(host) + "/sitemaps/")
            urlset = ET.fromstring(get(client, host, urlsplit(loc.text).path).content)
            assert urlset.tag == f"{SM}urlset"
            for url in urlset:
                assert url.findtext(f"{SM}lastmod")
                found.add(url.findtext(f"{SM}loc"))
        assert found == {a.url for a in server.articles(host)}


def test_robots_txt(server: DemoServer, client: httpx.Client):
    response = get(client, SONGHONG, "/robots.txt")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == (
        "User-agent: *\nDisallow: /tim-kiem\nDisallow: /admin/\n\n"
        f"Sitemap: http://songhong.localhost:{server.port}/sitemap.xml\n"
    )


def test_disallowed_pages_are_served_and_logged(server: DemoServer, client: httpx.Client):
    search = get(client, SONGHONG, "/tim-kiem?q=covid")
    assert search.status_code == 200 and "Covid-19" in search.text
    assert get(client, SONGHONG, "/admin/").status_code == 200
    assert get(client, "nowhere.localhost", "/x?a=1").status_code == 404
    log = server.requests
    assert (SONGHONG, "/tim-kiem?q=covid") in log and (SONGHONG, "/admin/") in log
    assert log[-1] == ("nowhere.localhost", "/x?a=1")


# -- social ----------------------------------------------------------------------------------


def test_social_shell_has_no_posts_without_js(client: httpx.Client):
    response = get(client, MXH, "/")
    html = response.text
    assert "Nhóm: Cộng đồng Hỏi đáp Sức khỏe" in html
    assert '<div id="feed" class="feed" data-api="/api/posts"></div>' in html
    assert '<script src="/static/feed.js" defer></script>' in html
    assert "<script>" not in html and 'class="post' not in html
    script = get(client, MXH, "/static/feed.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert '"?page="' in script.text and "button.load-more" in script.text
    assert "innerHTML" not in script.text  # posts are set as text, never parsed as HTML
    assert html.index("/static/reltime.js") < html.index("/static/feed.js")


def test_social_api_pages_add_up_to_all_posts(server: DemoServer, client: httpx.Client):
    posts = server.social_posts()
    seen: list[str] = []
    page: int | None = 1
    while page:
        data = get(client, MXH, f"/api/posts?page={page}").json()
        assert len(data["posts"]) <= 8
        seen += [post["id"] for post in data["posts"]]
        page = data["next_page"]
    assert seen == [post.id for post in posts] and len(seen) == 19
    assert get(client, MXH, "/api/posts?page=4").status_code == 404
    assert get(client, MXH, "/api/posts?page=x").status_code == 404


def test_social_times_are_shifted_to_just_before_start(server: DemoServer):
    posts = server.social_posts()
    assert posts[0].posted == server.started - timedelta(minutes=10)
    assert posts[0].posted - posts[1].posted == timedelta(minutes=37)
    assert posts[0].url == f"http://mxh.localhost:{server.port}/posts/p00"


def test_social_permalink_is_server_rendered(server: DemoServer, client: httpx.Client):
    post = server.social_posts()[2]
    html = get(client, MXH, post.path).text
    assert f'<article class="post post-permalink" data-id="{post.id}">' in html
    assert f'<span class="author">{post.author}</span>' in html
    assert f'<time datetime="{post.posted.isoformat()}">' in html
    assert "<p>Bài đăng số 2</p>" in html and "<p>Dòng thứ hai</p>" in html
    assert f'<span class="likes">{post.likes}</span>' in html
    assert f'<link rel="canonical" href="{post.url}">' in html


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the feed's JS")
def test_relative_time_js():
    script = Path(__file__).resolve().parents[2] / "crawler/demosite/static/reltime.js"
    now = "2026-11-28T10:00:00+07:00"
    cases = {
        "2026-11-28T09:59:30+07:00": "Vừa xong",
        "2026-11-28T09:55:00+07:00": "5 phút trước",
        "2026-11-28T08:00:00+07:00": "2 giờ trước",
        "2026-11-27T09:00:00+07:00": "hôm qua lúc 09:00",
        "2026-11-25T01:00:00+07:00": "3 ngày",
        "2026-11-10T20:15:00+07:00": "10 tháng 11 lúc 20:15",
        "2025-11-10T20:15:00Z": "11 tháng 11, 2025 lúc 03:15",
    }
    program = (
        f"const {{relativeTime}} = require({json.dumps(str(script))});"
        f"const now = Date.parse({json.dumps(now)});"
        f"console.log(JSON.stringify({json.dumps(list(cases))}.map(t => relativeTime(t, now))));"
    )
    out = subprocess.run(
        ["node", "-e", program],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={"TZ": "America/New_York", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(out.stdout) == list(cases.values())


# -- bench -----------------------------------------------------------------------------------


def test_bench_site_serves_generated_pages(server: DemoServer, client: httpx.Client):
    bench = "bench.localhost"
    articles = server.articles(bench)
    assert len(articles) == 45 and len({a.title for a in articles}) == 45
    found = set()
    for loc in ET.fromstring(get(client, bench, "/sitemap.xml").content).iter(f"{SM}loc"):
        urlset = ET.fromstring(get(client, bench, urlsplit(loc.text).path).content)
        found |= {url.findtext(f"{SM}loc") for url in urlset}
    assert found == {a.url for a in articles}
    page = get(client, bench, articles[7].path)
    assert page.status_code == 200 and articles[7].title in page.text
    assert articles[7].body[0] in page.text
    listed = set()
    for section in {a.section for a in articles}:
        listed |= walk_listing(client, bench, section)[0]
    assert listed == {a.path for a in articles}
    with DemoServer(port=0, content_dir=server.content_dir, bench_pages=45) as again:
        assert [a.body for a in again.articles("bench.localhost")] == [a.body for a in articles]


# -- content and site definitions ------------------------------------------------------------


def test_bad_content_names_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_article(1, "thoi-su")) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"bad.jsonl:2"):
        load_articles(path, SONGHONG)
    path.write_text(json.dumps({"slug": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(ContentError, match="missing fields"):
        load_articles(path, SONGHONG)


def test_ids_are_stable_whatever_the_line_order(tmp_path: Path):
    rows = [_article(i, "thoi-su") for i in range(5)]
    _write_jsonl(tmp_path / "a.jsonl", rows)
    _write_jsonl(tmp_path / "b.jsonl", rows[::-1])
    ids_a = {a.slug: a.id for a in load_articles(tmp_path / "a.jsonl", SONGHONG)}
    ids_b = {a.slug: a.id for a in load_articles(tmp_path / "b.jsonl", SONGHONG)}
    assert ids_a == ids_b and len(set(ids_a.values())) == 5


def test_content_sites_yaml_overrides_and_adds_sites(tmp_path: Path):
    (tmp_path / "sites.yaml").write_text(
        """
sites:
  - host: songhong.localhost
    licence: ["Giấy phép số 1"]
    editor: null
  - host: moi.localhost
    name: Báo Mới Toanh
    sections: {thoi-su: Thời sự}
    content: moi.jsonl
social:
  host: social.localhost
  name: Nhóm Khác
  kind: group
  content: social.jsonl
""",
        encoding="utf-8",
    )
    sites = load_sites(tmp_path)
    assert sites[SONGHONG].footer_lines == ("Giấy phép số 1",)
    assert sites[SONGHONG].editor_in_chief is None
    assert sites[SONGHONG].name == "Báo Sông Hồng"
    assert sites["moi.localhost"].content_file == "moi.jsonl"
    assert sites[MXH].name == "Nhóm Khác" and sites[MXH].kind == "social"
    assert "social.localhost" not in sites
    (tmp_path / "sites.yaml").write_text(
        "sites:\n  - host: x.localhost\n    name: X\n    licens: [a]\n"
    )
    with pytest.raises(SiteConfigError, match=r"x\.localhost.*unknown fields \['licens'\]"):
        load_sites(tmp_path)


@pytest.mark.skipif(
    not (CONTENT_DIR / "songhong.jsonl").exists(), reason="bundled content not written yet"
)
def test_bundled_content_is_served_and_fully_reachable():
    with DemoServer() as demo, httpx.Client(base_url=f"http://127.0.0.1:{demo.port}") as http:
        for host in (SONGHONG, TONGHOP, DOISONG):
            if host not in demo.hosts:
                continue
            found: set[str] = set()
            home = get(http, host, "/").text
            for section in re.findall(r'<li(?: class="active")?><a href="/([a-z0-9-]+)/">', home):
                found |= walk_listing(http, host, section)[0]
            assert found == {a.path for a in demo.articles(host)}, host
            for article in demo.articles(host):
                assert get(http, host, article.path).status_code == 200


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_command_line_serves_until_stopped(content_dir: Path, signum: int):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler.demosite",
            "--port",
            "0",
            "--content-dir",
            str(content_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        header = process.stdout.readline()
        port = int(re.search(r":(\d+) ", header)[1])
        lines = [process.stdout.readline() for _ in range(4)]
        assert any(f"http://songhong.localhost:{port}/  Báo Sông Hồng" in line for line in lines)
        assert httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": SONGHONG}).status_code == 200
    finally:
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    assert process.stdout.read().strip().endswith("stopped")


def _chromium() -> str | None:
    path = os.environ.get("MISINFO_CHROMIUM") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


@pytest.mark.browser
@pytest.mark.skipif(
    _chromium() is None, reason="needs Chromium (MISINFO_CHROMIUM or /usr/bin/chromium)"
)
def test_feed_renders_in_a_browser_and_loads_more(server: DemoServer):
    from playwright.sync_api import sync_playwright

    posts = server.social_posts()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium())
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 400})
            page.goto(server.base_url(MXH) + "/")
            page.wait_for_function("document.querySelectorAll('article.post').length === 8")
            first = page.locator("article.post").first
            assert first.get_attribute("data-id") == posts[0].id
            assert first.locator("time").get_attribute("datetime") == posts[0].posted.isoformat()
            assert re.fullmatch(r"1\d phút trước", first.locator("time").inner_text())
            assert first.locator("a.permalink").get_attribute("href") == posts[0].path
            assert first.locator(".author").inner_text() == posts[0].author
            assert first.locator(".likes").inner_text() == str(posts[0].likes)
            # A real click scrolls the button into view, which itself loads the next page;
            # dispatching the event keeps the scroll position to test the button alone.
            page.locator("button.load-more").dispatch_event("click")
            page.wait_for_function("document.querySelectorAll('article.post').length === 16")
            page.mouse.wheel(0, 100_000)
            page.wait_for_function("document.querySelectorAll('article.post').length === 19")
            page.wait_for_selector("#feed-status:has-text('Đã hiển thị tất cả bài viết.')")
            assert page.locator("button.load-more").is_hidden()
            ids = page.eval_on_selector_all("article.post", "els => els.map(e => e.dataset.id)")
            assert ids == [post.id for post in posts]
        finally:
            browser.close()
    assert (MXH, "/api/posts?page=3") in server.requests
