"""Analyst accounts: a ``users`` table in the state database, argon2 password hashes.

Passwords never leave this module in any form but an argon2id hash. :meth:`UserStore.authenticate`
spends the same hashing time whether or not the user exists, so response times do not tell
an attacker which names are real.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MIN_PASSWORD_LENGTH", "ROLES", "User", "UserError", "UserExists", "UserStore"]

ROLES = ("analyst", "supervisor", "admin")
#: Roles that may record a sanction or close a case (index.cases.DECIDING_ROLES).
DECIDING_ROLES = ("supervisor", "admin")
MIN_PASSWORD_LENGTH = 8
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""


class UserError(ValueError):
    """A user name, role or password that cannot be accepted; the message says why."""


class UserExists(UserError):
    """An account with that name already exists."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    created_at: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def may_decide_cases(self) -> bool:
        """May record a sanction or close a case."""
        return self.role in DECIDING_ROLES


def normalize_username(name: str) -> str:
    """Lower-cased NFC name; only ``a-z 0-9 . _ -`` so names are unambiguous in logs and URLs."""
    name = unicodedata.normalize("NFC", name or "").strip().lower()
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS:
        raise UserError(
            "user name must be 1-64 characters of a-z, 0-9, '.', '_' or '-' (e.g. 'lan.nguyen')"
        )
    return name


class UserStore:
    """Accounts kept in one SQLite file (the data directory's ``state.db``)."""

    def __init__(self, path: str | Path, *, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hasher = hasher or PasswordHasher()
        # Verified against when the user is unknown, to keep the timing the same.
        self._dummy_hash = self._hasher.hash("not a real password")
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def add(self, username: str, password: str, role: str = "analyst") -> User:
        """Create an account; ``UserExists`` for a taken name, ``UserError`` for bad input."""
        name = normalize_username(username)
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO users (username, password_hash, role, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (name, self._hasher.hash(password), role, created),
                )
        except sqlite3.IntegrityError as exc:
            raise UserExists(f"user {name!r} already exists") from exc
        return User(name, role, created)

    def set_password(self, username: str, password: str) -> None:
        name = normalize_username(username)
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (self._hasher.hash(password), name),
            ).rowcount
        if not changed:
            raise UserError(f"no user {name!r}")

    def get(self, username: str) -> User | None:
        try:
            name = normalize_username(username)
        except UserError:
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT username, role, created_at FROM users WHERE username = ?", (name,)
            ).fetchone()
        return None if row is None else User(*row)

    def list(self) -> list[User]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT username, role, created_at FROM users ORDER BY username"
            ).fetchall()
        return [User(*row) for row in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches, else ``None`` (same cost either way)."""
        try:
            name = normalize_username(username)
        except UserError:
            name = ""
        row = None
        if name:
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT username, role, created_at, password_hash FROM users "
                    "WHERE username = ?",
                    (name,),
                ).fetchone()
        stored = row[3] if row else self._dummy_hash
        try:
            self._hasher.verify(stored, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            with self._connect() as conn:
                conn.execute(
                    "UPDATE users SET password_hash = ? WHERE username = ?",
                    (self._hasher.hash(password), name),
                )
        return User(row[0], row[1], row[2])
