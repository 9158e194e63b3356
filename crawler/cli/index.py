"""``misinfo index``: the document store itself: status, spool flush, migration, schema.

Thin commands over :mod:`crawler.resources.store` and the stores' own methods; the one piece
of logic here, :func:`migrate_store`, copies one store into another with the optional
review hooks (:class:`index.store.ReviewTransfer`) and is usable without the CLI. The
group in :mod:`crawler.cli.main` registers :data:`index_group`.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click

from crawler.cli.common import get_app, handle_errors
from crawler.resources.store import SpooledStore, flush_spool, open_app_store, spool_state

__all__ = ["MigrationSummary", "index_group", "migrate_store", "redact_url"]

#: Documents per upsert while migrating.
DEFAULT_MIGRATE_BATCH = 500
#: Seconds between progress updates while the spool is replayed.
_POLL_SECONDS = 0.5

Progress = Callable[[str, int], None]


def redact_url(url: str) -> str:
    """``url`` without user and password (safe to print)."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# -- status ----------------------------------------------------------------------------------


def _status(app: Any) -> dict[str, Any]:

    kind = app.settings.get("store", "sqlite")
    status: dict[str, Any] = {"store": kind}
    if kind == "elasticsearch":
        status["url"] = redact_url(app.elasticsearch_url())
        status["index_prefix"] = app.elasticsearch_options()["index_prefix"]
        pending, rejected = spool_state(app.spool_path)
        status["spool"] = {"path": str(app.spool_path), "pending": pending, "rejected": rejected}
    else:
        status["path"] = str(app.index_path)
    status["documents"] = None
    status["error"] = None
    if kind == "sqlite" and not app.index_path.exists():
        status["documents"] = 0
        return status
    from index.errors import StoreUnavailable

    store = open_app_store(app)
    try:
        status["documents"] = store.count()
    except StoreUnavailable as exc:
        status["error"] = str(exc)
    finally:
        store.close()
    return status


@click.group("index")
def index_group() -> None:
    """The document store: status, spool flush, migration to Elasticsearch, schema upgrades."""


@index_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@handle_errors
def status_command(as_json: bool) -> None:
    """Which store is configured, how many documents it holds, what waits in the spool.

    Exits 1 when the store cannot be reached (the spool counts are still shown).
    """
    status = _status(get_app())
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        click.echo(f"store:     {status['store']}")
        if status["store"] == "elasticsearch":
            click.echo(f"url:       {status['url']} (index prefix {status['index_prefix']})")
        else:
            click.echo(f"path:      {status['path']}")
        if status["error"]:
            click.echo(f"documents: unknown: {status['error']}")
        else:
            click.echo(f"documents: {status['documents']:,}")
        if spool := status.get("spool"):
            click.echo(
                f"spool:     {spool['pending']:,} waiting, {spool['rejected']:,} rejected "
                f"({spool['path']})"
            )
    if status["error"]:
        raise SystemExit(1)


# -- flush -----------------------------------------------------------------------------------


@index_group.command("flush")
@handle_errors
def flush_command() -> None:
    """Write the documents waiting in the spool to Elasticsearch, oldest first.

    Documents are spooled when the cluster was unreachable during a crawl (the next crawl
    also replays them first). Replays are idempotent. Exits 1, keeping everything in the
    spool, if the cluster is still away.
    """

    app = get_app()
    if app.settings.get("store", "sqlite") != "elasticsearch":
        click.echo("The store is the embedded SQLite one: nothing is ever spooled.")
        return
    pending, _ = spool_state(app.spool_path)
    if not pending:
        click.echo(f"The spool is empty ({app.spool_path}): nothing to flush.")
        _warn_rejected(app.spool_path)
        return
    store = open_app_store(app)
    if not isinstance(store, SpooledStore):  # open_app_store spools every ES store
        store.close()
        raise click.ClickException(f"{store!r} has no spool")
    try:
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["report"] = flush_spool(store, config_dir=_config_dir(app))
            except BaseException as exc:  # re-raised in the main thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="spool-flush", daemon=True)
        with click.progressbar(length=pending, label="Replaying the spool", file=sys.stderr) as bar:
            worker.start()
            done = 0
            while worker.is_alive():
                worker.join(_POLL_SECONDS)
                now_done = max(0, pending - store.waiting())
                bar.update(now_done - done)
                done = now_done
        if "error" in outcome:
            raise outcome["error"]
        report = outcome["report"]
    finally:
        store.close()
    if report.error:
        raise click.ClickException(
            f"Elasticsearch is still unreachable ({report.error}); {report.remaining:,} "
            f"documents wait in {app.spool_path}, nothing is lost. Run `misinfo index flush` "
            "again when the cluster is back."
        )
    click.echo(f"Replayed {report.replayed:,} documents; the spool is empty.")
    _warn_rejected(app.spool_path)


