"""From flag to decision on the command line: ``misinfo subjects``, ``misinfo cases``,
``misinfo tips`` and ``misinfo report``."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from crawler.app import App
from crawler.cli import get_app, handle_errors
from crawler.subject_register import register_lookup

__all__ = [
    "cases_group",
    "report_command",
    "resolve_subject",
    "subjects_group",
    "tips_group",
]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
user_option = click.option(
    "--user",
    help="Who acts (recorded in the audit log; an account's role decides what it may do). "
    "[env: MISINFO_USER; default: your login]",
)


def _user(user: str | None) -> str:
    return user or os.environ.get("MISINFO_USER") or getpass.getuser()


def _role(app: App, user: str) -> str:
    """The account's role in the user database; a name without an account is an analyst."""
    if not app.state_path.exists():
        return "analyst"
    from index.web.users import UserStore

    account = UserStore(app.state_path).get(user)
    return account.role if account else "analyst"


class _store:
    """``with _store() as store``: the configured store, closed afterwards."""

    def __enter__(self) -> Any:
        self.store = get_app().open_store()
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _with_register(app: App, subjects: list[Any]) -> list[Any]:
    lookup = register_lookup(app)
    for subject in subjects:
        subject.register = lookup(subject)
        if not subject.name and subject.register:
            subject.name = subject.register["name"]
    return subjects


