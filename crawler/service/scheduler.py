"""The crawl service behind ``misinfo run``: every enabled source on its own schedule.

APScheduler 3 keeps one job per enabled source in a SQLite job store in the data directory
(``scheduler.db``), so next run times survive restarts and a run missed while the service was
down still happens once (``misfire_grace_time``, ``coalesce``). Jobs call
:func:`run_source_job`, which runs the crawl in a subprocess (:mod:`crawler.service.crawl_process`);
``max_instances=1`` keeps a source from overlapping itself in this process and the per-source
file lock (:mod:`crawler.service.locks`) does so across processes.

The sources file is watched (mtime every ``reload_interval`` seconds, and on demand for
``SIGHUP``): jobs follow added, removed, disabled and rescheduled sources; an invalid file is
logged and the last valid one stays in force, because children crawl from a snapshot of it.

Size: the service's one state machine (jobs, reloads, children, shutdown); its parts share
the job store and the stop event.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.app import App, ConfigError
from crawler.resources.sources import Schedule, Source, SourcesError, load_sources
from crawler.service.crawl_process import ChildOutcome, CrawlProcesses
from crawler.service.history import RunHistory
from crawler.service.locks import SERVICE_LOCK_NAME, LockBusy, SourceLock

__all__ = [
    "CrawlService",
    "JobChanges",
    "SchedulerSettings",
    "build_trigger",
    "cron_weekdays",
    "effective_jitter",
    "read_next_runs",
    "run_source_job",
    "scheduler_db_path",
]

log = logging.getLogger("misinfo.scheduler")

#: The service whose jobs run in this process (APScheduler stores jobs by function name,
#: so the job function finds its service here rather than in pickled arguments).
_ACTIVE: CrawlService | None = None


def scheduler_db_path(data_dir: Path) -> Path:
    return data_dir / "scheduler.db"


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """The ``scheduler:`` section of ``settings.yaml`` (see the bundled file for meanings)."""

    run_timeout: float = 3600.0
    run_timeouts: dict[str, float] = field(default_factory=dict)
    kill_grace: float = 30.0
    jitter: float = 60.0
    misfire_grace_time: int = 600
    max_parallel: int = 4
    reload_interval: float = 5.0
    health_window: int = 3
    metrics_port: int = 9464
    timezone: str = ""

    @classmethod
    def from_settings(
        cls, settings: dict[str, Any], *, where: str = "settings.yaml"
    ) -> SchedulerSettings:
        section = settings.get("scheduler") or {}
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: field 'scheduler': expected a mapping")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"{where}: field 'scheduler.{unknown[0]}': unknown key")
        values: dict[str, Any] = {}
        for key, value in section.items():
            if value is None:
                continue
            default = getattr(cls(), key)
            try:
                if isinstance(default, dict):
                    values[key] = {str(name): float(limit) for name, limit in value.items()}
                elif isinstance(default, str):
                    values[key] = str(value)
                else:
                    values[key] = type(default)(value)
            except (TypeError, ValueError, AttributeError) as exc:
                raise ConfigError(
                    f"{where}: field 'scheduler.{key}': invalid value {value!r}"
                ) from exc
        config = cls(**values)
        for key in ("run_timeout", "kill_grace", "reload_interval"):
            if getattr(config, key) <= 0:
                raise ConfigError(f"{where}: field 'scheduler.{key}': must be positive")
        if config.timezone:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(config.timezone)
            except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
                raise ConfigError(
                    f"{where}: field 'scheduler.timezone': unknown time zone "
                    f"{config.timezone!r} (e.g. Asia/Ho_Chi_Minh)"
                ) from exc
        if config.max_parallel < 1 or config.health_window < 1:
            raise ConfigError(
                f"{where}: fields 'scheduler.max_parallel' and 'scheduler.health_window' must be >= 1"
            )
        return config

    def timeout_for(self, source: str) -> float:
        return self.run_timeouts.get(source, self.run_timeout)


def effective_jitter(schedule: Schedule, jitter: float) -> int:
    """Jitter for one schedule: the setting, but at most a fifth of an interval.

    Jitter spreads sources that share a schedule so they do not all start at the same
    second; on a short interval a full minute of it would swallow the interval itself.
    """
    if schedule.every_seconds:
        return int(min(jitter, schedule.every_seconds / 5))
    return int(jitter)


_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as APScheduler day names.

    APScheduler 3 numbers days from Monday = 0, so passing ``1`` through unchanged (as its
    ``CronTrigger.from_crontab`` does) would move a Monday job to Tuesday. Names mean the
    same thing to both. Raises ``ValueError`` for a malformed field.
    """
    days: set[int] = set()
    for item in field.lower().split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in day-of-week {field!r}")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _weekday_number(low)
            last = _weekday_number(high) if high else (6 if step_text else first)
            if high and _weekday_number(high) == 0 and high.strip() == "7":
                last = 7  # "5-7": Friday to Sunday
        if last < first:
            raise ValueError(f"day-of-week range {span!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_WEEKDAY_NAMES[day] for day in sorted(days))


def _weekday_number(text: str) -> int:
    text = text.strip()
    if text in _WEEKDAY_NAMES:
        return _WEEKDAY_NAMES.index(text)
    number = int(text)
    if not 0 <= number <= 7:
        raise ValueError(f"day of week {text!r} is not 0-7")
    return number % 7


def build_trigger(schedule: Schedule, *, jitter: float, timezone: str | None = None) -> Any:
    """An APScheduler trigger for a source's schedule (cron string or fixed interval)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    spread = effective_jitter(schedule, jitter) or None
    if schedule.cron:
        minute, hour, day, month, weekday = schedule.cron.split()
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_weekdays(weekday),
            timezone=timezone or None,
            jitter=spread,
        )
    return IntervalTrigger(
        seconds=schedule.every_seconds or 3600, jitter=spread, timezone=timezone or None
    )


def _job_name(source: Source, jitter: float) -> str:
    """Job names carry the schedule, so a restart can tell a kept job from a changed one."""
    return f"crawl {source.name} [{source.schedule.describe()}, jitter {effective_jitter(source.schedule, jitter)}s]"


@dataclass(frozen=True, slots=True)
class JobChanges:
    added: list[str]
    changed: list[str]
    removed: list[str]
    kept: list[str]

    def describe(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("rescheduled", self.changed),
                ("removed", self.removed),
                ("kept", self.kept),
            )
            if names
        ]
        return "; ".join(parts) or "no jobs"


def read_next_runs(data_dir: Path) -> dict[str, datetime | None]:
    """Next run time of each scheduled source, read straight from the job store.

    For ``misinfo sources`` in another process: reads APScheduler's table read-only and
    never unpickles jobs. Empty when no service ever ran on this data directory.
    """
    path = scheduler_db_path(data_dir)
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    return {
        job_id: datetime.fromtimestamp(when, UTC) if when is not None else None
        for job_id, when in rows
    }


def run_source_job(source: str) -> None:
    """The job function (stored by reference in the job store): one run of ``source``."""
    service = _ACTIVE
    if service is None:
        log.warning("run of %s fired with no active service; skipped", source)
        return
    service.run_source(source)


class CrawlService:
    """Schedules every enabled source and runs each crawl in a time-limited subprocess."""

    def __init__(self, app: App, config: SchedulerSettings):
        self.app = app
        self.config = config
        self.state_dir = app.data_dir / "scheduler"
        self.snapshot_path = self.state_dir / "sources.yaml"
        self.processes = CrawlProcesses(
            app, kill_grace=config.kill_grace, log_dir=app.data_dir / "logs"
        )
        self.sources: dict[str, Source] = {}
        self._scheduler: Any = None
        self._service_lock = SourceLock(app.data_dir, SERVICE_LOCK_NAME, trigger="service")
        self._sources_stamp: tuple[str, int, int] | None = None
        self._wake = threading.Event()
        self._stop_requested = False
        self._reload_requested = False
        self._active_jobs = 0
        self._jobs_idle = threading.Condition()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Take the service lock, settle stale runs, load sources and start the jobs.

        Raises :class:`LockBusy` when another service uses this data directory, and
        :class:`SourcesError` when the sources file is invalid at start (nothing to keep).
        """
        global _ACTIVE
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self.app.ensure_data_dir()
        self._service_lock.acquire()
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._settle_stale_runs()
            sources = self._initial_sources()
            self._scheduler = BackgroundScheduler(
                jobstores={
                    "default": SQLAlchemyJobStore(
                        url=f"sqlite:///{scheduler_db_path(self.app.data_dir)}"
                    )
                },
                executors={"default": ThreadPoolExecutor(self.config.max_parallel)},
                job_defaults={
                    "coalesce": True,
                    "max_instances": 1,
                    "misfire_grace_time": self.config.misfire_grace_time,
                },
                timezone=self.config.timezone or None,
            )
            _ACTIVE = self
            # Paused: the persistent store is open (jobs visible) but nothing fires before
            # the jobs match the sources file.
            self._scheduler.start(paused=True)
            changes = self.apply_sources(sources)
            log.info(
                "service started: %d source(s) scheduled (%s); job store %s",
                len(self.sources),
                changes.describe(),
                scheduler_db_path(self.app.data_dir),
            )
            self._scheduler.resume()
        except BaseException:
            _ACTIVE = None
            if self._scheduler is not None and self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._service_lock.release()
            raise

    def serve_until_stopped(self) -> None:
        """Watch the sources file until :meth:`request_stop`; then stop gracefully. Watch
        alerts still waiting for the webhook go out about once a minute meanwhile."""
        from crawler.alerts import PeriodicDelivery

        alerts = PeriodicDelivery(self.app)
        try:
            while not self._stop_requested:
                self._wake.wait(self.config.reload_interval)
                self._wake.clear()
                if self._stop_requested:
                    break
                force, self._reload_requested = self._reload_requested, False
                self.reload(force=force)
                alerts.tick()
        finally:
            self.stop()

    def request_stop(self) -> None:
        """Safe from a signal handler: the main loop does the work."""
        self._stop_requested = True
        self._wake.set()

    def request_reload(self) -> None:
        """Safe from a signal handler (``SIGHUP``)."""
        self._reload_requested = True
        self._wake.set()

    def stop(self) -> None:
        """No new runs; running crawls get SIGTERM, SIGKILL after ``kill_grace``."""
        global _ACTIVE
        if self._scheduler is None:
            return
        scheduler, self._scheduler = self._scheduler, None
        running = self.processes.running
        log.info("stopping: no new runs; %d running crawl(s) asked to finish", running)
        scheduler.pause()
        # Let the scheduler thread see the pause now; if it woke up only during shutdown it
        # would try to submit due jobs to the closed executor.
        scheduler.wakeup()
        self.processes.stop_all()
        if not self.processes.wait_all(self.config.kill_grace):
            log.warning("crawls still running after %ss: killing them", self.config.kill_grace)
            self.processes.kill_all()
        self._wait_for_jobs(timeout=self.config.kill_grace + 10)  # they record the outcome
        scheduler.shutdown(wait=True)
        _ACTIVE = None
        self._service_lock.release()
        log.info("service stopped")

    # -- sources and jobs ----------------------------------------------------------------------
    def reload(self, *, force: bool = False) -> JobChanges | None:
        """Apply the sources file if it changed (or ``force``); keep the old one if invalid."""
        path = self.app.config_path("sources.yaml")
        if not force and self._stamp(path) == self._sources_stamp:
            return None
        try:
            sources = self._read_sources()
        except SourcesError as exc:
            log.error("sources file not applied, keeping the previous one: %s", exc)
            return None
        changes = self.apply_sources(sources)
        log.info("sources file reloaded: %s", changes.describe())
        return changes

    def apply_sources(self, sources: list[Source]) -> JobChanges:
        """Make the jobs match the enabled ``sources`` (kept jobs keep their next run)."""
        enabled = {source.name: source for source in sources if source.enabled}
        added: list[str] = []
        changed: list[str] = []
        kept: list[str] = []
        for name, source in sorted(enabled.items()):
            job = self._scheduler.get_job(name)
            expected = _job_name(source, self.config.jitter)
            try:
                trigger = build_trigger(
                    source.schedule, jitter=self.config.jitter, timezone=self.config.timezone
                )
            except ValueError as exc:
                log.error("source %r: schedule not applied: %s", name, exc)
                if job is not None:
                    kept.append(name)
                continue
            if job is None:
                self._scheduler.add_job(
                    run_source_job,
                    trigger=trigger,
                    id=name,
                    name=expected,
                    args=[name],
                    replace_existing=True,
                    next_run_time=self._first_run(source, trigger),
                )
                added.append(name)
            elif job.name != expected:
                self._scheduler.modify_job(name, name=expected)
                self._scheduler.reschedule_job(name, trigger=trigger)
                changed.append(name)
            else:
                kept.append(name)
        removed = []
        scheduled = set(added) | set(changed) | set(kept)
        for job in self._scheduler.get_jobs():
            if job.id not in scheduled:
                self._scheduler.remove_job(job.id)
                removed.append(job.id)
        self.sources = {name: enabled[name] for name in scheduled}
        return JobChanges(added=added, changed=changed, removed=sorted(removed), kept=kept)

    def _first_run(self, source: Source, trigger: Any) -> datetime:
        """A new interval source runs soon (within its jitter); a cron one at its next time."""
        now = datetime.now(UTC)
        if source.schedule.every_seconds:
            spread = effective_jitter(source.schedule, self.config.jitter)
            return now + timedelta(seconds=random.uniform(0, max(spread, 1)))
        return trigger.get_next_fire_time(None, now)

    def _initial_sources(self) -> list[Source]:
        """The sources file, or the last valid snapshot of it when it is broken now."""
        try:
            return self._read_sources()
        except SourcesError as exc:
            if not self.snapshot_path.exists():
                raise
            log.error("sources file invalid, using the last valid copy: %s", exc)
            return load_sources(self.snapshot_path)

    def _read_sources(self) -> list[Source]:
        """Load and validate the sources file; on success snapshot it for the children."""
        path = self.app.config_path("sources.yaml")
        stamp = self._stamp(path)
        # Bytes: load_sources says in one line what is wrong with a file that is not UTF-8.
        data = path.read_bytes() if path.exists() else None
        self._sources_stamp = stamp  # an invalid file is reported once, not every poll
        sources = load_sources(path)
        if data is not None:
            temporary = self.snapshot_path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(self.snapshot_path)
        return sources

    @staticmethod
    def _stamp(path: Path) -> tuple[str, int, int]:
        try:
            stat = path.stat()
        except OSError:
            return (str(path), 0, -1)
        return (str(path), stat.st_mtime_ns, stat.st_size)

    def _settle_stale_runs(self) -> None:
        """Runs left ``running`` by a crash: failed, for sources nobody is crawling now."""
        history = RunHistory(self.app.state_path)
        for source in history.running_sources():
            lock = SourceLock(self.app.data_dir, source, trigger="service")
            try:
                lock.acquire()
            except LockBusy:
                continue  # a live crawl owns it
            try:
                count = history.fail_stale(source, "interrupted: the crawl process died")
                log.warning(
                    "%s: %d unfinished run(s) from a previous crash marked failed", source, count
                )
            finally:
                lock.release()

    # -- one run -------------------------------------------------------------------------------
    def run_source(self, name: str) -> ChildOutcome | None:
        """One scheduled crawl of ``name`` (runs in an executor thread)."""
        if name not in self.sources:
            log.warning("run of %s skipped: no longer an enabled source", name)
            return None
        with self._jobs_idle:
            self._active_jobs += 1
        try:
            outcome = self.processes.run(
                name,
                timeout=self.config.timeout_for(name),
                sources_file=self.snapshot_path if self.snapshot_path.exists() else None,
            )
            if outcome is not None:
                log.info("%s", describe_outcome(outcome))
            return outcome
        except Exception:
            log.exception("run of %s failed in the scheduler", name)
            return None
        finally:
            with self._jobs_idle:
                self._active_jobs -= 1
                self._jobs_idle.notify_all()

    def _wait_for_jobs(self, *, timeout: float) -> None:
        with self._jobs_idle:
            self._jobs_idle.wait_for(lambda: self._active_jobs == 0, timeout=timeout)


def describe_outcome(outcome: ChildOutcome) -> str:
    """The one log line at the end of a run."""
    if outcome.skipped:
        return f"run end {outcome.source}: skipped, another process is crawling it"
    if outcome.cancelled:
        return f"run end {outcome.source}: cancelled before it started, the service is stopping"
    records = outcome.records
    status = records[-1].status if records else "failed"
    parts = [f"run end {outcome.source}: {status} in {outcome.duration:.1f}s"]
    if records:
        record = records[-1]
        flags = ", ".join(f"{name}={count}" for name, count in sorted(record.flags.items()))
        parts.append(
            f"{record.fetched} pages, {record.new} new, {record.updated} updated,"
            f" {record.unchanged} unchanged, {record.failed} errors"
            + (f", flags {flags}" if flags else "")
        )
        if status == "failed" and record.errors:
            parts.append(record.errors[0])
    elif outcome.reason:
        parts.append(outcome.reason)
    return " - ".join(parts)
