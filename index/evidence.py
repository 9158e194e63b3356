"""Evidence that survives deletion: the shared model of archived files and takedown checks.

Two kinds of records, in every store backend (:mod:`index.sqlite_evidence`,
:mod:`index.elastic_evidence`):

* :class:`EvidenceFile`: one archived file of a document, never changed or deleted once
  written. ``kind`` is ``warc`` (request and response records, from the crawl or from a
  capture), ``screenshot`` (full-page PNG) or ``dom`` (the HTML after scripts ran). A crawl
  record points into a rotating WARC file (``path``, ``offset``, ``length``); a capture's
  files are stored whole under their SHA-256 (:mod:`index.evidence_files`).
* :class:`Check`: one takedown check of a watched document (``online-unchanged``,
  ``online-changed`` with a diff, ``removed``, ``unreachable``).

Who captured, viewed, bundled, watched and checked goes to the review audit log (the same
append-only log as review decisions) under the item id ``evidence:<doc id>``
(:func:`audit_item_id`), so ``misinfo index migrate`` carries it with the rest.

Public API for other features (cases, reports): :func:`evidence_of` and :func:`checks_of`
take any :class:`~index.store.Store` and a document id.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from index.review import AuditEntry

__all__ = [
    "CHECK_STATUSES",
    "FILE_KINDS",
    "Check",
    "EvidenceCopy",
    "EvidenceFile",
    "EvidenceStore",
    "WatchState",
    "audit_item_id",
    "checks_of",
    "copy_evidence",
    "evidence_of",
    "evidence_store",
    "first_removal",
    "text_diff",
    "text_digest",
]

FILE_KINDS = ("warc", "screenshot", "dom")
CHECK_STATUSES = ("online-unchanged", "online-changed", "removed", "unreachable")
#: Lines of unified diff kept with an ``online-changed`` check.
DIFF_MAX_LINES = 400


def audit_item_id(doc_id: str) -> str:
    """The audit-log item id of a document's evidence actions."""
    return f"evidence:{doc_id}"


@dataclass(slots=True, kw_only=True)
class EvidenceFile:
    """One archived file (or WARC record span) of a document; immutable once stored.

    ``sha256`` is the digest of the stored bytes: the whole file for captures, the
    ``length`` bytes at ``offset`` of the WARC file ``path`` for crawl records (the gzip
    members of the response and its request, as written).
    """

    id: str
    doc_id: str
    kind: str
    sha256: str
    size: int
    captured_at: str
    url: str
    final_url: str = ""
    http_status: int | None = None
    #: "crawl" (written while crawling) or "capture" (browser capture, on flag or demand).
    origin: str = "crawl"
    #: Files of one capture share it (crawl records: the run's WARC directory name).
    capture_id: str = ""
    captured_by: str = "crawler"
    #: Relative path under the data directory (crawl WARC file) or the file store key.
    path: str = ""
    offset: int | None = None
    length: int | None = None
    #: ``WARC-Record-ID`` of the response record (``warc`` kind).
    record_id: str = ""
    content_type: str = ""
    #: Tool name -> version (warcio, Playwright, Chromium, misinfo-monitor).
    tools: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceFile:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(slots=True, kw_only=True)
class Check:
    """One re-fetch of a document's URL, to see whether it is still online."""

    id: str
    doc_id: str
    checked_at: str
    url: str
    status: str
    http_status: int | None = None
    final_url: str = ""
    #: SHA-256 of the response body ("" when nothing came back).
    response_sha256: str = ""
    #: Unified diff of the extracted text against the captured text (``online-changed``).
    diff: str = ""
    detail: str = ""
    checked_by: str = "scheduler"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(slots=True, kw_only=True)
class WatchState:
    """Whether a document is re-checked for takedown, and since when by whom."""

    doc_id: str
    watched: bool
    reason: str = ""
    since: str = ""
    by: str = ""
    last_checked_at: str | None = None


