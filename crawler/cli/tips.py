"""``misinfo tips``: citizens' reports of a URL, fetched and analysed at once, queued and answered."""

from __future__ import annotations

import click

from crawler.cli.common import (
    acting_user,
    audit_entry_json,
    echo_json,
    get_app,
    handle_errors,
    json_option,
    opened_store,
    user_option,
)

__all__ = ["tips_group"]


@click.group("tips")
def tips_group() -> None:
    """Citizen reports of URLs: each URL is fetched and analysed at once and queued in the
    tips review queue; a tip is received, then reviewed (its item decided), then answered."""


@tips_group.command("add")
@click.argument("url")
@click.option("--note", required=True, help="What the reporter said.")
@click.option("--received", help="Day the report was received, YYYY-MM-DD (default: today).")
@click.option(
    "--channel",
    default="other",
    show_default=True,
    help="How it came: web, email, phone, letter, in-person, hotline, social, other.",
)
@click.option("--reporter", default="", help="Who reported it (free text; may stay empty).")
@user_option
@json_option
@handle_errors
def tips_add(
    url: str,
    note: str,
    received: str | None,
    channel: str,
    reporter: str,
    user: str | None,
    as_json: bool,
) -> None:
    """Record a citizen's report of URL; fetch, analyse, store and queue the page."""
    from index.cases import TIP_CHANNELS, parse_day
    from index.web.security import safe_url

    if not safe_url(url):
        raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="URL")
    if channel not in TIP_CHANNELS:
        raise click.BadParameter(
            f"{channel!r} is not one of {', '.join(TIP_CHANNELS)}", param_hint="--channel"
        )
    received = parse_day(received, "--received")
    from index.report import local_today

    if received and received > local_today().isoformat():
        raise click.BadParameter(f"{received} is in the future", param_hint="--received")
    from crawler.service.tips import fetch_tip

    app = get_app()
    fetched = fetch_tip(app, url.strip())
    with opened_store() as store:
        tip = store.tip_add(
            url.strip(),
            acting_user(user),
            note=note,
            channel=channel,
            reporter=reporter,
            received_at=received,
            doc_id=fetched.doc_id,
            fetch_error=fetched.error,
        )
    if fetched.error:
        click.echo(f"warning: {url} was not fetched: {fetched.error}", err=True)
    if as_json:
        echo_json(tip.to_dict())
        return
    queued = f", queued as {tip.review_item}" if tip.review_item else " (not queued)"
    click.echo(f"recorded tip {tip.id} ({fetched.source}){queued}")


@tips_group.command("list")
@click.option("--status", type=click.Choice(["received", "reviewed", "answered"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
@handle_errors
def tips_list(status: str | None, limit: int, as_json: bool) -> None:
    """List tips, most recently received first."""
    with opened_store() as store:
        tips = store.tip_list(status=status, limit=limit)
    if as_json:
        echo_json([tip.to_dict() for tip in tips])
        return
    if not tips:
        click.echo("No tips.")
    for tip in tips:
        click.echo(f"{tip.id:>5}  {tip.received_at}  {tip.status:<9} {tip.url}")


@tips_group.command("show")
@click.argument("tip_id", metavar="ID")
@json_option
@handle_errors
def tips_show(tip_id: str, as_json: bool) -> None:
    """Show tip ID with its history."""
    with opened_store() as store:
        tip = store.tip_get(tip_id)
        history = store.tip_history(tip.id)
    if as_json:
        echo_json({**tip.to_dict(), "history": [audit_entry_json(entry) for entry in history]})
        return
    click.echo(f"tip {tip.id}: {tip.status}  received {tip.received_at} via {tip.channel}")
    click.echo(f"  {tip.url}\n  note: {tip.note}")
    if tip.fetch_error:
        click.echo(f"  not fetched: {tip.fetch_error}")
    if tip.review_item:
        click.echo(f"  review item: {tip.review_item}{' -> ' + tip.verdict if tip.verdict else ''}")
    if tip.answer:
        click.echo(f"  answered by {tip.answered_by} at {tip.answered_at}: {tip.answer}")
    for entry in history:
        click.echo(f"    {entry.at}  {entry.user:<12} {entry.action:<8} {entry.note}")


@tips_group.command("answer")
@click.argument("tip_id", metavar="ID")
@click.option("--answer", required=True, help="The answer sent to the reporter.")
@user_option
@json_option
@handle_errors
def tips_answer(tip_id: str, answer: str, user: str | None, as_json: bool) -> None:
    """Record the answer to tip ID (once its review item is decided)."""
    with opened_store() as store:
        tip = store.tip_get(tip_id)
        answered = store.tip_answer(tip.id, acting_user(user), answer, expected_version=tip.version)
    if as_json:
        echo_json(answered.to_dict())
    else:
        click.echo(f"tip {answered.id} answered")


