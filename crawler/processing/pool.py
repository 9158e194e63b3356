"""Worker processes that run batch functions, one batch at a time each.

:class:`WorkerPool` starts ``size`` processes (``spawn``: a fresh interpreter, nothing of the
crawl's reactor or threads inherited), each with a pipe and a thread of its own in this
process that hands it one call at a time from a shared queue and waits for the answer, so
every :meth:`~WorkerPool.submit` returns a :class:`concurrent.futures.Future` and the caller
never blocks. It knows which batch each process holds, so when a process dies (a crash in a
C library, the kernel's OOM killer, a ``kill -9``) or overruns ``timeout``, only that batch
is affected: the process is replaced and the batch retried once on the new one; a second
loss fails the call with :class:`WorkerLost` (the caller records its pages as failed). An
exception raised by the batch function itself is no loss: it fails the call with
:class:`BatchError` and the process goes on.

A worker exits when its pipe closes, so workers never outlive a crawl process killed with
SIGKILL; they ignore SIGINT (Ctrl-C reaches the whole process group), because a crawl that
stops cleanly still needs them for the pages in flight.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["BatchError", "PoolStats", "WorkerLost", "WorkerPool", "WorkerStartError"]

log = logging.getLogger(__name__)

#: Seconds a new worker may take to start and run its initializer (loading models).
START_TIMEOUT = 300.0
#: Seconds a stopping worker gets to exit before it is killed.
STOP_GRACE = 5.0


class WorkerLost(Exception):
    """The process running a batch died (or overran the time limit) on every attempt."""


class BatchError(Exception):
    """The batch function raised in the worker; the message is its last line."""


class WorkerStartError(Exception):
    """A worker could not start (its initializer failed): the pool cannot run anything."""


@dataclass(slots=True)
class PoolStats:
    """What happened to the pool's processes (read from any thread)."""

    started: int = 0
    died: int = 0
    retried: int = 0
    lost: int = 0


@dataclass(slots=True)
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any] = field(default_factory=Future)
    attempts: int = 0


class _Died(Exception):
    pass


def _last_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


def _worker_main(conn: Connection, initializer: Callable[[], None] | None) -> None:
    """The worker process: run the initializer, then each call received, until the pipe
    closes or ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if initializer is not None:
            initializer()
    except BaseException as exc:
        conn.send(("fatal", _last_line(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the crawl process is gone
            return
        if message is None:
            return
        fn, args = message
        try:
            reply = ("ok", fn(*args))
        except Exception as exc:
            reply = ("error", _last_line(exc))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # the result does not pickle: say so instead
            conn.send(("error", f"result not sendable: {_last_line(exc)}"))


class _Process:
    """One worker process and the pipe to it."""

    def __init__(self, context: Any, initializer: Callable[[], None] | None, name: str) -> None:
        parent, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, initializer), name=name, daemon=True
        )
        self.process.start()
        child.close()  # ours closed: a dead worker reads as EOF
        self.conn: Connection = parent
        if not self.conn.poll(START_TIMEOUT):
            self.kill()
            raise WorkerStartError(f"worker did not start within {START_TIMEOUT:g}s")
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerStartError(f"worker exited while starting ({self._exit()})") from exc
        if status != "ready":
            self.stop()
            raise WorkerStartError(str(value))

    def _exit(self) -> str:
        self.process.join(1)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> tuple[str, Any]:
        try:
            self.conn.send((fn, args))
        except (BrokenPipeError, EOFError, ConnectionError) as exc:
            raise _Died(f"worker gone ({self._exit()})") from exc
        if not self.conn.poll(timeout):
            self.kill()
            raise _Died(f"no answer within {timeout:g}s: worker stopped")
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _Died(f"worker died ({self._exit()})") from exc

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(STOP_GRACE)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(STOP_GRACE)
        self.kill()


class WorkerPool:
    """``size`` worker processes running submitted calls, one call per process at a time.

    ``initializer`` runs in every new worker before its first call (loading models is a
    worker's start-up, not a batch's); ``timeout`` bounds one call; a call whose worker is
    lost is retried ``retries`` times on a fresh worker.
    """

    def __init__(
        self,
        size: int,
        *,
        initializer: Callable[[], None] | None = None,
        timeout: float = 600.0,
        retries: int = 1,
        start_method: str = "spawn",
    ) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = size
        self.timeout = timeout
        self.retries = retries
        self.stats = PoolStats()
        self._context = multiprocessing.get_context(start_method)
        self._initializer = initializer
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._started = 0
        self._ready: Future[None] = Future()
        self._closed = False
        self._threads = [
            threading.Thread(
                target=self._serve, args=(index,), name=f"mm-worker-{index}", daemon=True
            )
            for index in range(size)
        ]
        for thread in self._threads:
            thread.start()

    # -- the caller's side ------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` in a worker; ``fn`` and ``args`` must pickle (module-level
        functions, dataclasses)."""
        if self._closed:
            raise RuntimeError("the worker pool is shut down")
        call = _Call(fn, args)
        if self._broken is not None:
            call.future.set_exception(WorkerStartError(self._broken))
        else:
            self._calls.put(call)
        return call.future

    def ready(self) -> Future[None]:
        """Done when every worker has started once (or failed: :class:`WorkerStartError`)."""
        return self._ready

    def shutdown(self, *, timeout: float = 30.0) -> None:
        """Let the workers finish the calls already submitted, then stop them."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join(timeout)

    # -- the workers' threads ----------------------------------------------------------------
    def _start(self, index: int) -> _Process | None:
        """A new worker, or ``None`` once the pool is broken (its start failed)."""
        if self._broken is not None:
            return None
        try:
            process = _Process(self._context, self._initializer, f"mm-worker-{index}")
        except WorkerStartError as exc:
            with self._lock:
                self._broken = str(exc)
            log.error("a processing worker could not start: %s", exc)
            if not self._ready.done():
                self._ready.set_exception(exc)
            return None
        with self._lock:
            self.stats.started += 1
            self._started += 1
            all_up = self._started == self.size
        if all_up and not self._ready.done():
            self._ready.set_result(None)
        return process

    def _serve(self, index: int) -> None:
        process = self._start(index)
        while True:
            call = self._calls.get()
            if call is None:
                break
            if not call.future.set_running_or_notify_cancel():
                continue
            process = self._run(index, process, call)
        if process is not None:
            process.stop()

    def _run(self, index: int, process: _Process | None, call: _Call) -> _Process | None:
        """Run ``call`` to an outcome; returns the worker to use next (a replacement if
        this one was lost)."""
        while True:
            if process is None:
                call.future.set_exception(WorkerStartError(self._broken or "no worker"))
                return None
            call.attempts += 1
            try:
                status, value = process.run(call.fn, call.args, self.timeout)
            except _Died as exc:
                with self._lock:
                    self.stats.died += 1
                log.warning("processing worker %d lost (%s); starting another", index, exc)
                process = self._start(index)
                if call.attempts <= self.retries:
                    with self._lock:
                        self.stats.retried += 1
                    continue
                with self._lock:
                    self.stats.lost += 1
                call.future.set_exception(WorkerLost(f"{exc}, after {call.attempts} attempts"))
                return process
            except Exception as exc:  # the call itself does not pickle: nothing was sent
                call.future.set_exception(exc)
                return process
            if status == "ok":
                call.future.set_result(value)
            else:
                call.future.set_exception(BatchError(str(value)))
            return process
