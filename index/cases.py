"""Violation cases and citizen reports (tips): the model, its rules, and the store contract.

A case is opened on a :mod:`subject <index.subjects>` (from a confirmed item or by hand),
holds the linked items with a snapshot of their evidence, a legal basis, and moves::

    open ─► evidence-complete ─► notice-sent ─► sanctioned (fine, decision no., date) ─┐
      │            │    ▲             │   └────► removed ───────────────────────────────┤
      │            ▼    │             │                                                 ├─► closed
      └────────────┴────┴─────────────┴────────► dismissed ────────────────────────────┘

(``evidence-complete`` may go back to ``open``.) Recording a sanction and closing a case
need the ``admin`` or ``supervisor`` role (:data:`DECIDING_ROLES`). Every change is written
with a compare-and-swap on ``version`` (two analysts editing one case: the second gets
:class:`~index.errors.ConflictError`, as in the review queues) and appended to the store's
audit log as ``case:<id>`` (tips: ``tip:<id>``, subjects: ``subject:<id>``), with the state
before and after: the same append-only log as review decisions, so one log tells the
department's whole work and the period report reconciles with it.

A tip is a citizen's report of a URL: note, channel, date received. The URL is fetched and
analysed like a crawled page (``crawler.service.tips``) and its document queued in the ``tips``
review queue with the report in the item's evidence. Its status is ``received`` until the
review item is decided (``reviewed``), then ``answered`` once an answer is recorded.

The transition functions here are pure; backends (``index.sqlite_cases``,
``index.elastic_cases``) read, apply and write back.

Size: the case and tip models, their pure rules and the store contract (a Protocol) that
both stores implement; the rules and the contract change together.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

from index.errors import ConflictError, NotFound, ReviewError
from index.review import AuditEntry, format_time
from index.subjects import Subject

__all__ = [
    "CASE_STATUSES",
    "CASE_TRANSITIONS",
    "DECIDING_ROLES",
    "FINAL_OUTCOMES",
    "LOCAL_TZ",
    "TIP_CHANNELS",
    "TIP_STATUSES",
    "Case",
    "CaseError",
    "CaseStore",
    "PermissionDenied",
    "Tip",
    "answer_tip",
    "case_audit_id",
    "local_day",
    "move_case",
    "new_case",
    "parse_day",
    "record_number",
    "subject_audit_id",
    "tip_audit_id",
    "update_case",
    "update_subject",
]

CASE_STATUSES = (
    "open",
    "evidence-complete",
    "notice-sent",
    "sanctioned",
    "removed",
    "dismissed",
    "closed",
)
#: status -> statuses it may move to.
CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("evidence-complete", "dismissed"),
    "evidence-complete": ("notice-sent", "open", "removed", "dismissed"),
    "notice-sent": ("sanctioned", "removed", "dismissed"),
    "sanctioned": ("closed",),
    "removed": ("closed",),
    "dismissed": ("closed",),
    "closed": (),
}
FINAL_OUTCOMES = ("sanctioned", "removed", "dismissed")
#: Roles that may record a sanction or close a case.
DECIDING_ROLES = ("admin", "supervisor")
_RESTRICTED = ("sanctioned", "closed")
TIP_STATUSES = ("received", "reviewed", "answered")
TIP_CHANNELS = ("web", "email", "phone", "letter", "in-person", "hotline", "social", "other")
#: The department's days are Vietnam days (UTC+7): dates received, decided, reported.
LOCAL_TZ = timezone(timedelta(hours=7))
#: Largest fine accepted (đồng): a typo guard, far above any administrative fine.
MAX_FINE = 10_000_000_000


#: A case or tip number: digits, no more than SQLite's 64-bit integers hold.
_RECORD_NUMBER = re.compile(r"[0-9]{1,18}")


def record_number(value: str, kind: str) -> int:
    """The number of case or tip ``value`` ("12", "#12"); :class:`NotFound` for anything
    else, a 5000-digit id included, in one line."""
    key = str(value).strip().removeprefix("#")
    if not _RECORD_NUMBER.fullmatch(key):
        shown = key if len(key) <= 40 else key[:40] + "…"
        raise NotFound(f"no {kind} {shown!r} ({kind} ids are numbers)")
    return int(key)


class CaseError(ReviewError):
    """A case, subject or tip operation that is not allowed now (the message says why)."""


class PermissionDenied(CaseError):
    """The user's role may not do this (recording a sanction, closing a case)."""


