"""End to end against the local demo news site: discover, fetch, extract, analyse, index.

Each crawl runs ``misinfo crawl`` in a subprocess, exactly as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from crawler.demosite import DemoServer
from index.sqlite import SqliteStore
from tests.helpers import (
    POOLED_CRAWL_SETTINGS,
    REPO_ROOT,
    demo_source_entries,
    run_cli,
    runs_json,
    write_config,
)

pytestmark = pytest.mark.slow

HOST = "songhong.localhost"
PATHS = {
    "feeds": {"feeds": True, "sitemaps": False, "listing": False},
    "sitemaps": {"feeds": False, "sitemaps": True, "listing": False},
    "listing": {"feeds": False, "sitemaps": False, "listing": True},
    "all": {"feeds": True, "sitemaps": True, "listing": True},
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, demo_server: DemoServer) -> dict[str, Path]:
    """One data directory per discovery path, crawled concurrently in subprocesses."""
    root = tmp_path_factory.mktemp("e2e")
    demo_server.clear_requests()
    jobs = {}
    for path_name, switches in PATHS.items():
        config_dir = write_config(
            root / f"config-{path_name}",
            [demo_source_entries(demo_server, HOST, name=f"songhong-{path_name}", **switches)],
            POOLED_CRAWL_SETTINGS,  # the default worker pool, as a deployment runs
        )
        data_dir = root / f"data-{path_name}"
        command = [
            sys.executable,
            "-m",
            "crawler",
            "--config",
            str(config_dir),
            "--data-dir",
            str(data_dir),
            "crawl",
            f"songhong-{path_name}",
        ]
        jobs[path_name] = (
            subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
            config_dir,
            data_dir,
        )
    result = {}
    for path_name, (process, config_dir, data_dir) in jobs.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, f"{path_name}: {stdout}\n{stderr}"
        result[path_name] = data_dir
        result[f"{path_name}-config"] = config_dir
    return result


def stored(data_dir: Path) -> dict[str, object]:
    store = SqliteStore(data_dir / "index.db")
    try:
        from index import SearchRequest

        return {doc.canonical_url: doc for doc in store.scan(SearchRequest())}
    finally:
        store.close()


@pytest.mark.parametrize("path_name", ["feeds", "sitemaps", "listing", "all"])
def test_every_article_is_found_through_each_discovery_path(crawled, demo_server, path_name):
    expected = {article.url for article in demo_server.articles(HOST)}
    assert len(expected) >= 60
    found = set(stored(crawled[path_name]))
    assert found == expected, (
        f"missing: {sorted(expected - found)[:5]}, extra (non-articles): {sorted(found - expected)[:5]}"
    )


def test_robots_disallowed_paths_are_never_fetched(crawled, demo_server):
    fetched = [path for host, path in demo_server.requests if host == HOST]
    assert any(path == "/robots.txt" for path in fetched)
    assert not [path for path in fetched if path.startswith(("/tim-kiem", "/admin"))]


def test_extracted_fields_match_every_demo_article(crawled, demo_server):
    documents = stored(crawled["all"])
    site = demo_server.sites[HOST]
    mismatches = []
    for article in demo_server.articles(HOST):
        doc = documents[article.url]
        if doc.title != article.title:
            mismatches.append((article.slug, "title", doc.title))
        if doc.author != article.author:
            mismatches.append((article.slug, "author", doc.author))
        if (
            doc.published_at is None
            or datetime.fromisoformat(doc.published_at) != article.published
        ):
            mismatches.append((article.slug, "published_at", doc.published_at))
        if article.body[0][:80] not in doc.text or article.body[-1][:80] not in doc.text:
            mismatches.append((article.slug, "text", doc.text[:80]))
        # No menu, related block, comments or footer in the body text.
        for clutter in (
            *site.footer_lines,
            "Tin liên quan",
            "Bình luận",
            "Đọc nhiều",
            site.tagline,
        ):
            if clutter and clutter in doc.text:
                mismatches.append((article.slug, "clutter", clutter))
        menu = " ".join(section.name for section in site.sections)
        if menu in doc.text:
            mismatches.append((article.slug, "menu", menu))
        if doc.section != site.section_name(article.section):
            mismatches.append((article.slug, "section", doc.section))
        assert doc.segmented, "text is segmented with underthesea"
    assert not mismatches, mismatches[:10]


def test_related_article_titles_are_not_in_body(crawled, demo_server):
    documents = stored(crawled["all"])
    articles = demo_server.articles(HOST)
    titles = {article.title for article in articles}
    leaked = [
        (article.slug, title)
        for article in articles
        for title in titles - {article.title}
        if title in documents[article.url].text
    ]
    assert not leaked, leaked[:5]


def test_rerun_of_unchanged_site_reanalyses_nothing_and_a_changed_article_is_updated(
    crawled, demo_server
):
    config_dir, data_dir = crawled["all-config"], crawled["all"]
    before = stored(data_dir)
    run_cli(config_dir, data_dir, "crawl", "songhong-all")
    latest = runs_json(config_dir, data_dir)[0]
    assert (latest["new"], latest["updated"]) == (0, 0)
    assert latest["unchanged"] == len(before)
    after = stored(data_dir)
    assert set(after) == set(before)
    assert all(after[url].fetched_at == before[url].fetched_at for url in before), (
        "unchanged docs were rewritten"
    )

    article = demo_server.articles(HOST)[5]
    changed = demo_server.update_article(
        HOST, article.slug, body=[*article.body, "Cập nhật: thông tin mới được bổ sung lúc 10 giờ."]
    )
    try:
        run_cli(config_dir, data_dir, "crawl", "songhong-all")
        latest = runs_json(config_dir, data_dir)[0]
        assert (latest["new"], latest["updated"]) == (0, 1)
        final = stored(data_dir)
        assert len(final) == len(before)
        assert "thông tin mới được bổ sung" in final[changed.url].text
        assert final[changed.url].first_seen == before[changed.url].first_seen
    finally:
        demo_server.update_article(HOST, article.slug, body=list(article.body))


@pytest.mark.parametrize(
    ("with_marks", "without_marks"),
    [
        ("Hà Nội", "ha noi"),
        ("Đà Nẵng", "da nang"),
        ('"đường sắt tốc độ cao"', '"duong sat toc do cao"'),
    ],
)
def test_search_works_with_and_without_diacritics(crawled, with_marks, without_marks):
    import json

    config_dir, data_dir = crawled["all-config"], crawled["all"]
    marked = json.loads(
        run_cli(config_dir, data_dir, "search", with_marks, "--json", "--limit", "100").stdout
    )
    plain = json.loads(
        run_cli(config_dir, data_dir, "search", without_marks, "--json", "--limit", "100").stdout
    )
    assert marked["total"] > 0
    assert {hit["id"] for hit in marked["hits"]} <= {hit["id"] for hit in plain["hits"]}
    hit = marked["hits"][0]
    assert {"id", "url", "title", "author", "source", "published_at", "snippet"} <= set(hit)


def test_sources_command_shows_last_run_and_documents(crawled):
    config_dir, data_dir = crawled["all-config"], crawled["all"]
    output = run_cli(config_dir, data_dir, "sources").stdout
    assert "songhong-all" in output
    row = next(line for line in output.splitlines() if line.startswith("songhong-all"))
    assert ("never" not in row and " 64" in row) or row.rstrip().endswith("64")
