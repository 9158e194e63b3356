"""``misinfo subjects``: websites and social accounts as subjects, with their counts, licence, owner and newspaper-style evidence."""

from __future__ import annotations

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
from crawler.resources.subjects import register_lookup
from index.subjects import resolve_subject

__all__ = ["subjects_group"]


def _with_register(app: App, subjects: list[Any]) -> list[Any]:
    lookup = register_lookup(app)
    for subject in subjects:
        subject.register = lookup(subject)
        if not subject.name and subject.register:
            subject.name = subject.register["name"]
    return subjects


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
    with opened_store() as store:
        subjects = _with_register(app, store.subject_list(flagged=flagged))
    if as_json:
        echo_json([subject.to_dict() for subject in subjects])
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
    with opened_store() as store:
        found = _with_register(app, [resolve_subject(store, subject)])[0]
        history = store.subject_history(found.id)
        cases = store.case_list(subject=found.id)
    if as_json:
        echo_json(
            {
                **found.to_dict(),
                "history": [audit_entry_json(entry) for entry in history],
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
    with opened_store() as store:
        found = resolve_subject(store, subject)
        updated = store.subject_update(
            found.id,
            acting_user(user),
            expected_version=found.version,
            name=name,
            licence=licence,
            owner=owner,
            note=note,
        )
    if as_json:
        echo_json(updated.to_dict())
    else:
        click.echo(f"updated {updated.id}")


