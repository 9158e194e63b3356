"""``misinfo crawl``: crawl sources now, with a live progress line and a summary per source."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from crawler.app import App
from crawler.cli.common import get_app, handle_errors, load_app_sources, print_run_summary
from crawler.resources.sources import Source, load_sources

__all__ = ["SHARED_LOCK_GRACE", "crawl_command"]

#: Seconds a shared (redis-frontier) lock waits for a momentary exclusive holder.
SHARED_LOCK_GRACE = 5.0


@click.command("crawl")
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
    from crawler.frontier.config import Frontier
    from crawler.service.history import RunHistory
    from crawler.service.locks import EXIT_LOCKED, LockBusy, SourceLock, acquire_all
    from crawler.service.runner import CrawlProgress, run_crawls

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
            # Another redis-frontier process of the source may be probing for dead runs with a
            # momentary exclusive lock (_settle_stale_runs): a shared lock waits that out.
            acquire_all(locks, wait=SHARED_LOCK_GRACE if frontier.shared else 0.0)
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
    print_run_summary(records)
    if any(record.status == "failed" for record in records):
        sys.exit(1)


def _settle_stale_runs(app: App, history: Any, sources: list[Source]) -> None:
    """Mark open run rows failed for each source no process holds a lock on (exclusive for
    a moment: a shared lock held by a live crawl means its rows are live)."""
    from crawler.service.locks import LockBusy, SourceLock

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