def local_day(moment: datetime) -> str:
    """The Vietnam date of ``moment`` (``YYYY-MM-DD``)."""
    return moment.astimezone(LOCAL_TZ).date().isoformat()


def case_audit_id(case_id: str) -> str:
    return f"case:{case_id}"


def tip_audit_id(tip_id: str) -> str:
    return f"tip:{tip_id}"


def subject_audit_id(subject_id: str) -> str:
    return f"subject:{subject_id}"


def parse_day(value: str | None, what: str = "date") -> str | None:
    """``YYYY-MM-DD`` checked (``None``/empty passes through); ``CaseError`` otherwise."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError as exc:
        raise CaseError(f"{what} {value!r} is not a date like 2026-11-30") from exc


@dataclass(slots=True, kw_only=True)
class Case:
    """One violation case against a subject."""

    id: str
    subject: str
    subject_kind: str = ""
    title: str = ""
    status: str = "open"
    #: Linked document ids.
    items: list[str] = field(default_factory=list)
    #: Per linked item, a snapshot taken when linked: ``{"doc_id", "url", "title", "site",
    #: "verdict", "review_item", "flags", "scores", "evidence"}``.
    evidence: list[dict[str, Any]] = field(default_factory=list)
    legal_basis: str = ""
    note: str = ""
    #: Fine in đồng (an integer), decision number and date: set when sanctioned.
    fine: int | None = None
    decision: str = ""
    decision_date: str | None = None
    #: The last of sanctioned / removed / dismissed reached (kept once closed).
    outcome: str | None = None
    opened_by: str = ""
    opened_at: str = ""
    closed_at: str | None = None
    updated_at: str = ""
    updated_by: str = ""
    version: str | int = 0

    def state(self) -> dict[str, Any]:
        """The fields the audit log records before and after a change."""
        return {
            "status": self.status,
            "subject": self.subject,
            "items": list(self.items),
            "legal_basis": self.legal_basis,
            "fine": self.fine,
            "decision": self.decision,
            "decision_date": self.decision_date,
            "outcome": self.outcome,
        }

    def allowed_moves(self) -> tuple[str, ...]:
        return CASE_TRANSITIONS.get(self.status, ())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class Tip:
    """A citizen's report of a URL."""

    id: str
    url: str
    note: str = ""
    channel: str = "web"
    reporter: str = ""
    #: The day the department received it (``YYYY-MM-DD``; may be before it was entered).
    received_at: str = ""
    #: The document the fetch stored (``None`` when the fetch failed: see ``fetch_error``).
    doc_id: str | None = None
    review_item: str | None = None
    fetch_error: str = ""
    #: ``received`` / ``answered`` as stored; reads report ``reviewed`` once the review
    #: item is decided (see :func:`tip_status`).
    status: str = "received"
    verdict: str | None = None
    answer: str = ""
    answered_at: str | None = None
    answered_by: str | None = None
    created_at: str = ""
    created_by: str = ""
    updated_at: str = ""
    updated_by: str = ""
    version: str | int = 0

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "received_at": self.received_at,
            "doc_id": self.doc_id,
            "answer": self.answer,
            "answered_at": self.answered_at,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tip_status(stored: str, review_status: str | None) -> str:
    """A tip's status from its stored one and its review item's (``open``/``decided``)."""
    if stored == "answered":
        return "answered"
    return "reviewed" if review_status == "decided" else "received"


# -- pure transitions --------------------------------------------------------------------------


def _check_version(kind: str, current: Any, expected_version: str | int) -> None:
    if str(expected_version) != str(current.version):
        raise ConflictError(
            f"{kind} {current.id} changed since you read it: {current.updated_by} did it at "
            f"{current.updated_at} (status {getattr(current, 'status', '-')}); reload and try again"
        )


def new_case(
    case_id: str,
    subject: Subject,
    user: str,
    *,
    items: list[dict[str, Any]],
    note: str = "",
    legal_basis: str = "",
    title: str = "",
    now: datetime,
) -> Case:
    """A new ``open`` case on ``subject`` with item snapshots (``doc_id`` each)."""
    stamp = format_time(now)
    doc_ids = list(dict.fromkeys(str(item["doc_id"]) for item in items))
    return Case(
        id=case_id,
        subject=subject.id,
        subject_kind=subject.kind,
        title=title.strip() or subject.name or subject.id,
        items=doc_ids,
        evidence=items,
        legal_basis=legal_basis.strip(),
        note=note.strip(),
        opened_by=user,
        opened_at=stamp,
        updated_at=stamp,
        updated_by=user,
    )


