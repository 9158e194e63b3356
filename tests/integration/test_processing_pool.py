"""crawler.processing.pool with real worker processes: calls, errors, a worker killed while
it holds a batch (replaced, batch retried once, then lost), a worker that cannot start.

The functions the workers run live in this module (spawned workers import it by name).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from crawler.processing.pool import BatchError, WorkerLost, WorkerPool, WorkerStartError


def double(values: list[int]) -> list[int]:
    return [value * 2 for value in values]


def pid() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def die_once(marker: str, values: list[int]) -> list[int]:
    """Kill this worker the first time (as the OOM killer would), answer on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return double(values)


def die_always() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def hang() -> None:
    time.sleep(60)


def broken_start() -> None:
    raise RuntimeError("lexicon file is broken")


@pytest.fixture
def pool():
    workers = WorkerPool(2, timeout=60)
    yield workers
    workers.shutdown()


def test_calls_run_in_other_processes(pool):
    pool.ready().result(timeout=60)
    assert pool.submit(double, [1, 2, 3]).result(timeout=60) == [2, 4, 6]
    pids = {pool.submit(pid).result(timeout=60) for _ in range(6)}
    assert os.getpid() not in pids
    assert pool.stats.started == 2 and pool.stats.died == 0


def test_an_exception_fails_its_call_only(pool):
    with pytest.raises(BatchError, match="ValueError: bad page"):
        pool.submit(fail, "bad page").result(timeout=60)
    assert pool.submit(double, [5]).result(timeout=60) == [10]
    assert pool.stats.died == 0


def test_a_killed_worker_is_replaced_and_its_batch_retried(pool, tmp_path):
    result = pool.submit(die_once, str(tmp_path / "marker"), [1, 2]).result(timeout=120)
    assert result == [2, 4]
    assert (pool.stats.died, pool.stats.retried, pool.stats.lost) == (1, 1, 0)
    assert pool.stats.started == 3  # two at start, one replacement


def test_a_batch_whose_worker_dies_twice_is_lost_and_the_pool_goes_on(pool):
    with pytest.raises(WorkerLost, match="after 2 attempts"):
        pool.submit(die_always).result(timeout=120)
    assert (pool.stats.died, pool.stats.retried, pool.stats.lost) == (2, 1, 1)
    assert pool.submit(double, [4]).result(timeout=60) == [8]


def test_a_batch_over_the_time_limit_stops_its_worker():
    workers = WorkerPool(1, timeout=0.5, retries=0)
    try:
        with pytest.raises(WorkerLost, match=r"no answer within 0\.5s"):
            workers.submit(hang).result(timeout=120)
        assert workers.submit(double, [1]).result(timeout=60) == [2]
    finally:
        workers.shutdown()


def test_a_worker_that_cannot_start_fails_every_call():
    workers = WorkerPool(1, initializer=broken_start)
    try:
        with pytest.raises(WorkerStartError, match="lexicon file is broken"):
            workers.ready().result(timeout=60)
        with pytest.raises(WorkerStartError):
            workers.submit(double, [1]).result(timeout=60)
    finally:
        workers.shutdown()


def test_workers_stop_with_the_pool(pool):
    pids = {pool.submit(pid).result(timeout=60) for _ in range(4)}
    pool.shutdown()
    for worker in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)
