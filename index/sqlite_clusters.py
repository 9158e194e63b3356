"""Near-duplicate clusters on SQLite: the LSH state in the store's own file.

:class:`SqliteSketchIndex` is the :class:`~index.clusters.SketchIndex` of one upsert: it works
on the write connection inside the upsert's transaction (tables of migration 0010), so a
document's sketch, its cluster and the document itself are written together or not at all,
and every crawl process writing the file sees the others' sketches. The read functions
(:func:`cluster_sizes`, :func:`summaries`, :func:`members`, :func:`activity`) take the read
connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.near_duplicates import band_keys, is_fingerprint
from index.clusters import Assignment, Candidate, Clusterer, ClusterSettings, SketchEntry
from index.documents import Document

__all__ = [
    "SqliteSketchIndex",
    "clear_state",
    "cluster_batch",
    "cluster_sizes",
    "read_state",
    "stale",
    "write_state",
]

#: SQLite's default limit on bound parameters is 32766; stay far below.
_CHUNK = 900
_FINGERPRINT = "fingerprint"


def _signature_blob(signature: np.ndarray) -> bytes:
    return signature.astype("<u4", copy=False).tobytes()


def _signature(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4")


def _fingerprints(blob: bytes) -> list[int]:
    return np.frombuffer(blob, dtype="<i8").tolist()


class SqliteSketchIndex:
    """The LSH state of the write connection ``conn`` for one batch.

    ``rowids`` maps the batch's document ids to their ``documents`` rowids (the batch is
    written before it is clustered, so containment checks can read its texts too).
    """

    def __init__(self, conn: sqlite3.Connection, rowids: dict[str, int], rows: int) -> None:
        self.conn = conn
        self.rowids = rowids
        self.rows = rows

    def _rowid(self, doc_id: str) -> int | None:
        rowid = self.rowids.get(doc_id)
        if rowid is None:
            found = self.conn.execute("SELECT rowid FROM documents WHERE id = ?", (doc_id,))
            row = found.fetchone()
            rowid = None if row is None else row[0]
        return rowid

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        rowids = [self.rowids[doc_id] for doc_id in doc_ids if doc_id in self.rowids]
        for start in range(0, len(rowids), _CHUNK):
            chunk = rowids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for doc_id, hashed, cluster_id in self.conn.execute(
                "SELECT doc_id, text_hash, cluster_id FROM cluster_sketches "
                f"WHERE doc_rowid IN ({marks})",
                chunk,
            ):
                found[doc_id] = (hashed, cluster_id)
        return found

    def candidates(self, keys: Sequence[int], *, exclude: str, limit: int) -> list[Candidate]:
        if not keys:
            return []
        excluded = self.rowids.get(exclude, -1)
        marks = ", ".join("?" * len(keys))
        # key & 1: sentence fingerprints are odd, band keys even.
        counted = self.conn.execute(
            "SELECT doc_rowid, sum(1 - (key & 1)), sum(key & 1) FROM cluster_keys "
            f"WHERE key IN ({marks}) AND doc_rowid != ? GROUP BY doc_rowid "
            "ORDER BY count(*) DESC LIMIT ?",
            [*keys, excluded, limit],
        ).fetchall()
        if not counted:
            return []
        shared = {rowid: (bands, sentences) for rowid, bands, sentences in counted}
        found = []
        rowids = list(shared)
        for start in range(0, len(rowids), _CHUNK):
            chunk = rowids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for rowid, doc_id, cluster_id, size, signature, fingerprints in self.conn.execute(
                "SELECT doc_rowid, doc_id, cluster_id, size, signature, length(fingerprints) "
                f"FROM cluster_sketches WHERE doc_rowid IN ({marks})",
                chunk,
            ):
                bands, sentences = shared[rowid]
                found.append(
                    Candidate(
                        doc_id,
                        cluster_id,
                        size,
                        _signature(signature),
                        bands=bands,
                        sentences=sentences,
                        sentence_keys=fingerprints // 8,
                    )
                )
        return found

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for start in range(0, len(doc_ids), _CHUNK):
            chunk = list(doc_ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            for doc_id, title, text in self.conn.execute(
                f"SELECT id, title, text FROM documents WHERE id IN ({marks})", chunk
            ):
                texts[doc_id] = f"{title}\n{text}" if title else text
        return texts

    def save(self, entry: SketchEntry) -> None:
        rowid = self._rowid(entry.doc_id)
        if rowid is None:
            raise KeyError(f"no stored document {entry.doc_id!r} to sketch")
        old = self.conn.execute(
            "SELECT signature, fingerprints FROM cluster_sketches WHERE doc_rowid = ?", (rowid,)
        ).fetchone()
        if old is not None:
            stale = _fingerprints(old[1])
            if old[0]:
                stale += band_keys(_signature(old[0]), self.rows)
            self.conn.executemany(
                "DELETE FROM cluster_keys WHERE key = ? AND doc_rowid = ?",
                [(key, rowid) for key in stale],
            )
        fingerprints = np.array([k for k in entry.keys if is_fingerprint(k)], dtype="<i8")
        self.conn.execute(
            "INSERT OR REPLACE INTO cluster_sketches (doc_rowid, doc_id, cluster_id, text_hash, "
            "size, signature, fingerprints, matched_id, how, similarity) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rowid,
                entry.doc_id,
                entry.cluster_id,
                entry.text_hash,
                entry.size,
                _signature_blob(entry.signature),
                fingerprints.tobytes(),
                entry.matched_id,
                entry.how,
                entry.similarity,
            ),
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO cluster_keys (key, doc_rowid) VALUES (?, ?)",
            [(key, rowid) for key in entry.keys],
        )

    def relabel(self, clusters: Sequence[str], target: str) -> list[str]:
        marks = ", ".join("?" * len(clusters))
        moved = self.conn.execute(
            f"UPDATE cluster_sketches SET cluster_id = ? WHERE cluster_id IN ({marks}) "
            "RETURNING doc_rowid, doc_id",
            [target, *clusters],
        ).fetchall()
        self.conn.executemany(
            "UPDATE documents SET cluster_id = ? WHERE rowid = ?",
            [(target, rowid) for rowid, _ in moved],
        )
        return [doc_id for _, doc_id in moved]


def cluster_batch(
    conn: sqlite3.Connection,
    clusterer: Clusterer,
    docs: list[Document],
    rowids: dict[str, int],
    *,
    force: bool = False,
) -> list[Assignment]:
    """Cluster ``docs`` (already written, at ``rowids``) and set their ``cluster_id``."""
    index = SqliteSketchIndex(conn, rowids, clusterer.settings.params.rows)
    assignments = clusterer.assign(docs, index, force=force)
    conn.executemany(
        "UPDATE documents SET cluster_id = ? WHERE rowid = ? AND cluster_id IS NOT ?",
        [(a.cluster_id, rowids[a.doc_id], a.cluster_id) for a in assignments],
    )
    return assignments


# -- state -------------------------------------------------------------------------------------


def read_state(conn: sqlite3.Connection) -> str | None:
    """The settings fingerprint the stored sketches were built with (``None``: never built)."""
    row = conn.execute("SELECT value FROM cluster_state WHERE name = ?", (_FINGERPRINT,)).fetchone()
    return None if row is None else row[0]


def write_state(conn: sqlite3.Connection, settings: ClusterSettings) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO cluster_state (name, value) VALUES (?, ?)",
        (_FINGERPRINT, settings.fingerprint()),
    )


def stale(conn: sqlite3.Connection, settings: ClusterSettings) -> bool:
    """Whether stored sketches were built with other settings (``clusters rebuild`` needed)."""
    built = read_state(conn)
    if built is None:
        return conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None and (
            conn.execute("SELECT 1 FROM cluster_sketches LIMIT 1").fetchone() is None
        )
    return built != settings.fingerprint()


def clear_state(conn: sqlite3.Connection) -> None:
    """Forget every sketch (the first step of a rebuild)."""
    conn.execute("DELETE FROM cluster_keys")
    conn.execute("DELETE FROM cluster_sketches")
    conn.execute("DELETE FROM cluster_state")


# -- reads ---------------------------------------------------------------------------------------


def cluster_sizes(conn: sqlite3.Connection, cluster_ids: Sequence[str]) -> dict[str, int]:
    ids = list(dict.fromkeys(cluster_ids))
    sizes: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        sizes.update(
            conn.execute(
                "SELECT cluster_id, count(*) FROM cluster_sketches "
                f"WHERE cluster_id IN ({marks}) GROUP BY cluster_id",
                chunk,
            ).fetchall()
        )
    return sizes


@dataclass(slots=True)
class MemberRow:
    """A cluster member as stored: the document and how it joined."""

    document: Document
    matched_id: str | None
    how: str | None
    similarity: float | None


def member_rows(conn: sqlite3.Connection, cluster_id: str, columns: str) -> list[tuple[Any, ...]]:
    """Documents of ``cluster_id`` (``columns`` of ``documents AS d``) with how they joined."""
    return conn.execute(
        f"SELECT {columns}, s.matched_id, s.how, s.similarity FROM cluster_sketches s "
        "JOIN documents d ON d.rowid = s.doc_rowid WHERE s.cluster_id = ?",
        (cluster_id,),
    ).fetchall()



def init_state(conn: sqlite3.Connection, settings: ClusterSettings) -> None:
    """On opening: a store without documents starts its state with ``settings``; one with
    documents but no record was filled before clustering existed (``stale`` until rebuilt)."""
    if read_state(conn) is None and conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            write_state(conn, settings)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
