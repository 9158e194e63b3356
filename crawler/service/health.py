"""Source health: the rule that says a source needs a look.

A source is unhealthy when each of its last ``window`` finished runs found nothing
(``empty``) or failed: one bad run is noise (a site hiccup, a slow night), a streak means a
feed moved, a layout changed or the site blocks us. Pure function, no I/O: the CLI, the
metrics and the web UI feed it statuses from the run history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BAD_STATUSES", "DEFAULT_HEALTH_WINDOW", "Health", "source_health"]

DEFAULT_HEALTH_WINDOW = 3
#: Run outcomes that count against a source.
BAD_STATUSES = frozenset({"empty", "failed"})


@dataclass(frozen=True, slots=True)
class Health:
    """``state``: ``healthy``, ``unhealthy`` or ``unknown`` (fewer runs than the window)."""

    state: str
    reason: str

    @property
    def unhealthy(self) -> bool:
        return self.state == "unhealthy"


def source_health(statuses: Sequence[str], window: int = DEFAULT_HEALTH_WINDOW) -> Health:
    """Judge a source from its finished runs' statuses, newest first.

    ``running`` entries are ignored (an unfinished run says nothing yet). A source with fewer
    than ``window`` finished runs is never ``unhealthy``: ``unknown`` while every run so far
    was bad, so a brand-new source whose first run hiccuped does not raise an alarm.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    finished = [status for status in statuses if status != "running"]
    if not finished:
        return Health("unknown", "no finished runs")
    recent = finished[:window]
    if len(recent) == window and all(status in BAD_STATUSES for status in recent):
        failed = sum(status == "failed" for status in recent)
        empty = window - failed
        parts = [f"{failed} failed" if failed else "", f"{empty} empty" if empty else ""]
        return Health("unhealthy", f"last {window} runs: " + ", ".join(p for p in parts if p))
    if recent[0] in BAD_STATUSES:
        streak = next(
            (i for i, status in enumerate(recent) if status not in BAD_STATUSES), len(recent)
        )
        if len(recent) < window and streak == len(recent):
            return Health("unknown", f"{streak} bad run(s) of {window} needed to judge")
        return Health("healthy", f"last run {recent[0]}, {streak} in a row")
    return Health("healthy", f"last run {recent[0]}")
