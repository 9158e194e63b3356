"""A page as a person saw it: full-page PNG and rendered DOM through Playwright + Chromium.

:func:`browser_capture` opens one URL in a fresh headless Chromium (the configured one,
``browser.executable_path`` / ``$MISINFO_CHROMIUM``), with every request the page makes
going through :class:`~crawler.evidence.fetch.UrlPolicy`: navigations only to the
source's hosts, other resources only from public addresses. It runs Playwright's sync API,
so it is called from a thread without an asyncio loop (the CLI, the web UI's thread pool,
the ``misinfo run`` worker), or through :func:`run_outside_loop`.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

from crawler.evidence.fetch import FetchError, UrlPolicy

__all__ = ["BrowserCapture", "CaptureFailed", "browser_capture", "run_outside_loop"]

#: Viewport of the capture (a desktop screen; the screenshot covers the full page height).
VIEWPORT = {"width": 1280, "height": 900}
#: Full-page screenshots of endless pages are cut at this height (Chromium's limit is 16k).
MAX_PAGE_HEIGHT = 15_000
T = TypeVar("T")


class CaptureFailed(FetchError):
    """The browser could not load or capture the page."""


@dataclass(slots=True, kw_only=True)
class BrowserCapture:
    url: str
    final_url: str
    http_status: int | None
    screenshot: bytes
    dom: str
    captured_at: datetime
    tools: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def browser_capture(
    url: str,
    policy: UrlPolicy,
    *,
    executable_path: str,
    args: list[str],
    user_agent: str,
    timeout: float = 30.0,
) -> BrowserCapture:
    """Load ``url`` and capture it; raises :class:`CaptureFailed` (or ``UrlRefused``)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    policy.check(url)
    blocked: list[str] = []
    timeout_ms = int(timeout * 1000)

    def guard(route: Any) -> None:
        request = route.request
        allowed = (
            _check_navigation(policy, request.url)
            if request.is_navigation_request() and request.frame == request.frame.page.main_frame
            else policy.allows_resource(request.url)
        )
        if allowed:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort("blockedbyclient")

    def guard_socket(socket: Any) -> None:
        http_url = "http" + socket.url.removeprefix("ws")  # ws(s):// -> http(s)://
        if policy.allows_resource(http_url):
            socket.connect_to_server()
        else:
            blocked.append(socket.url)

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable_path, headless=True, args=args, timeout=timeout_ms
            )
            try:
                context = browser.new_context(
                    user_agent=user_agent,
                    viewport=VIEWPORT,
                    service_workers="block",
                    accept_downloads=False,
                    java_script_enabled=True,
                )
                page = context.new_page()
                page.set_default_timeout(timeout_ms)
                page.route("**/*", guard)
                # WebSockets bypass page.route: an unconnected handler keeps a disallowed one
                # from ever reaching its server.
                page.route_web_socket("**/*", guard_socket)
                captured_at = datetime.now(UTC)
                response = page.goto(url, wait_until="load", timeout=timeout_ms)
                # Late scripts (relative times, feeds) settle; a page never idle is fine too.
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state("networkidle", timeout=min(timeout_ms, 5000))
                height = int(page.evaluate("document.documentElement.scrollHeight") or 0)
                screenshot = page.screenshot(
                    type="png",
                    full_page=height <= MAX_PAGE_HEIGHT,
                    clip=None
                    if height <= MAX_PAGE_HEIGHT
                    else {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": MAX_PAGE_HEIGHT},
                    animations="disabled",
                )
                dom = page.content()
                final_url = page.url
                chromium = browser.version
            finally:
                browser.close()
    except PlaywrightError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CaptureFailed(f"browser capture of {url} failed: {reason}") from exc
    return BrowserCapture(
        url=url,
        final_url=final_url,
        http_status=response.status if response is not None else None,
        screenshot=screenshot,
        dom=dom,
        captured_at=captured_at,
        tools={"playwright": _version("playwright"), "chromium": chromium},
        blocked=blocked,
    )


def _check_navigation(policy: UrlPolicy, url: str) -> bool:
    try:
        policy.check(url)
    except FetchError:
        return False
    return True


def run_outside_loop(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` here, or in a worker thread when this thread runs an asyncio loop
    (Playwright's sync API refuses to run inside one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()
