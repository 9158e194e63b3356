"""``misinfo run``: scheduled crawls, locks, time limits, reloads, restarts and clean stops.

The service tests start ``misinfo run --no-ui`` in a subprocess against the local demo sites,
exactly as an operator would, and read the run history and job store it leaves behind. The
unit tests below them cover the pieces (locks, run history migrations, triggers, job sync,
metrics) in-process.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from crawler.app import App, ConfigError
from crawler.demosite import DemoServer
from crawler.resources.sources import Schedule, Source
from crawler.service.crawl_process import failure_reason
from crawler.service.history import RunHistory, RunRecord
from crawler.service.locks import EXIT_LOCKED, LockBusy, SourceLock, acquire_all
from crawler.service.metrics import duration_buckets, metrics_registry
from crawler.service.scheduler import (
    CrawlService,
    SchedulerSettings,
    build_trigger,
    cron_weekdays,
    effective_jitter,
    read_next_runs,
)
from tests.helpers import FAST_CRAWL_SETTINGS, REPO_ROOT, demo_source_entries, write_config


# -- helpers -------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings(**scheduler: object) -> dict:
    return {**FAST_CRAWL_SETTINGS, "scheduler": {"jitter": 1, "reload_interval": 1, **scheduler}}


def _light_source(server: DemoServer, host: str, name: str, every: str = "5s") -> dict:
    """A quick source: the home page and the articles it links to."""
    entry = demo_source_entries(server, host, name=name, feeds=False, sitemaps=False)
    entry.update(schedule={"every": every}, follow_depth=1, max_pages=40)
    return entry


def _history(data_dir: Path) -> list[RunRecord]:
    path = data_dir / "state.db"
    return list(reversed(RunHistory(path).list(limit=1000))) if path.exists() else []


def _finished(data_dir: Path, source: str) -> list[RunRecord]:
    return [r for r in _history(data_dir) if r.source == source and r.status != "running"]


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


class Service:
    """``misinfo run`` in a subprocess, its stderr in a file."""

    def __init__(self, config_dir: Path, data_dir: Path, *args: str, ui: bool = False):
        self.log_path = data_dir.parent / f"service-{time.monotonic_ns()}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("MISINFO_CONFIG", None)
        env.pop("MISINFO_DATA_DIR", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "crawler", "--config", str(config_dir)),
                    *("--data-dir", str(data_dir), "run", *(() if ui else ("--no-ui",)), *args),
                ],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, text: str, timeout: float = 30) -> None:
        _wait_for(lambda: text in self.log or self.process.poll() is not None, timeout, text)
        assert text in self.log, self.log

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"service did not stop on SIGTERM\n{self.log}") from None


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Every service a test starts is stopped (killed if need be) at the end."""
    started: list[Service] = []
    yield started
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()


def _assert_no_overlap(records: list[RunRecord]) -> None:
    spans = sorted((r.started_at, r.finished_at or "") for r in records)
    for (_, previous_end), (next_start, _) in itertools.pairwise(spans):
        assert previous_end <= next_start, f"runs overlap: {spans}"


