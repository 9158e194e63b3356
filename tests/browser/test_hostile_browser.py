"""Hostile pages through Chromium (issue #13, rows 1 and 6): a rendered page that loads
images, frames, CSS, scripts and ``fetch()`` from other hosts and ports and then redirects
away gets none of them fetched; a social group whose post links a paper's article does
not overwrite that article."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import SearchRequest, open_store
from tests.helpers import run_cli, write_config
from tests.hostile_site import PAPER_TITLE, PARAGRAPH, RUMOUR, HostileSites


def _chromium() -> str | None:
    path = os.environ.get("MISINFO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if path and Path(path).exists() else None


pytestmark = pytest.mark.skipif(_chromium() is None, reason="needs Chromium (MISINFO_CHROMIUM)")

SETTINGS = {
    "crawl": {"download_delay": 0, "autothrottle": False, "retry_times": 0, "download_timeout": 15}
}


@pytest.fixture
def sites() -> Iterator[HostileSites]:
    with HostileSites() as running:
        yield running


def _settings() -> dict:
    return {**SETTINGS, "browser": {"executable_path": _chromium()}}


def _documents(data_dir: Path) -> dict[str, object]:
    store = open_store(f"sqlite:///{data_dir / 'index.db'}")
    try:
        return {doc.url: doc for doc in store.scan(SearchRequest())}
    finally:
        store.close()


def test_row6_a_rendered_page_reaches_no_other_host_or_port(sites, tmp_path):
    source = {
        "name": "rendered",
        "render": True,
        "start_urls": [sites.url("/render.html")],
        "follow_depth": 0,
        "article_pattern": "render",
    }
    config = write_config(tmp_path / "config", [source], _settings())
    result = run_cli(config, tmp_path / "data", "crawl", "rendered", check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    time.sleep(1)  # the page's timers (a late redirect) had their chance
    hits = sites.site.hits
    assert "/render.html" in hits and "/hop.png" in hits  # its own host answered, with a redirect
    assert sites.forbidden_hits == []
    # The page was rendered (its posts exist only after its script ran) and stored.
    (doc,) = _documents(tmp_path / "data").values()
    assert PARAGRAPH[:40] in doc.text


def test_row1_a_group_post_linking_a_papers_article_never_overwrites_it(sites, tmp_path):
    paper = {"name": "paper", "start_urls": [sites.paper_article], "follow_depth": 0}
    group = {
        "name": "group",
        "kind": "social",
        "start_urls": [sites.url("/group.html")],
        "selectors": {
            "post": "article.post",
            "text": ".text",
            "author": ".author",
            "link": "a.permalink::attr(href)",
        },
    }
    config = write_config(tmp_path / "config", [paper, group], _settings())
    run_cli(config, tmp_path / "data", "crawl", "paper", timeout=300)
    result = run_cli(config, tmp_path / "data", "crawl", "group", check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Scraper close failure" not in result.stderr
    docs = _documents(tmp_path / "data")
    article = docs[sites.paper_article]
    assert (article.title, article.source, article.site) == (PAPER_TITLE, "paper", "127.0.0.3")
    posts = {doc.author: doc for doc in docs.values() if doc.source == "group"}
    assert set(posts) == {"Kẻ tung tin", "Người lạ", "An"}
    rumour = posts["Kẻ tung tin"]
    assert rumour.text == RUMOUR and rumour.site == "127.0.0.2"
    assert rumour.url.startswith(sites.url("/group.html#post-"))
    assert rumour.outlinks == [sites.paper_article]
    assert posts["Người lạ"].url.startswith(sites.url("/group.html#post-"))
    assert posts["An"].url == sites.url("/posts/own.html")
