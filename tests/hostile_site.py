"""A hostile site for the tests of issue #13: every case of its table, served on 127.0.0.x.

:class:`HostileSites` starts four small HTTP servers on loopback addresses of their own:

* ``site`` (127.0.0.2): a news site whose pages misbehave: dates of year 1 and 9999,
  JSON-LD that is a number, a 1 MB and a 5 MB article, a gzip sitemap and a gzip bomb,
  links to other ports and hosts; a page rendered by JavaScript that loads images,
  frames, CSS and scripts from other hosts and ports and then redirects away; a social
  "group" whose posts link another site's article, or ``javascript:``;
* ``paper`` (127.0.0.3): a licensed paper's article that the group's posts point at;
* ``canary`` (127.0.0.4) and ``side`` (127.0.0.2, another port): they should never be
  asked for anything; every request they get is recorded.

Each server records the paths it was asked for, so tests assert what was (not) fetched.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PARAGRAPH = (
    "Sáng nay, Sở Y tế thành phố cho biết tình hình dịch bệnh trên địa bàn đã được kiểm soát, "
    "số ca mắc mới giảm liên tục trong hai tuần qua nhờ các biện pháp phòng chống quyết liệt."
)
#: Phrases the paper's article holds and the group's posts do not.
PAPER_TITLE = "Bộ Y tế: tình hình dịch bệnh đã ổn định"
RUMOUR = "Báo lớn xác nhận: uống nước muối ấm chữa khỏi Covid-19, chia sẻ ngay!"
Route = Callable[["_Handler"], None]


def big_text(size: int) -> str:
    """About ``size`` bytes of plausible Vietnamese paragraphs (numbered: extractors drop
    repeated ones)."""
    count = max(1, size // (len(PARAGRAPH.encode("utf-8")) + 16))
    return "".join(f"<p>{PARAGRAPH} ({n})</p>" for n in range(count))


def article(
    title: str,
    url: str,
    *,
    published: str = "2026-11-27T08:00:00+07:00",
    head: str = "",
    body: str = "",
) -> str:
    body = body or "".join(f"<p>{PARAGRAPH} ({n})</p>" for n in range(4))
    return (
        f'<html lang="vi"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:type" content="article"><link rel="canonical" href="{url}">'
        f'<meta property="article:published_time" content="{published}">{head}'
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits.append(self.path)
        route = self.server.routes.get(self.path.split("?")[0])
        if route is None:
            self.send(404, b"not found", "text/plain")
        else:
            route(self)

    def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def html(self, text: str) -> None:
        self.send(200, text.encode("utf-8"), "text/html; charset=utf-8")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    hits: list[str]
    lock: threading.Lock

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a crawler hanging up mid-page is not a failure of the test


@dataclass
class Served:
    """One running server and what it was asked for."""

    server: _Server
    routes: dict[str, Route] = field(default_factory=dict)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def hits(self) -> list[str]:
        with self.server.lock:
            return list(self.server.hits)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve(host: str, routes: dict[str, Route]) -> Served:
    server = _Server((host, 0), _Handler)
    server.routes, server.hits, server.lock = routes, [], threading.Lock()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Served(server, routes)


class HostileSites:
    """The four servers; use as a context manager."""

    def __init__(self) -> None:
        self.canary = _serve("127.0.0.4", {})
        self.side = _serve("127.0.0.2", {})
        self.paper = _serve("127.0.0.3", {})
        self.site = _serve("127.0.0.2", {})
        for served in (self.canary, self.side):
            served.routes.update(
                {path: self._canary for path in ("/", "/x.png", "/x.css", "/x.js")}
            )
        self.paper.routes["/bai/1.html"] = lambda r: r.html(
            article(PAPER_TITLE, self.paper.base + "/bai/1.html")
        )
        self.site.routes.update(self._site_routes())

    def __enter__(self) -> HostileSites:
        return self

    def __exit__(self, *exc: object) -> None:
        for served in (self.canary, self.side, self.paper, self.site):
            served.close()

    # -- what must never be fetched -----------------------------------------------------------
    @staticmethod
    def _canary(request: _Handler) -> None:
        request.send(200, b"canary", "text/plain")

    @property
    def forbidden_hits(self) -> list[str]:
        """Requests that reached a server the crawl (or its browser) must never talk to."""
        return [f"canary{path}" for path in self.canary.hits] + [
            f"side{path}" for path in self.side.hits
        ]

    @property
    def paper_article(self) -> str:
        return self.paper.base + "/bai/1.html"

    # -- the hostile site ---------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.site.base + path

    def _site_routes(self) -> dict[str, Route]:
        def page(html: Callable[[str], str]) -> Route:
            return lambda request: request.html(html(self.url(request.path)))

        offsite = (
            f'<a href="{self.side.base}/">same host, other port</a>'
            f'<a href="{self.canary.base}/">other host</a>'
            f'<a href="javascript:alert(1)">js</a><a href="http://[::1">broken</a>'
        )
        articles = [f"/bai/{n}.html" for n in range(1, 4)]
        cases = [
            "/year-one.html",
            "/year-one-day.html",
            "/year-9999.html",
            "/jsonld-42.html",
            "/jsonld-graph.html",
        ]
        links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in articles + cases)
        routes: dict[str, Route] = {
            "/": lambda request: request.html(
                f"<html><body><ul>{links}</ul>{offsite}</body></html>"
            ),
            "/year-one.html": page(
                lambda url: article("Năm một", url, published="0001-01-01T00:00:00+14:00")
            ),
            "/year-one-day.html": page(
                lambda url: article("Ngày một", url, published="0001-01-02")
            ),
            "/year-9999.html": page(
                lambda url: article("Năm 9999", url, published="9999-12-31T23:59:59-14:00")
            ),
            "/jsonld-42.html": page(
                lambda url: article(
                    "JSON-LD 42", url, head='<script type="application/ld+json">42</script>'
                )
            ),
            "/jsonld-graph.html": page(
                lambda url: article(
                    "JSON-LD graph",
                    url,
                    head='<script type="application/ld+json">{"@graph": 5}</script>',
                )
            ),
            "/big-1mb.html": page(lambda url: article("Bài 1 MB", url, body=big_text(1024 * 1024))),
            "/big-5mb.html": page(
                lambda url: article("Bài 5 MB", url, body=big_text(5 * 1024 * 1024 - 4096))
            ),
            "/sitemap.xml.gz": lambda request: request.send(
                200,
                gzip.compress(self._urlset([*articles, "/only-in-sitemap.html"])),
                "application/gzip",
            ),
            "/only-in-sitemap.html": page(lambda url: article("Chỉ có trong sitemap", url)),
            "/bomb.xml.gz": lambda request: request.send(200, self._bomb(), "application/gzip"),
            "/render.html": lambda request: request.html(self._render_page()),
            "/group.html": lambda request: request.html(self._group_page()),
            "/posts/own.html": page(lambda url: article("Bài của nhóm", url)),
            # On the site's own host, then a redirect away (the browser's route never sees
            # the second hop: only the network layer can stop it).
            "/hop.png": lambda request: request.send(
                302, b"", "text/plain", Location=self.canary.base + "/x.png"
            ),
            "/hop.html": lambda request: request.send(
                302, b"", "text/plain", Location=self.side.base + "/"
            ),
        }
        for path in articles:
            routes[path] = page(lambda url: article("Tin " + url.rsplit("/", 1)[-1], url))
        return routes

    def _urlset(self, paths: list[str]) -> bytes:
        urls = "".join(f"<url><loc>{self.url(path)}</loc></url>" for path in paths)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def _bomb(self) -> bytes:
        """About 1 MB gzipped, 1 GB unpacked: 1024 gzip members of 1 MB of spaces each (a
        gzip file may hold several members, read one after the other)."""
        if not hasattr(self, "_bomb_bytes"):
            member = gzip.compress(b" " * (1 << 20), compresslevel=9)
            head = gzip.compress(self._urlset([])[:-10])
            self._bomb_bytes = head + member * 1024 + gzip.compress(b"</urlset>")
        return self._bomb_bytes

    def _render_page(self) -> str:
        """A page whose posts appear only after JavaScript ran, and that then reaches out to
        other hosts and ports in every way a page can."""
        canary, side = self.canary.base, self.side.base
        script = (
            "document.getElementById('feed').innerHTML = "
            f'\'<article class="post"><div class="text">{PARAGRAPH}</div></article>\';'
            f"fetch('{canary}/').catch(() => {{}});"
            f"new Image().src = '{side}/x.png';"
            f"window.open('{canary}/');"
            "window.addEventListener('load', () => {"
            f" location.href = '{canary}/';"
            f" setTimeout(() => {{ location.replace('{side}/'); }}, 50); }});"
        )
        return (
            '<html><head><meta charset="utf-8"><title>Trang dựng bằng JS</title>'
            f'<link rel="stylesheet" href="{canary}/x.css"><script src="{side}/x.js"></script></head>'
            f'<body><img src="{canary}/x.png"><iframe src="{side}/"></iframe>'
            '<img src="/hop.png"><iframe src="/hop.html"></iframe>'
            f'<div id="feed"></div><script>{script}</script>'
            f'<a href="{self.url("/posts/own.html")}" download>tải</a></body></html>'
        )

    def _group_page(self) -> str:
        """A social group: a post whose permalink is the paper's article, one with a
        ``javascript:`` permalink, one with its own permalink."""
        return (
            '<html><head><meta charset="utf-8"><title>Nhóm sức khỏe</title></head><body>'
            '<article class="post"><span class="author">Kẻ tung tin</span>'
            f'<a class="permalink" href="{self.paper_article}">bài gốc</a>'
            f'<div class="text">{RUMOUR}</div></article>'
            '<article class="post"><span class="author">Người lạ</span>'
            '<a class="permalink" href="javascript:alert(1)">xem</a>'
            '<div class="text">Tin nhắn lạ: bấm vào đây để nhận quà.</div></article>'
            '<article class="post"><span class="author">An</span>'
            '<a class="permalink" href="/posts/own.html">xem</a>'
            '<div class="text">Bài bình thường của nhóm về thời tiết hôm nay.</div></article>'
            "</body></html>"
        )
