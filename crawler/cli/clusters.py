"""Rumour spread from the command line: ``misinfo clusters``, ``trends``, ``alerts``,
``watches``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from crawler.cli.common import (
    acting_user,
    echo_json,
    get_app,
    handle_errors,
    json_option,
    opened_store,
    user_option,
)

__all__ = ["alerts_command", "clusters_group", "trends_command", "watches_group"]


def _duration(value: str, name: str) -> timedelta:
    from index.trends import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from exc


@contextmanager
def _store() -> Iterator[Any]:
    """The configured store, closed afterwards; a store without clusters is a one-line
    error."""
    from index.spread import SpreadStore

    with opened_store() as store:
        if not isinstance(store, SpreadStore):
            raise click.ClickException("this store keeps no clusters")
        yield store


def _stale_warning(store: Any) -> None:
    stale = getattr(store, "clusters_stale", None)
    if stale is not None and stale():
        click.echo(
            "note: clusters were built with other settings or not at all; "
            "run `misinfo clusters rebuild`",
            err=True,
        )


def _since(value: str | None) -> str | None:
    if not value:
        return None
    from index.query import to_utc_iso

    return to_utc_iso((datetime.now(UTC) - _duration(value, "--since")).isoformat())


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary_line(summary: Any) -> str:
    first = summary.first.document
    sites = ", ".join(f"{site} ({n})" for site, n in summary.sites[:4])
    more = f" +{len(summary.sites) - 4} sites" if len(summary.sites) > 4 else ""
    flags = " [" + ", ".join(summary.flags) + "]" if summary.flags else ""
    verdict = f" · decided false ({summary.decided_false})" if summary.decided_false else ""
    reach = sum(summary.engagement.values())
    return (
        f"{summary.cluster_id}  {summary.size} documents{flags}{verdict}\n"
        f"  first: {_short(first.title or first.text)} · {first.site} · {summary.first.time}\n"
        f"  last seen {summary.last_seen} · sites: {sites}{more} · "
        f"{len(summary.accounts)} accounts · reach {reach}"
    )


@click.group("clusters", invoke_without_command=True)
@click.option("--since", help="Only clusters with a member newer than this (90m, 24h, 7d, 2w).")
@click.option("--flagged", is_flag=True, help="Only clusters with a flagged member.")
@click.option(
    "--min-size", type=click.IntRange(1, 100000), default=2, show_default=True, help="Members."
)
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@json_option
@click.pass_context
@handle_errors
def clusters_group(
    ctx: click.Context, since: str | None, flagged: bool, min_size: int, limit: int, as_json: bool
) -> None:
    """Near-duplicate clusters: one rumour seen on many sites and accounts.

    Without a subcommand: the clusters, most recently active first, with size, first seen
    (document, site, time), last seen, sites and accounts, summed engagement and flags.
    """
    if ctx.invoked_subcommand is not None:
        return
    from index.spread import list_clusters

    with _store() as store:
        _stale_warning(store)
        summaries = list_clusters(
            store, since=_since(since), flagged=flagged, min_size=min_size, limit=limit
        )
    if as_json:
        echo_json([s.to_dict() for s in summaries])
        return
    if not summaries:
        click.echo("no clusters")
    for summary in summaries:
        click.echo(_summary_line(summary) + "\n")


@clusters_group.command("show")
@click.argument("cluster_id", metavar="CLUSTER")
@json_option
@handle_errors
def clusters_show(cluster_id: str, as_json: bool) -> None:
    """The members of CLUSTER in time order, with how each joined and its review state."""
    from index.spread import cluster_summary, member_order

    with _store() as store:
        summary = cluster_summary(store, cluster_id)
        if summary is None:
            raise click.ClickException(f"no cluster {cluster_id!r} (see `misinfo clusters`)")
        members = sorted(store.cluster_members(cluster_id), key=member_order)
    rows = [
        {
            "id": m.document.id,
            "time": m.time,
            "site": m.document.site,
            "author": m.document.author,
            "title": m.document.title,
            "url": m.document.url,
            "flags": m.document.flags,
            "engagement": m.document.engagement,
            "review_status": m.document.review_status,
            "joined": {"how": m.how, "matched": m.matched_id, "similarity": m.similarity},
        }
        for m in members
    ]
    if as_json:
        echo_json({**summary.to_dict(), "members": rows})
        return
    click.echo(_summary_line(summary))
    for row in rows:
        joined = row["joined"]
        how = (
            "started the cluster (stored first)"
            if not joined["how"]
            else f"{joined['how']} {joined['similarity']:.2f} with {joined['matched']}"
        )
        click.echo(
            f"\n{row['time']}  {row['site']}  {row['author'] or '-'}  review: "
            f"{row['review_status']}\n  {row['title'] or '(no title)'}\n  {row['url']}\n  {how}"
        )


@clusters_group.command("rebuild")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=1,
    show_default=True,
    help="Processes drawing sketches beside the one placing them (0: none).",
)
@handle_errors
def clusters_rebuild(workers: int) -> None:
    """Cluster every stored document again (after changing the clusters settings).

    Documents are replayed in the order they were first stored, so the result is what
    the crawls would have made with the new settings. Crawls may go on meanwhile.
    """
    import time

    with _store() as store:
        total = store.count()
        started = time.monotonic()

        def progress(done: int) -> None:
            if sys.stderr.isatty():
                click.echo(f"\r{done:,}/{total:,} documents", nl=False, err=True)

        done = store.rebuild_clusters(workers=workers, progress=progress)
        if sys.stderr.isatty():
            click.echo("", err=True)
        sizes = store.cluster_ids(min_size=2, limit=1_000_000)
    click.echo(
        f"clustered {done:,} documents in {time.monotonic() - started:.1f} s: "
        f"{len(sizes):,} clusters of two or more"
    )


@clusters_group.command("decide")
@click.argument("cluster_id", metavar="CLUSTER")
@click.argument(
    "verdict", type=click.Choice(["false", "misleading", "true", "unverifiable", "not_relevant"])
)
@click.option("--note", default="", help="Why: sources checked, reasoning.")
@click.option("--queue", type=click.Choice(["claim", "covid"]), default="claim", show_default=True)
@user_option
@handle_errors
def clusters_decide(cluster_id: str, verdict: str, note: str, queue: str, user: str | None) -> None:
    """Apply VERDICT to every member of CLUSTER in one go (one audited decision per item;
    items already decided keep their verdict)."""
    from index.errors import NotFound
    from index.spread import decide_cluster

    with _store() as store:
        try:
            outcome = decide_cluster(
                store, cluster_id, acting_user(user), verdict, note, queue=queue
            )
        except NotFound as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{len(outcome.decided)} decided {verdict}, {len(outcome.already)} already decided, "
        f"{len(outcome.skipped)} skipped (claimed by someone else)"
    )
    for item, reason in outcome.skipped:
        click.echo(f"  skipped {item}: {reason}")


@click.command("trends")
@click.option("--window", default="24h", show_default=True, help="Recent period (90m, 24h, 7d).")
@click.option(
    "--baseline", default="7d", show_default=True, help="Period before it to compare with."
)
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@json_option
@handle_errors
def trends_command(window: str, baseline: str, limit: int, as_json: bool) -> None:
    """Clusters and terms growing fastest: the last WINDOW against the BASELINE before it."""
    from index.trends import trends

    with _store() as store:
        found = trends(
            store,
            window=_duration(window, "--window"),
            baseline=_duration(baseline, "--baseline"),
            limit=limit,
        )
    if as_json:
        echo_json(found.to_dict())
        return
    click.echo(f"Clusters growing fastest ({window} against the {baseline} before):")
    for trend in found.clusters:
        summary = trend.summary
        title = (
            (summary.first.document.title or summary.first.document.text[:70]) if summary else ""
        )
        flags = f" [{', '.join(summary.flags)}]" if summary and summary.flags else ""
        click.echo(
            f"  x{trend.growth:.1f}  {trend.recent} new, {trend.baseline} before  "
            f"{trend.cluster_id}{flags}  {title}"
        )
    if not found.clusters:
        click.echo("  none")
    click.echo("Terms growing fastest:")
    for term in found.terms:
        click.echo(f"  x{term.growth:.1f}  {term.recent} new, {term.baseline} before  {term.term}")
    if not found.terms:
        click.echo("  none")


@click.command("alerts")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--pending", is_flag=True, help="Only alerts not delivered to the webhook yet.")
@click.option("--send", is_flag=True, help="Deliver pending alerts to the webhook now.")
@json_option
@handle_errors
def alerts_command(limit: int, pending: bool, send: bool, as_json: bool) -> None:
    """Alerts raised by watch queries (newest first), and their webhook deliveries."""
    from crawler.alerts import AlertDelivery, deliver_alerts

    app = get_app()
    with _store() as store:
        if send:
            settings = AlertDelivery.from_app(app).settings
            if not settings.url:
                raise click.ClickException(
                    "no webhook: set alerts.webhook_url in settings.yaml or $MISINFO_ALERT_WEBHOOK"
                )
            report = deliver_alerts(store, settings)
            click.echo(f"delivered {report.delivered}, failed {report.failed}", err=True)
            for error in report.errors:
                click.echo(f"  {error}", err=True)
        alerts = store.alerts_list(limit=limit, pending=pending)
    if as_json:
        echo_json([a.to_dict() for a in alerts])
        return
    if not alerts:
        click.echo("no alerts")
    for alert in alerts:
        doc = alert.payload.get("document", {})
        watch = alert.payload.get("watch", {})
        state = (
            f"delivered {alert.delivered_at}"
            if alert.delivered_at
            else f"not delivered ({alert.attempts} attempts{': ' + alert.last_error if alert.last_error else ''})"
        )
        click.echo(
            f"{alert.created_at}  watch {watch.get('name')!r}  {doc.get('site')}\n"
            f"  {doc.get('title') or doc.get('excerpt', '')[:80]}\n  {doc.get('url')}\n  {state}"
        )


@click.group("watches")
def watches_group() -> None:
    """Watch queries: new documents matching them raise alerts (`misinfo alerts`)."""


@watches_group.command("add")
@click.argument("query")
@click.option("--name", default="", help="A name for the watch (default: the query).")
@user_option
@handle_errors
def watches_add(query: str, name: str, user: str | None) -> None:
    """Save QUERY (the search query language) as a watch."""
    from index.watches import new_watch

    watch = new_watch(name, query, acting_user(user))
    with _store() as store:
        store.watch_save(watch)
    click.echo(f"watch {watch.id}: {watch.query}")


@watches_group.command("list")
@json_option
@handle_errors
def watches_list(as_json: bool) -> None:
    """Every watch query."""
    with _store() as store:
        watches = store.watch_list()
    if as_json:
        echo_json([w.to_dict() for w in watches])
        return
    for watch in watches:
        click.echo(f"{watch.id}  {watch.name!r}  {watch.query}  (by {watch.created_by})")
    if not watches:
        click.echo("no watches")


@watches_group.command("remove")
@click.argument("watch_id", metavar="WATCH")
@handle_errors
def watches_remove(watch_id: str) -> None:
    """Delete a watch (its alerts stay)."""
    from index.errors import NotFound

    with _store() as store:
        try:
            store.watch_delete(watch_id)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"removed watch {watch_id}")
