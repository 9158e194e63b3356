"""Clusters, travelling verdicts and watch alerts on the SQLite store.

:class:`SqliteSpread` is a mixin of :class:`~index.sqlite.SqliteStore`: the cluster reads of
:class:`~index.spread.SpreadStore` (over the LSH state table of migration 0014 joined to the
documents), ``review_enqueue``, and the watch and alert storage of
:class:`~index.watches.WatchStore` (tables of migration 0015). It only uses the store's
connections (``reading``, ``_transaction``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from index import sqlite_review
from index.errors import NotFound
from index.review import ReviewItem
from index.spread import ClusterMember
from index.sqlite_clusters import cluster_sizes
from index.sqlite_sql import DOCUMENT_COLUMNS, document_from_row, quote_identifier
from index.watches import MAX_ATTEMPTS, Alert, Watch

__all__ = ["SqliteSpread"]

_DOC_COLUMNS = ", ".join(f"d.{quote_identifier(name)}" for name in DOCUMENT_COLUMNS)
#: A member's time: its publication, else its first fetch (both UTC, sortable).
_MEMBER_TIME = "coalesce(d.published_utc, d.fetched_utc)"
_ALERT_COLUMNS = "watch_id, doc_id, payload, created_at, delivered_at, attempts, last_error"


def _alert(row: tuple[Any, ...]) -> Alert:
    watch_id, doc_id, payload, created_at, delivered_at, attempts, last_error = row
    return Alert(
        id=f"{watch_id}:{doc_id}",
        watch_id=watch_id,
        doc_id=doc_id,
        payload=json.loads(payload),
        created_at=created_at,
        delivered_at=delivered_at,
        attempts=attempts,
        last_error=last_error,
    )


class SqliteSpread:
    """Mixin: see the module docstring."""

    # -- clusters ------------------------------------------------------------------------

    def cluster_sizes(self, cluster_ids: Iterable[str]) -> dict[str, int]:
        with self.reading() as conn:  # type: ignore[attr-defined]
            return cluster_sizes(conn, [cid for cid in cluster_ids if cid])

    def cluster_ids(
        self,
        *,
        since: str | None = None,
        flagged: bool = False,
        min_size: int = 2,
        limit: int = 50,
    ) -> list[str]:
        having = ["count(*) >= ?"]
        params: list[Any] = [max(1, min_size)]
        if since:
            having.append(f"max({_MEMBER_TIME}) >= ?")
            params.append(since)
        if flagged:
            having.append("max(d.flags != '[]')")
        # Sizes first, from the cluster index alone; documents are read for those only.
        sql = (
            "WITH big AS (SELECT cluster_id FROM cluster_sketches GROUP BY cluster_id "
            "HAVING count(*) >= ?) "
            f"SELECT s.cluster_id FROM big JOIN cluster_sketches s USING (cluster_id) "
            "JOIN documents d ON d.rowid = s.doc_rowid GROUP BY s.cluster_id "
            f"HAVING {' AND '.join(having)} ORDER BY max({_MEMBER_TIME}) DESC, count(*) DESC "
            "LIMIT ?"
        )
        with self.reading() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(sql, [max(1, min_size), *params, limit]).fetchall()
        return [row[0] for row in rows]

    def cluster_members(self, cluster_id: str) -> list[ClusterMember]:
        with self.reading() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                f"SELECT {_DOC_COLUMNS}, s.matched_id, s.how, s.similarity "
                "FROM cluster_sketches s JOIN documents d ON d.rowid = s.doc_rowid "
                "WHERE s.cluster_id = ?",
                (cluster_id,),
            ).fetchall()
        width = len(DOCUMENT_COLUMNS)
        return [
            ClusterMember(
                document_from_row(row[:width]), row[width], row[width + 1], row[width + 2]
            )
            for row in rows
        ]

    def cluster_activity(self, since: str) -> list[tuple[str, str]]:
        with self.reading() as conn:  # type: ignore[attr-defined]
            return conn.execute(
                f"SELECT s.cluster_id, {_MEMBER_TIME} FROM documents d "
                "JOIN cluster_sketches s ON s.doc_rowid = d.rowid "
                "WHERE d.published_utc >= ? OR (d.published_utc IS NULL AND d.fetched_utc >= ?)",
                (since, since),
            ).fetchall()

    # -- review ----------------------------------------------------------------------------

    def review_enqueue(self, items: Sequence[ReviewItem], note: str = "") -> None:
        if not items:
            return
        with self._transaction() as conn:  # type: ignore[attr-defined]
            sqlite_review.enqueue_items(conn, list(items), note)

    # -- watches and alerts -----------------------------------------------------------------

    def watch_save(self, watch: Watch) -> None:
        with self._transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT OR REPLACE INTO watches (id, name, query, created_by, created_at, "
                "enabled) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    watch.id,
                    watch.name,
                    watch.query,
                    watch.created_by,
                    watch.created_at,
                    int(watch.enabled),
                ),
            )

    def watch_list(self) -> list[Watch]:
        with self.reading() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                "SELECT id, name, query, created_by, created_at, enabled FROM watches "
                "ORDER BY created_at, id"
            ).fetchall()
        return [
            Watch(
                id=row[0],
                name=row[1],
                query=row[2],
                created_by=row[3],
                created_at=row[4],
                enabled=bool(row[5]),
            )
            for row in rows
        ]

    def watch_delete(self, watch_id: str) -> None:
        with self._transaction() as conn:  # type: ignore[attr-defined]
            if conn.execute("DELETE FROM watches WHERE id = ?", (watch_id,)).rowcount == 0:
                raise NotFound(f"no watch {watch_id!r}")

    def alerts_add(self, alerts: Sequence[Alert]) -> list[Alert]:
        added = []
        with self._transaction() as conn:  # type: ignore[attr-defined]
            for alert in alerts:
                try:
                    conn.execute(
                        f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            alert.watch_id,
                            alert.doc_id,
                            json.dumps(alert.payload, ensure_ascii=False),
                            alert.created_at,
                            alert.delivered_at,
                            alert.attempts,
                            alert.last_error,
                        ),
                    )
                except sqlite3.IntegrityError:  # this watch alerted on this document before
                    continue
                added.append(alert)
        return added

    def alerts_list(
        self, *, limit: int = 50, offset: int = 0, pending: bool = False
    ) -> list[Alert]:
        if pending:
            sql = (
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE delivered_at IS NULL "
                "AND attempts < ? ORDER BY seq LIMIT ? OFFSET ?"
            )
            params: list[Any] = [MAX_ATTEMPTS, limit, offset]
        else:
            sql = f"SELECT {_ALERT_COLUMNS} FROM alerts ORDER BY seq DESC LIMIT ? OFFSET ?"
            params = [limit, offset]
        with self.reading() as conn:  # type: ignore[attr-defined]
            return [_alert(row) for row in conn.execute(sql, params).fetchall()]

    def alerts_mark(
        self, alert_ids: Sequence[str], *, delivered_at: str | None, error: str | None
    ) -> None:
        pairs = [tuple(alert_id.split(":", 1)) for alert_id in alert_ids]
        with self._transaction() as conn:  # type: ignore[attr-defined]
            conn.executemany(
                "UPDATE alerts SET attempts = attempts + 1, delivered_at = ?, last_error = ? "
                "WHERE watch_id = ? AND doc_id = ?",
                [(delivered_at, error, watch_id, doc_id) for watch_id, doc_id in pairs],
            )
