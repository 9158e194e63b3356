"""The period report: what the department did between two dates, counted from the audit log.

Every count comes from audit entries in the period (:meth:`CaseStore.audit_between`, plus the
enqueue rows of :meth:`CaseStore.flag_rows`), so the JSON reconciles with the log, and every
count keeps the ids of the rows behind it (``Report.rows``) for the UI to list.

Definitions (a day is a Vietnam day, UTC+7; ``from`` and ``to`` are inclusive):

* ``items_flagged``: posts (documents) that entered the covid or claim queue in the period;
* ``items_confirmed``: posts whose covid, claim or tips item was last decided in the period
  as false or misleading; ``sites_confirmed``: sites last decided "confirmed" (báo hóa);
* ``sites_reviewed`` / ``accounts_reviewed``: websites / social accounts with a decision on
  any of their items in the period;
* ``cases_opened``: cases opened; ``cases_sanctioned`` / ``cases_removed`` /
  ``cases_dismissed``: cases moved to that status; ``subjects_sanctioned``: distinct subjects
  of the sanctioned cases; ``fines_total``: their fines in đồng;
* ``tips_received``: tips whose received date is in the period; ``tips_answered``: answers
  recorded in the period;
* ``removals_confirmed``: takedown checks that found an item removed
  (:func:`count_confirmed_removals`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from index.cases import LOCAL_TZ, CaseError, CaseStore
from index.evidence import evidence_store
from index.review import parse_time
from index.subjects import ACCOUNT, CONFIRMED_VERDICTS, WEBSITE, account_key, registrable_domain

__all__ = [
    "COUNT_KEYS",
    "DECISION_BUCKETS",
    "LOCAL_TZ",
    "Report",
    "build_report",
    "count_confirmed_removals",
    "local_today",
    "period_bounds",
]

COUNT_KEYS = (
    "sites_reviewed",
    "accounts_reviewed",
    "items_flagged",
    "items_confirmed",
    "sites_confirmed",
    "cases_opened",
    "cases_sanctioned",
    "subjects_sanctioned",
    "fines_total",
    "cases_removed",
    "cases_dismissed",
    "tips_received",
    "tips_answered",
    "removals_confirmed",
)
#: Time from flag to decision, in days: (label, upper bound).
DECISION_BUCKETS = (
    ("< 1 day", 1.0),
    ("1–3 days", 3.0),
    ("3–7 days", 7.0),
    ("1–2 weeks", 14.0),
    ("2–4 weeks", 28.0),
    ("> 4 weeks", float("inf")),
)
TOP_SUBJECTS = 10
_POST_QUEUES = ("covid", "claim", "tips")


def count_confirmed_removals(store: Any, since: str, until: str) -> tuple[int, list[str]]:
    """Takedown checks (``misinfo evidence check``) in ``[since, until)`` that first found an
    item removed: ``(count, check ids)``."""
    ids = evidence_store(store).first_removals_between(since, until)
    return len(ids), ids


def local_today() -> date:
    """Today in Vietnam."""
    return datetime.now(LOCAL_TZ).date()


def period_bounds(from_day: date, to_day: date) -> tuple[str, str]:
    """UTC ISO bounds ``[since, until)`` of Vietnam days ``from_day``..``to_day``."""
    if to_day < from_day:
        raise CaseError(f"--to {to_day} is before --from {from_day}")
    start = datetime.combine(from_day, datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(to_day + timedelta(days=1), datetime.min.time(), LOCAL_TZ).astimezone(
        UTC
    )
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


def _local_day(at: str) -> date:
    return parse_time(at).astimezone(LOCAL_TZ).date()


def _week_at(at: str) -> date:
    # Audit times are UTC ("...+00:00", see index.review.format_time): cache by the hour.
    if at.endswith("+00:00") and len(at) == 25:
        return _week_of(at[:13])
    return _week(_local_day(at))


@lru_cache(maxsize=4096)
def _week_of(at_hour: str) -> date:
    """The Monday of the Vietnam week of an ISO time cut to the hour (a cache key)."""
    return _week(_local_day(at_hour + ":00:00+00:00"))


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(slots=True)
class Report:
    from_day: date
    to_day: date
    counts: dict[str, int]
    #: count key -> ids of the rows behind it (documents, sites, subjects, cases, tips).
    rows: dict[str, list[str]]
    #: Further numbers: flagged per queue, crawled sites and accounts, tips reviewed.
    details: dict[str, int] = field(default_factory=dict)
    #: (Monday of the week, posts flagged, posts confirmed)
    weekly: list[tuple[str, int, int]] = field(default_factory=list)
    #: {"subject", "kind", "flagged", "confirmed", "cases", "fines"}, busiest first
    top_subjects: list[dict[str, Any]] = field(default_factory=list)
    #: status reached in the period -> cases
    case_outcomes: dict[str, int] = field(default_factory=dict)
    #: days from flag to decision, per decision in the period
    decision_days: list[float] = field(default_factory=list)
    generated_at: str = ""

    def decision_histogram(self) -> list[tuple[str, int]]:
        counts = Counter()
        for days in self.decision_days:
            for label, bound in DECISION_BUCKETS:
                if days < bound:
                    counts[label] += 1
                    break
        return [(label, counts[label]) for label, _ in DECISION_BUCKETS]

    def to_json(self) -> dict[str, Any]:
        median = statistics.median(self.decision_days) if self.decision_days else None
        return {
            "from": self.from_day.isoformat(),
            "to": self.to_day.isoformat(),
            "counts": {key: int(self.counts[key]) for key in COUNT_KEYS},
            "details": dict(self.details),
            "weekly": [
                {"week": week, "flagged": flagged, "confirmed": confirmed}
                for week, flagged, confirmed in self.weekly
            ],
            "top_subjects": self.top_subjects,
            "case_outcomes": dict(self.case_outcomes),
            "flag_to_decision": {
                "decisions": len(self.decision_days),
                "median_days": None if median is None else round(median, 2),
                "histogram": dict(self.decision_histogram()),
            },
            "generated_at": self.generated_at,
        }


def _subject_of(meta: dict[str, Any]) -> tuple[str, str]:
    """(subject id, kind) of a review item from its site, URL and document kind."""
    if meta.get("queue") == "site":
        return registrable_domain(meta.get("target_id") or ""), WEBSITE
    if meta.get("kind") == "social":
        return account_key(meta.get("url") or ""), ACCOUNT
    return registrable_domain(meta.get("site") or meta.get("url") or ""), WEBSITE


def build_report(store: CaseStore, from_day: date, to_day: date) -> Report:
    """The report for Vietnam days ``from_day``..``to_day`` (inclusive)."""
    since, until = period_bounds(from_day, to_day)
    entries = store.audit_between(since, until)
    flag_rows = store.flag_rows(since, until)

    # -- review decisions: the last decide/reopen of each item in the period ---------------
    last: dict[str, Any] = {}
    decided: dict[str, Any] = {}
    for entry in entries:
        queue = entry.item_id.partition(":")[0]
        if queue in (*_POST_QUEUES, "site") and entry.action in ("decide", "reopen"):
            last[entry.item_id] = entry
            if entry.action == "decide":
                decided.setdefault(entry.item_id, entry)
    meta = store.item_meta(list(last))
    confirmed_docs: dict[str, str] = {}
    confirmed_sites: set[str] = set()
    reviewed: dict[str, set[str]] = {WEBSITE: set(), ACCOUNT: set()}
    for item, entry in last.items():
        info = meta.get(
            item, {"queue": item.partition(":")[0], "target_id": item.partition(":")[2]}
        )
        subject, kind = _subject_of(info)
        if item in decided and subject:
            reviewed[kind].add(subject)
        verdict = (entry.after or {}).get("verdict") if entry.action == "decide" else None
        if info["queue"] == "site":
            if verdict == "confirmed":
                confirmed_sites.add(info["target_id"])
        elif verdict in CONFIRMED_VERDICTS:
            confirmed_docs[info["target_id"]] = entry.at
    decision_days = []
    for item, entry in decided.items():
        created = (meta.get(item) or {}).get("created_at")
        if created:
            delta = parse_time(entry.at) - parse_time(created)
            decision_days.append(max(0.0, delta.total_seconds() / 86_400))

    # -- flags -----------------------------------------------------------------------------
    flagged_docs: dict[str, str] = {}
    per_queue: Counter[str] = Counter()
    subject_flags: Counter[tuple[str, str]] = Counter()
    for queue, target, at, site, url, doc_kind in flag_rows:
        if queue not in ("covid", "claim"):
            continue
        per_queue[queue] += 1
        if target not in flagged_docs:
            flagged_docs[target] = at
            subject_flags[_subject_of({"site": site, "url": url, "kind": doc_kind})] += 1

    # -- cases and tips ----------------------------------------------------------------------
    opened: list[str] = []
    moved: dict[str, dict[str, Any]] = {}
    answered: list[str] = []
    outcomes: Counter[str] = Counter()
    for entry in entries:
        prefix, _, ident = entry.item_id.partition(":")
        if prefix == "case":
            if entry.action == "open":
                opened.append(ident)
                outcomes["opened"] += 1
            elif entry.action == "move":
                status = (entry.after or {}).get("status")
                moved.setdefault(status, {})[ident] = entry.after or {}
        elif prefix == "tip" and entry.action == "answer":
            answered.append(ident)
    for status, cases in moved.items():
        outcomes[status] += len(cases)
    sanctioned = moved.get("sanctioned", {})
    fines_total = sum(int(state.get("fine") or 0) for state in sanctioned.values())
    sanctioned_subjects = sorted({str(state.get("subject")) for state in sanctioned.values()})
    received = [
        entry.item_id.partition(":")[2]
        for entry in store.audit_entries("tip:", "receive")
        if from_day.isoformat()
        <= str((entry.after or {}).get("received_at") or "")
        <= to_day.isoformat()
    ]
    removals, removal_ids = count_confirmed_removals(store, since, until)

    # -- crawl coverage (details) --------------------------------------------------------------
    crawled: dict[str, set[str]] = {WEBSITE: set(), ACCOUNT: set()}
    for site, kind, key, _n in store.crawled_sites(since, until):
        if kind == "social":
            crawled[ACCOUNT].add(key)
        else:
            crawled[WEBSITE].add(registrable_domain(site))

    counts = {
        "sites_reviewed": len(reviewed[WEBSITE]),
        "accounts_reviewed": len(reviewed[ACCOUNT]),
        "items_flagged": len(flagged_docs),
        "items_confirmed": len(confirmed_docs),
        "sites_confirmed": len(confirmed_sites),
        "cases_opened": len(opened),
        "cases_sanctioned": len(sanctioned),
        "subjects_sanctioned": len(sanctioned_subjects),
        "fines_total": int(fines_total),
        "cases_removed": len(moved.get("removed", {})),
        "cases_dismissed": len(moved.get("dismissed", {})),
        "tips_received": len(received),
        "tips_answered": len(answered),
        "removals_confirmed": removals,
    }
    rows = {
        "sites_reviewed": sorted(reviewed[WEBSITE]),
        "accounts_reviewed": sorted(reviewed[ACCOUNT]),
        "items_flagged": list(flagged_docs),
        "items_confirmed": list(confirmed_docs),
        "sites_confirmed": sorted(confirmed_sites),
        "cases_opened": opened,
        "cases_sanctioned": list(sanctioned),
        "subjects_sanctioned": sanctioned_subjects,
        "fines_total": list(sanctioned),
        "cases_removed": list(moved.get("removed", {})),
        "cases_dismissed": list(moved.get("dismissed", {})),
        "tips_received": received,
        "tips_answered": answered,
        "removals_confirmed": removal_ids,
    }
    details = {
        "items_flagged_covid": per_queue["covid"],
        "items_flagged_claim": per_queue["claim"],
        "sites_crawled": len(crawled[WEBSITE]),
        "accounts_crawled": len(crawled[ACCOUNT]),
        "cases_closed": len(moved.get("closed", {})),
    }

    # -- charts' data ----------------------------------------------------------------------------
    weeks: dict[date, list[int]] = {}
    week = _week(from_day)
    while week <= to_day:
        weeks[week] = [0, 0]
        week += timedelta(days=7)
    for at in flagged_docs.values():
        weeks.setdefault(_week_at(at), [0, 0])[0] += 1
    for at in confirmed_docs.values():
        weeks.setdefault(_week_at(at), [0, 0])[1] += 1
    weekly = [(week.isoformat(), f, c) for week, (f, c) in sorted(weeks.items())]

    per_subject: dict[tuple[str, str], dict[str, Any]] = {}

    def slot(subject: str, kind: str) -> dict[str, Any]:
        return per_subject.setdefault(
            (subject, kind),
            {
                "subject": subject,
                "kind": kind,
                "flagged": 0,
                "confirmed": 0,
                "cases": 0,
                "fines": 0,
            },
        )

    for (subject, kind), n in subject_flags.items():
        slot(subject, kind)["flagged"] = n
    for item, entry in last.items():
        info = meta.get(item)
        if info and entry.action == "decide":
            verdict = (entry.after or {}).get("verdict")
            if verdict in (*CONFIRMED_VERDICTS, "confirmed"):
                slot(*_subject_of(info))["confirmed"] += 1
    for entry in entries:
        if entry.item_id.startswith("case:") and entry.action == "open":
            state = entry.after or {}
            kind = ACCOUNT if "/" in str(state.get("subject")) else WEBSITE
            slot(str(state.get("subject")), kind)["cases"] += 1
    for state in sanctioned.values():
        subject = str(state.get("subject"))
        slot(subject, ACCOUNT if "/" in subject else WEBSITE)["fines"] += int(
            state.get("fine") or 0
        )
    top = sorted(
        (row for row in per_subject.values() if row["subject"]),
        key=lambda row: (-row["confirmed"], -row["cases"], -row["flagged"], row["subject"]),
    )[:TOP_SUBJECTS]

    return Report(
        from_day=from_day,
        to_day=to_day,
        counts=counts,
        rows=rows,
        details=details,
        weekly=weekly,
        top_subjects=top,
        case_outcomes={
            key: outcomes[key]
            for key in (
                "opened",
                "evidence-complete",
                "notice-sent",
                "sanctioned",
                "removed",
                "dismissed",
                "closed",
            )
        },
        decision_days=decision_days,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
