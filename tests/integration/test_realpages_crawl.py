"""The real and synthetic pages through the whole crawl: ``misinfo crawl`` of a local server.

A server on 127.0.0.1 serves an index linking every article page of tests/fixtures/realpages
and tests/fixtures/vnstyles and every non-article page (section fronts, home, tag, gallery
and video pages). After one crawl, exactly the articles are documents, each with its title,
authors, date to the minute, section and lead as the ground truth gives them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from analysis.text import normalize_text
from crawler.extract.eval import Truth, load_truths, read_negatives, read_page
from index import SearchRequest
from index.sqlite import SqliteStore
from tests.helpers import run_cli, write_config

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parents[1] / "fixtures"
SETS = ("realpages", "vnstyles")


def _site() -> tuple[dict[str, str], dict[str, Truth], list[str]]:
    """Paths to pages, the truth of each article path, and the non-article paths."""
    pages: ClassVar[dict[str, str]] = {}
    truths: dict[str, Truth] = {}
    fronts: list[str] = []
    for name in SETS:
        root = FIXTURES / name
        for truth in load_truths(root):
            path = f"/{name}/bai/{truth.id}.html"
            pages[path] = read_page(root, truth.id)
            truths[path] = truth
        for stem, html in read_negatives(root).items():
            path = f"/{name}/chuyen-muc/{stem}.html"
            pages[path] = html
            fronts.append(path)
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in sorted(pages))
    pages["/"] = f"<html><body><h1>Trang thử</h1><ul>{links}</ul></body></html>"
    return pages, truths, fronts


class _Handler(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        html = self.pages.get(self.path)
        data = (html or "không có trang này").encode("utf-8")
        self.send_response(200 if html is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Iterator[tuple[dict[str, object], dict[str, Truth], list[str], str]]:
    pages, truths, fronts = _site()
    handler = type("Handler", (_Handler,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        root = tmp_path_factory.mktemp("realcrawl")
        config = write_config(
            root / "config",
            [
                {
                    "name": "real-pages",
                    "start_urls": [base + "/"],
                    "follow_depth": 1,
                    "max_pages": 200,
                    "schedule": {"every": "1h"},
                }
            ],
        )
        run_cli(config, root / "data", "crawl", "real-pages")
        store = SqliteStore(root / "data" / "index.db")
        try:
            documents = {doc.url.removeprefix(base): doc for doc in store.scan(SearchRequest())}
        finally:
            store.close()
        yield documents, truths, fronts, base
    finally:
        server.shutdown()
        server.server_close()


def test_exactly_the_articles_are_stored(crawl):
    documents, truths, fronts, _ = crawl
    assert set(documents) == set(truths), (
        f"missing: {sorted(set(truths) - set(documents))}, "
        f"stored non-articles: {sorted(set(documents) - set(truths))}"
    )
    assert not set(fronts) & set(documents)


def test_stored_fields_match_the_ground_truth(crawl):
    documents, truths, _, _ = crawl
    wrong = []
    for path, truth in sorted(truths.items()):
        doc = documents.get(path)
        if doc is None:
            continue
        text = " ".join(doc.text.split())
        if doc.title != normalize_text(truth.title):
            wrong.append((truth.id, "title", doc.title))
        authors = {name.strip().casefold() for name in doc.author.split(",") if name.strip()}
        if authors != {normalize_text(name).casefold() for name in truth.authors}:
            wrong.append((truth.id, "authors", doc.author))
        published = datetime.fromisoformat(doc.published_at) if doc.published_at else None
        if published is None or published.replace(second=0) != truth.published:
            wrong.append((truth.id, "published", doc.published_at))
        if doc.section != normalize_text(truth.section):
            wrong.append((truth.id, "section", doc.section))
        if " ".join(normalize_text(truth.lead).split()) not in text:
            wrong.append((truth.id, "lead", text[:80]))
    assert not wrong, wrong