def resolve_subject(store: Any, text: str) -> Any:
    """A subject by id, or by any URL or host it covers; ``NotFound`` otherwise."""
    from index.errors import NotFound
    from index.subjects import account_key, registrable_domain

    text = text.strip()
    candidates = [text.removesuffix("/") if "/" not in text.rstrip("/") else text]
    if "://" in text:
        candidates += [account_key(text), registrable_domain(text)]
    else:
        candidates += [registrable_domain(text), text.rstrip("/") + "/"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            return store.subject_get(candidate)
        except NotFound:
            continue
    raise NotFound(f"no subject {text!r}: see `misinfo subjects` (a domain or a profile URL)")


# -- subjects --------------------------------------------------------------------------------


@click.group("subjects", invoke_without_command=True)
@click.option(
    "--flagged",
    is_flag=True,
    help="Only subjects with flagged or confirmed items, a "
    "flagged newspaper-style profile, or cases.",
)
@json_option
@click.pass_context
@handle_errors
def subjects_group(ctx: click.Context, flagged: bool, as_json: bool) -> None:
    """Websites and social accounts that published what was crawled, with their counts.

    A website is a registrable domain (every host under it); a social account a profile URL.
    `misinfo subjects show SUBJECT` shows one with its evidence and history.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = get_app()
    with _store() as store:
        subjects = _with_register(app, store.subject_list(flagged=flagged))
    if as_json:
        _echo_json([subject.to_dict() for subject in subjects])
        return
    if not subjects:
        click.echo("No subjects yet: crawl something first (misinfo crawl SOURCE).")
        return
    click.echo(
        f"{'subject':<36} {'kind':<8} {'docs':>6} {'flagged':>7} {'confirmed':>9} {'cases':>5} "
        f"{'style':>5}  licence"
    )
    for s in subjects:
        style = f"{s.style_score:.2f}" if s.style_score is not None else "-"
        click.echo(
            f"{s.id:<36} {s.kind:<8} {s.documents:>6} {s.flagged:>7} {s.confirmed:>9} "
            f"{s.cases:>5} {style:>5}  {s.licence_label()}"
        )


@subjects_group.command("show")
@click.argument("subject")
@json_option
@handle_errors
def subjects_show(subject: str, as_json: bool) -> None:
    """Show SUBJECT (a domain, a profile URL or any URL it covers) with evidence and history."""
    app = get_app()
    with _store() as store:
        found = _with_register(app, [resolve_subject(store, subject)])[0]
        history = store.subject_history(found.id)
        cases = store.case_list(subject=found.id)
    if as_json:
        _echo_json(
            {
                **found.to_dict(),
                "history": [_entry(entry) for entry in history],
                "case_ids": [case.id for case in cases],
            }
        )
        return
    click.echo(f"{found.id}  ({found.kind}){'  ' + found.name if found.name else ''}")
    click.echo(f"  hosts: {', '.join(found.sites) or '-'}")
    click.echo(
        f"  documents {found.documents}, flagged {found.flagged}, confirmed {found.confirmed}, "
        f"cases {found.cases}"
    )
    click.echo(f"  licence: {found.licence_label() or 'unknown'}")
    if found.register and found.register.get("note"):
        click.echo(f"  register note: {found.register['note']}")
    click.echo(f"  owner: {found.owner or '-'}")
    if found.style_score is not None:
        flag = " (flagged)" if found.style_flag else ""
        click.echo(f"  newspaper-style score {found.style_score:.2f}{flag}")
        for line in found.style_evidence:
            click.echo(f"    - {line}")
    for case in cases:
        click.echo(f"  case {case.id}: {case.status}  {case.title}")
    click.echo("  history:")
    for entry in history:
        click.echo(f"    {entry.at}  {entry.user:<12} {entry.action:<8} {entry.note}")


def _entry(entry: Any) -> dict[str, Any]:
    return {
        "at": entry.at,
        "user": entry.user,
        "action": entry.action,
        "note": entry.note,
        "before": entry.before,
        "after": entry.after,
    }


@subjects_group.command("edit")
@click.argument("subject")
@click.option("--name", help="Display name.")
@click.option("--licence", help="Licence number (e.g. a general-information licence).")
@click.option("--owner", help="Owner details: organisation or person, address, contact.")
@click.option("--note", help="A note on the subject.")
@user_option
@json_option
@handle_errors
def subjects_edit(
    subject: str,
    name: str | None,
    licence: str | None,
    owner: str | None,
    note: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    """Record what an analyst knows of SUBJECT (audited)."""
    if name is None and licence is None and owner is None and note is None:
        raise click.UsageError("give at least one of --name, --licence, --owner, --note")
    with _store() as store:
        found = resolve_subject(store, subject)
        updated = store.subject_update(
            found.id,
            _user(user),
            expected_version=found.version,
            name=name,
            licence=licence,
            owner=owner,
            note=note,
        )
    if as_json:
        _echo_json(updated.to_dict())
    else:
        click.echo(f"updated {updated.id}")


# -- cases -------------------------------------------------------------------------------------


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
    with _store() as store:
        found = resolve_subject(store, subject)
        case = store.case_open(
            found.id,
            _user(user),
            items=list(items),
            note=note,
            legal_basis=legal_basis,
            title=title,
        )
    if as_json:
        _echo_json(_case_json(case))
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
    with _store() as store:
        subject_id = resolve_subject(store, subject).id if subject else None
        cases = store.case_list(status=status, subject=subject_id, limit=limit)
    if as_json:
        _echo_json([_case_json(case) for case in cases])
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
    with _store() as store:
        case = store.case_get(case_id)
        history = store.case_history(case.id)
    if as_json:
        _echo_json({**_case_json(case), "history": [_entry(entry) for entry in history]})
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
    name = _user(user)
    role = _role(app, name)
    from index.cases import PermissionDenied

    with _store() as store:
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
        _echo_json(_case_json(moved))
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
    with _store() as store:
        case = store.case_get(case_id)
        updated = store.case_update(
            case.id,
            _user(user),
            expected_version=case.version,
            legal_basis=legal_basis,
            add_items=list(items),
            note=note,
        )
    if as_json:
        _echo_json(_case_json(updated))
    else:
        click.echo(f"updated case {updated.id} ({len(updated.items)} item(s))")


# -- tips --------------------------------------------------------------------------------------


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
    from crawler.tips import fetch_tip

    app = get_app()
    fetched = fetch_tip(app, url.strip())
    with _store() as store:
        tip = store.tip_add(
            url.strip(),
            _user(user),
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
        _echo_json(tip.to_dict())
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
    with _store() as store:
        tips = store.tip_list(status=status, limit=limit)
    if as_json:
        _echo_json([tip.to_dict() for tip in tips])
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
    with _store() as store:
        tip = store.tip_get(tip_id)
        history = store.tip_history(tip.id)
    if as_json:
        _echo_json({**tip.to_dict(), "history": [_entry(entry) for entry in history]})
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
    with _store() as store:
        tip = store.tip_get(tip_id)
        answered = store.tip_answer(tip.id, _user(user), answer, expected_version=tip.version)
    if as_json:
        _echo_json(answered.to_dict())
    else:
        click.echo(f"tip {answered.id} answered")


# -- report ------------------------------------------------------------------------------------


@click.command("report")
@click.option(
    "--from",
    "from_day",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day (Vietnam time), YYYY-MM-DD.",
)
@click.option(
    "--to", "to_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, included."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "json", "pdf"]),
    default="md",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (needed for pdf; default: standard output).",
)
@click.option("--base-url", help="The web UI's address: counts link to the rows behind them.")
@handle_errors
def report_command(
    from_day: datetime, to_day: datetime, fmt: str, output: Path | None, base_url: str | None
) -> None:
    """The period report: what was crawled, flagged, confirmed, sanctioned and answered,
    counted from the audit log, with charts (html, pdf)."""
    from index.report import build_report
    from index.report_render import report_html, report_markdown

    with _store() as store:
        report = build_report(store, from_day.date(), to_day.date())
    if fmt == "json":
        text = json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "md":
        text = report_markdown(report, base_url=base_url)
    else:
        text = report_html(report, base_url=base_url)
    if fmt == "pdf":
        if output is None:
            raise click.UsageError("--format pdf needs -o FILE")
        from crawler.report_pdf import html_to_pdf

        html_to_pdf(get_app(), text, output)
        click.echo(f"wrote {output}", err=True)
        return
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
