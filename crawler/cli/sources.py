"""``misinfo sources`` and ``misinfo runs``: what is configured, when it ran and how it went."""

from __future__ import annotations

import json
from typing import Any

import click

from crawler.app import App
from crawler.cli.common import format_table, get_app, handle_errors, load_app_sources
from crawler.resources.store import open_app_store

__all__ = ["runs_command", "sources_command"]


@click.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def sources_command(as_json: bool) -> None:
    """List configured sources with their schedule, last and next run, health and documents.

    The next run comes from the job store of `misinfo run`; a source is unhealthy when its
    last runs (setting scheduler.health_window, default 3) all found nothing or failed.
    """
    from crawler.service.health import source_health
    from crawler.service.history import RunHistory
    from crawler.service.scheduler import SchedulerSettings, read_next_runs

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
        format_table(
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
    store = open_app_store(app)
    try:
        return store.counts_by("source")
    finally:
        store.close()


@click.command("runs")
@click.argument("source", required=False)
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def runs_command(source: str | None, limit: int, as_json: bool) -> None:
    """Show the crawl run history (all sources, or one SOURCE), newest first.

    Ends with the sources whose last runs all found nothing or failed (unhealthy).
    """
    from crawler.service.health import source_health
    from crawler.service.history import RunHistory
    from crawler.service.scheduler import SchedulerSettings

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
        format_table(
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
