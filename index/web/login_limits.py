"""Failed-login limits shared by every server process, checked before the password hash.

``misinfo serve --workers N`` runs N processes; a limiter in each process's memory let
N times the allowed guesses through, and checking the count *after* hashing let 25
parallel guesses all reach the hash (each argon2 try holds 64 MiB). Here an attempt first
takes its place in the count, in one ``BEGIN IMMEDIATE`` transaction of the state database
(so processes and threads are serialised): over the limit, it is refused at once without
hashing; under it, it counts as a failure until :meth:`end` says it succeeded.
:data:`HASH_SLOTS` bounds how many hashes one process computes at a time.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HASH_SLOTS", "LoginTicket", "SharedLoginLimiter"]

#: Password hashes computed at once per process (argon2 takes 64 MiB each, by design).
HASH_SLOTS = threading.BoundedSemaphore(2)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key_at ON login_failures (key, at);
"""


@dataclass(frozen=True, slots=True)
class LoginTicket:
    """One attempt's place in the count: the rows it added, and the user it was for."""

    user_key: str
    rows: tuple[int, ...] = ()


class SharedLoginLimiter:
    """Failed logins allowed per user name (``per_user``) and per client address
    (``per_address``) within ``window_seconds``, counted in a SQLite file every process
    shares (the data directory's ``state.db``)."""

    def __init__(
        self,
        path: str | Path,
        per_user: int = 5,
        per_address: int = 20,
        window_seconds: float = 300.0,
    ) -> None:
        self.path = Path(path)
        self.limits = {"user": per_user, "addr": per_address}
        self.window = window_seconds
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.executescript(_SCHEMA)  # commits by itself
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"user:{username.strip().lower()}", f"addr:{address}"

    def begin(
        self, username: str, address: str, now: float | None = None
    ) -> tuple[float, LoginTicket | None]:
        """Take a place for one attempt: ``(0, ticket)`` to go on and hash, or
        ``(seconds to wait, None)`` when the user or address used up its failures."""
        now = time.time() if now is None else now
        user_key, addr_key = self._keys(username, address)
        with self._transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE at <= ?", (now - self.window,))
            wait = 0.0
            for key, kind in ((user_key, "user"), (addr_key, "addr")):
                count, oldest = conn.execute(
                    "SELECT count(*), min(at) FROM login_failures WHERE key = ?", (key,)
                ).fetchone()
                if count >= self.limits[kind]:
                    wait = max(wait, oldest + self.window - now)
            if wait > 0:
                return wait, None
            rows = tuple(
                conn.execute(
                    "INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, now)
                ).lastrowid
                for key in (user_key, addr_key)
            )
        return 0.0, LoginTicket(user_key, rows)

    def end(self, ticket: LoginTicket, *, succeeded: bool) -> None:
        """A failed attempt keeps its place; a successful one clears the user's failures
        (and its own place in the address's count)."""
        if not succeeded:
            return
        with self._transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = ?", (ticket.user_key,))
            conn.executemany("DELETE FROM login_failures WHERE id = ?", [(r,) for r in ticket.rows])
