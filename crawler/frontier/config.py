"""The crawl frontier: where a crawl keeps the requests still to fetch and the ones it has seen.

Two kinds, chosen by ``frontier:`` in ``settings.yaml`` or ``misinfo crawl --frontier``:

- ``local`` (default): Scrapy's own scheduler inside the crawl process and a duplicate
  filter on disk (:mod:`crawler.frontier.dupefilter`), saved in ``<data dir>/jobs/<source>``
  (``JOBDIR``) so an interrupted run resumes
  (:class:`crawler.service.runner.JobDir`). A per-source lock keeps a second process off the source.
- ``redis``: scrapy-redis's ``Scheduler`` and ``RFPDupeFilter`` on one Redis, so every crawl
  process of a source, on any machine, pulls from one queue and one set of seen requests:
  N processes split the work and no URL is fetched twice. The Redis URL comes from the
  environment (``$MISINFO_REDIS_URL``), never from a file.

Redis keys belong to one *run* of one source: ``<prefix>:<source>:<run>:requests``,
``...:dupefilter`` and ``...:workers``. Processes given the same run name (default
``default``) share a crawl; the last one to finish it deletes the keys
(:mod:`crawler.frontier.shared_run`), so the next scheduled run starts afresh instead of finding
every page already seen. A run whose processes all died keeps its queue (the next run of the
same name resumes it, as ``JOBDIR`` does locally) until ``redis.run_ttl`` seconds without a
live process expire it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from crawler.app import App, ConfigError

__all__ = [
    "COMPLETE_REASONS",
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_REDIS_URL_ENV",
    "DEFAULT_RUN",
    "DEFAULT_RUN_TTL",
    "DEFAULT_WORKER_TIMEOUT",
    "FRONTIERS",
    "Frontier",
    "FrontierError",
    "redacted_url",
]

FRONTIERS = ("local", "redis")
#: Finish reasons after which a crawl run is complete: its frontier state (the local job
#: directory, the shared run's Redis keys) is deleted, so the next run starts afresh (a kept
#: dupefilter would skip every page).
COMPLETE_REASONS = ("finished", "closespider_pagecount")
DEFAULT_REDIS_URL_ENV = "MISINFO_REDIS_URL"
DEFAULT_KEY_PREFIX = "misinfo"
DEFAULT_RUN = "default"
#: Seconds an unfinished run's keys outlive its last live process (a day: a killed run can
#: be resumed the same day, a forgotten one does not hold pages back forever).
DEFAULT_RUN_TTL = 86_400
#: Seconds without a heartbeat after which a crawl process is presumed dead.
DEFAULT_WORKER_TIMEOUT = 30
#: Seconds the up-front check waits for Redis to answer.
PING_TIMEOUT = 5.0

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class FrontierError(ConfigError):
    """The frontier is misconfigured or its Redis cannot be reached; one line, with a fix."""


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages (``redis://:***@host:6379/0``).

    Plain string surgery on the network location, so a URL too broken to parse (a port
    that is not a number) is still shown, never its secret.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Frontier:
    """The frontier of a crawl command: its kind and, for ``redis``, where and under which
    keys. Build it with :meth:`from_app`, which validates everything a user can get wrong."""

    kind: str = "local"
    redis_url: str | None = None
    #: The environment variable the URL came from (named in messages).
    redis_url_env: str = DEFAULT_REDIS_URL_ENV
    key_prefix: str = DEFAULT_KEY_PREFIX
    run: str = DEFAULT_RUN
    run_ttl: int = DEFAULT_RUN_TTL
    worker_timeout: int = DEFAULT_WORKER_TIMEOUT

    @property
    def shared(self) -> bool:
        """Whether several processes may crawl one source at once (``redis``)."""
        return self.kind == "redis"

    @classmethod
    def from_app(cls, app: App, *, kind: str | None = None, run: str | None = None) -> Frontier:
        """The frontier from ``settings.yaml`` (``frontier``, ``redis.*``) and the environment;
        ``kind`` and ``run`` (command-line options) win over the file."""
        where = app.config_path("settings.yaml")
        settings = app.settings
        kind = kind or settings.get("frontier") or "local"
        if kind not in FRONTIERS:
            raise FrontierError(f"{where}: field 'frontier': {kind!r} is not 'local' or 'redis'")
        if kind == "local":
            if run is not None:
                raise FrontierError(
                    "--run names a shared crawl on the redis frontier: add --frontier redis"
                )
            return cls()
        redis = settings.get("redis") or {}
        if not isinstance(redis, dict):
            raise FrontierError(f"{where}: field 'redis': expected a mapping")
        env = str(redis.get("url_env") or DEFAULT_REDIS_URL_ENV)
        url = os.environ.get(env, "").strip()
        if not url:
            raise FrontierError(
                f"the redis frontier needs ${env} (e.g. export {env}=redis://127.0.0.1:6379/0)"
            )
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise FrontierError(
                f"${env}={redacted_url(url)} is not a Redis URL "
                "(redis://host:6379/0, rediss://... or unix:///path.sock)"
            )
        prefix = str(redis.get("key_prefix") or DEFAULT_KEY_PREFIX)
        if not _NAME.fullmatch(prefix):
            raise FrontierError(
                f"{where}: field 'redis.key_prefix': {prefix!r} is not a name "
                "(letters, digits, '_', '.', '-')"
            )
        run = run if run is not None else str(redis.get("run") or DEFAULT_RUN)
        if not _NAME.fullmatch(run):
            raise FrontierError(
                f"run name {run!r} is not a name (letters, digits, '_', '.', '-'; at most 64)"
            )
        return cls(
            kind="redis",
            redis_url=url,
            redis_url_env=env,
            key_prefix=prefix,
            run=run,
            run_ttl=_positive_int(redis, "run_ttl", DEFAULT_RUN_TTL, where),
            worker_timeout=_positive_int(redis, "worker_timeout", DEFAULT_WORKER_TIMEOUT, where),
        )

    def run_key(self, source: str) -> str:
        """The prefix of every Redis key of ``source``'s run."""
        return f"{self.key_prefix}:{source}:{self.run}"

    def scrapy_settings(self, source: str) -> dict[str, Any]:
        """Scrapy settings of one source's crawl: for ``local`` Scrapy's scheduler and the
        runner's ``JOBDIR`` with the duplicate filter on disk
        (:class:`crawler.frontier.dupefilter.DiskDupeFilter`), for ``redis`` scrapy-redis's
        scheduler and duplicate filter.

        The queue outlives each process (``SCHEDULER_PERSIST``): a process that finishes
        must not flush a queue others still work on. :class:`crawler.frontier.shared_run.SharedRun`
        deletes the keys when the last process completes the run.
        """
        if not self.shared:
            # Scrapy's scheduler; seen requests on disk in JOBDIR, not in a growing set.
            return {"DUPEFILTER_CLASS": "crawler.frontier.dupefilter.DiskDupeFilter"}
        key = self.run_key(source)
        return {
            "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
            "SCHEDULER_QUEUE_KEY": f"{key}:requests",
            "SCHEDULER_DUPEFILTER_KEY": f"{key}:dupefilter",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_FLUSH_ON_START": False,
            "REDIS_URL": self.redis_url,
            "MM_SHARED_RUN_ENABLED": True,
            "MM_SHARED_RUN_KEY": key,
            "MM_SHARED_RUN_TTL": self.run_ttl,
            "MM_SHARED_RUN_WORKER_TIMEOUT": self.worker_timeout,
            # The Redis queue is the resumable state; JOBDIR and ResumeMiddleware stay off.
            "JOBDIR": None,
            "MM_RESUME_SINCE": None,
        }

    def check_reachable(self) -> None:
        """Ping Redis once, so a wrong URL or a server that is down fails the command with
        one line naming where it tried, before any run is recorded."""
        if not self.shared:
            return
        import redis

        assert self.redis_url is not None  # typing: set for every redis frontier
        where = f"{redacted_url(self.redis_url)} (${self.redis_url_env})"
        try:
            client = redis.Redis.from_url(
                self.redis_url, socket_connect_timeout=PING_TIMEOUT, socket_timeout=PING_TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
        except ValueError as exc:  # a malformed URL (bad port, database, option)
            raise FrontierError(f"bad Redis URL {where}: {exc}") from exc
        except redis.AuthenticationError as exc:
            raise FrontierError(f"Redis at {where} refused the credentials: {exc}") from exc
        except redis.RedisError as exc:
            raise FrontierError(f"Redis at {where} is unreachable: {exc}") from exc


def _positive_int(section: dict[str, Any], name: str, default: int, where: object) -> int:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise FrontierError(
            f"{where}: field 'redis.{name}': {value!r} is not a positive whole number of seconds"
        )
    return value
