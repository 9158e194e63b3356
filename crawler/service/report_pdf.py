"""The period report as PDF: its standalone HTML printed by Chromium through Playwright.

Chromium is the one the crawler uses for rendered sources (``browser.executable_path``,
``$MISINFO_CHROMIUM``, Playwright's own, or a system one; see :func:`crawler.settings.find_browser`).
"""

from __future__ import annotations

from pathlib import Path

import click

from crawler.app import App
from crawler.settings import BROWSER_ARGS, find_browser

__all__ = ["html_to_pdf"]


def html_to_pdf(app: App, html: str, output: Path) -> None:
    """Print ``html`` (self-contained: charts as data: URIs) to ``output`` as A4 PDF."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = find_browser(app)
    if executable is None:
        raise click.ClickException(
            "PDF needs Chromium: set browser.executable_path in settings.yaml or "
            "$MISINFO_CHROMIUM (or use --format html)"
        )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=list(BROWSER_ARGS)
            )
            try:
                page = browser.new_page()
                # Nothing to fetch: the document carries its charts; offline is enough.
                page.set_content(html, wait_until="load")
                page.pdf(
                    path=str(output),
                    format="A4",
                    print_background=True,
                    margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise click.ClickException(f"Chromium could not print the PDF: {exc.message}") from exc
