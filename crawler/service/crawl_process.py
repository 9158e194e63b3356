"""Crawl one source in a subprocess of its own, with a time limit, and settle its record.

The scheduler never crawls in its own process: Twisted's reactor runs once per process, and
a crawl that leaks memory, hangs in a C library or crashes must not take the service down.
Each run is ``python -m crawler crawl SOURCE --trigger scheduled``; the child records its
own run. The parent watches the clock and the exit status and, when the child timed out,
crashed or was killed, marks what it left behind as failed with the reason, so the history
never keeps a ``running`` row nobody owns.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from crawler.app import App
from crawler.service.history import RunHistory, RunRecord, utc_now
from crawler.service.locks import EXIT_LOCKED

__all__ = ["ChildOutcome", "CrawlProcesses", "crawl_command_line"]

log = logging.getLogger("misinfo.scheduler")

#: A source's crawl log (``logs/crawl-<source>.log``) is moved to ``.1`` past this size, so
#: weeks of runs keep at most twice this much per source.
CRAWL_LOG_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ChildOutcome:
    """How one crawl subprocess ended, and the run rows it produced (settled)."""

    source: str
    pid: int
    started_at: str
    duration: float
    returncode: int | None
    #: Why the parent considers the run failed (timeout, signal, exit code), else ``None``.
    reason: str | None
    records: list[RunRecord]

    @property
    def cancelled(self) -> bool:
        """Stopped by a service shutdown before it wrote any run row: nothing happened."""
        return not self.records and self.reason is not None and "service stopped" in self.reason

    @property
    def skipped(self) -> bool:
        """The source was locked by another process: nothing ran, nothing was recorded."""
        return self.returncode == EXIT_LOCKED


def crawl_command_line(app: App, source: str, *, sources_file: Path | None) -> list[str]:
    """The child's command: the same interpreter, config and data directory as the service."""
    command = [sys.executable, "-m", "crawler"]
    if app.config_dir is not None:
        command += ["--config", str(app.config_dir)]
    command += ["--data-dir", str(app.data_dir), "crawl", source, "--trigger", "scheduled"]
    if sources_file is not None:
        command += ["--sources-file", str(sources_file)]
    return command


class CrawlProcesses:
    """Starts crawl subprocesses, enforces their time limit and stops them all on shutdown."""

    def __init__(self, app: App, *, kill_grace: float, log_dir: Path):
        self.app = app
        self.kill_grace = kill_grace
        self.log_dir = log_dir
        self._lock = threading.Lock()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = False

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._children)

    def run(
        self, source: str, *, timeout: float, sources_file: Path | None = None
    ) -> ChildOutcome | None:
        """Run one crawl of ``source`` to its end; ``None`` if the service is stopping."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"crawl-{source}.log"
        _rotate(log_path, max_bytes=CRAWL_LOG_MAX_BYTES)
        with self._lock:
            if self._stopping:
                return None
            started_at = utc_now()
            started = time.monotonic()
            with log_path.open("ab") as output:
                offset = output.tell()
                output.write(f"--- {started_at} scheduled run of {source}\n".encode())
                output.flush()
                process = subprocess.Popen(
                    crawl_command_line(self.app, source, sources_file=sources_file),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # our signals, not the terminal's, reach it
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            self._children[process.pid] = process
        log.info(
            "run start %s (scheduled, pid %d, time limit %ss)", source, process.pid, f"{timeout:g}"
        )
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._stop_child(process)
        finally:
            with self._lock:
                self._children.pop(process.pid, None)
                stopping = self._stopping
        reason = failure_reason(
            process.returncode,
            timed_out=timed_out,
            timeout=timeout,
            stopping=stopping,
            output_tail=_last_line(log_path, offset),
        )
        records = self._settle(
            source, process.pid, started_at, reason, timed_out=timed_out, stopping=stopping
        )
        return ChildOutcome(
            source=source,
            pid=process.pid,
            started_at=started_at,
            duration=time.monotonic() - started,
            returncode=process.returncode,
            reason=reason,
            records=records,
        )

    def _settle(
        self,
        source: str,
        pid: int,
        started_at: str,
        reason: str | None,
        *,
        timed_out: bool,
        stopping: bool,
    ) -> list[RunRecord]:
        """Make the child's rows tell the truth; add a failed row if it wrote none.

        A child a shutdown stopped before it wrote a row did nothing worth recording (and
        should not count against the source's health).
        """
        history = RunHistory(self.app.state_path)
        if reason is not None:
            changed = history.fail_runs_of_process(
                pid, reason, since=started_at, override_finished=timed_out
            )
            wrote_rows = bool(changed or history.runs_of_process(pid, since=started_at))
            if not wrote_rows and not (stopping and not timed_out):
                history.record(
                    RunRecord(
                        source=source,
                        trigger="scheduled",
                        started_at=started_at,
                        finished_at=utc_now(),
                        status="failed",
                        errors=[reason],
                        pid=pid,
                    )
                )
        else:
            # Exit 0 or 1 means the child closed its rows; anything still open is stale.
            history.fail_runs_of_process(
                pid, "the crawl process exited without closing its run", since=started_at
            )
        return history.runs_of_process(pid, since=started_at)

    def _stop_child(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM (Scrapy closes cleanly and flushes its batch), SIGKILL after the grace."""
        _signal(process, signal.SIGTERM, group=False)
        try:
            process.wait(timeout=self.kill_grace)
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL, group=True)
            process.wait()

    def stop_all(self) -> None:
        """Refuse new runs and ask running children to finish (SIGTERM)."""
        with self._lock:
            self._stopping = True
            children = list(self._children.values())
        for process in children:
            _signal(process, signal.SIGTERM, group=False)

    def kill_all(self) -> None:
        """SIGKILL whatever is still running (and its own children, e.g. a browser)."""
        with self._lock:
            children = list(self._children.values())
        for process in children:
            _signal(process, signal.SIGKILL, group=True)

    def wait_all(self, timeout: float) -> bool:
        """Wait until no child runs; ``False`` if some still do after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.running:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals, *, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, sig)  # the child leads its own session (start_new_session)
        else:
            process.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def failure_reason(
    returncode: int | None,
    *,
    timed_out: bool,
    timeout: float,
    stopping: bool,
    output_tail: str,
) -> str | None:
    if timed_out:
        return f"timed out after {timeout:g}s; stopped by the scheduler"
    if returncode is None or returncode in (0, 1, EXIT_LOCKED):
        if stopping and returncode not in (0, EXIT_LOCKED):
            return "interrupted: the service stopped"
        return None  # the child recorded its own outcome (exit 1: a failed crawl)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        cause = "the service stopped" if stopping else "crashed or killed"
        return f"killed by signal {name} ({cause})"
    tail = f": {output_tail}" if output_tail else ""
    return f"crawl process exited with code {returncode}{tail}"


def _last_line(path: Path, offset: int) -> str:
    """The last non-empty line the child wrote (its error, usually), shortened."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(offset, path.stat().st_size - 4096))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip() and not line.startswith("--- "):
            return line.strip()[:300]
    return ""


def _rotate(path: Path, *, max_bytes: int) -> None:
    try:
        if path.stat().st_size > max_bytes:
            path.replace(path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
