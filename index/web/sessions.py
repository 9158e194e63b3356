"""Server-side session records, so a session can end before its cookie does.

The session cookie is signed, not revocable: a copy saved before ``POST /logout`` kept
working for its whole 36 hours, and a password or role change ended nothing. Each login
now also writes a record here (in ``state.db``, shared by every server process) holding a
random id, the user and a *credential stamp* (a digest of the user's password hash and
role, see ``UserStore.credential_stamp``); the cookie carries the id. A request is
logged in only while its record exists, has not expired and still carries the user's
current stamp: logout deletes the record, and a new password or role changes the stamp.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SessionRegistry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS web_sessions (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    stamp TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (username);
"""


class SessionRegistry:
    """Live sessions in one SQLite file; ids are 256-bit random tokens."""

    def __init__(self, path: str | Path, *, max_age: float) -> None:
        self.path = Path(path)
        self.max_age = max_age
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def create(self, username: str, stamp: str, now: float | None = None) -> str:
        """A new session of ``username`` (whose credentials have ``stamp``); its id."""
        now = time.time() if now is None else now
        session_id = secrets.token_urlsafe(32)
        with self._connect() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT INTO web_sessions (id, username, stamp, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_id, username, stamp, now, now + self.max_age),
            )
        return session_id

    def valid(
        self, session_id: object, username: object, stamp: str | None, now: float | None = None
    ) -> bool:
        """True while the session exists, is ``username``'s, unexpired, and ``stamp`` is
        still the user's (``None``: the user is gone)."""
        if not isinstance(session_id, str) or not isinstance(username, str) or stamp is None:
            return False
        now = time.time() if now is None else now
        with self._connect() as conn:
            row = conn.execute(
                "SELECT username, stamp, expires_at FROM web_sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
        return row is not None and row[0] == username and row[1] == stamp and row[2] > now

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str):
            with self._connect() as conn:
                conn.execute("DELETE FROM web_sessions WHERE id = ?", (session_id,))

    def end_all(self, username: str) -> int:
        """End every session of ``username``; how many there were."""
        with self._connect() as conn:
            return conn.execute("DELETE FROM web_sessions WHERE username = ?", (username,)).rowcount
