"""One shared crawl run on the Redis frontier, from the point of view of one crawl process.

scrapy-redis shares the queue and the duplicate filter, but a plain Scrapy spider closes as
soon as *its* engine is idle, and with ``SCHEDULER_PERSIST`` nobody ever deletes the run's
keys (so the next run would find every page already seen), while without it the first
process to finish would flush the queue under the others. :class:`SharedRun` (a Scrapy
extension, on with the redis frontier) settles both:

- each process registers in ``<run key>:workers`` and keeps a heartbeat key
  ``<run key>:worker:<id>`` holding ``busy`` or ``idle``, expiring after
  ``MM_SHARED_RUN_WORKER_TIMEOUT`` seconds (a killed process drops out by itself);
- an idle process stays open while another is busy (its pages may still add requests for
  anyone to take), and closes when every process is idle and the queue is empty;
- the last process to leave a complete run (``finished``, ``closespider_pagecount``)
  deletes the run's keys in one atomic script; a run left by stopped or killed processes
  keeps them, and every heartbeat pushes their expiry ``MM_SHARED_RUN_TTL`` seconds ahead.

Outcomes are stats: ``mm/frontier/idle_waits`` (idle checks that waited for others) and
``mm/frontier/run_cleared`` (this process deleted the finished run's keys).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.connection import get_redis_from_settings
from twisted.internet import task

from crawler.frontier.config import COMPLETE_REASONS

__all__ = ["SharedRun", "worker_id"]

log = logging.getLogger(__name__)

#: KEYS: workers set, queue, dupefilter. ARGV: this worker's id, the heartbeat key prefix,
#: "1" if this process completed the run, the run's TTL. Leaves the run; if no live worker
#: remains and the run is complete, deletes it (returns 1), else keeps it for the TTL (a
#: queue emptied and refilled since the last heartbeat has lost its expiry).
_LEAVE = """
redis.call('DEL', ARGV[2] .. ARGV[1])
redis.call('SREM', KEYS[1], ARGV[1])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[2] .. id) == 1 then
    return 0
  end
  redis.call('SREM', KEYS[1], id)
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 1
end
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ARGV[4])
end
return 0
"""


def worker_id() -> str:
    """Unique across machines and processes: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SharedRun:
    """Registers this crawl process in a shared run, keeps it open while others work, and
    clears the run when the last process completes it (see the module docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        server: Any,
        run_key: str,
        *,
        ttl: int,
        worker_timeout: int,
    ) -> None:
        self.crawler = crawler
        self.server = server
        self.run_key = run_key
        self.ttl = ttl
        self.worker_timeout = worker_timeout
        self.worker = worker_id()
        self.workers_key = f"{run_key}:workers"
        self.heartbeat_prefix = f"{run_key}:worker:"
        # A heartbeat a few times per timeout: one late beat (a long page analysis) is fine.
        self.interval = max(0.5, worker_timeout / 6)
        self._beat: task.LoopingCall | None = None
        self._leave = server.register_script(_LEAVE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedRun:
        settings = crawler.settings
        if not settings.getbool("MM_SHARED_RUN_ENABLED"):
            raise NotConfigured  # the local frontier: nothing shared (no warning in the log)
        run_key = settings.get("MM_SHARED_RUN_KEY")
        if not run_key:
            raise NotConfigured("MM_SHARED_RUN_KEY is not set")
        extension = cls(
            crawler,
            get_redis_from_settings(settings),
            run_key,
            ttl=settings.getint("MM_SHARED_RUN_TTL"),
            worker_timeout=settings.getint("MM_SHARED_RUN_WORKER_TIMEOUT"),
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    # -- keys ------------------------------------------------------------------------------
    def _data_keys(self) -> list[str]:
        """The queue and duplicate-filter keys scrapy-redis uses for this spider."""
        settings, name = self.crawler.settings, self.crawler.spider.name
        return [
            settings["SCHEDULER_QUEUE_KEY"] % {"spider": name},
            settings["SCHEDULER_DUPEFILTER_KEY"] % {"spider": name},
        ]

    def announce(self, state: str) -> None:
        """Write this process's state and keep the run's keys alive for ``ttl`` more seconds."""
        pipe = self.server.pipeline(transaction=False)
        pipe.set(self.heartbeat_prefix + self.worker, state, ex=self.worker_timeout)
        pipe.sadd(self.workers_key, self.worker)
        for key in (self.workers_key, *self._data_keys()):
            pipe.expire(key, self.ttl)
        pipe.execute()

    def _heartbeat(self) -> None:
        engine = self.crawler.engine
        try:
            idle = engine is not None and engine.spider_is_idle()
        except RuntimeError:  # the engine slot is gone: the spider is closing
            return
        self.announce("idle" if idle else "busy")

    def others_busy(self) -> bool:
        """Whether another live process of the run is busy (its pages may add requests)."""
        others = [
            member.decode() if isinstance(member, bytes) else member
            for member in self.server.smembers(self.workers_key)
        ]
        others = [member for member in others if member != self.worker]
        if not others:
            return False
        states = self.server.mget([self.heartbeat_prefix + member for member in others])
        return any(state in (b"busy", "busy") for state in states)

    # -- signals ---------------------------------------------------------------------------
    def spider_opened(self) -> None:
        # Before start() schedules anything: from now on no other process may clear the run.
        self.announce("busy")
        self._beat = task.LoopingCall(self._heartbeat)
        self._beat.start(self.interval, now=False)
        log.info("shared run %s: joined as %s", self.run_key, self.worker)

    def spider_idle(self) -> None:
        """Stay open while another process is busy: its pages may add requests for us."""
        self.announce("idle")
        if self.others_busy():
            self.crawler.stats.inc_value("mm/frontier/idle_waits")
            raise DontCloseSpider

    def spider_closed(self, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        complete = reason in COMPLETE_REASONS
        cleared = self._leave(
            keys=[self.workers_key, *self._data_keys()],
            args=[self.worker, self.heartbeat_prefix, "1" if complete else "0", self.ttl],
        )
        if cleared:
            self.crawler.stats.set_value("mm/frontier/run_cleared", 1)
            log.info("shared run %s: complete, its Redis keys deleted", self.run_key)
        else:
            log.info("shared run %s: left (%s)", self.run_key, reason)
