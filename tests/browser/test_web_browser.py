"""The web UI in a real Chromium (Playwright) over data crawled from the demo sites.

The demo sites are crawled with ``misinfo crawl`` in a subprocess, as a user would; the UI is
served by :func:`crawler.cli.web.start_web` (uvicorn on a free loopback port). Every page
visited is screenshotted into ``test-artifacts/screenshots/``. Any JavaScript dialog,
console error (a CSP violation is one) or page error fails the test: the demo aggregator
carries an article with XSS payloads in its title, author and body.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.app import App
from crawler.demosite import DemoServer
from tests.helpers import REPO_ROOT, demo_source_entries, run_cli, write_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("MISINFO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (set MISINFO_CHROMIUM)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
USER, PASSWORD = "kiem.chung", "mat-khau-demo-123"
XSS_SLUG = "bai-viet-thu-nghiem-an-toan"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, demo_server: DemoServer) -> App:
    root = tmp_path_factory.mktemp("browser")
    config_dir = write_config(
        root / "config",
        [
            demo_source_entries(demo_server, "songhong.localhost", name="songhong"),
            demo_source_entries(demo_server, "tonghop24.localhost", name="tonghop24"),
            # The newspaper-style site spreads rumours: the claim queue is never empty.
            demo_source_entries(
                demo_server, "doisongxanh.localhost", name="doisongxanh", feeds=False
            ),
        ],
    )
    data_dir = root / "data"
    run_cli(config_dir, data_dir, "crawl", "songhong", "tonghop24", "doisongxanh")
    return App(config_dir=config_dir, data_dir=data_dir)


@pytest.fixture(scope="module")
def base_url(demo_app: App) -> Iterator[str]:
    from crawler.cli.web import start_web

    running = start_web(demo_app, "127.0.0.1", 0, demo_user=(USER, PASSWORD))
    try:
        yield running.url.rstrip("/")
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page plus everything that must not happen on it."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, message) -> None:
        # Failed loads are checked with their URL in _response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response) -> None:
        # A bad query is answered with status 400 on purpose.
        if response.status >= 400 and not (response.status == 400 and "q=" in response.url):
            self.errors.append(f"{response.status} {response.url}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def total(self) -> int:
        return int(self.page.locator(".total").get_attribute("data-total"))

    def search(self, query: str) -> int | None:
        """Run ``query`` from the search box; the total (``None`` on an error page)."""
        box = self.page.locator('input[name="q"]')
        box.fill(query)
        with self.page.expect_navigation():
            box.press("Enter")
        return self.total() if self.page.locator(".total").count() else None


@pytest.fixture
def ui(browser, base_url) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    watched = Watched(context.new_page(), base_url)
    watched.goto("/")
    assert "/login" in watched.page.url
    watched.page.fill('input[name="username"]', USER)
    watched.page.fill('input[name="password"]', PASSWORD)
    watched.page.click('button[type="submit"]')
    watched.page.wait_for_url(base_url + "/")
    try:
        yield watched
        assert watched.dialogs == [], f"a script ran: {watched.dialogs}"
        assert watched.errors == [], f"console errors: {watched.errors}"
    finally:
        context.close()


def test_login_page_and_wrong_password(browser, base_url):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(base_url + "/status")
        assert "/login?next=" in page.url
        page.fill('input[name="username"]', USER)
        page.fill('input[name="password"]', "wrong-password")
        page.click('button[type="submit"]')
        assert "Wrong user name or password" in page.content()
        Watched(page, base_url).shot("login")
    finally:
        context.close()


def test_search_with_and_without_diacritics(ui):
    with_marks = ui.search("Hà Nội")
    assert with_marks > 0
    assert ui.page.locator(".hit mark").count() > 0
    ui.shot("search-ha-noi")
    without = ui.search("ha noi")
    assert without >= with_marks
    assert ui.search("da nang") >= ui.search("Đà Nẵng") > 0
    assert ui.search("nosuchfield:x") is None
    assert "unknown field" in ui.page.locator(".query-error").inner_text()


def test_filter_changes_counts_and_url(ui):
    everything = ui.search("")
    with ui.page.expect_navigation():
        ui.page.click('.facet[data-facet="site"] a:has-text("tonghop24.localhost")')
    narrowed = ui.total()
    assert 0 < narrowed < everything
    assert "site=tonghop24.localhost" in ui.page.url
    assert ui.page.locator(".timeline svg").count() == 1
    ui.shot("search-filtered")
    with ui.page.expect_navigation():
        ui.page.click("a.chip.removable")
    assert ui.total() == everything


def test_open_a_post_with_its_evidence(ui):
    ui.goto("/?flags=covid&sort=score")
    assert ui.total() > 0
    with ui.page.expect_navigation():
        ui.page.locator(".hit h2 a").first.click()
    assert "/posts/" in ui.page.url
    body = ui.page.locator("article.post")
    assert "Why it was flagged" in body.inner_text()
    assert "Covid-19: score" in body.inner_text()
    link = ui.page.locator(".facts dd.url a")
    assert link.get_attribute("rel") == "noopener noreferrer"
    ui.shot("post")


def test_decide_in_a_queue_with_the_keyboard(ui):
    ui.goto("/queues")
    ui.shot("queues")
    ui.goto("/queues/covid")
    first = ui.page.locator(".queue-item").first
    item_id = first.get_attribute("data-item")
    title = first.locator("h2 a").inner_text()
    ui.shot("queue-covid")
    with ui.page.expect_navigation():
        ui.page.keyboard.press("c")  # claim the selected (first) item
    assert "claimed" in ui.page.locator(".flash").first.inner_text()
    assert ui.page.locator(".queue-item").first.get_attribute("data-item") == item_id
    ui.page.keyboard.press("n")
    ui.page.keyboard.type("Bài viết đưa tin chính thống, không sai")
    ui.page.keyboard.press("Escape")
    with ui.page.expect_navigation():
        ui.page.keyboard.press("3")  # third verdict of a post queue: "true"
    assert "decided" in ui.page.locator(".flash").first.inner_text()
    ui.goto(f"/queues/covid/items/{item_id}")
    history = ui.page.locator("table.history").inner_text()
    assert "decide" in history and USER in history and "Bài viết đưa tin chính thống" in history
    assert "đúng (true)" in ui.page.locator("dd.status").inner_text()
    ui.shot("queue-item-audit")
    assert title


def test_false_claim_can_become_a_known_claim(ui, demo_app):
    ui.goto("/queues/claim")
    items = ui.page.locator(".queue-item")
    assert items.count() > 0, "the rumours of doisongxanh.localhost are in the claim queue"
    with ui.page.expect_navigation():
        items.first.locator('button.verdict[value="false"]').click()
    assert "/queues/claim/items/" in ui.page.url
    assert "Add to the known false claims?" in ui.page.content()
    ui.page.fill('textarea[name="claim"]', "Uống nước chanh nóng chữa khỏi Covid-19")
    with ui.page.expect_navigation():
        ui.page.click('.known-claim button[type="submit"]')
    assert "added known false claim" in ui.page.locator(".flash").first.inner_text()
    from crawler.resources.claims import confirmed_claims_path

    written = confirmed_claims_path(demo_app).read_text(encoding="utf-8")
    assert "Uống nước chanh nóng chữa khỏi Covid-19" in written
    ui.shot("known-claim-added")


def test_xss_article_is_inert_everywhere(ui):
    ui.search("lua dao")
    hit = ui.page.locator(".hit", has_text="xss-title").first
    assert "<script>alert('xss-title')</script>" in hit.inner_text()
    ui.shot("xss-search")
    with ui.page.expect_navigation():
        hit.locator("h2 a").click()
    assert XSS_SLUG in ui.page.locator(".facts dd.url").inner_text()
    heading = ui.page.locator("h1").inner_text()
    assert "<script>alert('xss-title')</script>" in heading
    # The page's byline is markup, not a person: the extractor stores no author for it.
    assert "xss-author" not in ui.page.locator("dl.facts").inner_text()
    assert (
        "</textarea><script>alert('xss-body')</script>"
        in ui.page.locator("section.text").inner_text()
    )
    assert ui.page.locator("article.post img, article.post svg, article.post script").count() == 0
    ui.shot("xss-post")
    post_url = ui.page.url
    ui.goto("/sites/tonghop24.localhost")
    ui.shot("site-tonghop24")
    for queue in ("claim", "covid"):
        ui.goto(f"/queues/{queue}?status=all")
        if ui.page.locator(".queue-item", has_text="xss-title").count():
            ui.shot(f"xss-queue-{queue}")
    ui.goto("/sites")
    ui.shot("sites")
    ui.page.goto(post_url)
    assert re.search(r"/posts/[0-9a-f]+$", ui.page.url)


def test_status_page_lists_the_crawl_runs(ui):
    ui.goto("/status")
    for source in ("songhong", "tonghop24"):
        section = ui.page.locator(f'section[data-source="{source}"]')
        assert section.locator("tr.run-ok").count() >= 1
    ui.shot("status")