@runtime_checkable
class EvidenceStore(Protocol):
    """Evidence metadata of one store backend (``store.evidence()`` returns it)."""

    def add_files(self, files: list[EvidenceFile]) -> int:
        """Record files; an id already recorded is kept as it was (immutable). Returns the
        number added."""
        ...

    def files(self, doc_id: str | None = None, *, limit: int = 1000) -> list[EvidenceFile]:
        """Files of ``doc_id`` (every document's when ``None``), oldest first."""
        ...

    def get_file(self, file_id: str) -> EvidenceFile | None: ...

    def docs_with_files(self, doc_ids: list[str], kind: str) -> set[str]:
        """Which of ``doc_ids`` have at least one file of ``kind``."""
        ...

    def add_check(self, check: Check) -> None: ...

    def checks(self, doc_id: str) -> list[Check]:
        """Every check of ``doc_id``, oldest first."""
        ...

    def set_watch(self, doc_id: str, watched: bool, *, user: str, reason: str, at: str) -> None: ...

    def watches(self) -> list[WatchState]:
        """Documents marked "watch" by an analyst (``watched`` True), with their last check."""
        ...

    def watch_state(self, doc_id: str) -> WatchState | None: ...

    def last_checks(self, doc_ids: list[str]) -> dict[str, str]:
        """``checked_at`` of the latest check of each id that has one."""
        ...

    def audit(self, entry: AuditEntry) -> None:
        """Append one entry to the store's audit log (item id :func:`audit_item_id`)."""
        ...

    # -- migration (``misinfo index migrate``) ---------------------------------------------
    def export_files(self) -> Iterator[EvidenceFile]:
        """Every file record, in bounded memory."""
        ...

    def export_checks(self) -> Iterator[Check]: ...

    def export_watches(self) -> list[WatchState]:
        """Every watch state, watched or not."""
        ...

    def first_removals_between(self, since: str, until: str) -> list[str]:
        """Ids of the checks in ``[since, until)`` that first found their document removed
        (an earlier ``removed`` check of the same document means it was already counted)."""
        ...

    def import_checks(self, checks: Iterable[Check]) -> int:
        """Append checks whose id is not recorded yet; returns the number appended."""
        ...

    def audit_history(self, doc_id: str) -> list[AuditEntry]:
        """The document's evidence audit entries, oldest first."""
        ...


def evidence_store(store: Any) -> EvidenceStore:
    """The evidence metadata of ``store`` (every built-in backend has one)."""
    factory = getattr(store, "evidence", None)
    if factory is None:
        raise TypeError(f"{store!r} keeps no evidence metadata")
    return factory()


def evidence_of(store: Any, doc_id: str) -> list[EvidenceFile]:
    """Every archived file of document ``doc_id``, oldest first."""
    return evidence_store(store).files(doc_id)


def checks_of(store: Any, doc_id: str) -> list[Check]:
    """Every takedown check of document ``doc_id``, oldest first."""
    return evidence_store(store).checks(doc_id)


@dataclass(slots=True)
class EvidenceCopy:
    files: int = 0
    checks: int = 0
    watches: int = 0


def copy_evidence(source: Any, target: Any, *, batch_size: int = 500) -> EvidenceCopy:
    """Copy evidence metadata from store ``source`` into ``target`` (idempotent: records
    already there are kept as they are). The audit entries travel with the review audit
    log; the files themselves stay in the data directory."""
    origin, destination = evidence_store(source), evidence_store(target)
    copied = EvidenceCopy()
    batch: list[EvidenceFile] = []
    for item in origin.export_files():
        batch.append(item)
        if len(batch) >= batch_size:
            copied.files += destination.add_files(batch)
            batch = []
    copied.files += destination.add_files(batch)
    copied.checks = destination.import_checks(origin.export_checks())
    for state in origin.export_watches():
        destination.set_watch(
            state.doc_id, state.watched, user=state.by, reason=state.reason, at=state.since
        )
        copied.watches += 1
    return copied


def first_removal(checks: list[Check]) -> Check | None:
    """The first check that found the document removed (what a takedown report cites)."""
    return next((check for check in checks if check.status == "removed"), None)


_SPACE = re.compile(r"\s+")


def text_digest(text: str) -> str:
    """SHA-256 of text with whitespace runs collapsed: layout changes are not edits."""
    return hashlib.sha256(_SPACE.sub(" ", text).strip().encode("utf-8")).hexdigest()


def text_diff(before: str, after: str, *, max_lines: int = DIFF_MAX_LINES) -> str:
    """Unified diff of two texts, line by line (paragraphs), cut to ``max_lines``."""
    lines = list(
        difflib.unified_diff(
            [line.strip() for line in before.splitlines() if line.strip()],
            [line.strip() for line in after.splitlines() if line.strip()],
            fromfile="captured",
            tofile="now",
            lineterm="",
        )
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… {len(lines) - max_lines} more lines"]
    return "\n".join(lines)
