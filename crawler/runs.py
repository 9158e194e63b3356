"""Run history: one row per crawl run of a source, scheduled or manual.

Kept in the data directory's ``state.db`` whatever the document store is, so the scheduler,
the CLI and the web UI agree on what ran, when, and how it went.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["RunHistory", "RunRecord"]

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

    def to_dict(self) -> dict:
        return asdict(self)


class RunHistory:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def start(self, source: str, trigger: str, started_at: str) -> int:
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (source, trigger, started_at, status) VALUES (?, ?, ?, 'running')",
                (source, trigger, started_at),
            )
            return int(cursor.lastrowid or 0)

    def finish(self, run_id: int, record: RunRecord) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET finished_at=?, status=?, fetched=?, new=?, updated=?, unchanged=?,"
                " failed=?, errors=? WHERE id=?",
                (
                    record.finished_at,
                    record.status,
                    record.fetched,
                    record.new,
                    record.updated,
                    record.unchanged,
                    record.failed,
                    json.dumps(record.errors[:10], ensure_ascii=False),
                    run_id,
                ),
            )

    def record(self, record: RunRecord) -> int:
        run_id = self.start(record.source, record.trigger, record.started_at)
        self.finish(run_id, record)
        return run_id

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


def _row_to_record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    data["errors"] = json.loads(data["errors"] or "[]")
    return RunRecord(**data)
