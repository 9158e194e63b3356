"""Crawl hygiene against hostile sites: each local server misbehaves in one way, and the crawl
must stay within its limits while the normal articles on the same server are still stored.

One ``misinfo crawl`` run covers every hostile server (one source each, crawled
concurrently); a second test kills a crawl of a slow site with SIGKILL and checks the rerun
resumes without fetching stored pages again. Middleware logic has fast unit tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares import (
    TrapFilterMiddleware,
    backoff_delay,
    path_pattern,
    retry_after_seconds,
)
from crawler.service.runner import JobDir
from index import SearchRequest, open_store
from tests.helpers import REPO_ROOT, run_cli, write_config

#: Tight limits so each hostile case ends in seconds.
HOSTILE_SETTINGS = {
    "crawl": {
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_per_domain": 4,
        "download_timeout": 3,
        "max_page_bytes": 1024 * 1024,
        "retry_times": 1,
        "max_redirects": 5,
        "max_pages": 300,
    }
}
ARTICLES = 3
PARAGRAPH = (
    "Sáng nay, Sở Y tế thành phố cho biết tình hình dịch bệnh trên địa bàn đã được kiểm soát, "
    "số ca mắc mới giảm liên tục trong hai tuần qua nhờ các biện pháp phòng chống quyết liệt."
)

Handler = Callable[["_Request"], None]


# -- hostile servers ---------------------------------------------------------------------------
class _Request(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.log.append((self.path, time.monotonic()))
        route = self.server.site.route(self.path)
        if route is None:
            self.send_text(404, "không có trang này")
        else:
            route(self)

    def send_text(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: HostileSite
    log: list[tuple[str, float]]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on a hostile page is the point, not a failure


def article_html(title: str, url: str) -> str:
    body = "".join(f"<p>{PARAGRAPH} ({n})</p>" for n in range(4))
    return (
        f'<html lang="vi"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:type" content="article"><link rel="canonical" href="{url}">'
        '<meta property="article:published_time" content="2026-11-27T08:00:00+07:00">'
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )


_SERVED_LOCK = threading.Lock()


@dataclass
class HostileSite:
    """A small site: a home page linking ``ARTICLES`` normal articles plus ``links``; extra
    paths are answered by ``routes`` (exact path or prefix ending in ``*``)."""

    name: str
    links: list[str] = field(default_factory=list)
    routes: dict[str, Handler] = field(default_factory=dict)
    articles: int = ARTICLES
    #: Articles served before the others wait for ``gate`` (None: no gate).
    gate_after: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    served: list[str] = field(default_factory=list)
    server: _Server | None = None
    bytes_sent: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def log(self) -> list[tuple[str, float]]:
        assert self.server is not None
        return self.server.log

    def requests_for(self, prefix: str) -> list[str]:
        return [path for path, _ in self.log if path.startswith(prefix)]

    def article_urls(self) -> list[str]:
        return [f"{self.base}/bai/{n}.html" for n in range(1, self.articles + 1)]

    def route(self, path: str) -> Handler | None:
        if path == "/":
            return self._home
        if path.startswith("/bai/"):
            return self._article
        if path in self.routes:
            return self.routes[path]
        for key, handler in self.routes.items():
            if key.endswith("*") and path.startswith(key[:-1]):
                return handler
        return None

    def _home(self, request: _Request) -> None:
        links = [f"/bai/{n}.html" for n in range(1, self.articles + 1)] + self.links
        anchors = "".join(f'<li><a href="{link}">Tin {i}</a></li>' for i, link in enumerate(links))
        request.send_text(200, f"<html><body><h1>{self.name}</h1><ul>{anchors}</ul></body></html>")

    def _article(self, request: _Request) -> None:
        if self.gate_after is not None:
            with _SERVED_LOCK:
                self.served.append(request.path)
                waits = len(self.served) > self.gate_after
            if waits:
                self.gate.wait(120)  # bounded so server threads end; the test opens it sooner
        number = request.path.rsplit("/", 1)[-1].split(".")[0]
        request.send_text(
            200, article_html(f"{self.name}: bài số {number}", self.base + request.path)
        )

    def start(self) -> HostileSite:
        self.server = _Server(("127.0.0.1", 0), _Request)
        self.server.site = self
        self.server.log = []
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.gate.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def source(self, **extra: object) -> dict:
        return {
            "name": self.name,
            "start_urls": [self.base + "/"],
            "article_pattern": r"/bai/|/on-dinh/|/cho-doi/",
            **extra,
        }


def hang(site: HostileSite) -> Handler:
    def handler(request: _Request) -> None:
        site.stop.wait(15)  # far past the download timeout; bounded so threads end

    return handler


def fail_first(site: HostileSite, status: int, headers: dict[str, str]) -> Handler:
    """``status`` to the first request of each path, the article afterwards."""
    seen: set[str] = set()

    def handler(request: _Request) -> None:
        if request.path not in seen:
            seen.add(request.path)
            request.send_text(status, "thử lại sau", headers)
        else:
            request.send_text(200, article_html(f"{site.name}: ổn định", site.base + request.path))

    return handler


def redirect_loop(request: _Request) -> None:
    step = int(request.path.rsplit("/", 1)[-1] or 0)
    if step >= 100:  # bounded: the server gives up long after any sane crawler
        request.send_text(200, "hết")
        return
    request.send_response(302)
    request.send_header("Location", f"/vong/{step + 1}")
    request.send_header("Content-Length", "0")
    request.end_headers()


def calendar(request: _Request) -> None:
    """An endless calendar: every day links the next/previous day, month and year."""
    year, month, day = (int(part) for part in request.path.split("/")[2:5])
    links = []
    for delta in (1, -1):
        links += [
            f"/lich/{year}/{month}/{day + delta}",
            f"/lich/{year}/{month + delta}/{day}",
            f"/lich/{year + delta}/{month}/{day}",
        ]
    anchors = "".join(f'<a href="{link}">ngày</a> ' for link in links)
    request.send_text(200, f"<html><body><h1>Lịch {day}/{month}/{year}</h1>{anchors}</body></html>")


def faceted(request: _Request) -> None:
    """A search page whose every sort x filter x page combination links to more of them."""
    links = [
        f"/tim?sort={sort}&filter={flt}&page={page}"
        for sort in ("moi", "cu", "hot", "az", "za")
        for flt in ("a", "b", "c", "d", "e", "f")
        for page in (1, 2)
    ]
    anchors = "".join(f'<a href="{link}">lọc</a> ' for link in links)
    request.send_text(200, f"<html><body>{anchors}</body></html>")


def huge(site: HostileSite, *, declare_length: bool) -> Handler:
    """50 MB, with or without Content-Length; counts what it managed to send."""
    total = 50 * 1024 * 1024

    def handler(request: _Request) -> None:
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        if declare_length:
            request.send_header("Content-Length", str(total))
        else:
            request.send_header("Connection", "close")
            request.close_connection = True
        request.end_headers()
        sent = 0
        try:
            while sent < total and not site.stop.is_set():
                request.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        finally:
            site.bytes_sent[request.path] = sent

    return handler


def _stored(data_dir: Path) -> dict[str, object]:
    store = open_store(f"sqlite:///{data_dir / 'index.db'}")
    try:
        return {doc.canonical_url: doc for doc in store.scan(SearchRequest())}
    finally:
        store.close()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, Path, float]]:
    sites = {
        "hang": HostileSite("hang", links=["/treo"]),
        "flaky": HostileSite("flaky", links=["/on-dinh/1.html"]),
        "busy": HostileSite("busy", links=["/cho-doi/1.html"]),
        "loop": HostileSite("loop", links=["/vong/0"]),
        "trap": HostileSite("trap", links=["/lich/2026/11/27", "/tim?sort=moi&filter=a&page=1"]),
        "huge": HostileSite("huge", links=["/lon.html", "/lon-dong.html"]),
    }
    for site in sites.values():
        site.start()
    sites["hang"].routes["/treo"] = hang(sites["hang"])
    sites["flaky"].routes["/on-dinh/*"] = fail_first(sites["flaky"], 500, {})
    sites["busy"].routes["/cho-doi/*"] = fail_first(sites["busy"], 429, {"Retry-After": "1"})
    sites["loop"].routes["/vong/*"] = redirect_loop
    sites["trap"].routes["/lich/*"] = calendar
    sites["trap"].routes["/tim*"] = faceted
    sites["huge"].routes["/lon.html"] = huge(sites["huge"], declare_length=True)
    sites["huge"].routes["/lon-dong.html"] = huge(sites["huge"], declare_length=False)
    sources = [site.source() for site in sites.values()]
    sources[4]["follow_depth"] = 10  # only the trap filter may bound the calendar
    tmp = tmp_path_factory.mktemp("hostile")
    config = write_config(tmp / "cfg", sources, HOSTILE_SETTINGS)
    try:
        result = run_cli(config, tmp / "data", "crawl", "--all", check=False, timeout=120)
        runs = json.loads(run_cli(config, tmp / "data", "runs", "--json").stdout)
        yield (
            {
                "sites": sites,
                "result": result,
                "runs": {run["source"]: run for run in runs},
                "stored": _stored(tmp / "data"),
            },
            tmp / "data",
        )
    finally:
        for site in sites.values():
            site.close()


def _articles_stored(run: dict, site: HostileSite) -> None:
    missing = [url for url in site.article_urls() if url not in run["stored"]]
    assert not missing, f"{site.name}: normal articles not stored: {missing}"
    assert run["runs"][site.name]["status"] == "ok"


def test_hanging_page_times_out_and_the_run_goes_on(hostile_run):
    run, _ = hostile_run
    site = run["sites"]["hang"]
    _articles_stored(run, site)
    assert 1 <= len(site.requests_for("/treo")) <= 2  # first try + RETRY_TIMES=1


def test_500_then_200_is_retried_and_stored(hostile_run):
    run, _ = hostile_run
    site = run["sites"]["flaky"]
    _articles_stored(run, site)
    assert site.requests_for("/on-dinh/1.html") == ["/on-dinh/1.html"] * 2
    assert f"{site.base}/on-dinh/1.html" in run["stored"]


def test_429_waits_for_retry_after_then_fetches(hostile_run):
    run, _ = hostile_run
    site = run["sites"]["busy"]
    _articles_stored(run, site)
    times = [at for path, at in site.log if path == "/cho-doi/1.html"]
    assert len(times) >= 2  # (a third only if a loaded machine timed the retry out)
    assert times[1] - times[0] >= 0.95  # Retry-After: 1 honoured
    assert f"{site.base}/cho-doi/1.html" in run["stored"]


def test_redirect_loop_stops_at_the_cap(hostile_run):
    run, _ = hostile_run
    site = run["sites"]["loop"]
    _articles_stored(run, site)
    hops = site.requests_for("/vong/")
    assert 1 < len(hops) <= 1 + HOSTILE_SETTINGS["crawl"]["max_redirects"]


def test_endless_calendar_and_query_combinations_are_bounded(hostile_run):
    run, _ = hostile_run
    site = run["sites"]["trap"]
    _articles_stored(run, site)
    # Distinct URLs: a calendar page that timed out on a loaded machine may be retried.
    calendar_pages = set(site.requests_for("/lich/"))
    search_pages = set(site.requests_for("/tim"))
    assert 10 < len(calendar_pages) <= 60  # MM_TRAPS_MAX_PER_PATTERN
    # MM_TRAPS_MAX_QUERY_VARIANTS sort x filter combinations, each with its two pages.
    assert 1 < len(search_pages) <= 12 * 2
    assert len({path for path, _ in site.log}) < 100


def test_huge_pages_are_dropped_without_reading_them(hostile_run):
    run, _ = hostile_run
    site = run["sites"]["huge"]
    _articles_stored(run, site)
    assert f"{site.base}/lon.html" not in run["stored"]
    assert f"{site.base}/lon-dong.html" not in run["stored"]
    # Declared 50 MB: cancelled on the headers. Undeclared: cut soon after 1 MiB arrived
    # (socket buffers on both sides hold a few MB more).
    assert site.bytes_sent.get("/lon.html", 0) < 10 * 1024 * 1024
    assert site.bytes_sent.get("/lon-dong.html", 0) < 10 * 1024 * 1024


def test_finished_run_deletes_its_job_directories(hostile_run):
    _, data_dir = hostile_run
    assert not any((data_dir / "jobs").glob("*/*"))


# -- resume after SIGKILL --------------------------------------------------------------------
def _count(data_dir: Path) -> int:
    if not (data_dir / "index.db").exists():
        return 0
    try:
        return len(_stored(data_dir))
    except Exception:  # the database is being created by the crawl
        return 0


def test_killed_crawl_resumes_without_refetching_stored_pages(tmp_path: Path):
    # The site serves 20 articles, then holds every other one until the test opens the gate:
    # the first crawl can store those 20 (one store batch) and can neither finish nor store
    # more before it is killed, however fast or slow the machine is.
    site = HostileSite("slow", articles=40, gate_after=20).start()
    try:
        crawl = {**HOSTILE_SETTINGS["crawl"], "concurrent_per_domain": 2}
        settings = {"crawl": {**crawl, "download_timeout": 300}}
        config = write_config(tmp_path / "cfg", [site.source()], settings)
        data = tmp_path / "data"
        command = [sys.executable, "-m", "crawler", "--config", str(config)]
        command += ["--data-dir", str(data), "crawl", "slow"]
        env = {key: value for key, value in os.environ.items() if not key.startswith("MISINFO_")}
        child = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 120  # only a broken crawl gets near this
            while _count(data) < 20 and time.monotonic() < deadline:
                assert child.poll() is None, "the crawl ended before it could be killed"
                time.sleep(0.1)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        stored_first = set(_stored(data))
        assert len(stored_first) == 20
        assert (data / "jobs" / "slow").exists()  # left behind by the killed run
        fetched_first = len(site.requests_for("/bai/"))
        site.log.clear()
        site.gate.set()

        run_cli(config, data, "crawl", "slow", timeout=120)

        refetched = [site.base + path for path in site.requests_for("/bai/")]
        assert not set(refetched) & stored_first
        assert set(_stored(data)) == set(site.article_urls())
        assert len(refetched) == 40 - len(stored_first)
        assert fetched_first >= len(stored_first)
        assert not (data / "jobs" / "slow").exists()
        runs = json.loads(run_cli(config, data, "runs", "--json").stdout)
        assert runs[0]["status"] == "ok"
    finally:
        site.close()


# -- unit tests of the pieces ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        (b"120", 120.0),
        (format_datetime(datetime(2026, 11, 28, 10, 0, 30, tzinfo=UTC), usegmt=True), 30.0),
        (format_datetime(datetime(2026, 11, 28, 9, 0, tzinfo=UTC), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds(value, expected):
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert retry_after_seconds(value, now=now) == expected


def test_backoff_doubles_and_is_capped():
    assert [backoff_delay(n, base=0.5, cap=3) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3]
    assert backoff_delay(1, base=0.5, cap=30, retry_after=7) == 7
    assert backoff_delay(1, base=0.5, cap=30, retry_after=3600) == 30


def test_path_pattern_collapses_digits():
    assert path_pattern("http://a.vn/lich/2026/11/27") == path_pattern("http://a.vn/lich/1/2/3")
    assert path_pattern("http://a.vn/x?page=2") == "a.vn/x?page=#"


def _trap_filter(**settings) -> tuple[TrapFilterMiddleware, object]:
    crawler = get_crawler(settings_dict={"MM_TRAPS_ENABLED": True, **settings})
    crawler.stats.open_spider()
    return TrapFilterMiddleware.from_crawler(crawler), crawler.stats


def test_trap_filter_counts_what_it_drops():
    middleware, stats = _trap_filter(
        MM_TRAPS_MAX_URL_LENGTH=80, MM_TRAPS_MAX_PER_PATTERN=5, MM_TRAPS_MAX_QUERY_VARIANTS=3
    )
    response = HtmlResponse("http://a.vn/", body=b"<html></html>")

    def keep(url: str, **meta) -> bool:
        return middleware.get_processed_request(Request(url, meta=meta), response) is not None

    assert [keep(f"http://a.vn/lich/2026/11/{day}") for day in range(1, 9)] == [True] * 5 + [
        False
    ] * 3
    assert keep("http://a.vn/lich/2026/11/1")  # already counted: no budget used
    combos = [keep(f"http://a.vn/tim?sort={s}&filter=x") for s in "abcde"]
    assert combos == [True, True, True, False, False]
    assert keep("http://a.vn/tim?sort=a&filter=x&page=2")  # pagination is no new combination
    assert not keep("http://a.vn/" + "x" * 100)
    assert not keep("http://a.vn/a/b/a/b/a/b/a")
    assert keep("http://a.vn/" + "y" * 100, mm_via="feed")  # feed entries are never traps
    assert middleware.get_processed_request(Request("http://a.vn/" + "z" * 100), None)
    assert stats.get_value("mm/traps/url_pattern") == 3
    assert stats.get_value("mm/traps/query_combinations") == 2
    assert stats.get_value("mm/traps/url_too_long") == 1
    assert stats.get_value("mm/traps/repeated_segments") == 1


def test_trap_filter_remembers_a_bounded_number_of_patterns(monkeypatch):
    """A long crawl follows links of ever new patterns: the filter keeps only the patterns
    used most recently, and a trap that keeps producing links stays among them."""
    from crawler import middlewares

    monkeypatch.setattr(middlewares, "TRAP_MEMORY", 50)
    middleware, stats = _trap_filter(
        MM_TRAPS_MAX_URL_LENGTH=512, MM_TRAPS_MAX_PER_PATTERN=5, MM_TRAPS_MAX_QUERY_VARIANTS=12
    )
    response = HtmlResponse("http://a.vn/", body=b"<html></html>")
    kept = []
    for number in range(500):
        # One ordinary article after another, each its own pattern, and a calendar trap.
        url = f"http://a.vn/tin/bai-{chr(97 + number % 26)}{chr(97 + number // 26 % 26)}.html"
        assert middleware.get_processed_request(Request(url), response) is not None
        trap = f"http://a.vn/lich/{number}"
        kept.append(middleware.get_processed_request(Request(trap), response) is not None)
    assert kept == [True] * 5 + [False] * 495
    assert len(middleware.by_pattern) <= 50 and len(middleware.variants) <= 50
    assert stats.get_value("mm/traps/url_pattern") == 495


def test_job_dir_trusts_a_clean_pause_and_wipes_after_a_kill(tmp_path: Path):
    first = JobDir.prepare(tmp_path, "s", now="2026-11-28T10:00:00+00:00")
    assert not first.resumed and first.settings()["MM_RESUME_SINCE"] is None
    (first.path / "requests.seen").write_text("abc\n")
    # Killed: the next run wipes Scrapy's half-written state but remembers the start.
    second = JobDir.prepare(tmp_path, "s", now="2026-11-28T11:00:00+00:00")
    assert second.resumed and second.started_at == "2026-11-28T10:00:00+00:00"
    assert second.settings()["MM_RESUME_SINCE"] == "2026-11-28T10:00:00+00:00"
    assert not (second.path / "requests.seen").exists()
    # Stopped cleanly (SIGTERM): Scrapy's saved queue is kept for the next run.
    (second.path / "requests.seen").write_text("abc\n")
    second.close("shutdown")
    third = JobDir.prepare(tmp_path, "s", now="2026-11-28T12:00:00+00:00")
    assert (third.path / "requests.seen").exists() and third.resumed
    third.close("finished")
    assert not third.path.exists()
    assert not JobDir.prepare(tmp_path, "s", now="2026-11-28T13:00:00+00:00").resumed