def move_case(
    case: Case,
    user: str,
    role: str,
    status: str,
    *,
    note: str = "",
    fine: int | None = None,
    decision: str = "",
    decision_date: str | None = None,
    expected_version: str | int,
    now: datetime,
) -> Case:
    """``case`` moved to ``status``; checks version, the transition, role and sanction data."""
    if status not in CASE_STATUSES:
        raise CaseError(f"{status!r} is not a case status (known: {', '.join(CASE_STATUSES)})")
    if status in _RESTRICTED and role not in DECIDING_ROLES:
        action = "record a sanction" if status == "sanctioned" else "close a case"
        raise PermissionDenied(
            f"only an admin or a supervisor may {action}; ask one (your role: {role or 'none'})"
        )
    _check_version("case", case, expected_version)
    if status not in case.allowed_moves():
        allowed = ", ".join(case.allowed_moves()) or "nothing (it is closed)"
        raise CaseError(f"case {case.id} is {case.status}: it can move to {allowed}, not {status}")
    if status == "sanctioned":
        if fine is None or int(fine) <= 0:
            raise CaseError("a sanction needs the fine in đồng (--fine 7500000)")
        if int(fine) > MAX_FINE:
            raise CaseError(f"a fine of {int(fine):,} đồng is implausible; check the amount")
        if not decision.strip():
            raise CaseError("a sanction needs the decision number (--decision 'QĐ 123/QĐ-XPHC')")
    elif fine is not None or decision.strip():
        raise CaseError("a fine and a decision number are recorded only when moving to sanctioned")
    stamp = format_time(now)
    changes: dict[str, Any] = {
        "status": status,
        "note": note.strip(),
        "updated_at": stamp,
        "updated_by": user,
    }
    if status == "sanctioned":
        changes.update(
            fine=int(fine),  # type: ignore[arg-type]
            decision=decision.strip(),
            decision_date=parse_day(decision_date, "decision date") or local_day(now),
        )
    if status in FINAL_OUTCOMES:
        changes["outcome"] = status
    if status == "closed":
        changes["closed_at"] = stamp
    return replace(case, **changes)


def update_case(
    case: Case,
    user: str,
    *,
    legal_basis: str | None = None,
    add_items: list[dict[str, Any]] | None = None,
    note: str = "",
    expected_version: str | int,
    now: datetime,
) -> Case:
    """Edit the legal basis or link more items (not once the case is closed)."""
    _check_version("case", case, expected_version)
    if case.status == "closed":
        raise CaseError(f"case {case.id} is closed; nothing can change")
    items, evidence = list(case.items), list(case.evidence)
    for item in add_items or []:
        if str(item["doc_id"]) not in items:
            items.append(str(item["doc_id"]))
            evidence.append(item)
    return replace(
        case,
        legal_basis=case.legal_basis if legal_basis is None else legal_basis.strip(),
        items=items,
        evidence=evidence,
        note=note.strip(),
        updated_at=format_time(now),
        updated_by=user,
    )


def answer_tip(
    tip: Tip, user: str, answer: str, *, expected_version: str | int, now: datetime
) -> Tip:
    """Record the answer sent to the reporter; the tip must be reviewed first."""
    _check_version("tip", tip, expected_version)
    if not answer.strip():
        raise CaseError("write the answer sent to the reporter (--answer TEXT)")
    if tip.status == "answered":
        raise CaseError(f"tip {tip.id} was already answered at {tip.answered_at}")
    if tip.status != "reviewed":
        raise CaseError(
            f"tip {tip.id} is not reviewed yet: decide its item in the tips queue "
            f"({tip.review_item or 'no item: the URL could not be fetched'}) first"
        )
    stamp = format_time(now)
    return replace(
        tip,
        status="answered",
        answer=answer.strip(),
        answered_at=stamp,
        answered_by=user,
        updated_at=stamp,
        updated_by=user,
    )


