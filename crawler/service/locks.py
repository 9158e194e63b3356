"""Per-source crawl locks shared by every process that uses one data directory.

A source must never be crawled twice at once: the scheduler service, a manual
``misinfo crawl`` and a second service would otherwise fetch the same pages and race on the
same documents. Each crawl holds an exclusive ``fcntl`` lock on
``<data dir>/locks/<source>.lock``; the kernel drops it when the process dies, however it
dies, so a crashed crawl never leaves a stale lock behind. The file's content (pid, trigger,
start time) only serves the message shown to whoever finds the lock taken.

Crawls on the redis frontier (:mod:`crawler.frontier.config`) take the lock *shared*: any number of
them may crawl one source together (they split one Redis queue), while a local-frontier
crawl, which takes it exclusive, still waits for them all, and they for it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from crawler.service.history import utc_now

__all__ = [
    "EXIT_LOCKED",
    "SERVICE_LOCK_NAME",
    "LockBusy",
    "LockHolder",
    "SourceLock",
    "acquire_all",
    "lock_dir",
]

#: Exit status of ``misinfo crawl --trigger scheduled`` when the source is locked (EX_TEMPFAIL).
EXIT_LOCKED = 75

#: The lock the ``misinfo run`` service holds so that one data directory has one scheduler.
SERVICE_LOCK_NAME = "_service"


def lock_dir(data_dir: Path) -> Path:
    return data_dir / "locks"


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a lock, as far as its file says (it may be gone by the time you read it)."""

    pid: int | None
    trigger: str
    since: str

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid else "another process"
        return f"{self.trigger} run, {who}, since {self.since}" if self.since else who


class LockBusy(Exception):
    """The lock is held by another process; ``holder`` says by whom."""

    def __init__(self, name: str, holder: LockHolder):
        super().__init__(f"{name!r} is locked by a {holder.describe()}")
        self.name = name
        self.holder = holder


class SourceLock:
    """A non-reentrant lock on one source (or the service) in a data directory: exclusive,
    or ``shared`` with other shared holders (redis-frontier crawls of the source)."""

    def __init__(self, data_dir: Path, name: str, *, trigger: str = "manual", shared: bool = False):
        self.name = name
        self.trigger = trigger
        self.shared = shared
        self.path = lock_dir(data_dir) / f"{name}.lock"
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self, *, wait: float = 0.0, poll: float = 0.2) -> None:
        """Take the lock, waiting up to ``wait`` seconds; raise :class:`LockBusy` if still taken."""
        if self._handle is not None:
            raise RuntimeError(f"lock {self.name!r} already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        handle = self.path.open("a+", encoding="utf-8")
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            while True:
                try:
                    fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockBusy(self.name, self.holder()) from None
                    time.sleep(poll)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "trigger": self.trigger, "since": utc_now()}) + "\n"
        )
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            if not self.shared:  # other shared holders may still be named in the file
                handle.truncate(0)
        finally:
            handle.close()  # closing the descriptor drops the flock

    def is_locked(self) -> bool:
        """Whether some process (this one included) holds the lock right now."""
        if self._handle is not None:
            return True
        if not self.path.exists():
            return False
        with self.path.open("a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False

    def holder(self) -> LockHolder:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            data = {}
        return LockHolder(
            pid=data.get("pid"), trigger=data.get("trigger", "?"), since=data.get("since", "")
        )

    def __enter__(self) -> SourceLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def acquire_all(locks: list[SourceLock], *, wait: float = 0.0) -> None:
    """Take every lock or none: on :class:`LockBusy` the ones already taken are released.

    Locks are taken in name order so two processes that want overlapping sets cannot
    deadlock while waiting.
    """
    taken: list[SourceLock] = []
    deadline = time.monotonic() + wait
    try:
        for lock in sorted(locks, key=lambda lock: lock.name):
            lock.acquire(wait=max(0.0, deadline - time.monotonic()))
            taken.append(lock)
    except BaseException:
        for lock in taken:
            lock.release()
        raise
