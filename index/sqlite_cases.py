"""Subjects, cases and tips on SQLite (tables of migration 0011), as a mixin of
:class:`~index.sqlite.SqliteStore`.

The rules are :mod:`index.cases`' (pure), the sequence of each change
:class:`~index.case_workflow.CaseWorkflow`'s. Each write reads the row, applies a rule and writes
it back with ``UPDATE ... WHERE version = ?`` in one transaction, appending the audit entry to
``review_audit`` (the store's one append-only log). :func:`register_subjects` runs inside every
document upsert, so subjects exist as soon as their first document does.

Size: the SQLite side of three record kinds that share one transaction, the audit table and
the row conversions, plus the report's inputs and the migration hooks; the sequence of each
change is :mod:`index.case_workflow`'s, the rules :mod:`index.cases`'.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import datetime
from typing import Any

from index import sqlite_review
from index.case_evidence import (
    SubjectCounter,
    apply_profiles,
    sort_subjects,
    tip_review_item,
)
from index.case_workflow import CaseWorkflow
from index.cases import (
    CASE_STATUSES,
    TIP_CHANNELS,
    TIP_STATUSES,
    Case,
    CaseError,
    Tip,
    case_audit_id,
    local_day,
    new_case,
    parse_day,
    record_number,
    subject_audit_id,
    tip_audit_id,
    tip_status,
)
from index.documents import Document
from index.errors import ConflictError, NotFound
from index.review import AuditEntry, ReviewItem, format_time, item_id, utcnow
from index.sqlite_sql import DOCUMENT_COLUMNS, document_from_row, quote_identifier
from index.subjects import CONFIRMED_VERDICTS, Subject, SubjectRef, subject_ref

__all__ = ["SqliteCaseTransfer", "SqliteCases", "register_documents", "register_subjects"]

_AUDIT = (
    "INSERT INTO review_audit (item_id, at, user, action, note, before, after) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SUBJECT_COLUMNS = (
    "id",
    "kind",
    "name",
    "sites",
    "licence",
    "owner",
    "note",
    "created_at",
    "updated_at",
    "updated_by",
    "version",
)
_CASE_COLUMNS = tuple(f.name for f in fields(Case) if f.name != "id")
_TIP_COLUMNS = tuple(f.name for f in fields(Tip) if f.name not in ("id", "verdict"))
_CASE_JSON = ("items", "evidence")


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _audit(
    conn: sqlite3.Connection,
    audit_id: str,
    at: str,
    user: str,
    action: str,
    note: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    conn.execute(_AUDIT, (audit_id, at, user, action, note, _dumps(before), _dumps(after)))


def register_subjects(
    conn: sqlite3.Connection, refs: Iterable[SubjectRef], now: datetime
) -> list[str]:
    """Create missing subjects (audited as ``create`` by ``system``) and add hosts newly
    seen under a website; returns the ids created. Runs in the caller's transaction."""
    wanted: dict[str, tuple[str, set[str]]] = {}
    for ref in refs:
        kind, hosts = wanted.setdefault(ref.id, (ref.kind, set()))
        if ref.site:
            hosts.add(ref.site)
    if not wanted:
        return []
    stamp = format_time(now)
    ids = list(wanted)
    known: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for key, sites in conn.execute(
            f"SELECT id, sites FROM subjects WHERE id IN ({marks})", chunk
        ):
            known[key] = json.loads(sites)
    created = []
    for key, (kind, hosts) in wanted.items():
        if key not in known:
            sites = sorted(hosts)
            conn.execute(
                "INSERT INTO subjects (id, kind, sites, created_at, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, 'system')",
                (key, kind, json.dumps(sites), stamp, stamp),
            )
            _audit(
                conn,
                subject_audit_id(key),
                stamp,
                "system",
                "create",
                "first document stored",
                None,
                {"kind": kind, "sites": sites},
            )
            created.append(key)
        elif not hosts <= set(known[key]):
            conn.execute(
                "UPDATE subjects SET sites = ? WHERE id = ?",
                (json.dumps(sorted(hosts | set(known[key]))), key),
            )
    return created


