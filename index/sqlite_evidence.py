"""Evidence metadata on SQLite: archived files, takedown checks, watches.

The tables come from migration ``0010_evidence`` (:mod:`index.sqlite_schema`); triggers
make files and checks append-only, as the review audit log is. Audit entries go to
``review_audit`` under :func:`~index.evidence.audit_item_id`. Writes run in the store's
write transaction, reads on its read-only connection (both handed in by
:meth:`index.sqlite.SqliteStore.evidence`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import fields
from typing import Any

from index.evidence import Check, EvidenceFile, WatchState, audit_item_id
from index.review import AuditEntry

__all__ = ["SCHEMA", "SqliteEvidence"]

#: Migration ``0010_evidence``.
SCHEMA = """
CREATE TABLE evidence_files (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    captured_at TEXT NOT NULL,
    url TEXT NOT NULL,
    final_url TEXT NOT NULL,
    http_status INTEGER,
    origin TEXT NOT NULL,
    capture_id TEXT NOT NULL,
    captured_by TEXT NOT NULL,
    path TEXT NOT NULL,
    "offset" INTEGER,
    length INTEGER,
    record_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    tools TEXT NOT NULL
);
CREATE INDEX evidence_files_doc ON evidence_files (doc_id, captured_at);
CREATE TRIGGER evidence_files_no_update BEFORE UPDATE ON evidence_files
BEGIN SELECT RAISE(ABORT, 'evidence files are immutable'); END;
CREATE TRIGGER evidence_files_no_delete BEFORE DELETE ON evidence_files
BEGIN SELECT RAISE(ABORT, 'evidence files are never deleted'); END;
CREATE TABLE evidence_checks (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    final_url TEXT NOT NULL,
    response_sha256 TEXT NOT NULL,
    diff TEXT NOT NULL,
    detail TEXT NOT NULL,
    checked_by TEXT NOT NULL
);
CREATE INDEX evidence_checks_doc ON evidence_checks (doc_id, checked_at);
CREATE TRIGGER evidence_checks_no_update BEFORE UPDATE ON evidence_checks
BEGIN SELECT RAISE(ABORT, 'evidence checks are append-only'); END;
CREATE TRIGGER evidence_checks_no_delete BEFORE DELETE ON evidence_checks
BEGIN SELECT RAISE(ABORT, 'evidence checks are append-only'); END;
CREATE TABLE evidence_watch (
    doc_id TEXT PRIMARY KEY,
    watched INTEGER NOT NULL,
    reason TEXT NOT NULL,
    since TEXT NOT NULL,
    by TEXT NOT NULL
);
"""

_FILE_COLUMNS = tuple(f.name for f in fields(EvidenceFile))
_CHECK_COLUMNS = tuple(f.name for f in fields(Check))
_FILE_SELECT = "SELECT " + ", ".join(f'"{name}"' for name in _FILE_COLUMNS) + " FROM evidence_files"
_CHECK_SELECT = "SELECT " + ", ".join(_CHECK_COLUMNS) + " FROM evidence_checks"

Connections = Callable[[], AbstractContextManager[sqlite3.Connection]]


def _file(row: tuple[Any, ...]) -> EvidenceFile:
    data = dict(zip(_FILE_COLUMNS, row, strict=True))
    data["tools"] = json.loads(data["tools"])
    return EvidenceFile(**data)


def _file_values(item: EvidenceFile) -> tuple[Any, ...]:
    data = item.to_dict()
    data["tools"] = json.dumps(item.tools, sort_keys=True)
    return tuple(data[name] for name in _FILE_COLUMNS)


class SqliteEvidence:
    """:class:`~index.evidence.EvidenceStore` over a :class:`~index.sqlite.SqliteStore`'s
    connections (``transaction`` for writes, ``reading`` for reads)."""

    def __init__(self, transaction: Connections, reading: Connections) -> None:
        self._transaction = transaction
        self._reading = reading

    # -- files -----------------------------------------------------------------------------
    def add_files(self, files: list[EvidenceFile]) -> int:
        if not files:
            return 0
        marks = ", ".join("?" * len(_FILE_COLUMNS))
        columns = ", ".join(f'"{name}"' for name in _FILE_COLUMNS)
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                f"INSERT OR IGNORE INTO evidence_files ({columns}) VALUES ({marks})",
                [_file_values(item) for item in files],
            )
            return conn.total_changes - before

    def files(self, doc_id: str | None = None, *, limit: int = 1000) -> list[EvidenceFile]:
        with self._reading() as conn:
            if doc_id is None:
                rows = conn.execute(
                    f"{_FILE_SELECT} ORDER BY captured_at, id LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = conn.execute(
                    f"{_FILE_SELECT} WHERE doc_id = ? ORDER BY captured_at, id LIMIT ?",
                    (doc_id, limit),
                ).fetchall()
        return [_file(row) for row in rows]

    def get_file(self, file_id: str) -> EvidenceFile | None:
        with self._reading() as conn:
            row = conn.execute(f"{_FILE_SELECT} WHERE id = ?", (file_id,)).fetchone()
        return None if row is None else _file(row)

    def docs_with_files(self, doc_ids: list[str], kind: str) -> set[str]:
        found: set[str] = set()
        with self._reading() as conn:
            for start in range(0, len(doc_ids), 900):
                chunk = doc_ids[start : start + 900]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    row[0]
                    for row in conn.execute(
                        f"SELECT DISTINCT doc_id FROM evidence_files "
                        f"WHERE kind = ? AND doc_id IN ({marks})",
                        (kind, *chunk),
                    )
                )
        return found

    # -- checks ----------------------------------------------------------------------------
    def add_check(self, check: Check) -> None:
        data = check.to_dict()
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO evidence_checks ({', '.join(_CHECK_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_CHECK_COLUMNS))})",
                tuple(data[name] for name in _CHECK_COLUMNS),
            )

    def checks(self, doc_id: str) -> list[Check]:
        with self._reading() as conn:
            rows = conn.execute(
                f"{_CHECK_SELECT} WHERE doc_id = ? ORDER BY checked_at, id", (doc_id,)
            ).fetchall()
        return [Check(**dict(zip(_CHECK_COLUMNS, row, strict=True))) for row in rows]

    def first_removals_between(self, since: str, until: str) -> list[str]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT c.id FROM evidence_checks c WHERE c.status = 'removed' "
                "AND c.checked_at >= ? AND c.checked_at < ? AND NOT EXISTS ("
                "SELECT 1 FROM evidence_checks e WHERE e.doc_id = c.doc_id "
                "AND e.status = 'removed' AND (e.checked_at < c.checked_at "
                "OR (e.checked_at = c.checked_at AND e.id < c.id))) "
                "ORDER BY c.checked_at, c.id",
                (since, until),
            ).fetchall()
        return [row[0] for row in rows]

    def last_checks(self, doc_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._reading() as conn:
            for start in range(0, len(doc_ids), 900):
                chunk = doc_ids[start : start + 900]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    conn.execute(
                        "SELECT doc_id, max(checked_at) FROM evidence_checks "
                        f"WHERE doc_id IN ({marks}) GROUP BY doc_id",
                        chunk,
                    ).fetchall()
                )
        return found

    # -- watches ---------------------------------------------------------------------------
    def set_watch(self, doc_id: str, watched: bool, *, user: str, reason: str, at: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO evidence_watch (doc_id, watched, reason, since, by) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET "
                "watched = excluded.watched, reason = excluded.reason, "
                "since = excluded.since, by = excluded.by",
                (doc_id, int(watched), reason, at, user),
            )

    def _watch_rows(self, where: str, params: tuple[Any, ...]) -> list[WatchState]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT w.doc_id, w.watched, w.reason, w.since, w.by, "
                "(SELECT max(checked_at) FROM evidence_checks c WHERE c.doc_id = w.doc_id) "
                f"FROM evidence_watch w WHERE {where} ORDER BY w.since, w.doc_id",
                params,
            ).fetchall()
        return [
            WatchState(
                doc_id=row[0],
                watched=bool(row[1]),
                reason=row[2],
                since=row[3],
                by=row[4],
                last_checked_at=row[5],
            )
            for row in rows
        ]

    def watches(self) -> list[WatchState]:
        return self._watch_rows("w.watched = 1", ())

    def watch_state(self, doc_id: str) -> WatchState | None:
        rows = self._watch_rows("w.doc_id = ?", (doc_id,))
        return rows[0] if rows else None

    # -- migration -------------------------------------------------------------------------
    def _pages(self, select: str) -> Iterator[tuple[Any, ...]]:
        after = 0
        while True:
            with self._reading() as conn:
                rows = conn.execute(
                    f"{select.replace(' FROM ', ', rowid FROM ', 1)} WHERE rowid > ? "
                    "ORDER BY rowid LIMIT 1000",
                    (after,),
                ).fetchall()
            for row in rows:
                yield row[:-1]
            if len(rows) < 1000:
                return
            after = rows[-1][-1]

    def export_files(self) -> Iterator[EvidenceFile]:
        for row in self._pages(_FILE_SELECT):
            yield _file(row)

    def export_checks(self) -> Iterator[Check]:
        for row in self._pages(_CHECK_SELECT):
            yield Check(**dict(zip(_CHECK_COLUMNS, row, strict=True)))

    def export_watches(self) -> list[WatchState]:
        return self._watch_rows("1", ())

    def import_checks(self, checks: Iterable[Check]) -> int:
        rows = [check.to_dict() for check in checks]
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                f"INSERT OR IGNORE INTO evidence_checks ({', '.join(_CHECK_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_CHECK_COLUMNS))})",
                [tuple(row[name] for name in _CHECK_COLUMNS) for row in rows],
            )
            return conn.total_changes - before

    # -- audit -----------------------------------------------------------------------------
    def audit(self, entry: AuditEntry) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO review_audit (item_id, at, user, action, note, before, after) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.item_id,
                    entry.at,
                    entry.user,
                    entry.action,
                    entry.note,
                    None if entry.before is None else json.dumps(entry.before, ensure_ascii=False),
                    None if entry.after is None else json.dumps(entry.after, ensure_ascii=False),
                ),
            )

    def audit_history(self, doc_id: str) -> list[AuditEntry]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT item_id, at, user, action, note, before, after FROM review_audit "
                "WHERE item_id = ? ORDER BY seq",
                (audit_item_id(doc_id),),
            ).fetchall()
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
