"""Run history: one row per crawl run of a source, scheduled or manual.

Kept in the data directory's ``state.db`` whatever the document store is, so the scheduler,
the CLI and the web UI agree on what ran, when, and how it went.

Schema changes are named migrations applied in order and recorded in ``PRAGMA user_version``
(the number of applied migrations), so an old ``state.db`` upgrades in place.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["FINISHED_STATUSES", "RunHistory", "RunRecord", "SourceTotals", "utc_now"]

#: A run in any of these states is over; ``running`` is the only other state.
FINISHED_STATUSES = ("ok", "empty", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    fetched INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_source_started ON runs (source, started_at);
"""

#: (name, SQL) in order; never edit or reorder an applied one, append a new one.
_MIGRATIONS: tuple[tuple[str, str], ...] = (
    # Flags raised per run ({"covid": 3, "claim": 1}) for the metrics.
    ("runs_flags", "ALTER TABLE runs ADD COLUMN flags TEXT NOT NULL DEFAULT '{}'"),
    # The process that runs the crawl, so a parent can settle the rows of a child it killed.
    ("runs_pid", "ALTER TABLE runs ADD COLUMN pid INTEGER"),
    ("runs_status_index", "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)"),
)


def utc_now() -> str:
    """The timestamp format of run rows (UTC, ISO 8601, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class RunRecord:
    """What one run of one source did. ``status``: running, ok, empty, failed."""

    source: str
    trigger: str
    started_at: str
    finished_at: str | None = None
    status: str = "running"
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    id: int | None = None
    #: Flags raised by the run's documents, by flag name (``covid``, ``claim``).
    flags: dict[str, int] = field(default_factory=dict)
    pid: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, ``None`` while running."""
        if not self.finished_at:
            return None
        start = datetime.fromisoformat(self.started_at)
        end = datetime.fromisoformat(self.finished_at)
        return max(0.0, (end - start).total_seconds())


@dataclass(frozen=True, slots=True)
class SourceTotals:
    """Sums over every finished run of one source (what the metrics export)."""

    source: str
    runs_by_status: dict[str, int]
    fetched: int
    new: int
    updated: int
    flags: dict[str, int]
    durations: list[float]
    last_finished_at: str | None