def register_documents(conn: sqlite3.Connection, docs: Iterable[Document], now: datetime) -> None:
    """The upsert hook: subjects of a batch of documents."""
    refs = [ref for doc in docs if (ref := subject_ref(doc.site, doc.url, doc.kind))]
    register_subjects(conn, refs, now)


def _subject(row: tuple[Any, ...]) -> Subject:
    data = dict(zip(_SUBJECT_COLUMNS, row, strict=True))
    data["sites"] = json.loads(data["sites"])
    return Subject(**data)


def _case(row: tuple[Any, ...]) -> Case:
    data = dict(zip(("id", *_CASE_COLUMNS), row, strict=True))
    data["id"] = str(data["id"])
    for name in _CASE_JSON:
        data[name] = json.loads(data[name])
    return Case(**data)


def _tip(row: tuple[Any, ...], review_status: str | None, verdict: str | None) -> Tip:
    data = dict(zip(("id", *_TIP_COLUMNS), row, strict=True))
    data["id"] = str(data["id"])
    tip = Tip(**data)
    tip.status = tip_status(tip.status, review_status)
    tip.verdict = verdict
    return tip


_TIP_SELECT = (
    f"SELECT t.num, {', '.join('t.' + c for c in _TIP_COLUMNS)}, r.status, r.verdict "
    "FROM tips t LEFT JOIN review_items r ON r.id = t.review_item"
)


def _entries(rows: list[tuple[Any, ...]]) -> list[AuditEntry]:
    return [
        AuditEntry(
            item_id=row[0],
            at=row[1],
            user=row[2],
            action=row[3],
            note=row[4],
            before=None if row[5] is None else json.loads(row[5]),
            after=None if row[6] is None else json.loads(row[6]),
        )
        for row in rows
    ]


def _history(conn: sqlite3.Connection, audit_id: str) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT item_id, at, user, action, note, before, after FROM review_audit "
        "WHERE item_id = ? ORDER BY seq",
        (audit_id,),
    ).fetchall()
    return _entries(rows)