def _config_dir(app: Any) -> str | None:
    return str(app.config_dir) if app.config_dir else None


def _warn_rejected(spool_path: Any) -> None:

    _, rejected = spool_state(spool_path)
    if rejected:
        click.echo(
            f"{rejected:,} documents were rejected for good by Elasticsearch (a mapping "
            f"error, say); they are kept with the reason in the 'rejected' table of "
            f"{spool_path}.",
            err=True,
        )


# -- migrate ---------------------------------------------------------------------------------


@dataclass(slots=True)
class MigrationSummary:
    documents: int = 0
    documents_created: int = 0
    sites: int = 0
    review_items: int = 0
    #: Subjects, cases and citizen reports (index.cases), when both stores keep them.
    case_records: int = 0
    audit_entries: int = 0
    audit_appended: int = 0
    evidence_files: int = 0
    evidence_checks: int = 0


def migrate_store(
    source: Any,
    target: Any,
    *,
    batch_size: int = DEFAULT_MIGRATE_BATCH,
    progress: Progress | None = None,
) -> MigrationSummary:
    """Copy every document, site profile, review item and audit entry of ``source`` into
    ``target``, keeping ids, decisions, leases and timestamps. Idempotent: a rerun updates
    what changed and appends only new audit entries.

    Review items go first, so writing the documents finds their items and does not queue
    them afresh (which would add "enqueue" audit entries of its own), and once more at the
    end, undoing the refresh such writes apply to open items; documents bring their
    ``review_status`` with them. ``progress(step, n)`` is called as work is done.
    Both stores need the :class:`~index.store.ReviewTransfer` hooks.
    """
    from index.errors import SearchError
    from index.store import ReviewTransfer, SearchRequest

    for store in (source, target):
        if not isinstance(store, ReviewTransfer):
            raise SearchError(f"{store!r} cannot export or import review state")
    report = progress or (lambda step, n: None)
    summary = MigrationSummary()
    items = list(source.export_review_items())
    summary.review_items = target.import_review_items(items)
    report("review", summary.review_items)

    counted = 0

    def audit_stream() -> Any:
        nonlocal counted
        for entry in source.export_audit():
            counted += 1
            yield entry

    summary.audit_appended = target.import_audit(audit_stream())
    summary.audit_entries = counted
    report("audit", counted)
    # Subjects, cases and tips before the documents: their upserts then find the subjects
    # and log no second creation.
    if hasattr(source, "export_case_records") and hasattr(target, "import_case_records"):
        summary.case_records = target.import_case_records(source.export_case_records())
        report("cases", summary.case_records)

    batch = []
    for doc in source.scan(SearchRequest(highlight=False)):
        batch.append(doc)
        if len(batch) >= batch_size:
            summary.documents_created += target.upsert(batch).created
            summary.documents += len(batch)
            report("documents", len(batch))
            batch = []
    if batch:
        summary.documents_created += target.upsert(batch).created
        summary.documents += len(batch)
        report("documents", len(batch))

    for profile in source.list_sites():
        target.upsert_site(profile)
        summary.sites += 1
        report("sites", 1)
    # Writing a flagged document or site refreshes its open item (a site's priority from
    # the current time): put the stored items back as they were.
    target.import_review_items(items)
    # Evidence metadata (index.evidence); its audit entries came with the audit log above.
    if hasattr(source, "evidence") and hasattr(target, "evidence"):
        from index.evidence import copy_evidence

        copied = copy_evidence(source, target)
        summary.evidence_files, summary.evidence_checks = copied.files, copied.checks
        report("evidence", copied.files + copied.checks)
    refresh = getattr(target, "refresh_indices", None)
    if refresh is not None:
        refresh()
    return summary


