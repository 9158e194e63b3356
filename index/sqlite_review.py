"""Review queues on SQLite: rows for :class:`~index.review.ReviewItem` and the audit log.

The rules live in :mod:`index.review` (pure); this module reads an item, applies a rule and
writes it back with ``UPDATE ... WHERE version = ?`` inside the caller's transaction, then
appends the audit entry and sets the document's ``review_status``. Every function takes
the connection of an open transaction (writes) or the read connection (reads).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from index.documents import Document
from index.errors import ConflictError, NotFound, ReviewError
from index.review import (
    QUEUES,
    AuditEntry,
    ReviewItem,
    claim_item,
    decide_item,
    reopen_item,
    review_items_for_documents,
    review_items_for_site,
    review_status_of,
)
from index.sqlite_docvalues import log_changed_ids

__all__ = [
    "claim",
    "counts",
    "decide",
    "enqueue_documents",
    "enqueue_items",
    "enqueue_site",
    "export_audit_page",
    "export_items",
    "get_item",
    "history",
    "import_audit",
    "import_items",
    "list_items",
    "reopen",
]

_COLUMNS = tuple(f.name for f in fields(ReviewItem))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM review_items"
_INSERT = (
    f"INSERT INTO review_items ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
# A re-crawl refreshes what an analyst reads on an open item; decisions are never touched.
_REFRESH = (
    "UPDATE review_items SET title = ?, excerpt = ?, url = ?, score = ?, evidence = ?, "
    "priority = ? WHERE id = ? AND status = 'open'"
)


def _item(row: tuple[Any, ...]) -> ReviewItem:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["evidence"] = json.loads(data["evidence"])
    return ReviewItem(**data)


def _values(item: ReviewItem) -> tuple[Any, ...]:
    data = item.to_dict()
    data["evidence"] = json.dumps(item.evidence, ensure_ascii=False, sort_keys=True)
    return tuple(data[name] for name in _COLUMNS)


_AUDIT = (
    "INSERT INTO review_audit (item_id, at, user, action, note, before, after) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _audit_values(
    item: ReviewItem, user: str, action: str, note: str, before: dict[str, Any] | None
) -> tuple[Any, ...]:
    return (
        item.id,
        item.updated_at,
        user,
        action,
        note,
        None if before is None else json.dumps(before, ensure_ascii=False),
        json.dumps(item.state(), ensure_ascii=False),
    )


def _set_review_status(conn: sqlite3.Connection, item: ReviewItem) -> None:
    status = review_status_of(item)
    if item.queue == "site":
        conn.execute(
            "UPDATE sites SET profile = json_set(profile, '$.review_status', ?) WHERE site = ?",
            (status, item.target_id),
        )
    else:
        conn.execute(
            "UPDATE documents SET review_status = ?, version = version + 1 WHERE id = ?",
            (status, item.target_id),
        )
        log_changed_ids(conn, [item.target_id])


# -- enqueueing ------------------------------------------------------------------------------


def _enqueue(conn: sqlite3.Connection, items: list[ReviewItem], note: str = "") -> None:
    if not items:
        return
    marks = ", ".join("?" * len(items))
    known = {
        row[0]
        for row in conn.execute(
            f"SELECT id FROM review_items WHERE id IN ({marks})", [item.id for item in items]
        )
    }
    fresh = [item for item in items if item.id not in known]
    for item in fresh:
        item.version = 1
    conn.executemany(_INSERT, [_values(item) for item in fresh])
    conn.executemany(
        _REFRESH,
        [
            (
                item.title,
                item.excerpt,
                item.url,
                item.score,
                json.dumps(item.evidence, ensure_ascii=False, sort_keys=True),
                item.priority,
                item.id,
            )
            for item in items
            if item.id in known
        ],
    )
    conn.executemany(
        _AUDIT, [_audit_values(item, "system", "enqueue", note, None) for item in fresh]
    )
    # No doc_changes entry: documents are only enqueued by the upsert that wrote them, and
    # it logs their rows (SqliteStore._upsert_batch).
    conn.executemany(
        "UPDATE documents SET review_status = 'open' WHERE id = ? AND review_status = 'none'",
        [(item.target_id,) for item in fresh if item.queue != "site"],
    )


def enqueue_documents(conn: sqlite3.Connection, docs: Iterable[Document], now: datetime) -> None:
    """The review step of an upsert (:func:`index.review.review_items_for_documents`), in its
    transaction: queue every flagged document once per queue; refresh open items on re-crawl."""
    _enqueue(conn, review_items_for_documents(docs, now))


def enqueue_items(conn: sqlite3.Connection, items: list[ReviewItem], note: str = "") -> None:
    """Queue ready-made items (a citizen's tip, ``index.sqlite_cases``; a copy of a decided
    rumour, :mod:`index.spread`): new ones are created and audited with ``note``, open ones
    refreshed, decided ones left alone. Documents that enter a queue this way get their
    ``review_status`` and a change-log entry here (an upsert may not have written them)."""
    _enqueue(conn, items, note)
    log_changed_ids(conn, [item.target_id for item in items if item.queue != "site"])


def enqueue_site(conn: sqlite3.Connection, profile: dict[str, Any], now: datetime) -> None:
    """The review step of ``upsert_site``: queue a flagged site profile (truthy ``flag``) once."""
    if items := review_items_for_site(profile, now):
        _enqueue(conn, items)


# -- reads -----------------------------------------------------------------------------------


def get_item(conn: sqlite3.Connection, item_id: str) -> ReviewItem | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else _item(row)


def list_items(
    conn: sqlite3.Connection, queue: str, *, status: str, limit: int, offset: int
) -> list[ReviewItem]:
    """Items of ``queue`` with ``status`` ("open", "decided" or "all").

    Open items come highest priority first; decided ones most recently decided first.
    """
    if queue not in QUEUES:
        raise ReviewError(f"unknown review queue {queue!r} (known: {', '.join(QUEUES)})")
    if status == "open":
        where, order = "status = 'open'", "priority DESC, id"
    elif status == "decided":
        where, order = "status = 'decided'", "decided_at DESC, id"
    elif status == "all":
        where, order = "1", "status = 'decided', priority DESC, id"
    else:
        raise ReviewError(f"unknown review status {status!r} (known: open, decided, all)")
    rows = conn.execute(
        f"{_SELECT} WHERE queue = ? AND {where} ORDER BY {order} LIMIT ? OFFSET ?",
        (queue, limit, offset),
    ).fetchall()
    return [_item(row) for row in rows]


def counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """``{queue: {"open": n, "decided": m}}`` for every queue."""
    result = {queue: {"open": 0, "decided": 0} for queue in QUEUES}
    for queue, status, n in conn.execute(
        "SELECT queue, status, count(*) FROM review_items GROUP BY queue, status"
    ):
        result.setdefault(queue, {})[status] = n
    return result


def history(conn: sqlite3.Connection, item_id: str) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT item_id, at, user, action, note, before, after FROM review_audit "
        "WHERE item_id = ? ORDER BY seq",
        (item_id,),
    ).fetchall()
    return [_audit_entry(row) for row in rows]


# -- transitions -----------------------------------------------------------------------------


def _load(conn: sqlite3.Connection, item_id: str) -> ReviewItem:
    item = get_item(conn, item_id)
    if item is None:
        raise NotFound(f"no review item {item_id!r}")
    return item


def _save(
    conn: sqlite3.Connection, before: ReviewItem, after: ReviewItem, action: str, note: str
) -> ReviewItem:
    """Compare-and-swap ``after`` over ``before`` (by version), audit, follow on the target."""
    after.version = int(before.version) + 1
    assignments = ", ".join(f"{name} = ?" for name in _COLUMNS if name != "id")
    values = [value for name, value in zip(_COLUMNS, _values(after), strict=True) if name != "id"]
    cursor = conn.execute(
        f"UPDATE review_items SET {assignments} WHERE id = ? AND version = ?",
        (*values, before.id, before.version),
    )
    if cursor.rowcount != 1:  # only possible if another process wrote between read and write
        current = _load(conn, before.id)
        raise ConflictError(
            f"review item {before.id} changed meanwhile: {current.updated_by} "
            f"at {current.updated_at}"
        )
    conn.execute(_AUDIT, _audit_values(after, after.updated_by, action, note, before.state()))
    _set_review_status(conn, after)
    return after


def claim(
    conn: sqlite3.Connection, item_id: str, user: str, lease_seconds: int, now: datetime
) -> ReviewItem:
    item = _load(conn, item_id)
    claimed = claim_item(item, user, lease_seconds=lease_seconds, now=now)
    note = f"lease until {claimed.lease_until}"
    return _save(conn, item, claimed, "claim", note)


def decide(
    conn: sqlite3.Connection,
    item_id: str,
    user: str,
    verdict: str,
    note: str,
    expected_version: str | int,
    now: datetime,
) -> ReviewItem:
    item = _load(conn, item_id)
    decided = decide_item(item, user, verdict, note, expected_version=expected_version, now=now)
    return _save(conn, item, decided, "decide", note)


def reopen(
    conn: sqlite3.Connection,
    item_id: str,
    user: str,
    note: str,
    expected_version: str | int,
    now: datetime,
) -> ReviewItem:
    item = _load(conn, item_id)
    reopened = reopen_item(item, user, note, expected_version=expected_version, now=now)
    return _save(conn, item, reopened, "reopen", note)


# -- migration hooks (see index.store.ReviewTransfer) ---------------------------------------

_EXPORT_PAGE = 1000


def _audit_entry(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        item_id=row[0],
        at=row[1],
        user=row[2],
        action=row[3],
        note=row[4],
        before=None if row[5] is None else json.loads(row[5]),
        after=None if row[6] is None else json.loads(row[6]),
    )


def export_items(conn: sqlite3.Connection) -> list[ReviewItem]:
    """Every item as stored, least recently changed first (so a target that replays them
    in order ends with each document following its most recently changed item)."""
    return [_item(row) for row in conn.execute(f"{_SELECT} ORDER BY updated_at, id")]


def export_audit_page(conn: sqlite3.Connection, after_seq: int) -> list[tuple[int, AuditEntry]]:
    """Up to a page of audit entries with ``seq`` greater than ``after_seq``, in order."""
    rows = conn.execute(
        "SELECT seq, item_id, at, user, action, note, before, after FROM review_audit "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, _EXPORT_PAGE),
    ).fetchall()
    return [(row[0], _audit_entry(row[1:])) for row in rows]


def import_items(conn: sqlite3.Connection, items: Iterable[ReviewItem]) -> int:
    """Write items exactly as given (status, verdict, decision, lease, timestamps).

    An item with the same id is replaced and its version bumped, so a version read before
    the import no longer matches; a new item starts at version 1. The target document's
    (or site's) ``review_status`` follows, as after any review action.
    """
    written = 0
    for item in items:
        row = conn.execute("SELECT version FROM review_items WHERE id = ?", (item.id,)).fetchone()
        stored = replace(item, version=1 if row is None else int(row[0]) + 1)
        conn.execute("DELETE FROM review_items WHERE id = ?", (item.id,))
        conn.execute(_INSERT, _values(stored))
        _set_review_status(conn, stored)
        written += 1
    return written


def import_audit(conn: sqlite3.Connection, entries: Iterable[AuditEntry]) -> int:
    """Append entries in the given order, skipping those an earlier import wrote.

    The stream is read as each item's history from its start: the k-th entry given for an
    item is appended only if the item holds fewer than k entries, so a rerun appends just
    what is new. Returns the number appended.
    """
    held: dict[str, int] = {}
    seen: dict[str, int] = {}
    written = 0
    for entry in entries:
        if entry.item_id not in held:
            held[entry.item_id] = conn.execute(
                "SELECT count(*) FROM review_audit WHERE item_id = ?", (entry.item_id,)
            ).fetchone()[0]
        seen[entry.item_id] = position = seen.get(entry.item_id, 0) + 1
        if position <= held[entry.item_id]:
            continue
        conn.execute(
            _AUDIT,
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
        written += 1
    return written