class SqliteCases(CaseWorkflow):
    """The :class:`~index.cases.CaseStore` methods of the SQLite store.

    Uses the store's ``_transaction`` (write connection, ``BEGIN IMMEDIATE``) and
    ``reading`` (read-only connection under the time limit).
    """

    _transaction: Any
    reading: Any

    # -- the primitives of CaseWorkflow ----------------------------------------------------------

    def _writing(self, operation: str) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction()

    def _reading(self, operation: str) -> AbstractContextManager[sqlite3.Connection]:
        return self.reading()

    def _append_audit(
        self,
        conn: sqlite3.Connection,
        audit_id: str,
        at: str,
        user: str,
        action: str,
        note: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        _audit(conn, audit_id, at, user, action, note, before, after)

    def _history_of(self, conn: sqlite3.Connection, audit_id: str) -> list[AuditEntry]:
        return _history(conn, audit_id)

    def _review_item(self, conn: sqlite3.Connection, review_id: str) -> ReviewItem | None:
        return sqlite_review.get_item(conn, review_id)

    def _site_profile(self, conn: sqlite3.Connection, site: str) -> dict[str, Any] | None:
        row = conn.execute("SELECT profile FROM sites WHERE site = ?", (site,)).fetchone()
        return json.loads(row[0]) if row else None

    def _document(self, conn: sqlite3.Connection, doc_id: str) -> Document | None:
        columns = ", ".join(map(quote_identifier, DOCUMENT_COLUMNS))
        row = conn.execute(f"SELECT {columns} FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else document_from_row(row)

    # -- subjects ----------------------------------------------------------------------------

    def _subjects(
        self, conn: sqlite3.Connection, where: str = "", params: Any = ()
    ) -> list[Subject]:
        columns = ", ".join(_SUBJECT_COLUMNS)
        rows = conn.execute(f"SELECT {columns} FROM subjects {where}", params).fetchall()
        return [_subject(row) for row in rows]

    def _fill_subjects(self, conn: sqlite3.Connection, subjects: list[Subject]) -> None:
        counter = SubjectCounter()
        for site, kind, n in conn.execute(
            "SELECT site, kind, sum(n) FROM facet_counts WHERE kind != 'social' GROUP BY site, kind"
        ):
            counter.add(counter.documents, counter.key(site, "", kind), n)
        for site, n in conn.execute(
            "SELECT d.site, count(DISTINCT f.doc_rowid) FROM document_flags f "
            "JOIN documents d ON d.rowid = f.doc_rowid "
            "WHERE f.flag IN ('covid', 'claim') AND d.kind != 'social' GROUP BY d.site"
        ):
            counter.add(counter.flagged, counter.key(site, "", "news"), n)
        for url, flagged in conn.execute(
            "SELECT url, EXISTS (SELECT 1 FROM document_flags f WHERE f.doc_rowid = documents.rowid "
            "AND f.flag IN ('covid', 'claim')) FROM documents WHERE kind = 'social'"
        ):
            key = counter.key("", url, "social")
            counter.add(counter.documents, key)
            if flagged:
                counter.add(counter.flagged, key)
        marks = ", ".join("?" * len(CONFIRMED_VERDICTS))
        for site, url, kind in conn.execute(
            "SELECT DISTINCT r.site, r.url, d.kind FROM review_items r "
            "JOIN documents d ON d.id = r.target_id "
            f"WHERE r.queue IN ('covid', 'claim', 'tips') AND r.status = 'decided' "
            f"AND r.verdict IN ({marks})",
            CONFIRMED_VERDICTS,
        ):
            counter.add(counter.confirmed, counter.key(site, url, kind))
        for site in (
            row[0]
            for row in conn.execute(
                "SELECT target_id FROM review_items WHERE queue = 'site' AND status = 'decided' "
                "AND verdict = 'confirmed'"
            )
        ):
            counter.add(counter.confirmed, counter.key(site, "", "news"))
        cases = dict(conn.execute("SELECT subject, count(*) FROM cases GROUP BY subject"))
        counter.fill(subjects, cases)
        profiles = {
            site: json.loads(profile)
            for site, profile in conn.execute("SELECT site, profile FROM sites")
        }
        apply_profiles(subjects, profiles)

    def subject_list(self, *, flagged: bool = False) -> list[Subject]:
        with self.reading() as conn:
            subjects = self._subjects(conn)
            self._fill_subjects(conn, subjects)
        return sort_subjects(subjects, flagged=flagged)

    def _load_subject(self, conn: sqlite3.Connection, subject_id: str) -> Subject:
        found = self._subjects(conn, "WHERE id = ?", (subject_id,))
        if not found:
            raise NotFound(f"no subject {subject_id!r} (see `misinfo subjects`)")
        return found[0]

    def subject_get(self, subject_id: str) -> Subject:
        with self.reading() as conn:
            subject = self._load_subject(conn, subject_id)
            self._fill_subjects(conn, [subject])
        return subject

    # -- cases -------------------------------------------------------------------------------

    def _save_subject(self, conn: sqlite3.Connection, before: Subject, after: Subject) -> None:
        after.version = int(before.version) + 1
        changed = conn.execute(
            "UPDATE subjects SET name = ?, licence = ?, owner = ?, note = ?, updated_at = ?, "
            "updated_by = ?, version = ? WHERE id = ? AND version = ?",
            (
                after.name,
                after.licence,
                after.owner,
                after.note,
                after.updated_at,
                after.updated_by,
                after.version,
                before.id,
                before.version,
            ),
        ).rowcount
        if changed != 1:
            raise ConflictError(f"subject {before.id} changed meanwhile; reload")

    def _save_case(self, conn: sqlite3.Connection, before: Case, after: Case, action: str) -> Case:
        after.version = int(before.version) + 1
        values = after.to_dict()
        for name in _CASE_JSON:
            values[name] = _dumps(values[name])
        assignments = ", ".join(f"{name} = ?" for name in _CASE_COLUMNS)
        changed = conn.execute(
            f"UPDATE cases SET {assignments} WHERE num = ? AND version = ?",
            (*(values[name] for name in _CASE_COLUMNS), int(before.id), before.version),
        ).rowcount
        if changed != 1:
            raise ConflictError(f"case {before.id} changed meanwhile; reload and try again")
        _audit(
            conn,
            case_audit_id(after.id),
            after.updated_at,
            after.updated_by,
            action,
            after.note,
            before.state(),
            after.state(),
        )
        return after

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
        now = now or utcnow()
        with self._transaction() as conn:
            subject = self._load_subject(conn, subject_id)
            snapshots = self._snapshots(conn, subject, items)
            case = new_case(
                "0",
                subject,
                user,
                items=snapshots,
                note=note,
                legal_basis=legal_basis,
                title=title,
                now=now,
            )
            case.version = 1
            values = case.to_dict()
            for name in _CASE_JSON:
                values[name] = _dumps(values[name])
            cursor = conn.execute(
                f"INSERT INTO cases ({', '.join(_CASE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_CASE_COLUMNS))})",
                [values[name] for name in _CASE_COLUMNS],
            )
            case.id = str(cursor.lastrowid)
            _audit(
                conn,
                case_audit_id(case.id),
                case.opened_at,
                user,
                "open",
                case.note,
                None,
                case.state(),
            )
        return case

    def _load_case(self, conn: sqlite3.Connection, case_id: str) -> Case:
        num = record_number(case_id, "case")
        row = conn.execute(
            f"SELECT num, {', '.join(_CASE_COLUMNS)} FROM cases WHERE num = ?", (num,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no case {case_id!r}")
        return _case(row)

    def case_get(self, case_id: str) -> Case:
        with self.reading() as conn:
            return self._load_case(conn, case_id)

    def case_list(
        self,
        *,
        status: str | None = None,
        subject: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Case]:
        if status is not None and status not in CASE_STATUSES:
            raise CaseError(f"unknown case status {status!r} (known: {', '.join(CASE_STATUSES)})")
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if subject:
            where.append("subject = ?")
            params.append(subject)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT num, {', '.join(_CASE_COLUMNS)} FROM cases {clause} "
                "ORDER BY updated_at DESC, num DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [_case(row) for row in rows]

    # -- tips --------------------------------------------------------------------------------

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

        if channel not in TIP_CHANNELS:
            raise CaseError(f"unknown channel {channel!r} (known: {', '.join(TIP_CHANNELS)})")
        now = now or utcnow()
        stamp = format_time(now)
        received = parse_day(received_at, "received date") or local_day(now)
        with self._transaction() as conn:
            review_item = None
            if doc_id is not None:
                columns = ", ".join(map(quote_identifier, DOCUMENT_COLUMNS))
                row = conn.execute(
                    f"SELECT {columns} FROM documents WHERE id = ?", (doc_id,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no document {doc_id!r} for the tip")
                doc = document_from_row(row)
                review_item = item_id("tips", doc.id)
            cursor = conn.execute(
                "INSERT INTO tips (url, note, channel, reporter, received_at, doc_id, review_item, "
                "fetch_error, status, created_at, created_by, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)",
                (
                    url,
                    note.strip(),
                    channel,
                    reporter.strip(),
                    received,
                    doc_id,
                    review_item,
                    fetch_error,
                    stamp,
                    user,
                    stamp,
                    user,
                ),
            )
            tip_id = str(cursor.lastrowid)
            if doc_id is not None:
                tips = [
                    {"tip": str(num), "note": tip_note, "channel": tip_channel, "received_at": day}
                    for num, tip_note, tip_channel, day in conn.execute(
                        "SELECT num, note, channel, received_at FROM tips WHERE doc_id = ? "
                        "ORDER BY num",
                        (doc_id,),
                    )
                ]
                sqlite_review.enqueue_items(conn, [tip_review_item(doc, tips, now)])
            _audit(
                conn,
                tip_audit_id(tip_id),
                stamp,
                user,
                "receive",
                note.strip(),
                None,
                {
                    "status": "received",
                    "received_at": received,
                    "doc_id": doc_id,
                    "url": url,
                    "channel": channel,
                },
            )
        return self.tip_get(tip_id)

    def _load_tip(self, conn: sqlite3.Connection, tip_id: str) -> Tip:
        num = record_number(tip_id, "tip")
        row = conn.execute(f"{_TIP_SELECT} WHERE t.num = ?", (num,)).fetchone()
        if row is None:
            raise NotFound(f"no tip {tip_id!r}")
        return _tip(row[:-2], row[-2], row[-1])

    def _save_tip_answer(self, conn: sqlite3.Connection, before: Tip, after: Tip) -> None:
        changed = conn.execute(
            "UPDATE tips SET status = 'answered', answer = ?, answered_at = ?, answered_by = ?, "
            "updated_at = ?, updated_by = ?, version = version + 1 "
            "WHERE num = ? AND version = ?",
            (
                after.answer,
                after.answered_at,
                after.answered_by,
                after.updated_at,
                after.updated_by,
                int(before.id),
                before.version,
            ),
        ).rowcount
        if changed != 1:
            raise ConflictError(f"tip {before.id} changed meanwhile; reload and try again")

    def tip_get(self, tip_id: str) -> Tip:
        with self.reading() as conn:
            return self._load_tip(conn, tip_id)

    def tip_list(
        self, *, status: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[Tip]:
        if status is not None and status not in TIP_STATUSES:
            raise CaseError(f"unknown tip status {status!r} (known: {', '.join(TIP_STATUSES)})")
        where = {
            None: "",
            "answered": "WHERE t.status = 'answered'",
            "reviewed": "WHERE t.status != 'answered' AND r.status = 'decided'",
            "received": "WHERE t.status != 'answered' AND (r.status IS NULL OR r.status != 'decided')",
        }[status]
        with self.reading() as conn:
            rows = conn.execute(
                f"{_TIP_SELECT} {where} ORDER BY t.received_at DESC, t.num DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_tip(row[:-2], row[-2], row[-1]) for row in rows]

    # -- report inputs -----------------------------------------------------------------------

    def audit_entries(self, prefix: str, action: str) -> list[AuditEntry]:
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT item_id, at, user, action, note, before, after FROM review_audit "
                "WHERE item_id >= ? AND item_id < ? AND action = ? ORDER BY seq",
                (prefix, prefix + "\uffff", action),
            ).fetchall()
        return _entries(rows)

    def audit_between(self, since: str, until: str) -> list[AuditEntry]:
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT item_id, at, user, action, note, before, after FROM review_audit "
                "WHERE at >= ? AND at < ? AND action != 'enqueue' ORDER BY seq",
                (since, until),
            ).fetchall()
        return _entries(rows)

    def flag_rows(self, since: str, until: str) -> list[tuple[str, str, str, str, str, str]]:
        with self.reading() as conn:
            # A host with social posts is a platform: its items are posts of accounts (no
            # join with the wide documents rows for each item's kind).
            social = {
                row[0]
                for row in conn.execute("SELECT site FROM facet_counts WHERE kind = 'social'")
            }
            rows = conn.execute(
                "SELECT r.queue, r.target_id, a.at, r.site, r.url FROM review_audit a "
                "JOIN review_items r ON r.id = a.item_id "
                "WHERE a.at >= ? AND a.at < ? AND a.action = 'enqueue' "
                "AND r.queue IN ('covid', 'claim', 'tips')",
                (since, until),
            ).fetchall()
        return [(*row, "social" if row[3] in social else "news") for row in rows]

    def item_meta(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(item_ids))
        with self.reading() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                for row in conn.execute(
                    "SELECT r.id, r.queue, r.target_id, r.site, r.url, r.created_at, r.title, "
                    "d.kind FROM review_items r LEFT JOIN documents d ON d.id = r.target_id "
                    f"WHERE r.id IN ({marks})",
                    chunk,
                ):
                    found[row[0]] = dict(
                        zip(
                            ("queue", "target_id", "site", "url", "created_at", "title", "kind"),
                            row[1:],
                            strict=True,
                        )
                    )
        return found

    def crawled_sites(self, since: str, until: str) -> list[tuple[str, str, str, int]]:
        from index.subjects import account_key

        with self.reading() as conn:
            news = conn.execute(
                "SELECT site, kind, count(*) FROM documents WHERE fetched_utc >= ? "
                "AND fetched_utc < ? AND kind != 'social' GROUP BY site, kind",
                (since, until),
            ).fetchall()
            social = conn.execute(
                "SELECT site, url FROM documents WHERE fetched_utc >= ? AND fetched_utc < ? "
                "AND kind = 'social'",
                (since, until),
            ).fetchall()
        rows = [(site, kind, "", n) for site, kind, n in news]
        per_account: dict[tuple[str, str], int] = {}
        for site, url in social:
            key = (site, account_key(url))
            per_account[key] = per_account.get(key, 0) + 1
        rows += [(site, "social", key, n) for (site, key), n in per_account.items()]
        return rows


class SqliteCaseTransfer:
    """``misinfo index migrate`` hooks: subjects, cases and tips exactly as stored."""

    _transaction: Any
    reading: Any

    def export_case_records(self) -> dict[str, list[Any]]:
        """``{"subjects", "cases", "tips"}`` as stored (a tip's own status, not the derived
        one); the audit log travels with the review audit export."""
        with self.reading() as conn:
            subjects = [
                _subject(row)
                for row in conn.execute(f"SELECT {', '.join(_SUBJECT_COLUMNS)} FROM subjects")
            ]
            cases = [
                _case(row)
                for row in conn.execute(f"SELECT num, {', '.join(_CASE_COLUMNS)} FROM cases")
            ]
            tips = [
                Tip(**dict(zip(("id", *_TIP_COLUMNS), (str(row[0]), *row[1:]), strict=True)))
                for row in conn.execute(f"SELECT num, {', '.join(_TIP_COLUMNS)} FROM tips")
            ]
        return {"subjects": subjects, "cases": cases, "tips": tips}

    def import_case_records(self, records: dict[str, list[Any]]) -> int:
        """Write subjects, cases and tips as given, keeping ids (versions re-issued)."""
        written = 0
        with self._transaction() as conn:
            for subject in records.get("subjects", []):
                conn.execute(
                    "INSERT INTO subjects (id, kind, name, sites, licence, owner, note, "
                    "created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, sites = excluded.sites, "
                    "licence = excluded.licence, owner = excluded.owner, note = excluded.note, "
                    "created_at = excluded.created_at, updated_at = excluded.updated_at, "
                    "updated_by = excluded.updated_by, version = subjects.version + 1",
                    (
                        subject.id,
                        subject.kind,
                        subject.name,
                        json.dumps(sorted(subject.sites)),
                        subject.licence,
                        subject.owner,
                        subject.note,
                        subject.created_at,
                        subject.updated_at,
                        subject.updated_by,
                    ),
                )
                written += 1
            for case in records.get("cases", []):
                values = case.to_dict()
                for name in _CASE_JSON:
                    values[name] = _dumps(values[name])
                old = conn.execute("SELECT version FROM cases WHERE num = ?", (int(case.id),))
                row = old.fetchone()
                values["version"] = 1 if row is None else row[0] + 1
                conn.execute(
                    f"INSERT OR REPLACE INTO cases (num, {', '.join(_CASE_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(_CASE_COLUMNS))})",
                    (int(case.id), *(values[name] for name in _CASE_COLUMNS)),
                )
                written += 1
            for tip in records.get("tips", []):
                values = tip.to_dict()
                row = conn.execute(
                    "SELECT version FROM tips WHERE num = ?", (int(tip.id),)
                ).fetchone()
                values["version"] = 1 if row is None else row[0] + 1
                values["status"] = "answered" if tip.status == "answered" else "received"
                conn.execute(
                    f"INSERT OR REPLACE INTO tips (num, {', '.join(_TIP_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(_TIP_COLUMNS))})",
                    (int(tip.id), *(values[name] for name in _TIP_COLUMNS)),
                )
                written += 1
        return written
