"""The ``misinfo`` command line: thin commands over the crawler, index and analysis APIs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from crawler.app import App, ConfigError, default_data_dir
from crawler.sources import Source, SourcesError, load_sources

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn the domain errors users can cause into one-line ``ClickException`` messages."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from index.errors import QuerySyntaxError, SearchError, StoreUnavailable

        try:
            return func(*args, **kwargs)
        except (ConfigError, SourcesError) as exc:
            raise click.ClickException(str(exc)) from exc
        except QuerySyntaxError as exc:
            raise click.ClickException(
                f'bad query: {exc} (quote phrases with "...", escape special characters with \\)'
            ) from exc
        except StoreUnavailable as exc:
            raise click.ClickException(f"store unavailable: {exc}") from exc
        except SearchError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def get_app() -> App:
    return click.get_current_context().find_object(App)


def load_app_sources(app: App) -> list[Source]:
    return load_sources(app.config_path("sources.yaml"))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MISINFO_CONFIG",
    help="Config directory; its files override the bundled ones file by file. [env: MISINFO_CONFIG]",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MISINFO_DATA_DIR",
    help=f"Where the index, run history and models live. [env: MISINFO_DATA_DIR; default: {default_data_dir()}]",
)
@click.version_option(package_name="misinfo-monitor")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, data_dir: Path | None) -> None:
    """misinfo-monitor: watch Vietnamese sites for false claims, Covid-19 rumours and
    newspaper-style sites.

    Start with `misinfo demo`, which serves local demo sites, crawls them and shows searches.
    """
    if config_dir is not None and not config_dir.is_dir():
        raise click.BadParameter(f"{config_dir} is not a directory", param_hint="--config")
    ctx.obj = App(config_dir=config_dir, data_dir=data_dir or default_data_dir())


# -- sources ---------------------------------------------------------------------------------
@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def sources_command(as_json: bool) -> None:
    """List configured sources with their schedule, last and next run, health and documents.

    The next run comes from the job store of `misinfo run`; a source is unhealthy when its
    last runs (setting scheduler.health_window, default 3) all found nothing or failed.
    """
    from crawler.health import source_health
    from crawler.runs import RunHistory
    from crawler.scheduler import SchedulerSettings, read_next_runs

    app = get_app()
    sources = load_app_sources(app)
    window = SchedulerSettings.from_settings(app.settings).health_window
    last_runs: dict[str, Any] = {}
    statuses: dict[str, list[str]] = {}
    if app.state_path.exists():
        history = RunHistory(app.state_path)
        last_runs = history.last_runs()
        statuses = history.recent_statuses(window)
    next_runs = read_next_runs(app.data_dir)
    documents = _documents_per_source(app)
    rows = []
    for source in sources:
        run = last_runs.get(source.name)
        next_run = next_runs.get(source.name) if source.enabled else None
        health = source_health(statuses.get(source.name, []), window)
        rows.append(
            {
                "name": source.name,
                "kind": source.kind,
                "enabled": source.enabled,
                "schedule": source.schedule.describe(),
                "last_run": run.started_at if run else None,
                "last_status": run.status if run else None,
                "next_run": next_run.isoformat(timespec="seconds") if next_run else None,
                "health": health.state,
                "health_reason": health.reason,
                "documents": documents.get(source.name, 0),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [
        [
            row["name"],
            row["kind"],
            "yes" if row["enabled"] else "no",
            row["schedule"],
            f"{row['last_run']} ({row['last_status']})" if row["last_run"] else "never",
            row["next_run"] or "-",
            "UNHEALTHY" if row["health"] == "unhealthy" else row["health"],
            str(row["documents"]),
        ]
        for row in rows
    ]
    click.echo(
        _format_table(
            ["NAME", "KIND", "ENABLED", "SCHEDULE", "LAST RUN", "NEXT RUN", "HEALTH", "DOCUMENTS"],
            table,
        )
    )
    for row in rows:
        if row["health"] == "unhealthy":
            click.echo(f"unhealthy: {row['name']}: {row['health_reason']}", err=True)


def _documents_per_source(app: App) -> dict[str, int]:
    if app.settings.get("store", "sqlite") == "sqlite" and not app.index_path.exists():
        return {}
    store = app.open_store()
    try:
        return store.counts_by("source")
    finally:
        store.close()


def _format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


# -- crawl -----------------------------------------------------------------------------------
@main.command("crawl")
@click.argument("names", nargs=-1, metavar="SOURCE...")
@click.option("--all", "crawl_all", is_flag=True, help="Crawl every enabled source.")
@click.option("--max-pages", type=click.IntRange(min=1), help="Stop each source after N pages.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Seconds to wait for a source another process is crawling (0: refuse at once).",
)
@click.option(
    "--frontier",
    "frontier_kind",
    type=click.Choice(["local", "redis"]),
    help="Where the queue of pages lives: in this process (local), or on the Redis of "
    "$MISINFO_REDIS_URL, shared by every process crawling the source (redis). "
    "[default: setting 'frontier', local]",
)
@click.option(
    "--run",
    "run_name",
    metavar="NAME",
    help="With --frontier redis: processes given the same run NAME share one crawl. "
    "[default: setting 'redis.run', default]",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log (INFO level).")
@click.option(
    "--trigger", type=click.Choice(["manual", "scheduled"]), default="manual", hidden=True
)
@click.option(
    "--sources-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    hidden=True,
    help="Read sources from this file (the service's snapshot of the last valid one).",
)
@handle_errors
def crawl_command(
    names: tuple[str, ...],
    crawl_all: bool,
    max_pages: int | None,
    wait: float,
    frontier_kind: str | None,
    run_name: str | None,
    verbose: bool,
    trigger: str,
    sources_file: Path | None,
) -> None:
    """Crawl sources now (rerun one source when something looks off).

    Shows a live progress line and ends with a summary per source: pages fetched, new,
    updated, unchanged and errors. The run is recorded in the run history. A source that
    another process (e.g. the `misinfo run` service) is crawling is refused, or waited for
    with --wait.

    With --frontier redis, any number of processes on any machines may crawl a source at
    once: they share one queue on Redis and every page is fetched once in all.
    """
    from crawler.frontier import Frontier
    from crawler.locks import EXIT_LOCKED, LockBusy, SourceLock, acquire_all
    from crawler.runner import CrawlProgress, run_crawls
    from crawler.runs import RunHistory

    app = get_app()
    sources = load_sources(sources_file) if sources_file else load_app_sources(app)
    if crawl_all and names:
        raise click.UsageError("give source names or --all, not both")
    if crawl_all:
        selected = [source for source in sources if source.enabled]
        if not selected:
            raise click.ClickException(
                "no enabled sources in " + str(app.config_path("sources.yaml"))
            )
    elif names:
        by_name = {source.name: source for source in sources}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise click.ClickException(
                f"unknown source {', '.join(map(repr, unknown))}; known: {', '.join(by_name) or '(none)'}"
            )
        selected = [by_name[name] for name in dict.fromkeys(names)]
    else:
        raise click.UsageError("name at least one SOURCE, or use --all (see `misinfo sources`)")
    frontier = Frontier.from_app(app, kind=frontier_kind, run=run_name)
    overrides = _crawl_overrides(max_pages, verbose)
    history = RunHistory(app.state_path)
    if frontier.shared:
        # Others may share the source's lock: settle dead runs' rows only where nobody does.
        _settle_stale_runs(app, history, selected)
    locks = [
        SourceLock(app.data_dir, source.name, trigger=trigger, shared=frontier.shared)
        for source in selected
    ]
    try:
        try:
            acquire_all(locks)
        except LockBusy as exc:
            if not wait:
                raise
            click.echo(f"waiting up to {wait:g}s: {exc}", err=True)
            acquire_all(locks, wait=wait)
    except LockBusy as exc:
        message = (
            f"source {exc.name!r} is being crawled right now ({exc.holder.describe()});"
            " run again when it ends, or pass --wait SECONDS"
        )
        if trigger == "scheduled":
            click.echo(f"skipped: {message}", err=True)
            sys.exit(EXIT_LOCKED)
        raise click.ClickException(message) from exc
    try:
        if not frontier.shared:
            for source in selected:  # we hold its lock: an open row of it is a dead run's
                history.fail_stale(source.name, "interrupted: the crawl process died")
        records = run_crawls(
            app,
            selected,
            trigger=trigger,
            progress=CrawlProgress(),
            overrides=overrides,
            frontier=frontier,
        )
    finally:
        for lock in locks:
            lock.release()
    _print_run_summary(records)
    if any(record.status == "failed" for record in records):
        sys.exit(1)


def _settle_stale_runs(app: App, history: Any, sources: list[Source]) -> None:
    """Mark open run rows failed for each source no process holds a lock on (exclusive for
    a moment: a shared lock held by a live crawl means its rows are live)."""
    from crawler.locks import LockBusy, SourceLock

    for source in sources:
        probe = SourceLock(app.data_dir, source.name)
        try:
            probe.acquire()
        except LockBusy:
            continue
        try:
            history.fail_stale(source.name, "interrupted: the crawl process died")
        finally:
            probe.release()


def _crawl_overrides(max_pages: int | None, verbose: bool) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if max_pages:
        overrides["CLOSESPIDER_PAGECOUNT"] = max_pages
    if verbose:
        overrides["LOG_LEVEL"] = "INFO"
        overrides["LOG_FORMAT"] = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
    return overrides


def _print_run_summary(records: list[Any]) -> None:
    rows = [
        [
            r.source,
            r.status,
            str(r.fetched),
            str(r.new),
            str(r.updated),
            str(r.unchanged),
            str(r.failed),
        ]
        for r in records
    ]
    click.echo(
        _format_table(["SOURCE", "STATUS", "PAGES", "NEW", "UPDATED", "UNCHANGED", "ERRORS"], rows)
    )
    for record in records:
        for error in record.errors[:3]:
            click.echo(f"  {record.source}: {error}", err=True)


# -- search ----------------------------------------------------------------------------------
@main.command("search")
@click.argument("query", required=False, default="")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest", "score"]),
    default="relevance",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help='Print {"total", "hits": [...]} as JSON.')
@handle_errors
def search_command(query: str, limit: int, offset: int, sort: str, as_json: bool) -> None:
    """Search collected posts with Lucene / Kibana-style QUERY.

    \b
    Examples:
      misinfo search 'Hà Nội'                 words (with or without diacritics: 'ha noi')
      misinfo search '"tiêm vắc xin"'         an exact phrase
      misinfo search 'covid AND site:songhong.localhost'
      misinfo search 'flags:covid NOT section:"Thế giới"'
      misinfo search 'published_at:[2026-11-01 TO 2026-11-30] tiêm*'
    """
    from index import SearchRequest

    app = get_app()
    store = app.open_store()
    try:
        response = store.search(SearchRequest(query=query, limit=limit, offset=offset, sort=sort))  # type: ignore[arg-type]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(search_json(response), ensure_ascii=False, indent=2))
        return
    click.echo(f"{response.total} result(s)")
    for position, hit in enumerate(response.hits, start=offset + 1):
        doc = hit.document
        flags = f" [{', '.join(doc.flags)}]" if doc.flags else ""
        click.echo(f"\n{position}. {click.style(doc.title or '(no title)', bold=True)}{flags}")
        click.echo(
            f"   {doc.source} · {doc.site} · {doc.published_at or 'no date'} · {doc.author or 'no author'}"
        )
        click.echo(f"   {doc.url}")
        snippet = "".join(
            click.style(text, fg="yellow", bold=True) if match else text
            for text, match in hit.snippet
        )
        if snippet:
            click.echo(f"   {snippet}")


def search_json(response: Any) -> dict[str, Any]:
    return {
        "total": response.total,
        "hits": [
            {
                "id": hit.document.id,
                "url": hit.document.url,
                "title": hit.document.title,
                "author": hit.document.author,
                "source": hit.document.source,
                "site": hit.document.site,
                "section": hit.document.section,
                "published_at": hit.document.published_at,
                "snippet": hit.snippet_text,
                "flags": hit.document.flags,
                "scores": hit.document.scores,
                "score": hit.score,
            }
            for hit in response.hits
        ],
    }


# -- runs ------------------------------------------------------------------------------------
@main.command("runs")
@click.argument("source", required=False)
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def runs_command(source: str | None, limit: int, as_json: bool) -> None:
    """Show the crawl run history (all sources, or one SOURCE), newest first.

    Ends with the sources whose last runs all found nothing or failed (unhealthy).
    """
    from crawler.health import source_health
    from crawler.runs import RunHistory
    from crawler.scheduler import SchedulerSettings

    app = get_app()
    records = []
    statuses: dict[str, list[str]] = {}
    window = SchedulerSettings.from_settings(app.settings).health_window
    if app.state_path.exists():
        history = RunHistory(app.state_path)
        records = history.list(source, limit=limit)
        statuses = history.recent_statuses(window)
    if as_json:
        click.echo(
            json.dumps([record.to_dict() for record in records], ensure_ascii=False, indent=2)
        )
        return
    rows = [
        [
            str(r.id),
            r.source,
            r.trigger,
            r.started_at,
            r.finished_at or "-",
            r.status,
            str(r.fetched),
            str(r.new),
            str(r.updated),
            str(r.unchanged),
            str(r.failed),
        ]
        for r in records
    ]
    click.echo(
        _format_table(
            [
                "ID",
                "SOURCE",
                "TRIGGER",
                "STARTED",
                "FINISHED",
                "STATUS",
                "PAGES",
                "NEW",
                "UPDATED",
                "UNCHANGED",
                "ERRORS",
            ],
            rows,
        )
    )
    for name, recent in sorted(statuses.items()):
        health = source_health(recent, window)
        if health.unhealthy and (source is None or name == source):
            click.echo(f"unhealthy: {name}: {health.reason}")


# -- demo ------------------------------------------------------------------------------------
@main.command("demo")
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
    from crawler.demo import run_demo

    run_demo(get_app(), port=port, serve=not no_serve, ui_port=ui_port)


def _add_commands() -> None:
    """Commands that live in modules of their own. Imported here, once ``main`` exists,
    because they reuse this module's helpers (``get_app``, ``handle_errors``)."""
    from crawler.cli_analyze import analyze_command
    from crawler.cli_clusters import alerts_command, clusters_group, trends_command, watches_group
    from crawler.cli_index import index_group
    from crawler.cli_models import evaluate_command, train_command
    from crawler.cli_review import export_command, review_group
    from crawler.cli_run import run_command
    from crawler.cli_sites import sites_command
    from crawler.cli_web import serve_command, users_group

    for command in (
        analyze_command,
        train_command,
        evaluate_command,
        sites_command,
        review_group,
        export_command,
        index_group,
        serve_command,
        users_group,
        run_command,
        clusters_group,
        trends_command,
        alerts_command,
        watches_group,
    ):
        main.add_command(command)


_add_commands()