def _assert_documents_complete(data_dir: Path) -> int:
    from index import SearchRequest
    from index.sqlite import SqliteStore

    with sqlite3.connect(data_dir / "index.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = SqliteStore(data_dir / "index.db")
    try:
        documents = list(store.scan(SearchRequest()))
    finally:
        store.close()
    for doc in documents:
        assert doc.title and doc.text and doc.content_hash and doc.fetched_at, doc.url
        assert doc.canonical_url and doc.site and doc.source in {"songhong", "tonghop"}
        assert "covid" in doc.analysis and "claim" in doc.analysis, doc.url
    return len(documents)


# -- the service, end to end -----------------------------------------------------------------
@pytest.mark.slow
def test_scheduled_service_runs_sources_survives_restart_and_stops_cleanly(
    tmp_path, demo_server, services
):
    """The issue's acceptance test: two sources on 5 s intervals, a restart, a SIGTERM."""
    config_dir = write_config(
        tmp_path / "config",
        [
            _light_source(demo_server, "tonghop24.localhost", "tonghop"),
            _light_source(demo_server, "songhong.localhost", "songhong"),
        ],
        _settings(kill_grace=20),
    )
    data_dir = tmp_path / "data"
    metrics_port = _free_port()

    first = Service(config_dir, data_dir, "--metrics-port", str(metrics_port))
    services.append(first)
    first.wait_log("service started")
    assert "added songhong, tonghop" in first.log
    _wait_for(
        lambda: all(len(_finished(data_dir, name)) >= 2 for name in ("tonghop", "songhong")),
        150,
        "two finished runs of each source",
    )
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read().decode()
    assert 'misinfo_run_duration_seconds_count{source="tonghop"}' in metrics
    fetched = [line for line in metrics.splitlines() if line.startswith("misinfo_pages_fetched")]
    assert len(fetched) == 2 and all(float(line.split()[-1]) > 0 for line in fetched)
    assert first.stop() == 0
    assert "run start tonghop (scheduled" in first.log and "run end tonghop: ok" in first.log
    jobs_before = read_next_runs(data_dir)
    assert set(jobs_before) == {"tonghop", "songhong"}
    runs_before = len(_history(data_dir))

    second = Service(config_dir, data_dir, "--metrics-port", "0")
    services.append(second)
    second.wait_log("service started")
    assert "kept songhong, tonghop" in second.log  # jobs came back from the job store
    assert len(_history(data_dir)) >= runs_before  # history kept
    # Stop in the middle of a crawl: the run ends cleanly, its batch flushed or not written.
    _wait_for(
        lambda: any(r.status == "running" for r in _history(data_dir)[runs_before:]),
        60,
        "a run after the restart",
    )
    time.sleep(1.5)
    assert second.stop() == 0
    assert "service stopped" in second.log

    history = _history(data_dir)
    assert len(history) > runs_before
    assert not [r for r in history if r.status == "running"]
    assert all(r.finished_at and r.trigger == "scheduled" for r in history)
    for name in ("tonghop", "songhong"):
        records = [r for r in history if r.source == name]
        assert sum(r.status == "ok" for r in records) >= 2
        _assert_no_overlap(records)
    assert _assert_documents_complete(data_dir) > 0
    assert not SourceLock(data_dir, "tonghop").is_locked()


class _SilentServer:
    """Accepts connections and never answers: the slowest hostile site there is."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.slow
def test_hung_crawl_is_stopped_recorded_failed_and_the_next_run_happens(tmp_path, services):
    silent = _SilentServer()
    try:
        config_dir = write_config(
            tmp_path / "config",
            [
                {
                    "name": "hung",
                    "start_urls": [f"http://127.0.0.1:{silent.port}/"],
                    "schedule": {"every": "5s"},
                }
            ],
            _settings(run_timeout=6, kill_grace=2, health_window=2),
        )
        data_dir = tmp_path / "data"
        service = Service(config_dir, data_dir, "--metrics-port", "0")
        services.append(service)
        _wait_for(lambda: len(_finished(data_dir, "hung")) >= 2, 60, "two timed-out runs")
        assert service.stop() == 0
    finally:
        silent.close()
    runs = _finished(data_dir, "hung")
    assert all(r.status == "failed" for r in runs)
    assert all(r.errors[0].startswith("timed out after 6s") for r in runs), runs
    assert "run end hung: failed" in service.log and "timed out after 6s" in service.log
    text = _metrics_text(data_dir, health_window=2)
    assert 'misinfo_source_unhealthy{source="hung"} 1.0' in text
    assert f'misinfo_run_failures_total{{source="hung"}} {float(len(runs))}' in text


def _metrics_text(data_dir: Path, **options: object) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics_registry(data_dir / "state.db", **options)).decode()  # type: ignore[arg-type]


def test_sources_file_edits_apply_without_restart(tmp_path, services):
    far = "0 3 1 1 *"  # once a year: nothing gets crawled during the test
    entry = {"name": "alpha", "start_urls": ["http://127.0.0.1:9/"], "schedule": far}
    config_dir = write_config(tmp_path / "config", [entry], _settings())
    data_dir = tmp_path / "data"
    service = Service(config_dir, data_dir, "--metrics-port", "0")
    services.append(service)
    service.wait_log("service started")
    assert set(read_next_runs(data_dir)) == {"alpha"}

    sources_path = config_dir / "sources.yaml"
    # A cron schedule, not an interval: a new interval source runs within its jitter.
    beta = {"name": "beta", "start_urls": ["http://127.0.0.1:9/"], "schedule": "0 3 2 1 *"}
    sources_path.write_text(yaml.safe_dump({"sources": [entry, beta]}), encoding="utf-8")
    _wait_for(lambda: set(read_next_runs(data_dir)) == {"alpha", "beta"}, 20, "beta added")

    sources_path.write_text("sources:\n  - name: [broken\n", encoding="utf-8")
    service.wait_log("sources file not applied, keeping the previous one")
    assert set(read_next_runs(data_dir)) == {"alpha", "beta"}

    disabled = {**entry, "enabled": False}
    changed = {**beta, "schedule": "30 4 * * *"}
    sources_path.write_text(yaml.safe_dump({"sources": [disabled, changed]}), encoding="utf-8")
    _wait_for(lambda: set(read_next_runs(data_dir)) == {"beta"}, 20, "alpha removed")
    service.wait_log("rescheduled beta")
    assert read_next_runs(data_dir)["beta"].minute == 30

    sources_path.write_text(yaml.safe_dump({"sources": [entry, changed]}), encoding="utf-8")
    service.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: set(read_next_runs(data_dir)) == {"alpha", "beta"}, 10, "SIGHUP reload")
    assert service.stop() == 0
    assert not _history(data_dir)  # nothing was due


def test_service_serves_the_web_ui_with_metrics(tmp_path, services):
    pytest.importorskip("crawler.cli.web")
    entry = {"name": "alpha", "start_urls": ["http://127.0.0.1:9/"], "schedule": "0 3 1 1 *"}
    config_dir = write_config(tmp_path / "config", [entry], _settings())
    port = _free_port()
    service = Service(config_dir, tmp_path / "data", "--port", str(port), ui=True)
    services.append(service)
    service.wait_log("web UI on")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert 'misinfo_pages_fetched_total{source="alpha"} 0.0' in metrics
    home = urllib.request.urlopen(f"http://127.0.0.1:{port}/")
    assert home.url.endswith("/login?next=%2F")  # the UI itself still wants a login
    assert service.stop() == 0


def test_a_second_service_on_the_same_data_dir_is_refused(tmp_path, services):
    entry = {"name": "alpha", "start_urls": ["http://127.0.0.1:9/"], "schedule": "0 3 1 1 *"}
    config_dir = write_config(tmp_path / "config", [entry], _settings())
    data_dir = tmp_path / "data"
    with SourceLock(data_dir, "_service", trigger="service"):
        service = Service(config_dir, data_dir, "--metrics-port", "0")
        services.append(service)
        assert service.process.wait(timeout=60) == 1
    assert "another `misinfo run` uses" in service.log


@pytest.mark.slow
def test_concurrent_manual_crawls_of_one_source_refuse_or_wait(tmp_path, demo_server):
    config_dir = write_config(
        tmp_path / "config", [_light_source(demo_server, "tonghop24.localhost", "tonghop")]
    )
    data_dir = tmp_path / "data"
    lock = SourceLock(data_dir, "tonghop")

    def crawl(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "crawler", "--config", str(config_dir)),
                *("--data-dir", str(data_dir), "crawl", "tonghop", *args),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # Refused at once while another process (here: this one, as a scheduled run) crawls it.
    with SourceLock(data_dir, "tonghop", trigger="scheduled"):
        refused = crawl()
        scheduled = crawl("--trigger", "scheduled")
        _, refused_err = refused.communicate(timeout=60)
        assert scheduled.wait(timeout=60) == EXIT_LOCKED
    assert refused.returncode == 1
    assert f"'tonghop' is being crawled right now (scheduled run, pid {os.getpid()}" in refused_err
    assert "--wait" in refused_err
    assert not _history(data_dir)  # refused crawls record nothing

    # Two real crawls: the second waits for the first and then runs.
    first = crawl()
    _wait_for(lock.is_locked, 60, "the first crawl to take the lock")
    waiting = crawl("--wait", "120")
    assert first.wait(timeout=120) == 0
    _, waiting_err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, waiting_err
    assert "waiting up to 120s: 'tonghop' is locked by a manual run" in waiting_err
    runs = _finished(data_dir, "tonghop")
    assert [r.status for r in runs] == ["ok", "ok"]
    _assert_no_overlap(runs)


# -- pieces ------------------------------------------------------------------------------------
def test_source_lock_is_exclusive_and_says_who_holds_it(tmp_path):
    holder = SourceLock(tmp_path, "alpha", trigger="scheduled")
    holder.acquire()
    try:
        other = SourceLock(tmp_path, "alpha")
        assert other.is_locked()
        with pytest.raises(LockBusy) as caught:
            other.acquire(wait=0.3, poll=0.05)
        assert caught.value.holder.pid == os.getpid()
        assert caught.value.holder.trigger == "scheduled"
        assert not other.held
    finally:
        holder.release()
    assert not SourceLock(tmp_path, "alpha").is_locked()


def test_acquire_all_takes_every_lock_or_none(tmp_path):
    busy = SourceLock(tmp_path, "beta")
    busy.acquire()
    try:
        wanted = [SourceLock(tmp_path, "alpha"), SourceLock(tmp_path, "beta")]
        with pytest.raises(LockBusy):
            acquire_all(wanted)
        assert not SourceLock(tmp_path, "alpha").is_locked()
    finally:
        busy.release()
    acquire_all(wanted)
    assert all(lock.held for lock in wanted)


def test_old_run_history_is_migrated_in_place(tmp_path):
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,"
            " trigger TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,"
            " status TEXT NOT NULL, fetched INTEGER NOT NULL DEFAULT 0,"
            " new INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,"
            " unchanged INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
            " errors TEXT NOT NULL DEFAULT '[]');"
            "INSERT INTO runs (source, trigger, started_at, finished_at, status, fetched)"
            " VALUES ('a', 'manual', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:09+00:00',"
            " 'ok', 5);"
        )
    history = RunHistory(path)
    (old,) = history.list()
    assert (old.fetched, old.flags, old.pid, old.duration) == (5, {}, None, 9.0)
    RunHistory(path)  # opening again applies nothing twice
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3


def test_failed_child_rows_are_settled(tmp_path):
    history = RunHistory(tmp_path / "state.db")
    since = "2026-01-01T00:00:00+00:00"
    running = history.start("a", "scheduled", "2026-01-01T00:00:01+00:00", pid=4242)
    closed = RunRecord(
        source="a",
        trigger="scheduled",
        started_at="2026-01-01T00:00:02+00:00",
        finished_at="2026-01-01T00:00:03+00:00",
        status="ok",
        pid=4242,
    )
    history.record(closed)
    assert history.fail_runs_of_process(4242, "crashed", since=since) == 1
    statuses = {r.id: (r.status, r.errors) for r in history.list()}
    assert statuses[running] == ("failed", ["crashed"])
    assert history.fail_runs_of_process(4242, "timed out", since=since, override_finished=True) == 2
    assert {r.status for r in history.list()} == {"failed"}

    history.start("b", "manual", "2026-01-01T00:00:05+00:00", pid=1)
    assert history.running_sources() == ["b"]
    assert history.fail_stale("b", "interrupted") == 1
    assert history.running_sources() == []
    assert history.recent_statuses(2) == {"a": ["failed", "failed"], "b": ["failed"]}


@pytest.mark.parametrize(
    ("returncode", "timed_out", "stopping", "expected"),
    [
        (0, False, False, None),
        (1, False, False, None),  # a failed crawl the child recorded itself
        (EXIT_LOCKED, False, False, None),
        (None, True, False, "timed out after 5s; stopped by the scheduler"),
        (-9, False, False, "killed by signal SIGKILL (crashed or killed)"),
        (-15, False, True, "killed by signal SIGTERM (the service stopped)"),
        (1, False, True, "interrupted: the service stopped"),
        (2, False, False, "crawl process exited with code 2: Error: boom"),
    ],
)
def testfailure_reason(returncode, timed_out, stopping, expected):
    reason = failure_reason(
        returncode, timed_out=timed_out, timeout=5, stopping=stopping, output_tail="Error: boom"
    )
    assert reason == expected


def test_triggers_and_jitter():
    every = Schedule(every_seconds=10)
    assert effective_jitter(every, 60) == 2  # at most a fifth of the interval
    assert effective_jitter(Schedule(every_seconds=3600), 60) == 60
    assert effective_jitter(Schedule(cron="*/5 * * * *"), 30) == 30
    trigger = build_trigger(every, jitter=60)
    assert trigger.interval.total_seconds() == 10 and trigger.jitter == 2
    cron = build_trigger(Schedule(cron="15 6 * * 1"), jitter=0, timezone="Asia/Ho_Chi_Minh")
    fire = cron.get_next_fire_time(None, datetime.fromisoformat("2026-11-28T00:00:00+07:00"))
    assert (fire.weekday(), fire.hour, fire.minute) == (0, 6, 15)


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("0,6", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-wed", "mon,tue,wed"),
        ("0-7", "*"),
    ],
)
def test_cron_weekdays_follow_crontab_numbering(field, names):
    assert cron_weekdays(field) == names


@pytest.mark.parametrize("field", ["8", "5-2", "x", "*/0"])
def test_cron_weekdays_rejects_malformed_fields(field):
    with pytest.raises(ValueError):
        cron_weekdays(field)


def test_scheduler_settings_validation():
    config = SchedulerSettings.from_settings(
        {"scheduler": {"run_timeout": 90, "run_timeouts": {"slow": 900}}}
    )
    assert (config.timeout_for("slow"), config.timeout_for("other")) == (900, 90)
    bad_sections = (
        {"run_timeout": 0},
        {"jitter": "soon"},
        {"typo": 1},
        {"max_parallel": 0},
        {"timezone": "Mars/Olympus"},
    )
    for bad in bad_sections:
        with pytest.raises(ConfigError, match="scheduler"):
            SchedulerSettings.from_settings({"scheduler": bad})


def test_jobs_follow_sources_and_persist_across_service_restarts(tmp_path):
    app = App(data_dir=tmp_path / "data")
    config = SchedulerSettings(jitter=0)

    def source(name: str, schedule: Schedule, *, enabled: bool = True) -> Source:
        return Source(
            name=name, start_urls=["http://127.0.0.1:9/"], schedule=schedule, enabled=enabled
        )

    service = CrawlService(app, config)
    service.start()  # the bundled sources file: the demo sources
    try:
        bundled = set(read_next_runs(app.data_dir))
        assert bundled and all(not name.startswith("vn") for name in bundled)
        yearly = Schedule(cron="0 3 1 1 *")
        changes = service.apply_sources(
            [source("alpha", yearly), source("beta", Schedule(every_seconds=7200))]
        )
        assert (changes.added, changes.removed) == (["alpha", "beta"], sorted(bundled))
        next_alpha = read_next_runs(app.data_dir)["alpha"]
        changes = service.apply_sources(
            [source("alpha", yearly), source("beta", Schedule(cron="0 4 * * *"), enabled=True)]
        )
        assert (changes.kept, changes.changed) == (["alpha"], ["beta"])
        assert read_next_runs(app.data_dir)["alpha"] == next_alpha
        assert read_next_runs(app.data_dir)["beta"].minute == 0
        with pytest.raises(LockBusy):
            CrawlService(app, config).start()  # one service per data directory
    finally:
        service.stop()
    assert set(read_next_runs(app.data_dir)) == {"alpha", "beta"}  # persisted, not cleared


def test_metrics_come_from_run_history(tmp_path):
    history = RunHistory(tmp_path / "state.db")
    for second, status, flags in ((5, "ok", {"covid": 2, "claim": 1}), (40, "failed", {})):
        history.record(
            RunRecord(
                source="a",
                trigger="scheduled",
                started_at="2026-01-01T00:00:00+00:00",
                finished_at=f"2026-01-01T00:00:{second:02d}+00:00",
                status=status,
                fetched=10,
                new=3,
                updated=1,
                flags=flags,
            )
        )
    history.start("a", "scheduled", "2026-01-01T00:01:00+00:00")  # running: not counted
    text = _metrics_text(tmp_path, sources=lambda: ["a", "never-ran"])
    expected = [
        'misinfo_pages_fetched_total{source="a"} 20.0',
        'misinfo_documents_indexed_total{change="new",source="a"} 6.0',
        'misinfo_documents_indexed_total{change="updated",source="a"} 2.0',
        'misinfo_flags_raised_total{flag="covid",source="a"} 2.0',
        'misinfo_flags_raised_total{flag="claim",source="a"} 1.0',
        'misinfo_run_failures_total{source="a"} 1.0',
        'misinfo_runs_total{source="a",status="ok"} 1.0',
        'misinfo_run_duration_seconds_bucket{le="5.0",source="a"} 1.0',
        'misinfo_run_duration_seconds_bucket{le="30.0",source="a"} 1.0',
        'misinfo_run_duration_seconds_bucket{le="60.0",source="a"} 2.0',
        'misinfo_run_duration_seconds_sum{source="a"} 45.0',
        'misinfo_source_unhealthy{source="a"} 0.0',
        'misinfo_pages_fetched_total{source="never-ran"} 0.0',
    ]
    for line in expected:
        assert line in text, line
    assert duration_buckets([0.5, 3600, 9000])[-1] == ("+Inf", 3.0)


def test_sources_and_runs_commands_report_health(tmp_path):
    from tests.helpers import run_cli

    entry = {"name": "alpha", "start_urls": ["http://127.0.0.1:9/"], "schedule": {"every": "1h"}}
    config_dir = write_config(tmp_path / "config", [entry], _settings(health_window=2))
    data_dir = tmp_path / "data"
    history = RunHistory(data_dir / "state.db")
    for minute in (1, 2):
        history.record(
            RunRecord(
                source="alpha",
                trigger="scheduled",
                started_at=f"2026-01-01T00:0{minute}:00+00:00",
                finished_at=f"2026-01-01T00:0{minute}:05+00:00",
                status="empty",
            )
        )
    (row,) = json.loads(run_cli(config_dir, data_dir, "sources", "--json").stdout)
    assert (row["health"], row["health_reason"]) == ("unhealthy", "last 2 runs: 2 empty")
    assert row["next_run"] is None  # no service ever ran here
    table = run_cli(config_dir, data_dir, "runs").stdout
    assert "unhealthy: alpha: last 2 runs: 2 empty" in table


def test_metrics_are_served_in_front_of_the_web_app_login(tmp_path):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, RedirectResponse
    from starlette.testclient import TestClient

    from crawler.cli.run import with_metrics

    async def login_wall(scope, receive, send):  # what the UI does to anonymous requests
        if scope["type"] != "http" or scope["path"] == "/login":
            await web_app(scope, receive, send)
        else:
            await RedirectResponse("/login", status_code=303)(scope, receive, send)

    web_app = Starlette()
    web_app.add_route("/login", lambda _request: PlainTextResponse("login"))
    RunHistory(tmp_path / "state.db").record(
        RunRecord(
            source="a",
            trigger="manual",
            started_at="2026-01-01T00:00:00+00:00",
            finished_at="2026-01-01T00:00:02+00:00",
            status="ok",
            fetched=7,
        )
    )
    served = with_metrics(login_wall, metrics_registry(tmp_path / "state.db"))
    with TestClient(served) as client:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert 'misinfo_pages_fetched_total{source="a"} 7.0' in response.text
        assert client.get("/", follow_redirects=False).status_code == 303
        assert client.get("/login").text == "login"