class RunHistory:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
            _migrate(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def start(self, source: str, trigger: str, started_at: str, *, pid: int | None = None) -> int:
        """Insert a ``running`` row owned by ``pid`` (default: this process)."""
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (source, trigger, started_at, status, pid)"
                " VALUES (?, ?, ?, 'running', ?)",
                (source, trigger, started_at, os.getpid() if pid is None else pid),
            )
            return int(cursor.lastrowid or 0)

    def finish(self, run_id: int, record: RunRecord) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET finished_at=?, status=?, fetched=?, new=?, updated=?, unchanged=?,"
                " failed=?, errors=?, flags=? WHERE id=?",
                (
                    record.finished_at,
                    record.status,
                    record.fetched,
                    record.new,
                    record.updated,
                    record.unchanged,
                    record.failed,
                    json.dumps(record.errors[:10], ensure_ascii=False),
                    json.dumps(record.flags, sort_keys=True),
                    run_id,
                ),
            )

    def record(self, record: RunRecord) -> int:
        run_id = self.start(record.source, record.trigger, record.started_at, pid=record.pid)
        self.finish(run_id, record)
        return run_id

    def runs_of_process(self, pid: int, *, since: str) -> list[RunRecord]:
        """Rows process ``pid`` started at or after ``since`` (pids are reused, times are not)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE pid = ? AND started_at >= ? ORDER BY id",
                (pid, since),
            ).fetchall()
        return [_row_to_record(row) for row in rows]

    def running_sources(self) -> list[str]:
        """Sources with a ``running`` row (live, or left behind by a crash)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT DISTINCT source FROM runs WHERE status = 'running'")
            return sorted(row["source"] for row in rows)

    def fail_runs_of_process(
        self, pid: int, reason: str, *, since: str, override_finished: bool = False
    ) -> int:
        """Mark the runs process ``pid`` started at or after ``since`` failed, with ``reason``.

        The scheduler calls this when a crawl subprocess timed out, crashed or was killed:
        rows still ``running`` become ``failed``; with ``override_finished`` (a timeout) rows
        the child managed to close are marked failed too. Returns the rows changed.
        """
        condition = "" if override_finished else " AND status = 'running'"
        return self._fail_where(f"pid = ? AND started_at >= ?{condition}", (pid, since), reason)

    def fail_stale(self, source: str, reason: str) -> int:
        """Mark every ``running`` row of ``source`` failed.

        Only call this while holding the source's lock: then no live process owns such a
        row, so it was left behind by a crash or a kill.
        """
        return self._fail_where("source = ? AND status = 'running'", (source,), reason)

    def _fail_where(self, condition: str, params: tuple, reason: str) -> int:
        with self._connect() as conn:
            rows = conn.execute(f"SELECT id, errors FROM runs WHERE {condition}", params).fetchall()
            for row in rows:
                errors = [reason, *json.loads(row["errors"] or "[]")][:10]
                conn.execute(
                    "UPDATE runs SET status='failed', finished_at=COALESCE(finished_at, ?),"
                    " errors=? WHERE id=?",
                    (utc_now(), json.dumps(errors, ensure_ascii=False), row["id"]),
                )
        return len(rows)

    def list(self, source: str | None = None, *, limit: int = 50) -> list[RunRecord]:
        query = "SELECT * FROM runs"
        params: tuple = ()
        if source:
            query += " WHERE source = ?"
            params = (source,)
        query += " ORDER BY started_at DESC, id DESC LIMIT ?"
        with self._connect() as conn:
            rows = conn.execute(query, (*params, limit)).fetchall()
        return [_row_to_record(row) for row in rows]

    def last_runs(self) -> dict[str, RunRecord]:
        """The latest run of each source."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY source)"
            ).fetchall()
        return {row["source"]: _row_to_record(row) for row in rows}

    def recent_statuses(self, window: int) -> dict[str, list[str]]:
        """The statuses of each source's last ``window`` finished runs, newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT source, status FROM ("
                " SELECT source, status, ROW_NUMBER() OVER"
                "  (PARTITION BY source ORDER BY started_at DESC, id DESC) AS position"
                " FROM runs WHERE status != 'running')"
                " WHERE position <= ? ORDER BY source, position",
                (window,),
            ).fetchall()
        statuses: dict[str, list[str]] = {}
        for row in rows:
            statuses.setdefault(row["source"], []).append(row["status"])
        return statuses

    def totals(self) -> list[SourceTotals]:
        """Per-source sums over all finished runs, read in one pass for the metrics."""
        by_source: dict[str, dict] = {}
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT source, status, fetched, new, updated, flags, started_at, finished_at"
                " FROM runs WHERE status != 'running' ORDER BY id"
            ).fetchall()
        for row in rows:
            entry = by_source.setdefault(
                row["source"],
                {"runs": {}, "fetched": 0, "new": 0, "updated": 0, "flags": {}, "durations": []},
            )
            entry["runs"][row["status"]] = entry["runs"].get(row["status"], 0) + 1
            entry["fetched"] += row["fetched"]
            entry["new"] += row["new"]
            entry["updated"] += row["updated"]
            for flag, count in json.loads(row["flags"] or "{}").items():
                entry["flags"][flag] = entry["flags"].get(flag, 0) + int(count)
            if row["finished_at"]:
                record = RunRecord(
                    source=row["source"],
                    trigger="",
                    started_at=row["started_at"],
                    finished_at=row["finished_at"],
                )
                entry["durations"].append(record.duration or 0.0)
                entry["last"] = max(entry.get("last") or "", row["finished_at"])
        return [
            SourceTotals(
                source=source,
                runs_by_status=entry["runs"],
                fetched=entry["fetched"],
                new=entry["new"],
                updated=entry["updated"],
                flags=entry["flags"],
                durations=entry["durations"],
                last_finished_at=entry.get("last"),
            )
            for source, entry in sorted(by_source.items())
        ]


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")  # one process migrates, the others wait and see it done
    applied = conn.execute("PRAGMA user_version").fetchone()[0]
    for position, (_name, sql) in enumerate(_MIGRATIONS, start=1):
        if position <= applied:
            continue
        try:
            conn.execute(sql)
        except sqlite3.OperationalError as exc:
            # Two processes opening a fresh state.db at once: the other one won the race.
            if "duplicate column" not in str(exc):
                raise
        conn.execute(f"PRAGMA user_version = {position}")


def _row_to_record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    data["errors"] = json.loads(data["errors"] or "[]")
    data["flags"] = json.loads(data.get("flags") or "{}")
    return RunRecord(**data)
