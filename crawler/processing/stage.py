"""One stage of the crawl's processing (extract pages, analyse posts) on the reactor's side.

A :class:`Stage` takes jobs one at a time from spider callbacks or pipelines and sends them
on in batches: on the next turn of the reactor (so jobs that arrive together travel
together) and while fewer than ``max_batches`` of its batches are out. Under load the
workers are busy, jobs wait, and the next batch takes up to ``batch_size`` of them; when
idle, a job goes at once.

Two promises:

- **Order.** Outcomes are handed back in the order the jobs came in, whichever worker
  finished first, so items reach the next pipeline (and the store) in the order their pages
  were fetched, as when everything ran in the crawl process: a page fetched again later in a
  run is never written before the earlier fetch.
- **Bounded work.** At most ``max_jobs`` jobs are held (waiting, out, or done and waiting
  for an earlier one); :meth:`Stage.submit` waits for room before it takes another. A
  waiting spider callback keeps its response in Scrapy's scraper, whose
  ``SCRAPER_SLOT_MAX_ACTIVE_SIZE`` then stops the engine from starting downloads: fetched
  pages never pile up faster than they are processed, and the downloader keeps its
  politeness delays.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from twisted.internet.defer import Deferred, DeferredSemaphore, maybeDeferred
from twisted.python.failure import Failure

from crawler.processing.tasks import Outcome

__all__ = ["Stage", "StageCounts"]

J = TypeVar("J")
R = TypeVar("R")


@dataclass(slots=True)
class StageCounts:
    batches: int = 0
    jobs: int = 0
    failed: int = 0
    #: Most jobs held at once (waiting, out, done but not yet handed back).
    peak_held: int = 0


@dataclass(slots=True, eq=False)
class _Slot(Generic[J, R]):
    job: J
    result: Deferred[Outcome[R]] = field(default_factory=Deferred)
    outcome: Outcome[R] | None = None


class Stage(Generic[J, R]):
    """Jobs in, outcomes out in the same order; batched, bounded (see the module docstring)."""

    def __init__(
        self,
        run_batch: Callable[[list[J]], Any],
        *,
        batch_size: int,
        max_batches: int,
        max_jobs: int,
        clock: Any = None,
    ) -> None:
        if batch_size < 1 or max_batches < 1 or max_jobs < 1:
            raise ValueError("batch_size, max_batches and max_jobs must be at least 1")
        if clock is None:
            from twisted.internet import reactor as clock
        self._run_batch = run_batch
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.counts = StageCounts()
        self._clock = clock
        self._room = DeferredSemaphore(max_jobs)
        self._order: deque[_Slot[J, R]] = deque()
        self._waiting: deque[_Slot[J, R]] = deque()
        self._out = 0
        self._scheduled: Any = None

    @property
    def held(self) -> int:
        """Jobs the stage holds now."""
        return len(self._order)

    def submit(self, job: J) -> Deferred[Outcome[R]]:
        """The job's outcome, once it and every job submitted before it are done."""
        slot: _Slot[J, R] = _Slot(job)

        def enter(_: Any) -> None:
            self._order.append(slot)
            self._waiting.append(slot)
            self.counts.peak_held = max(self.counts.peak_held, len(self._order))
            self._schedule()

        self._room.acquire().addCallback(enter)
        return slot.result

    def _schedule(self) -> None:
        if self._scheduled is None or not self._scheduled.active():
            self._scheduled = self._clock.callLater(0, self._dispatch)

    def _dispatch(self) -> None:
        while self._waiting and self._out < self.max_batches:
            size = min(self.batch_size, len(self._waiting))
            batch = [self._waiting.popleft() for _ in range(size)]
            self._out += 1
            self.counts.batches += 1
            self.counts.jobs += size
            outcome = maybeDeferred(self._run_batch, [slot.job for slot in batch])
            outcome.addCallbacks(self._done, self._failed, (batch,), None, (batch,), None)

    def _done(self, outcomes: Sequence[Outcome[R]], batch: list[_Slot[J, R]]) -> None:
        if len(outcomes) != len(batch):
            self._failed(Failure(RuntimeError("a batch came back with the wrong length")), batch)
            return
        self._finish(batch, outcomes)

    def _failed(self, failure: Failure, batch: list[_Slot[J, R]]) -> None:
        reason = failure.getErrorMessage() or failure.type.__name__
        self._finish(batch, [Outcome(error=reason) for _ in batch])

    def _finish(self, batch: list[_Slot[J, R]], outcomes: Sequence[Outcome[R]]) -> None:
        self._out -= 1
        for slot, outcome in zip(batch, outcomes, strict=True):
            slot.outcome = outcome
            if not outcome.ok:
                self.counts.failed += 1
        self._release()
        if self._waiting:
            self._schedule()

    def _release(self) -> None:
        while self._order and self._order[0].outcome is not None:
            slot = self._order.popleft()
            self._room.release()
            outcome, slot.outcome = slot.outcome, None
            assert outcome is not None
            slot.job = None  # type: ignore[assignment]  # the page's HTML is not kept
            slot.result.callback(outcome)
