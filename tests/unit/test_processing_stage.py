"""The ordered, bounded stage of crawler.processing, driven by hand (no reactor, no workers)."""

from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from crawler.processing.stage import Stage
from crawler.processing.tasks import Outcome


class Batches:
    """A run_batch whose batches the test completes, in any order."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[int], Deferred]] = []

    def __call__(self, jobs: list[int]) -> Deferred:
        done: Deferred = Deferred()
        self.sent.append((jobs, done))
        return done

    def finish(self, index: int) -> None:
        jobs, done = self.sent[index]
        done.callback([Outcome(job * 10) for job in jobs])


def collect(deferred: Deferred, into: list) -> None:
    deferred.addCallback(
        lambda outcome: into.append(outcome.value if outcome.ok else outcome.error)
    )


def test_jobs_that_arrive_together_travel_together_and_come_back_in_order():
    clock, batches, results = Clock(), Batches(), []
    stage = Stage(batches, batch_size=3, max_batches=2, max_jobs=100, clock=clock)
    for job in range(7):
        collect(stage.submit(job), results)
    assert batches.sent == []  # sent on the next turn, so the jobs of this turn go together
    clock.advance(0)
    assert [jobs for jobs, _ in batches.sent] == [[0, 1, 2], [3, 4, 5]]  # two out at once
    batches.finish(1)  # the second batch is done first: nothing is handed back yet
    assert results == []
    batches.finish(0)
    assert results == [0, 10, 20, 30, 40, 50]
    clock.advance(0)
    assert [jobs for jobs, _ in batches.sent][2] == [6]
    batches.finish(2)
    assert results == [0, 10, 20, 30, 40, 50, 60]
    assert stage.held == 0


def test_submit_waits_for_room_and_the_stage_never_holds_more():
    clock, batches, results = Clock(), Batches(), []
    stage = Stage(batches, batch_size=2, max_batches=1, max_jobs=4, clock=clock)
    for job in range(6):
        collect(stage.submit(job), results)
    clock.advance(0)
    assert stage.held == 4 and [jobs for jobs, _ in batches.sent] == [[0, 1]]
    batches.finish(0)
    assert results == [0, 10] and stage.held == 4  # the two waiting jobs took the room
    clock.advance(0)
    batches.finish(1)
    clock.advance(0)
    batches.finish(2)
    assert results == [0, 10, 20, 30, 40, 50]
    assert stage.counts.peak_held == 4 and stage.held == 0


def test_a_failed_batch_fails_each_of_its_jobs_and_the_rest_go_on():
    clock, batches, results = Clock(), Batches(), []
    stage = Stage(batches, batch_size=2, max_batches=2, max_jobs=10, clock=clock)
    for job in range(4):
        collect(stage.submit(job), results)
    clock.advance(0)
    batches.sent[0][1].errback(RuntimeError("worker died, after 2 attempts"))
    batches.finish(1)
    assert results == [
        "worker died, after 2 attempts",
        "worker died, after 2 attempts",
        20,
        30,
    ]
    assert stage.counts.failed == 2


def test_a_synchronous_batch_function_is_the_in_process_path():
    clock, results = Clock(), []
    calls: list[list[int]] = []

    def run(jobs: list[int]) -> list[Outcome[int]]:
        calls.append(jobs)
        return [Outcome(job + 1) for job in jobs]

    stage = Stage(run, batch_size=8, max_batches=1, max_jobs=16, clock=clock)
    for job in range(3):
        collect(stage.submit(job), results)
    clock.advance(0)
    assert calls == [[0, 1, 2]] and results == [1, 2, 3]


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"max_batches": 0}, {"max_jobs": 0}])
def test_sizes_must_be_positive(bad):
    sizes = {"batch_size": 1, "max_batches": 1, "max_jobs": 1, **bad}
    with pytest.raises(ValueError):
        Stage(lambda jobs: [], clock=Clock(), **sizes)
