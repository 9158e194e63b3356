"""``misinfo evidence ...``: capture, list, bundle, verify and check archived evidence."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from crawler.cli.common import acting_user, get_app, handle_errors, json_option, user_option
from crawler.resources.store import open_app_store

__all__ = ["evidence_group"]

@contextmanager
def _service() -> Iterator[Any]:
    from crawler.evidence.service import EvidenceService

    app = get_app()
    store = open_app_store(app)
    try:
        yield EvidenceService(app, store)
    finally:
        store.close()


def _file_json(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "doc_id": item.doc_id,
        "kind": item.kind,
        "sha256": item.sha256,
        "size": item.size,
        "captured_at": item.captured_at,
        "url": item.url,
        "final_url": item.final_url,
        "http_status": item.http_status,
        "origin": item.origin,
        "capture_id": item.capture_id,
        "captured_by": item.captured_by,
        "path": item.path,
        "offset": item.offset,
        "length": item.length,
        "tools": item.tools,
    }


def _check_json(check: Any) -> dict[str, Any]:
    return {
        "id": check.id,
        "doc_id": check.doc_id,
        "kind": "check",
        "status": check.status,
        "checked_at": check.checked_at,
        "url": check.url,
        "http_status": check.http_status,
        "final_url": check.final_url,
        "sha256": check.response_sha256,
        "detail": check.detail,
        "diff": check.diff,
        "checked_by": check.checked_by,
    }


@click.group("evidence")
def evidence_group() -> None:
    """Evidence that survives deletion: WARC records, screenshots, bundles, takedown checks.

    \b
    Every crawled document's response is archived as WARC (evidence.warc in settings.yaml);
    `capture` adds a screenshot, the rendered DOM and the raw response through Chromium;
    `bundle` writes a WACZ for a fine or a removal request and `verify` re-checks one;
    `check` re-fetches confirmed and watched posts to see whether they came down.
    """


@evidence_group.command("capture")
@click.argument("doc_ids", nargs=-1, metavar="ID...")
@click.option("--pending", is_flag=True, help="Capture queued posts that have no screenshot yet.")
@user_option
@json_option
@handle_errors
def capture_command(
    doc_ids: tuple[str, ...], pending: bool, user: str | None, as_json: bool
) -> None:
    """Capture document ID now: full-page screenshot, rendered DOM and raw response.

    A capture adds files, it never replaces an earlier one. Only the document's own source
    hosts are fetched (http/https), as in a crawl.
    """
    if not doc_ids and not pending:
        raise click.UsageError("give document IDs or --pending")
    with _service() as service:
        targets = list(doc_ids) + (service.pending_captures() if pending else [])
        results = []
        for doc_id in targets:
            result = service.capture(doc_id, acting_user(user))
            results.append(result)
            if not as_json:
                click.echo(f"{doc_id}: capture {result.capture_id}")
                for item in result.files:
                    click.echo(
                        f"  {item.kind:<10} {item.sha256}  {item.size:>9} B  {item.final_url}"
                    )
                if result.blocked:
                    click.echo(f"  {len(result.blocked)} requests to other hosts blocked")
    if as_json:
        click.echo(
            json.dumps(
                [_file_json(item) for result in results for item in result.files],
                ensure_ascii=False,
                indent=2,
            )
        )
    elif not targets:
        click.echo("nothing to capture")


@evidence_group.command("list")
@click.argument("doc_id", required=False, metavar="[ID]")
@json_option
@handle_errors
def list_command(doc_id: str | None, as_json: bool) -> None:
    """Archived files and takedown checks of document ID (of every document without ID).

    \b
    --json prints {"files": [{"kind", "sha256", "captured_at", "url", ...}],
                   "checks": [{"status", "checked_at", "url", "sha256", ...}]}.
    """
    with _service() as service:
        files = service.list(doc_id)
        checks = service.meta.checks(doc_id) if doc_id else list(service.meta.export_checks())
    if as_json:
        payload = {
            "files": [_file_json(item) for item in files],
            "checks": [_check_json(check) for check in checks],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not files:
        click.echo("no evidence archived" + (f" for {doc_id}" if doc_id else ""))
    for item in files:
        where = f"{item.path}@{item.offset}" if item.offset is not None else item.path
        click.echo(
            f"{item.captured_at}  {item.kind:<10} {item.sha256[:16]}  {item.origin:<7} "
            f"{item.http_status or '-'}  {item.url}  ({where})"
        )
    for check in checks:
        click.echo(
            f"{check.checked_at}  check {check.status:<16} {check.http_status or '-'}  {check.detail}"
        )


@evidence_group.command("bundle")
@click.argument("doc_ids", nargs=-1, required=True, metavar="ID...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The WACZ file to write (FILE.wacz).",
)
@user_option
@json_option
@handle_errors
def bundle_command(doc_ids: tuple[str, ...], output: Path, user: str | None, as_json: bool) -> None:
    """Write the evidence of documents ID... as a WACZ bundle.

    It holds the WARC records, screenshots and DOM captures, the extracted text, the
    analysis with its evidence, review decisions, takedown checks and the audit trail; it
    replays in web-archive players (ReplayWeb.page). Signed when evidence.signing_key is set.
    """
    if output.suffix != ".wacz":
        raise click.BadParameter("the bundle is a .wacz file", param_hint="-o")
    with _service() as service:
        report = service.bundle(list(doc_ids), output, acting_user(user))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "path": str(report.path),
                    "sha256": report.sha256,
                    "documents": report.documents,
                    "records": report.records,
                    "files": report.files,
                    "signed": report.signed,
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{report.path}: {report.documents} documents, {report.records} archived responses, "
        f"{report.files} files{', signed' if report.signed else ''}; sha256 {report.sha256}"
    )


@evidence_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    help="Require a signature by this Ed25519 public key (base64 of its 32 raw bytes).",
)
@json_option
def verify_command(path: Path, public_key: str | None, as_json: bool) -> None:
    """Re-check every digest of the bundle at PATH and print what it holds.

    Exits with status 1 when any byte was altered, a file is missing or extra, or the
    signature does not match.
    """
    from crawler.evidence.bundle import verify_wacz

    required = None
    if public_key:
        try:
            required = base64.b64decode(public_key, validate=True)
        except ValueError as exc:
            raise click.BadParameter("not base64", param_hint="--public-key") from exc
    report = verify_wacz(path, public_key=required)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "problems": report.problems,
                    "created": report.created,
                    "signature": report.signature,
                    "resources": report.resources,
                    "pages": [
                        {k: p.get(k) for k in ("id", "url", "ts", "title")} for p in report.pages
                    ],
                    "records": report.records,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(f"{path}: created {report.created or '?'}, signature: {report.signature}")
        for page in report.pages:
            click.echo(f"  page {page.get('ts')}  {page.get('url')}  {page.get('title', '')}")
        click.echo(f"  {len(report.records)} WARC records")
        for resource in report.resources:
            click.echo(f"  {resource['hash'][:23]}  {resource['bytes']:>9} B  {resource['path']}")
        for problem in report.problems:
            click.echo(f"  PROBLEM: {problem}")
        click.echo("OK: every digest matches" if report.ok else "FAILED")
    if not report.ok:
        raise SystemExit(1)


@evidence_group.command("check")
@click.argument("doc_ids", nargs=-1, metavar="ID...")
@click.option("--due", is_flag=True, help="Check every confirmed or watched post that is due.")
@user_option
@json_option
@handle_errors
def check_command(doc_ids: tuple[str, ...], due: bool, user: str | None, as_json: bool) -> None:
    """Re-fetch posts now and record whether they are online, changed, removed or unreachable.

    Nothing archived is deleted; the first check that finds a post removed is what a
    takedown report cites.
    """
    if not doc_ids and not due:
        raise click.UsageError("give document IDs or --due")
    checks: list[Any] = []
    errors: list[str] = []
    with _service() as service:
        for doc_id in doc_ids:
            checks.append(service.check(doc_id, acting_user(user)))
        if due:
            for outcome in service.check_due(acting_user(user) if user else "scheduler"):
                if isinstance(outcome, tuple):
                    errors.append(f"{outcome[0]}: {outcome[1]}")
                else:
                    checks.append(outcome)
    if as_json:
        click.echo(
            json.dumps([_check_json(check) for check in checks], ensure_ascii=False, indent=2)
        )
    else:
        for check in checks:
            click.echo(
                f"{check.doc_id}  {check.checked_at}  {check.status}  "
                f"{check.http_status or '-'}  {check.detail}"
            )
            if check.diff:
                click.echo("    " + check.diff.replace("\n", "\n    "))
        if due and not checks and not errors:
            click.echo("no post is due for a check")
    for error in errors:
        click.echo(f"error: {error}", err=True)


@evidence_group.command("watch")
@click.argument("doc_id", metavar="ID")
@click.option("--off", is_flag=True, help="Stop watching.")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@user_option
@handle_errors
def watch_command(doc_id: str, off: bool, reason: str, user: str | None) -> None:
    """Mark document ID "watch": takedown checks run on it even without a confirmed verdict."""
    with _service() as service:
        service.watch(doc_id, acting_user(user), watched=not off, reason=reason)
    click.echo(f"{doc_id}: {'not watched' if off else 'watched'}")
