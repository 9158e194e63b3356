"""The source health rule: unhealthy after ``window`` empty-or-failed runs in a row."""

from __future__ import annotations

import pytest

from crawler.service.health import source_health


@pytest.mark.parametrize(
    ("statuses", "window", "state"),
    [
        ([], 3, "unknown"),
        (["running"], 3, "unknown"),
        (["ok"], 3, "healthy"),
        (["failed"], 3, "unknown"),
        (["empty", "failed"], 3, "unknown"),
        (["failed", "failed", "failed"], 3, "unhealthy"),
        (["empty", "empty", "empty"], 3, "unhealthy"),
        (["empty", "failed", "empty", "ok"], 3, "unhealthy"),
        (["failed", "failed", "ok"], 3, "healthy"),
        (["ok", "failed", "failed", "failed"], 3, "healthy"),
        (["running", "failed", "failed", "failed"], 3, "unhealthy"),
        (["running", "ok", "failed", "failed"], 3, "healthy"),
        (["failed"], 1, "unhealthy"),
        (["ok", "failed"], 1, "healthy"),
        (["empty", "empty", "ok", "empty", "empty"], 2, "unhealthy"),
    ],
)
def test_health_state(statuses, window, state):
    assert source_health(statuses, window).state == state


def test_unhealthy_reason_counts_failed_and_empty():
    health = source_health(["failed", "empty", "failed"], 3)
    assert health.unhealthy
    assert health.reason == "last 3 runs: 2 failed, 1 empty"


def test_healthy_reason_names_the_bad_streak():
    assert source_health(["failed", "ok"], 3).reason == "last run failed, 1 in a row"


def test_window_must_be_positive():
    with pytest.raises(ValueError):
        source_health(["ok"], 0)
