"""``misinfo cases``: violation cases against a subject, from open to sanctioned, removed or dismissed, every change audited."""

from __future__ import annotations

import re
from typing import Any

import click

from crawler.app import App
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
from index.subjects import resolve_subject

__all__ = ["cases_group"]


def _role(app: App, user: str) -> str:
    """The account's role in the user database; a name without an account is an analyst."""
    if not app.state_path.exists():
        return "analyst"
    from index.web.users import UserStore

    account = UserStore(app.state_path).get(user)
    return account.role if account else "analyst"


def _case_json(case: Any) -> dict[str, Any]:
    return case.to_dict()


class FineType(click.ParamType):
    """An amount in đồng: ``7500000``, ``7.500.000`` or ``7,500,000``."""

    name = "DONG"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        text = re.sub(r"[.,_\s]|đ(ồng)?$|vnd$", "", str(value).strip().lower())
        if not text.isdigit():
            self.fail(f"{value!r} is not an amount in đồng (e.g. 7500000 or 7.500.000)", param, ctx)
        return int(text)


@click.group("cases")
def cases_group() -> None:
    """Violation cases: open on a subject, link items, move through
    open → evidence-complete → notice-sent → sanctioned | removed | dismissed → closed.

    Recording a sanction and closing need a supervisor or admin account (--user).
    """


@cases_group.command("open")
@click.argument("subject")
@click.option(
    "--item",
    "items",
    multiple=True,
    metavar="ID",
    help="A document id or review item id (claim:…, site:…) to link; repeat.",
)
@click.option("--note", default="", help="Why the case is opened.")
@click.option("--legal-basis", default="", help="Legal basis (free text, e.g. a decree article).")
@click.option("--title", default="", help="Case title (default: the subject's name).")
@user_option
@json_option
@handle_errors
def cases_open(
    subject: str,
    items: tuple[str, ...],
    note: str,
    legal_basis: str,
    title: str,
    user: str | None,
    as_json: bool,
) -> None:
    """Open a case on SUBJECT (a domain, profile URL or any URL it covers)."""
    with opened_store() as store:
        found = resolve_subject(store, subject)
        case = store.case_open(
            found.id,
            acting_user(user),
            items=list(items),
            note=note,
            legal_basis=legal_basis,
            title=title,
        )
    if as_json:
        echo_json(_case_json(case))
    else:
        click.echo(f"opened case {case.id} on {case.subject} with {len(case.items)} item(s)")


@cases_group.command("list")
@click.option("--status", help="Only cases with this status.")
@click.option("--subject", help="Only cases on this subject.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
@handle_errors
def cases_list(status: str | None, subject: str | None, limit: int, as_json: bool) -> None:
    """List cases, most recently changed first."""
    with opened_store() as store:
        subject_id = resolve_subject(store, subject).id if subject else None
        cases = store.case_list(status=status, subject=subject_id, limit=limit)
    if as_json:
        echo_json([_case_json(case) for case in cases])
        return
    if not cases:
        click.echo("No cases.")
    for case in cases:
        fine = f"  fine {case.fine:,} đồng" if case.fine else ""
        click.echo(
            f"{case.id:>5}  {case.status:<17} {case.subject:<30} {len(case.items)} item(s){fine}"
            f"  {case.updated_at}"
        )


@cases_group.command("show")
@click.argument("case_id", metavar="ID")
@json_option
@handle_errors
def cases_show(case_id: str, as_json: bool) -> None:
    """Show case ID with its items, evidence and history."""
    with opened_store() as store:
        case = store.case_get(case_id)
        history = store.case_history(case.id)
    if as_json:
        echo_json({**_case_json(case), "history": [audit_entry_json(entry) for entry in history]})
        return
    click.echo(f"case {case.id}: {case.title}  [{case.status}]  version {case.version}")
    click.echo(f"  subject {case.subject} ({case.subject_kind})")
    click.echo(f"  opened by {case.opened_by} at {case.opened_at}")
    if case.legal_basis:
        click.echo(f"  legal basis: {case.legal_basis}")
    if case.fine is not None:
        click.echo(
            f"  sanction: {case.fine:,} đồng, decision {case.decision} of {case.decision_date}"
        )
    if case.status != "closed":
        click.echo(f"  may move to: {', '.join(case.allowed_moves())}")
    click.echo("  items:")
    for item in case.evidence:
        verdict = f" [{item.get('verdict')}]" if item.get("verdict") else ""
        click.echo(f"    {item.get('doc_id')}{verdict}  {item.get('title') or ''}")
        click.echo(f"      {item.get('url')}")
    click.echo("  history:")
    for entry in history:
        before = (entry.before or {}).get("status")
        after = (entry.after or {}).get("status")
        change = f"{before} -> {after}" if before != after else after
        click.echo(f"    {entry.at}  {entry.user:<12} {entry.action:<6} {change}  {entry.note}")


@cases_group.command("move")
@click.argument("case_id", metavar="ID")
@click.argument("status")
@click.option("--fine", type=FineType(), help="Fine in đồng (sanctioned only).")
@click.option("--decision", default="", help="Decision number (sanctioned only).")
@click.option("--decision-date", help="Decision date YYYY-MM-DD (default: today).")
@click.option("--note", default="", help="Why (recorded in the audit log).")
@click.option("--expect-version", help="Fail if the case changed since you read this version.")
@user_option
@json_option
@handle_errors
def cases_move(
    case_id: str,
    status: str,
    fine: int | None,
    decision: str,
    decision_date: str | None,
    note: str,
    expect_version: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    """Move case ID to STATUS (evidence-complete, notice-sent, sanctioned, removed,
    dismissed, closed, or back to open)."""
    app = get_app()
    name = acting_user(user)
    role = _role(app, name)
    from index.cases import PermissionDenied

    with opened_store() as store:
        case = store.case_get(case_id)
        try:
            moved = store.case_move(
                case.id,
                name,
                role,
                status,
                note=note,
                fine=fine,
                decision=decision,
                decision_date=decision_date,
                expected_version=expect_version or case.version,
            )
        except PermissionDenied as exc:
            raise click.ClickException(
                f"{exc}; act as a supervisor or admin account with --user "
                "(misinfo users add NAME --role supervisor)"
            ) from exc
    if as_json:
        echo_json(_case_json(moved))
    else:
        click.echo(f"case {moved.id}: {case.status} -> {moved.status}")


@cases_group.command("edit")
@click.argument("case_id", metavar="ID")
@click.option("--legal-basis", help="Replace the legal basis.")
@click.option("--item", "items", multiple=True, metavar="ID", help="Link another item; repeat.")
@click.option("--note", default="", help="Why (recorded in the audit log).")
@user_option
@json_option
@handle_errors
def cases_edit(
    case_id: str,
    legal_basis: str | None,
    items: tuple[str, ...],
    note: str,
    user: str | None,
    as_json: bool,
) -> None:
    """Change case ID's legal basis or link more items."""
    with opened_store() as store:
        case = store.case_get(case_id)
        updated = store.case_update(
            case.id,
            acting_user(user),
            expected_version=case.version,
            legal_basis=legal_basis,
            add_items=list(items),
            note=note,
        )
    if as_json:
        echo_json(_case_json(updated))
    else:
        click.echo(f"updated case {updated.id} ({len(updated.items)} item(s))")


