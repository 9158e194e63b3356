"""Near-duplicate clusters on SQLite: the LSH state in the store's own file.

:class:`SqliteSketchIndex` is the :class:`~index.clusters.SketchIndex` of one upsert: it works
on the write connection inside the upsert's transaction (tables of migration 0014), so a
document's sketch, its cluster and the document itself are written together or not at all,
and every crawl process writing the file sees the others' sketches (the band postings are
held in memory per process, :mod:`index.sketch_postings`, and follow the table's ``seq``).
:func:`cluster_sizes` takes the read connection; the other cluster reads are in
:mod:`index.sqlite_spread`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.near_duplicates import Sketch, band_key_matrix
from index.clusters import (
    Assignment,
    CandidatePairs,
    Clusterer,
    ClusterSettings,
    SketchEntry,
    cluster_text_of,
    postings_candidates,
)
from index.documents import Document
from index.sketch_postings import Postings

__all__ = [
    "SqliteSketchIndex",
    "clear_state",
    "cluster_batch",
    "cluster_sizes",
    "init_state",
    "read_state",
    "stale",
    "write_state",
]

#: SQLite's default limit on bound parameters is 32766; stay far below.
_CHUNK = 900
#: Sketch rows read at a time when filling the postings.
_LOAD_CHUNK = 5000
_EMPTY = np.zeros(0, dtype=np.uint32)
_NO_KEYS = np.zeros(0, dtype=np.int64)
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
    written before it is clustered, so containment checks can read its texts too);
    ``postings`` is the store's in-memory copy of the keys, brought up to date here.
    """

    def __init__(
        self, conn: sqlite3.Connection, rowids: dict[str, int], postings: Postings, rows: int
    ) -> None:
        self.conn = conn
        self.rowids = rowids
        self.postings = postings
        self.rows = rows
        self.sync()
        self._seq = conn.execute("SELECT coalesce(max(seq), 0) FROM cluster_sketches").fetchone()[0]

    def sync(self) -> None:
        """Add the sketches written since ``postings.seq`` (by any process) to the postings."""
        cursor = self.conn.execute(
            "SELECT doc_rowid, size, signature, fingerprints, seq FROM cluster_sketches "
            "WHERE seq > ? ORDER BY seq",
            (self.postings.seq,),
        )
        width = self.postings.num_perm
        while rows := cursor.fetchmany(_LOAD_CHUNK):
            signatures = np.zeros((len(rows), width), dtype=np.uint32)
            signed = [number for number, row in enumerate(rows) if row[2]]
            if signed:
                signatures[signed] = np.stack([_signature(rows[number][2]) for number in signed])
                bands = band_key_matrix(signatures[signed], self.rows)
            band_of = dict(zip(signed, bands if signed else [], strict=True))
            prints = [np.frombuffer(row[3], dtype="<i8") for row in rows]
            self.postings.add_many(
                [row[0] for row in rows],
                signatures,
                [row[1] for row in rows],
                [
                    np.concatenate([band_of.get(number, _NO_KEYS), prints[number]])
                    for number in range(len(rows))
                ],
                [len(found) for found in prints],
            )
            self.postings.seq = rows[-1][4]

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

    def candidates(
        self, keys: Sequence[np.ndarray], *, exclude: Sequence[str], min_fingerprints: int
    ) -> CandidatePairs:
        return postings_candidates(
            self.postings,
            keys,
            exclude_rowids=[self.rowids.get(doc_id, -1) for doc_id in exclude],
            min_fingerprints=min_fingerprints,
        )

    def describe(self, refs: Sequence[Any]) -> dict[Any, tuple[str, str]]:
        slot_of_rowid = {int(self.postings.rowids[slot]): slot for slot in refs}
        marks = ", ".join("?" * len(slot_of_rowid))
        return {
            slot_of_rowid[rowid]: (doc_id, cluster_id)
            for rowid, doc_id, cluster_id in self.conn.execute(
                "SELECT doc_rowid, doc_id, cluster_id FROM cluster_sketches "
                f"WHERE doc_rowid IN ({marks})",
                list(slot_of_rowid),
            )
        }

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for start in range(0, len(doc_ids), _CHUNK):
            chunk = list(doc_ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            for doc_id, title, text in self.conn.execute(
                f"SELECT id, title, text FROM documents WHERE id IN ({marks})", chunk
            ):
                texts[doc_id] = cluster_text_of(title, text)
        return texts

    def save(self, entries: Sequence[SketchEntry]) -> None:
        rows = []
        for entry in entries:
            rowid = self.rowids.get(entry.doc_id)
            if rowid is None:
                row = self.conn.execute(
                    "SELECT rowid FROM documents WHERE id = ?", (entry.doc_id,)
                ).fetchone()
                if row is None:
                    raise KeyError(f"no stored document {entry.doc_id!r} to sketch")
                rowid = row[0]
            prints = entry.keys[(entry.keys & 1) == 1]
            self._seq += 1
            rows.append(
                (
                    rowid,
                    entry.doc_id,
                    entry.cluster_id,
                    entry.text_hash,
                    entry.size,
                    _signature_blob(entry.signature),
                    prints.astype("<i8", copy=False).tobytes(),
                    entry.matched_id,
                    entry.how,
                    entry.similarity,
                    self._seq,
                )
            )
            self.postings.add(rowid, entry.signature, entry.size, entry.keys, len(prints))
        self.conn.executemany(
            "INSERT OR REPLACE INTO cluster_sketches (doc_rowid, doc_id, cluster_id, text_hash, "
            "size, signature, fingerprints, matched_id, how, similarity, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self.postings.seq = self._seq

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
    postings: Postings,
    docs: list[Document],
    rowids: dict[str, int],
    *,
    force: bool = False,
    sketches: list[Sketch] | None = None,
) -> list[Assignment]:
    """Cluster ``docs`` (already written, at ``rowids``) and set their ``cluster_id``."""
    index = SqliteSketchIndex(conn, rowids, postings, clusterer.settings.params.rows)
    assignments = clusterer.assign(docs, index, force=force, sketches=sketches)
    # Read back: a merge later in the batch may have moved an earlier member.
    final: dict[str, str] = {}
    ids = [rowids[a.doc_id] for a in assignments]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        final.update(
            conn.execute(
                f"SELECT doc_id, cluster_id FROM cluster_sketches WHERE doc_rowid IN ({marks})",
                chunk,
            ).fetchall()
        )
    for assignment in assignments:
        assignment.cluster_id = final.get(assignment.doc_id, assignment.cluster_id)
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


def init_state(conn: sqlite3.Connection, settings: ClusterSettings) -> None:
    """On opening: a store without documents starts its state with ``settings``; one with
    documents but no record was filled before clustering existed (``stale`` until rebuilt)."""
    if (
        read_state(conn) is None
        and conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is None
    ):
        conn.execute("BEGIN IMMEDIATE")
        try:
            write_state(conn, settings)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
