"""A durable local spool in front of a store: nothing is lost while the cluster is away.

:class:`SpoolingStore` wraps any :class:`~index.store.Store` (in practice the Elasticsearch
one). When a write cannot be delivered (``StoreUnavailable``: cluster down, timeouts,
overload; or a bulk write whose rejections are transient, such as 429), the documents are
appended to a SQLite file with increasing sequence numbers and ``upsert`` returns normally
(``SpooledUpsertResult.spooled`` says how many), so a crawl goes on. :meth:`flush`
replays the spool in order and deletes entries only after the store acknowledged them; it
stops at the first failure. Replays are idempotent (upsert by id), so a batch that was
half-written before a failure is simply written again.

Order is kept: while anything is spooled, new documents queue behind it (after one flush
attempt), so an older spooled version never overwrites a newer one. Documents the store
rejects for good (a mapping error, say) are moved to a ``rejected`` table with the reason,
never dropped; :meth:`rejected` lists them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.documents import Document
from index.errors import BulkIndexError, SearchError, StoreUnavailable
from index.store import Store, UpsertResult

__all__ = [
    "FLUSH_BATCH",
    "TRANSIENT_STATUSES",
    "FlushReport",
    "SpooledUpsertResult",
    "SpoolingStore",
    "is_transient",
]

#: Documents per replayed upsert.
FLUSH_BATCH = 500
#: Bulk rejection statuses worth retrying later (overload, gateway errors).
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    spooled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
"""


def is_transient(reason: str) -> bool:
    """Whether a bulk rejection reason ("<status> <type>: <reason>") may clear on retry."""
    status = reason.split(" ", 1)[0]
    return status.isdigit() and int(status) in TRANSIENT_STATUSES


@dataclass(slots=True)
class SpooledUpsertResult(UpsertResult):
    """An upsert result that also counts documents kept in the spool for later."""

    spooled: int = 0


@dataclass(frozen=True, slots=True)
class FlushReport:
    replayed: int
    remaining: int
    rejected: int = 0
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.remaining == 0 and self.error is None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SpoolingStore:
    """``inner`` with writes that survive an outage (see the module docstring).

    Reads (search, get, review...) go straight to ``inner``: they fail while it is away.
    """

    def __init__(self, inner: Store, spool_path: str | Path) -> None:
        self.inner = inner
        self.spool_path = Path(spool_path)
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            str(self.spool_path), isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")  # the spool is the safety net
        self._conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SpoolingStore({self.inner!r}, {str(self.spool_path)!r})"

    def __getattr__(self, name: str) -> Any:
        # Everything but writes and the spool's own methods is the inner store's.
        return getattr(self.inner, name)

    # -- the spool -----------------------------------------------------------------------

    def pending(self) -> int:
        """Documents waiting in the spool."""
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM spool").fetchone()[0]

    def rejected(self) -> list[tuple[str, str]]:
        """(doc id, reason) of documents the store refused for good, oldest first."""
        with self._lock:
            return self._conn.execute("SELECT doc_id, reason FROM rejected ORDER BY seq").fetchall()

    def _append(self, docs: list[Document]) -> None:
        stamp = _now()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO spool (doc_id, payload, spooled_at) VALUES (?, ?, ?)",
                    [
                        (doc.id, json.dumps(doc.to_dict(), ensure_ascii=False), stamp)
                        for doc in docs
                    ],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _settle(self, seqs: list[int], rejected: dict[int, str]) -> None:
        """Remove delivered entries; move permanently rejected ones aside (one transaction)."""
        stamp = _now()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO rejected (seq, doc_id, payload, reason, rejected_at) "
                    "SELECT seq, doc_id, payload, ?, ? FROM spool WHERE seq = ?",
                    [(reason, stamp, seq) for seq, reason in rejected.items()],
                )
                self._conn.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in seqs])
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def flush(self, *, batch_size: int = FLUSH_BATCH) -> FlushReport:
        """Replay the spool in order; stop at the first failure (nothing is lost)."""
        replayed = rejected_total = 0
        with self._lock:
            while True:
                rows = self._conn.execute(
                    "SELECT seq, doc_id, payload FROM spool ORDER BY seq LIMIT ?", (batch_size,)
                ).fetchall()
                if not rows:
                    return FlushReport(replayed, 0, rejected_total)
                # Within a batch the last version of a document wins, as in the store.
                latest = {doc_id: (seq, payload) for seq, doc_id, payload in rows}
                docs = [Document.from_dict(json.loads(p)) for _, p in latest.values()]
                try:
                    self.inner.upsert(docs)
                except BulkIndexError as exc:
                    failed = dict(exc.errors)
                    retry = {doc_id for doc_id, reason in failed.items() if is_transient(reason)}
                    done = [seq for seq, doc_id, _ in rows if doc_id not in failed]
                    permanent = {
                        seq: failed[doc_id]
                        for seq, doc_id, _ in rows
                        if doc_id in failed and doc_id not in retry
                    }
                    self._settle(done + list(permanent), permanent)
                    replayed += len(done)
                    rejected_total += len(permanent)
                    if retry:  # overload: the rest waits for a later flush
                        return FlushReport(replayed, self.pending(), rejected_total, str(exc))
                    continue
                except SearchError as exc:
                    return FlushReport(replayed, self.pending(), rejected_total, str(exc))
                self._settle([seq for seq, _, _ in rows], {})
                replayed += len(rows)

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, documents: Iterable[Document]) -> SpooledUpsertResult:
        """Write through to the store, or spool what cannot be delivered now.

        Raises only for permanent bulk rejections (:class:`BulkIndexError` listing them,
        after spooling any transient ones).
        """
        docs = list(documents)
        if not docs:
            return SpooledUpsertResult()
        with self._lock:
            if self.pending() and not self.flush().complete:
                self._append(docs)
                return SpooledUpsertResult(spooled=len(docs))
            try:
                result = self.inner.upsert(docs)
            except StoreUnavailable:
                self._append(docs)
                return SpooledUpsertResult(spooled=len(docs))
            except BulkIndexError as exc:
                transient = {doc_id for doc_id, reason in exc.errors if is_transient(reason)}
                if transient:
                    self._append([doc for doc in docs if doc.id in transient])
                permanent = [(d, r) for d, r in exc.errors if d not in transient]
                if permanent:
                    raise BulkIndexError(
                        f"{len(permanent)} documents rejected for good "
                        f"({len(transient)} spooled for retry): {permanent[0][1]}",
                        permanent,
                    ) from exc
                return SpooledUpsertResult(spooled=len(transient))
            return SpooledUpsertResult(
                created=result.created, updated=result.updated, refused=result.refused
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self.inner.close()

    def drop(self) -> None:
        """Drop the inner store and delete the spool file (tests)."""
        with self._lock:
            self._conn.close()
        self.inner.drop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.spool_path) + suffix).unlink(missing_ok=True)
