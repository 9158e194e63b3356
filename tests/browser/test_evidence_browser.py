"""The post page's evidence in a real Chromium: capture (a POST with CSRF), the screenshot
served from our origin as a PNG, the takedown check history with the removal highlighted,
and the bundle download."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.app import App
from crawler.demosite import DemoServer
from tests.helpers import (
    FAST_CRAWL_SETTINGS,
    REPO_ROOT,
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
USER, PASSWORD = "tham.dinh", "mat-khau-demo-456"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, demo_server: DemoServer) -> App:
    root = tmp_path_factory.mktemp("evidence-browser")
    config_dir = write_config(
        root / "config",
        [demo_source_entries(demo_server, "doisongxanh.localhost", name="dsx", feeds=False)],
        {**FAST_CRAWL_SETTINGS, "browser": {"executable_path": CHROMIUM}},
    )
    data_dir = root / "data"
    run_cli(config_dir, data_dir, "crawl", "dsx")
    return App(config_dir=config_dir, data_dir=data_dir)


@pytest.fixture(scope="module")
def base_url(demo_app: App) -> Iterator[str]:
    from crawler.cli.web import start_web

    running = start_web(demo_app, "127.0.0.1", 0, demo_user=(USER, PASSWORD))
    try:
        yield running.url.rstrip("/")
    finally:
        running.stop()


@pytest.fixture
def page(base_url) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            viewport={"width": 1366, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        page.goto(base_url + "/login")
        page.fill('input[name="username"]', USER)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        page.wait_for_url(base_url + "/")
        try:
            yield page
            assert errors == [], errors
        finally:
            browser.close()


def test_post_page_shows_screenshot_and_check_history(page, base_url, demo_server, demo_app):
    page.goto(base_url + "/?flags=claim&sort=score")
    with page.expect_navigation():
        page.locator(".hit h2 a").first.click()
    post_url = page.url
    original = page.locator(".facts dd.url a").get_attribute("href")
    assert page.locator("#evidence").count() == 1
    # The crawl's WARC record is listed before any capture.
    assert page.locator("#evidence tr.evidence-warc").count() >= 1

    with page.expect_navigation(timeout=120_000):
        page.click("text=Capture now")
    assert "captured" in page.locator(".flash, .flashes, body").first.inner_text()
    image = page.locator("#evidence img.screenshot").first
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
    source = image.get_attribute("src")
    assert source.startswith("/posts/")  # our own origin, never the crawled site
    served = page.request.get(base_url + source)
    assert served.status == 200
    assert served.headers["content-type"] == "image/png"
    assert served.body()[:8] == b"\x89PNG\r\n\x1a\n"
    dom_link = page.locator("#evidence tr.evidence-dom a").first.get_attribute("href")
    dom = page.request.get(base_url + dom_link)
    assert dom.headers["content-type"].startswith("text/plain")  # crawled HTML never rendered
    assert dom.headers["content-disposition"].startswith("attachment")

    with page.expect_navigation():
        page.click("text=Check now")
    assert page.locator("#evidence tr.check-online-unchanged").count() == 1
    demo_server.remove_page(original, status=404)
    try:
        with page.expect_navigation():
            page.click("text=Check now")
    finally:
        demo_server.restore_page(original)
    removed = page.locator("#evidence tr.first-removal")
    assert removed.count() == 1 and "removed" in removed.inner_text()
    assert "First found removed" in page.locator("#first-removal").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "post-evidence.png"), full_page=True)

    with page.expect_download() as download:
        page.click("text=Download evidence bundle")
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        assert "datapackage.json" in bundle.namelist()
    assert page.url.split("#")[0] == post_url  # a download, not a navigation
