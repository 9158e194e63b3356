"""Review queues and export from the command line: ``misinfo review ...``, ``misinfo export``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from crawler.cli.common import acting_user, get_app, handle_errors, json_option, user_option
from crawler.resources.store import open_app_store

__all__ = ["export_command", "review_group"]


@click.group("review")
def review_group() -> None:
    """Work through the review queues: covid, claim (likely-false) and site (newspaper-style)."""


@review_group.command("list")
@click.argument("queue", type=click.Choice(["covid", "claim", "site", "tips"]))
@click.option(
    "--status", type=click.Choice(["open", "decided", "all"]), default="open", show_default=True
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@json_option
@handle_errors
def review_list(queue: str, status: str, limit: int, offset: int, as_json: bool) -> None:
    """List QUEUE's items, highest priority first."""
    with _store() as store:
        items = store.review_list(queue, status=status, limit=limit, offset=offset)
        counts = store.review_counts().get(queue, {})
    if as_json:
        click.echo(json.dumps([item.to_dict() for item in items], ensure_ascii=False, indent=2))
        return
    click.echo(f"{queue}: {counts.get('open', 0)} open, {counts.get('decided', 0)} decided")
    for item in items:
        lease = f" (claimed by {item.lease_user})" if item.lease_user else ""
        verdict = f" -> {item.verdict}" if item.verdict else ""
        click.echo(
            f"\n{item.id}  priority {item.priority:.2f}  score {item.score:.2f}{verdict}{lease}"
        )
        click.echo(f"  {item.title or item.target_id}")
        if item.url:
            click.echo(f"  {item.url}")


@review_group.command("show")
@click.argument("item_id")
@json_option
@handle_errors
def review_show(item_id: str, as_json: bool) -> None:
    """Show one review item with its evidence."""
    with _store() as store:
        item = store.review_get(item_id)
    if as_json:
        click.echo(json.dumps(item.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{item.id} [{item.queue}] {item.status} (version {item.version})")
    click.echo(
        f"  {item.title}\n  {item.url}\n  score {item.score:.2f}, priority {item.priority:.2f}"
    )
    if item.verdict:
        click.echo(
            f"  verdict: {item.verdict} by {item.decided_by} at {item.decided_at}: {item.note}"
        )
    click.echo("  evidence: " + json.dumps(item.evidence, ensure_ascii=False)[:2000])
    click.echo(f"\n{item.excerpt}")


@review_group.command("claim")
@click.argument("item_id")
@click.option(
    "--lease",
    "lease_seconds",
    type=click.IntRange(30, 86400),
    default=900,
    show_default=True,
    help="Seconds before the claim expires.",
)
@user_option
@handle_errors
def review_claim(item_id: str, lease_seconds: int, user: str | None) -> None:
    """Claim ITEM_ID so others see you are on it (a lease that expires)."""
    with _store() as store:
        item = store.review_claim(item_id, acting_user(user), lease_seconds=lease_seconds)
    click.echo(f"claimed {item.id} until {item.lease_until} (version {item.version})")


@review_group.command("decide")
@click.argument("item_id")
@click.argument("verdict")
@click.option("--note", default="", help="Why: sources checked, reasoning.")
@click.option(
    "--expect-version", help="Fail with a conflict unless the item is still at this version."
)
@click.option(
    "--add-known-claim/--no-add-known-claim",
    default=None,
    help="For a 'false' claim verdict: add the claim to the known false claims (asked when omitted on a terminal).",
)
@user_option
@handle_errors
def review_decide(
    item_id: str,
    verdict: str,
    note: str,
    expect_version: str | None,
    add_known_claim: bool | None,
    user: str | None,
) -> None:
    """Record VERDICT on ITEM_ID.

    Posts: false, misleading, true, unverifiable, not_relevant. Sites: confirmed, not_confirmed.
    Two analysts deciding at once: one wins, the other gets a conflict.
    """
    with _store() as store:
        item = store.review_get(item_id)
        version = expect_version if expect_version is not None else item.version
        decided = store.review_decide(item_id, acting_user(user), verdict, note, expected_version=version)
    click.echo(f"{decided.id}: {decided.verdict} (version {decided.version})")
    if decided.queue == "claim" and decided.verdict == "false":
        if add_known_claim is None and sys.stdin.isatty():
            add_known_claim = click.confirm(
                "Add this claim to the known false claims?", default=False
            )
        if add_known_claim:
            from crawler.resources.claims import add_confirmed_claim

            claim_text = (
                click.prompt("Claim, as one sentence", default=decided.title)
                if sys.stdin.isatty()
                else decided.title
            )
            claim_id = add_confirmed_claim(
                get_app(),
                claim=claim_text,
                source=f"Analyst review {decided.id} by {acting_user(user)}",
                note=note,
            )
            click.echo(f"added known claim {claim_id}")


@review_group.command("reopen")
@click.argument("item_id")
@click.option("--note", default="")
@user_option
@handle_errors
def review_reopen(item_id: str, note: str, user: str | None) -> None:
    """Put a decided item back in its queue (the audit log keeps the old verdict)."""
    with _store() as store:
        item = store.review_get(item_id)
        reopened = store.review_reopen(item_id, acting_user(user), note, expected_version=item.version)
    click.echo(f"{reopened.id}: reopened (version {reopened.version})")


@review_group.command("history")
@click.argument("item_id")
@json_option
@handle_errors
def review_history(item_id: str, as_json: bool) -> None:
    """The audit log of ITEM_ID: who, when, what, before and after."""
    with _store() as store:
        entries = store.review_history(item_id)
    if as_json:
        click.echo(
            json.dumps([_entry_dict(entry) for entry in entries], ensure_ascii=False, indent=2)
        )
        return
    for entry in entries:
        data = _entry_dict(entry)
        click.echo(
            f"{data.get('at')}  {data.get('user')}  {data.get('action')}  {json.dumps(data.get('after'), ensure_ascii=False)}"
        )


def _entry_dict(entry: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(entry) if is_dataclass(entry) else dict(entry)


# -- export ----------------------------------------------------------------------------------
@click.command("export")
@click.argument("query", required=False, default="")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    help="File to write (default: stdout).",
)
@handle_errors
def export_command(query: str, fmt: str, output: Any) -> None:
    """Export every document matching QUERY (streams any size)."""
    from index import SearchRequest
    from index.export import csv_chunks, jsonl_line

    count = 0

    def counted(documents: Iterator[Any]) -> Iterator[Any]:
        nonlocal count
        for document in documents:
            count += 1
            yield document

    with _store() as store:
        documents = counted(store.scan(SearchRequest(query=query)))
        chunks = csv_chunks(documents) if fmt == "csv" else map(jsonl_line, documents)
        for chunk in chunks:
            output.write(chunk)
    click.echo(f"exported {count} document(s)", err=True)


class _store:
    """``with _store() as store``: the configured store, closed afterwards."""

    def __enter__(self) -> Any:
        self.store = open_app_store(get_app())
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()
