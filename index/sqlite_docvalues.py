"""Column copies of the facet fields for one read connection: facets and histograms of a
set of matches computed in memory, the way Elasticsearch reads doc values.

A search that matches tens of thousands of documents spent most of its time in two SQL
aggregations, each growing with the matched set: a GROUP BY over the facet index probing the
matched set, and one over the day index. Here each facet field is a dictionary-encoded
array indexed by rowid (source, site, kind, review status; flags as a bit mask; the day as
an ordinal), so counting a set of rowids is one ``numpy.bincount`` per field.

The arrays follow the database through ``doc_changes``, a log of changed rowids that the
store's writers append to in the same transaction as the change (migration 0009): a
refresh re-reads only the rows logged since the last one. When the log no longer reaches
back that far (it is trimmed) the arrays are rebuilt from scratch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from index.query import FACET_SIZE

__all__ = ["CHANGE_LOG_KEEP", "DocValues", "log_changed_ids", "log_changes", "trim_change_log"]

#: Entries of ``doc_changes`` kept after a write: a reader further behind rebuilds.
CHANGE_LOG_KEEP = 200_000
#: Above this share of the documents changed since the last refresh, rebuild instead.
_REBUILD_SHARE = 0.25
_KEYWORDS = ("source", "site", "kind", "review_status")
_ABSENT = -1
#: Day ordinals are stored relative to this date (``date.toordinal``), as int32.
_EPOCH = date(1970, 1, 1).toordinal()


def log_changes(conn: sqlite3.Connection, rowids: Sequence[int]) -> None:
    """Record that the documents at ``rowids`` were written (inside the write transaction)."""
    conn.executemany("INSERT INTO doc_changes (doc_rowid) VALUES (?)", [(r,) for r in rowids])


def log_changed_ids(conn: sqlite3.Connection, doc_ids: Sequence[str]) -> None:
    """:func:`log_changes` for documents known by id (review status updates)."""
    conn.executemany(
        "INSERT INTO doc_changes (doc_rowid) SELECT rowid FROM documents WHERE id = ?",
        [(doc_id,) for doc_id in doc_ids],
    )


def trim_change_log(conn: sqlite3.Connection, keep: int = CHANGE_LOG_KEEP) -> None:
    """Drop all but the newest ``keep`` log entries (readers behind them rebuild)."""
    conn.execute(
        "DELETE FROM doc_changes WHERE seq <= (SELECT max(seq) FROM doc_changes) - ?", (keep,)
    )


@dataclass
class _Dictionary:
    """Values of one keyword field and their codes (codes are never reused)."""

    values: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)

    def code(self, value: str) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found


class DocValues:
    """Facet fields of every document of one SQLite database, as numpy arrays by rowid.

    Not thread-safe: the store uses it under its read lock, with the read connection.
    """

    def __init__(self) -> None:
        self._seq = 0
        self._built = False
        self._size = 0
        self._documents = 0
        self._dictionaries = {name: _Dictionary() for name in _KEYWORDS}
        self._flags = _Dictionary()
        self._codes = {name: np.full(0, _ABSENT, np.int32) for name in _KEYWORDS}
        self._days = np.full(0, _ABSENT, np.int32)
        self._flag_bits = np.zeros(0, np.uint64)

    # -- keeping up with the database -------------------------------------------------

    def refresh(self, conn: sqlite3.Connection) -> bool:
        """Bring the arrays up to the state ``conn`` sees; False if flags outgrow the mask.

        Call it inside the same read transaction as the statements whose matches are
        counted, so both see one snapshot.
        """
        # Separate statements: SQLite answers a lone max() or min() from the end of the
        # key; both in one statement scan the whole log.
        newest = conn.execute("SELECT max(seq) FROM doc_changes").fetchone()[0] or 0
        if self._built and newest == self._seq:
            return len(self._flags.values) <= 64
        oldest = conn.execute("SELECT min(seq) FROM doc_changes").fetchone()[0]
        behind = not self._built or (oldest is not None and oldest > self._seq + 1)
        changed: list[int] = []
        if not behind:
            changed = [
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT doc_rowid FROM doc_changes WHERE seq > ?", (self._seq,)
                )
            ]
            behind = len(changed) > _REBUILD_SHARE * max(self._documents, 1)
        if behind:
            self._rebuild(conn)
        else:
            self._update(conn, changed)
        self._seq = newest
        self._built = True
        return len(self._flags.values) <= 64

    def _rebuild(self, conn: sqlite3.Connection) -> None:
        top = conn.execute("SELECT max(rowid) FROM documents").fetchone()[0] or 0
        self._resize(top + 1, reset=True)
        self._load(conn, "1", [], scan=True)
        self._documents = int((self._codes["source"] != _ABSENT).sum())

    def _update(self, conn: sqlite3.Connection, rowids: list[int]) -> None:
        if not rowids:
            return
        self._resize(max(rowids) + 1)
        for start in range(0, len(rowids), 900):
            chunk = rowids[start : start + 900]
            marks = ", ".join("?" * len(chunk))
            index = np.asarray(chunk, np.int64)
            fresh = self._codes["source"][index] == _ABSENT
            self._flag_bits[index] = 0
            self._load(conn, f"rowid IN ({marks})", chunk, scan=False)
            self._documents += int(fresh.sum())

    def _resize(self, size: int, *, reset: bool = False) -> None:
        if reset:
            self._codes = {name: np.full(size, _ABSENT, np.int32) for name in _KEYWORDS}
            self._days = np.full(size, _ABSENT, np.int32)
            self._flag_bits = np.zeros(size, np.uint64)
            self._size = size
            return
        if size <= self._size:
            return
        size = max(size, int(self._size * 1.25) + 1024)  # grow geometrically
        grow = size - self._size
        for name in _KEYWORDS:
            self._codes[name] = np.concatenate(
                [self._codes[name], np.full(grow, _ABSENT, np.int32)]
            )
        self._days = np.concatenate([self._days, np.full(grow, _ABSENT, np.int32)])
        self._flag_bits = np.concatenate([self._flag_bits, np.zeros(grow, np.uint64)])
        self._size = size

    def _load(self, conn: sqlite3.Connection, where: str, params: list[int], *, scan: bool) -> None:
        """Read the rows ``where`` selects (a predicate on ``rowid``) into the arrays.

        Each statement groups the rows by value and lists each group's rowids in one
        string: a few hundred groups instead of a Python object per document. A full
        ``scan`` reads only narrow covering indexes (``published_day`` sits after the text
        in the table's rows); a few changed rows are looked up by rowid.
        """
        keys = ", ".join(_KEYWORDS)
        facets_index = "INDEXED BY documents_facets" if scan else ""
        days_index = "INDEXED BY documents_published_day" if scan else ""
        for *values, rowids in conn.execute(
            f"SELECT {keys}, group_concat(rowid) FROM documents {facets_index} "
            f"WHERE {where} GROUP BY {keys}",
            params,
        ):
            index = _parse_rowids(rowids)
            for name, value in zip(_KEYWORDS, values, strict=True):
                self._codes[name][index] = self._dictionaries[name].code(value)
        for day, rowids in conn.execute(
            f"SELECT published_day, group_concat(rowid) FROM documents {days_index} "
            f"WHERE {where} GROUP BY published_day",
            params,
        ):
            self._days[_parse_rowids(rowids)] = _day_ordinal(day)
        flag_where = where.replace("rowid", "doc_rowid")
        for flag, rowids in conn.execute(
            "SELECT flag, group_concat(doc_rowid) FROM document_flags "
            f"WHERE {flag_where} GROUP BY flag",
            params,
        ):
            bit = self._flags.code(flag)
            if bit < 64:
                self._flag_bits[_parse_rowids(rowids)] |= np.uint64(1 << bit)

    # -- counting a set of matches ------------------------------------------------------

    def covers(self, rowids: np.ndarray) -> bool:
        """True when every rowid has its values here (a write the log missed, say by an
        older version of this program, leaves a newer row out: count it in SQL instead)."""
        if not rowids.size:
            return True
        return int(rowids.max()) < self._size and bool(
            (self._codes["source"][rowids] != _ABSENT).all()
        )

    def facets(self, rowids: np.ndarray) -> list[tuple[str, str, int]]:
        """``(facet, key, count)`` rows for the documents at ``rowids``: the top
        :data:`~index.query.FACET_SIZE` keys per facet, most frequent first, ties by key,
        in ``SEARCH_FACETS`` order (source, site, kind, flags, review_status)."""
        rows: list[tuple[str, str, int]] = []
        for name in ("source", "site", "kind"):
            rows += self._keyword_facet(name, rowids)
        bits = self._flag_bits[rowids]
        flag_counts = []
        for bit, flag in enumerate(self._flags.values[:64]):
            n = int(np.count_nonzero(bits & np.uint64(1 << bit)))
            if n:
                flag_counts.append((flag, n))
        rows += [("flags", key, n) for key, n in _top(flag_counts)]
        rows += self._keyword_facet("review_status", rowids)
        return rows

    def _keyword_facet(self, name: str, rowids: np.ndarray) -> list[tuple[str, str, int]]:
        codes = self._codes[name][rowids]
        codes = codes[codes != _ABSENT]
        counts = np.bincount(codes, minlength=len(self._dictionaries[name].values))
        values = self._dictionaries[name].values
        found = [(values[code], int(counts[code])) for code in np.flatnonzero(counts)]
        return [(name, key, n) for key, n in _top(found)]

    def days(self, rowids: np.ndarray) -> list[tuple[str, int]]:
        """``(YYYY-MM-DD, count)`` per published day of the documents at ``rowids``."""
        days = self._days[rowids]
        days = days[days != _ABSENT]
        if not days.size:
            return []
        first = int(days.min())
        counts = np.bincount(days - first)
        return [
            (date.fromordinal(first + int(offset) + _EPOCH).isoformat(), int(counts[offset]))
            for offset in np.flatnonzero(counts)
        ]


def _top(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """SQL's ``ORDER BY n DESC, key LIMIT FACET_SIZE``."""
    return sorted(counts, key=lambda item: (-item[1], item[0]))[:FACET_SIZE]


def _parse_rowids(listed: str) -> np.ndarray:
    """Rowids from a ``group_concat`` list (see ``SqliteStore.search``)."""
    return np.fromstring(listed, dtype=np.int64, sep=",")


def _day_ordinal(day: str | None) -> int:
    if not day:
        return _ABSENT
    return date.fromisoformat(day).toordinal() - _EPOCH