@index_group.command("migrate")
@click.option(
    "--to",
    "destination",
    type=click.Choice(["elasticsearch"]),
    required=True,
    help="Store to copy the embedded SQLite store into.",
)
@click.option("--url", help="Cluster URL. [default: $MISINFO_ES_URL]")
@click.option("--index-prefix", help="Index prefix. [default: elasticsearch.index_prefix]")
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(1, 10_000),
    default=DEFAULT_MIGRATE_BATCH,
    show_default=True,
    help="Documents per bulk write.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def migrate_command(
    destination: str, url: str | None, index_prefix: str | None, batch_size: int, as_json: bool
) -> None:
    """Copy the embedded SQLite store into Elasticsearch: documents, site profiles, review
    items (decisions, leases, timestamps), the review audit log and the evidence metadata
    (archived files, takedown checks, watches; the files stay in the data directory).

    Safe to run again (nothing is duplicated; what changed is updated). Credentials come
    from $MISINFO_ES_API_KEY or $MISINFO_ES_USER/$MISINFO_ES_PASSWORD. Afterwards set
    `store: elasticsearch` in settings.yaml.
    """
    from index.elastic import ElasticsearchStore
    from index.sqlite import SqliteStore

    app = get_app()
    if not app.index_path.exists():
        raise click.ClickException(
            f"no embedded store at {app.index_path}: nothing to migrate (check --data-dir)"
        )
    options = app.elasticsearch_options()
    if index_prefix:
        options["index_prefix"] = index_prefix
    target_url = url or app.elasticsearch_url()
    source = SqliteStore(app.index_path)
    try:
        target = ElasticsearchStore(target_url, refresh=False, **options)
    except ValueError as exc:  # an invalid index prefix
        source.close()
        raise click.ClickException(str(exc)) from exc
    try:
        total = source.count()
        click.echo(
            f"Copying {app.index_path} ({total:,} documents) into {redact_url(target_url)} "
            f"(index prefix {options['index_prefix']})",
            err=True,
        )
        with click.progressbar(length=total, label="Documents", file=sys.stderr) as bar:

            def progress(step: str, n: int) -> None:
                if step == "documents":
                    bar.update(n)

            summary = migrate_store(source, target, batch_size=batch_size, progress=progress)
    finally:
        source.close()
        target.close()
    if as_json:
        click.echo(json.dumps(asdict(summary), indent=2))
    else:
        click.echo(
            f"Copied {summary.documents:,} documents ({summary.documents_created:,} new), "
            f"{summary.sites:,} site profiles, {summary.review_items:,} review items, "
            f"{summary.case_records:,} subjects, cases and tips, and "
            f"{summary.audit_entries:,} audit entries ({summary.audit_appended:,} newly appended); "
            f"{summary.evidence_files:,} evidence files and {summary.evidence_checks:,} "
            "takedown checks newly recorded."
        )
    click.echo(
        "Next: set `store: elasticsearch` in settings.yaml (and export MISINFO_ES_URL) so "
        "crawls, searches and reviews use the cluster.",
        err=True,
    )


# -- migrate-schema --------------------------------------------------------------------------


@index_group.command("migrate-schema")
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(["documents", "sites", "review", "audit"]),
    multiple=True,
    help="Index to move (repeatable). [default: all]",
)
@click.option("--delete-old", is_flag=True, help="Delete the old index after the switch.")
@handle_errors
def migrate_schema_command(kinds: tuple[str, ...], delete_old: bool) -> None:
    """Move Elasticsearch indices to the schema version in config/elasticsearch/*.json.

    Each alias (<prefix>-documents, ...) is switched atomically to a new index
    <prefix>-<kind>-v<N> after every record was copied (documents are rebuilt, so new
    search fields fill in). Stop crawls meanwhile: writes to the old index during the copy
    are not carried over. Kinds already at the version are left alone.
    """
    app = get_app()
    if app.settings.get("store", "sqlite") != "elasticsearch":
        raise click.ClickException(
            "schema upgrades are for Elasticsearch; the embedded store migrates itself on open"
        )
    store = open_app_store(app)
    try:
        for kind in kinds or ("documents", "sites", "review", "audit"):
            report = store.migrate_schema(kind, delete_old=delete_old)
            if report.old_index == report.new_index:
                click.echo(f"{report.alias}: already on {report.new_index}")
            else:
                click.echo(
                    f"{report.alias}: {report.old_index or '(none)'} -> {report.new_index} "
                    f"({report.copied:,} records copied"
                    + (", old index deleted)" if delete_old and report.old_index else ")")
                )
    finally:
        store.close()
