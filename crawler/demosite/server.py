"""``DemoServer``: every demo site on one loopback port, told apart by the Host header.

It runs ``http.server.ThreadingHTTPServer`` in a daemon thread so tests and the ``misinfo
demo`` command can start it in-process, crawl it, edit an article and crawl again. Every
request served is recorded in :attr:`DemoServer.requests`, so a test can prove that a
robots-disallowed path was never fetched.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from crawler.demosite.app import DemoApp, SiteHandler, host_name
from crawler.demosite.bench import BENCH_HOST, BenchCatalog
from crawler.demosite.content import (
    ArticleCatalog,
    Catalog,
    load_articles,
    load_posts,
    shift_posts,
)
from crawler.demosite.model import Article, SiteDef, SocialPost
from crawler.demosite.news import NewsSite
from crawler.demosite.render import make_environment
from crawler.demosite.responses import Response, html
from crawler.demosite.sites import load_sites
from crawler.demosite.social import SocialSite
from crawler.demosite.vndates import VN_TZ, http_date

__all__ = ["CONTENT_DIR", "DemoServer"]

CONTENT_DIR = Path(__file__).resolve().parent / "content"
#: The site whose articles the bench site recombines.
BENCH_CORPUS_HOST = "songhong.localhost"

log = logging.getLogger(__name__)


class DemoServer:
    """The demo sites, served from ``content_dir`` (default: the bundled content).

    Sites whose content file does not exist yet are left out (with a warning). With
    ``bench_pages > 0`` the host ``bench.localhost`` serves that many generated articles.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        content_dir: Path | str | None = None,
        bench_pages: int = 0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.content_dir = Path(content_dir) if content_dir is not None else CONTENT_DIR
        self.bench_pages = bench_pages
        self.started = datetime.now(VN_TZ).replace(microsecond=0)
        self._log_lock = threading.Lock()
        self._requests: list[tuple[str, str]] = []
        self._catalogs: dict[str, Catalog] = {}
        self._posts: list[SocialPost] = []
        self._sites: dict[str, SiteDef] = {}
        self._removed: dict[tuple[str, str], int] = {}
        self._load()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._app: DemoApp | None = None

    # -- content --------------------------------------------------------------------------

    def _load(self) -> None:
        for host, site in load_sites(self.content_dir).items():
            path = self.content_dir / site.content_file
            if not site.content_file or not path.exists():
                log.warning("demo site %s: no content file %s, not served", host, path)
                continue
            if site.kind == "social":
                self._posts = shift_posts(load_posts(path), self.started)
            else:
                self._catalogs[host] = ArticleCatalog(site, load_articles(path, host))
            self._sites[host] = site
        if self.bench_pages > 0:
            corpus = self._catalogs.get(BENCH_CORPUS_HOST)
            if not isinstance(corpus, ArticleCatalog) or not corpus.count():
                raise ValueError(f"the bench site needs {BENCH_CORPUS_HOST} content to recombine")
            bench = BenchCatalog(self.bench_pages, corpus.all(), corpus.sections)
            self._catalogs[BENCH_HOST] = bench
            self._sites[BENCH_HOST] = bench.site

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> DemoServer:
        """Bind the port and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("DemoServer already started")
        httpd = ThreadingHTTPServer((self.host, self._requested_port), _Handler)
        httpd.daemon_threads = True
        httpd.demo = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._app = self._build_app()
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="demosite", kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _build_app(self) -> DemoApp:
        env = make_environment()
        handlers: dict[str, SiteHandler] = {}
        for host, site in self._sites.items():
            base = self.base_url(host)
            if site.kind == "social":
                handlers[host] = SocialSite(site, self._posts, env, base)
            else:
                handlers[host] = NewsSite(self._catalogs[host], env, base)
        return DemoApp(handlers, env, self.started)

    # -- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("DemoServer not started")
        return self._httpd.server_address[1]

    @property
    def hosts(self) -> list[str]:
        """Host names served (news sites, social, bench), in definition order."""
        return list(self._sites)

    @property
    def sites(self) -> dict[str, SiteDef]:
        return dict(self._sites)

    def base_url(self, site_host: str) -> str:
        """``http://songhong.localhost:PORT``: the origin canonical links use."""
        return f"http://{site_host}:{self.port}"

    # -- ground truth and edits -------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """A snapshot of ``(host, path_with_query)`` for every request served, in order."""
        with self._log_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def _record(self, host: str, target: str) -> None:
        with self._log_lock:
            self._requests.append((host, target))

    def _catalog(self, host: str) -> ArticleCatalog:
        catalog = self._catalogs.get(host)
        if not isinstance(catalog, ArticleCatalog):
            raise KeyError(f"no news site with editable content at {host!r}")
        return catalog

    def articles(self, host: str) -> list[Article]:
        """The articles of ``host`` as currently served, file order, ``url`` absolute.

        For the bench site this generates every page; use it with small ``bench_pages``.
        """
        catalog = self._catalogs.get(host)
        if catalog is None:
            raise KeyError(f"no news site {host!r}; served: {self.hosts}")
        if isinstance(catalog, ArticleCatalog):
            items = catalog.all()
        else:
            items = catalog.listing(None, 0, catalog.count())
        base = self.base_url(host)
        return [_with_url(article, base) for article in items]

    def update_article(
        self,
        host: str,
        slug: str,
        *,
        title: str | None = None,
        body: Sequence[str] | str | None = None,
    ) -> Article:
        """Edit an article in memory; its page, feeds and sitemap show the new modified time."""
        updated = self._catalog(host).update(slug, title=title, body=body)
        return _with_url(updated, self.base_url(host))

    def social_posts(self) -> list[SocialPost]:
        """Posts of the social feed with their shifted times, newest first, ``url`` absolute."""
        base = self.base_url("mxh.localhost") if self._httpd is not None else ""
        return [dataclasses.replace(post, url=base + post.path) for post in self._posts]

    def remove_page(self, url: str, *, status: int = 410) -> None:
        """Take the page at ``url`` down (tests of takedown checks): it answers ``status``
        (404 or 410), or with 200 a "content not available" notice as some sites show."""
        parts = urlsplit(url)
        self._removed[(host_name(parts.netloc), parts.path or "/")] = status

    def restore_page(self, url: str) -> None:
        parts = urlsplit(url)
        self._removed.pop((host_name(parts.netloc), parts.path or "/"), None)

    def _respond(self, host_header: str | None, target: str, ims: str | None) -> Response:
        assert self._app is not None
        self._record(host_name(host_header), target)
        status = self._removed.get((host_name(host_header), urlsplit(target).path or "/"))
        if status is not None:
            notice = "Nội dung không tồn tại hoặc đã bị gỡ bỏ." if status == 200 else "Gone"
            return html(f"<!doctype html><title>{notice}</title><p>{notice}</p>", status=status)
        return self._app.handle(host_header, target, ims)


def _with_url(article: Article, base: str) -> Article:
    return dataclasses.replace(article, url=base + article.path)


class _Handler(BaseHTTPRequestHandler):
    """Adapter from http.server to :class:`DemoApp`; quiet, HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "DemoSite/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections close on their own
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (~40 ms per request on keep-alive connections).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        demo: DemoServer = self.server.demo  # type: ignore[attr-defined]
        demo._record(host_name(self.headers.get("Host")), self.path)
        self._send(Response(405, b"", headers={"Allow": "GET, HEAD"}), send_body=True)

    def _serve(self, *, send_body: bool) -> None:
        demo: DemoServer = self.server.demo  # type: ignore[attr-defined]
        try:
            response = demo._respond(
                self.headers.get("Host"), self.path, self.headers.get("If-Modified-Since")
            )
        except Exception:
            log.exception("demo site failed on %s %s", self.headers.get("Host"), self.path)
            response = Response(500, "Lỗi máy chủ".encode(), "text/plain; charset=utf-8")
        self._send(response, send_body=send_body)

    def _send(self, response: Response, *, send_body: bool) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.last_modified is not None:
            self.send_header("Last-Modified", http_date(response.last_modified))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr lines; :attr:`DemoServer.requests` has them."""
