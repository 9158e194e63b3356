"""``misinfo demo``: the main job on a fresh machine, end to end on local demo sites.

Serves the demo sites on 127.0.0.1, crawls the ``demo-*`` sources of the sources file into
the configured store, prints the run summary and a few sample searches.
"""

from __future__ import annotations

import click

from crawler.app import App
from crawler.cli.common import get_app, handle_errors, print_run_summary
from crawler.resources.sources import Source, load_sources
from crawler.resources.store import open_app_store

__all__ = ["SAMPLE_QUERIES", "demo_command", "demo_sources", "run_demo", "without_browserless"]

#: Bundled demo sources point at this port; another port is substituted when used.
DEMO_PORT = 8765

SAMPLE_QUERIES = (
    ("Hà Nội", "words, with diacritics"),
    ("ha noi", "the same words typed without diacritics"),
    ('"tiêm vắc xin"', "an exact phrase"),
    ("flags:covid", "posts the Covid detector flagged"),
    ('đội tuyển AND section:"Thể thao"', "a field filter"),
)


def demo_sources(app: App, port: int) -> list[Source]:
    """The ``demo-*`` sources of the sources file, moved to ``port`` when needed."""
    sources = [
        source
        for source in load_sources(app.config_path("sources.yaml"))
        if source.name.startswith("demo-")
    ]
    if port == DEMO_PORT:
        return sources
    old, new = f".localhost:{DEMO_PORT}", f".localhost:{port}"

    def move(urls: list[str]) -> list[str]:
        return [url.replace(old, new) for url in urls]

    return [
        source.model_copy(
            update={
                "start_urls": move(source.start_urls),
                "feeds": move(source.feeds),
                "sitemaps": move(source.sitemaps),
            }
        )
        for source in sources
    ]


def without_browserless(app: App, sources: list[Source]) -> tuple[list[Source], str | None]:
    """Drop the sources that need Chromium when none is available; say which and why.

    The demo must work on a machine without a browser: the social demo is then skipped
    with one line instead of failing the whole demo.
    """
    from crawler.settings import BrowserNotFound, find_browser, needs_browser

    needing = [source.name for source in sources if needs_browser(source)]
    if not needing:
        return sources, None
    try:
        if find_browser(app) is not None:
            return sources, None
        reason = (
            "no Chromium found (set browser.executable_path in settings.yaml or "
            "$MISINFO_CHROMIUM, or run `playwright install chromium`)"
        )
    except BrowserNotFound as exc:
        reason = str(exc)
    kept = [source for source in sources if source.name not in needing]
    return kept, f"Skipping {', '.join(needing)}: {reason}"


def run_demo(app: App, *, port: int, serve: bool, ui_port: int = 8080) -> None:
    """Serve the demo sites, crawl them, show searches; then serve the web UI (``serve``)."""
    from crawler.demosite import DemoServer
    from crawler.service.runner import CrawlProgress, run_crawls

    try:
        server = DemoServer(port=port)
        server.start()
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the demo sites on port {port}: {exc.strerror or exc} (try --port 0)"
        ) from exc
    try:
        sources = demo_sources(app, server.port)
        if not sources:
            raise click.ClickException(f"no demo-* sources in {app.config_path('sources.yaml')}")
        sources, skipped = without_browserless(app, sources)
        if skipped:
            click.echo(skipped)
        click.echo(f"Demo sites on 127.0.0.1:{server.port}:")
        for source in sources:
            click.echo(
                f"  {source.name:<18} {source.start_urls[0] if source.start_urls else source.sitemaps[0]}"
            )
        click.echo(f"Crawling into {app.index_uri} ...")
        records = run_crawls(app, sources, trigger="demo", progress=CrawlProgress())
        print_run_summary(records)
        _sample_searches(app)
        from crawler.cli.demo_cases import print_demo_decisions, record_demo_decisions

        print_demo_decisions(record_demo_decisions(app))
        click.echo("\nTry more: misinfo search 'QUERY'   ·   misinfo sources   ·   misinfo sites")
        if serve:
            # The demo sites stay up while the UI runs, so its links to crawled pages work.
            _serve_ui(app, ui_port)
    finally:
        server.stop()


#: The analyst account ``misinfo demo`` creates (its password is new on every run).
DEMO_USER = "demo"


def _serve_ui(app: App, port: int) -> None:
    import secrets

    from crawler.cli.web import serve_web

    password = secrets.token_urlsafe(9)
    # A port in use is a one-line error from serve_web (a ClickException naming the port).
    serve_web(
        app,
        "127.0.0.1",
        port,
        demo_user=(DEMO_USER, password),
        ready_message=(
            f"\nWeb UI: http://127.0.0.1:{port}/  (user {DEMO_USER}, password {password})"
            "\nCtrl+C stops the demo."
        ),
    )


def _sample_searches(app: App) -> None:
    from index import SearchRequest

    store = open_app_store(app)
    try:
        for query, what in SAMPLE_QUERIES:
            response = store.search(SearchRequest(query=query, limit=3))
            click.echo(f"\n$ misinfo search '{query}'    # {what}: {response.total} result(s)")
            for hit in response.hits:
                click.echo(f"  - {hit.document.title}  ({hit.document.site})")
    finally:
        store.close()


@click.command("demo")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port for the demo sites (0: any free port).",
)
@click.option(
    "--ui-port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="Port for the web UI.",
)
@click.option("--no-serve", is_flag=True, help="Stop after the crawl and the sample searches.")
@handle_errors
def demo_command(port: int, ui_port: int, no_serve: bool) -> None:
    """Serve the demo sites, crawl them, print the summary and sample searches, then serve
    the web UI with a demo account (its password is printed) until Ctrl+C."""
    run_demo(get_app(), port=port, serve=not no_serve, ui_port=ui_port)