def update_subject(
    subject: Subject,
    user: str,
    *,
    name: str | None = None,
    licence: str | None = None,
    owner: str | None = None,
    note: str | None = None,
    expected_version: str | int,
    now: datetime,
) -> Subject:
    """Analyst-entered details (``None`` keeps a field)."""
    _check_version("subject", subject, expected_version)
    return replace(
        subject,
        name=subject.name if name is None else name.strip(),
        licence=subject.licence if licence is None else licence.strip(),
        owner=subject.owner if owner is None else owner.strip(),
        note=subject.note if note is None else note.strip(),
        updated_at=format_time(now),
        updated_by=user,
    )


@runtime_checkable
class CaseStore(Protocol):
    """Subjects, cases and tips: what both built-in stores add to :class:`index.store.Store`.

    Reads raise :class:`~index.errors.NotFound` for unknown ids; writes take the
    ``expected_version`` the user saw (``ConflictError`` when it changed).
    """

    # -- subjects --------------------------------------------------------------------------
    def subject_list(self, *, flagged: bool = False) -> list[Subject]:
        """Every subject with its counts, most flagged first; ``flagged``: only subjects
        with a flagged item or a flagged newspaper-style profile."""
        ...

    def subject_get(self, subject_id: str) -> Subject: ...

    def subject_update(
        self,
        subject_id: str,
        user: str,
        *,
        expected_version: str | int,
        name: str | None = None,
        licence: str | None = None,
        owner: str | None = None,
        note: str | None = None,
    ) -> Subject: ...

    def subject_history(self, subject_id: str) -> list[AuditEntry]: ...

    # -- cases -----------------------------------------------------------------------------
    def case_open(
        self,
        subject_id: str,
        user: str,
        *,
        items: list[str],
        note: str = "",
        legal_basis: str = "",
        title: str = "",
        now: datetime | None = None,
    ) -> Case:
        """Open a case; each item (a document id) must exist and belong to the subject."""
        ...

    def case_get(self, case_id: str) -> Case: ...

    def case_list(
        self,
        *,
        status: str | None = None,
        subject: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Case]:
        """Cases, most recently changed first."""
        ...

    def case_move(
        self,
        case_id: str,
        user: str,
        role: str,
        status: str,
        *,
        expected_version: str | int,
        note: str = "",
        fine: int | None = None,
        decision: str = "",
        decision_date: str | None = None,
        now: datetime | None = None,
    ) -> Case: ...

    def case_update(
        self,
        case_id: str,
        user: str,
        *,
        expected_version: str | int,
        legal_basis: str | None = None,
        add_items: list[str] | None = None,
        note: str = "",
        now: datetime | None = None,
    ) -> Case: ...

    def case_history(self, case_id: str) -> list[AuditEntry]: ...

    # -- tips ------------------------------------------------------------------------------
    def tip_add(
        self,
        url: str,
        user: str,
        *,
        note: str = "",
        channel: str = "web",
        reporter: str = "",
        received_at: str | None = None,
        doc_id: str | None = None,
        fetch_error: str = "",
        now: datetime | None = None,
    ) -> Tip:
        """Record a tip; with ``doc_id`` (the fetched document) it enters the ``tips`` queue."""
        ...

    def tip_get(self, tip_id: str) -> Tip: ...

    def tip_list(
        self, *, status: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[Tip]:
        """Tips, most recently received first."""
        ...

    def tip_answer(
        self,
        tip_id: str,
        user: str,
        answer: str,
        *,
        expected_version: str | int,
        now: datetime | None = None,
    ) -> Tip: ...

    def tip_history(self, tip_id: str) -> list[AuditEntry]: ...

    # -- the period report's inputs (see index.report) ---------------------------------------
    def audit_between(self, since: str, until: str) -> list[AuditEntry]:
        """Audit entries with ``since <= at < until`` (UTC ISO), enqueues excluded, in order."""
        ...

    def flag_rows(self, since: str, until: str) -> list[tuple[str, str, str, str, str, str]]:
        """One row per item enqueued in covid/claim/tips in the period:
        ``(queue, target_id, at, site, url, document kind)``."""
        ...

    def audit_entries(self, prefix: str, action: str) -> list[AuditEntry]:
        """Every audit entry (any time) whose item id starts with ``prefix`` and whose action
        is ``action``, in order (tips received: the received date is not the entry's)."""
        ...

    def item_meta(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``{item id: {"queue", "target_id", "site", "url", "created_at", "title"}}``."""
        ...

    def crawled_sites(self, since: str, until: str) -> list[tuple[str, str, str, int]]:
        """Documents fetched in the period per ``(site, kind, account key, n)`` (account key
        "" for news)."""
        ...
