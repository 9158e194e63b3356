"""The cluster pages in a real Chromium over demo sites where the aggregator carries a copy
of a rumour (``tests.helpers.COPY``): the spread timeline is drawn, its dots
link to the posts, the search page collapses the copies, and no script runs (the CSP
allows none inline; a console error fails the test). Screenshots go to
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.app import App
from crawler.demosite import DemoServer
from tests.helpers import (
    COPY,
    REPO_ROOT,
    demo_content_with_copy,
    demo_source_entries,
    run_cli,
    write_config,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("MISINFO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (set MISINFO_CHROMIUM)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
USER, PASSWORD = "kiem.chung", "mat-khau-demo-123"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    from crawler.cli.web import start_web

    root = tmp_path_factory.mktemp("clusters-browser")
    content_dir = demo_content_with_copy(root)
    with DemoServer(port=0, content_dir=content_dir) as server:
        config = write_config(
            root / "config",
            [
                demo_source_entries(
                    server, "doisongxanh.localhost", name="doisongxanh", feeds=False
                ),
                demo_source_entries(server, "tonghop24.localhost", name="tonghop24"),
            ],
        )
        data = root / "data"
        run_cli(config, data, "crawl", "doisongxanh", "tonghop24")
    running = start_web(
        App(config_dir=config, data_dir=data), "127.0.0.1", 0, demo_user=(USER, PASSWORD)
    )
    try:
        yield running.url.rstrip("/")
    finally:
        running.stop()


@pytest.fixture
def page(base_url) -> Iterator[object]:
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda d: (errors.append(f"dialog {d.message}"), d.dismiss()))
            page.goto(base_url + "/clusters")
            page.fill('input[name="username"]', USER)
            page.fill('input[name="password"]', PASSWORD)
            page.click('button[type="submit"]')
            page.wait_for_url(base_url + "/clusters")
            yield page
            assert errors == [], errors
        finally:
            browser.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_cluster_page_shows_the_spread_timeline(page, base_url):
    rows = page.locator("table.clusters tbody tr")
    assert rows.count() == 1
    _shot(page, "clusters")
    rows.first.locator("a").first.click()
    page.wait_for_url(f"{base_url}/clusters/*")
    timeline = page.locator("svg.spread")
    assert timeline.is_visible()
    box = timeline.bounding_box()
    assert box["width"] > 600 and box["height"] > 50
    dots = page.locator("svg.spread circle.dot")
    assert dots.count() == 2
    assert page.locator("svg.spread circle.dot.first").count() == 1
    sites = page.locator("svg.spread text.site").all_text_contents()
    assert sites == ["doisongxanh.localhost", "tonghop24.localhost"]
    assert page.locator("table.members tr.member").count() == 2
    _shot(page, "cluster-timeline")
    # A dot is a link to its post, whose page links back to the cluster.
    with page.expect_navigation():
        page.locator("svg.spread a").nth(1).click()
    assert "/posts/" in page.url
    assert COPY["title"] in page.content()
    page.locator(".cluster-link a").click()
    page.wait_for_url(f"{base_url}/clusters/*")


def test_the_search_page_collapses_the_copies(page, base_url):
    page.goto(base_url + "/?q=" + "nuoc muoi dac")
    assert page.locator("li.hit").count() == 2
    page.click(".collapse-toggle a")
    page.wait_for_url("**collapse=1**")
    assert page.locator("li.hit").count() == 1
    assert page.locator(".copies a").inner_text() == "+1 copy"
    _shot(page, "search-collapsed")
