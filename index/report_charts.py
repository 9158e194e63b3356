"""The period report's charts, drawn with matplotlib (Agg backend) as static PNG or SVG.

Four charts: posts flagged and confirmed per week, top subjects, case outcomes, time from
flag to decision. Each is a function of a :class:`~index.report.Report` returning image
bytes; :func:`chart_images` returns all of them as ``data:`` URIs, which the UI's CSP allows
(``img-src 'self' data:``) and which keep a saved HTML or PDF report self-contained.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; set before pyplot is imported

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from index.report import Report

__all__ = ["CHARTS", "chart_images", "render_chart"]

_FLAGGED = "#c0392b"
_CONFIRMED = "#1f4e79"
_OUTCOME_COLOURS = {
    "opened": "#7f8c8d",
    "evidence-complete": "#95a5a6",
    "notice-sent": "#d68910",
    "sanctioned": "#922b21",
    "removed": "#1e8449",
    "dismissed": "#5d6d7e",
    "closed": "#2c3e50",
}
_SIZE = (7.5, 3.0)


def _figure(left: float = 0.08) -> tuple[Figure, Any]:
    # Figure() directly, not pyplot: no global state, safe in a web server's threads. Fixed
    # margins: a constrained layout draws every chart several times (~3x the cost).
    figure = Figure(figsize=_SIZE, dpi=100)
    figure.subplots_adjust(left=left, right=0.98, top=0.88, bottom=0.2)
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    # Counts: whole numbers on both axes (the one that is categorical ignores it).
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return figure, axes


def _empty(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="#666")
    axes.set_xticks([])
    axes.set_yticks([])


def weekly_chart(report: Report) -> Figure:
    figure, axes = _figure()
    weeks = [week for week, _, _ in report.weekly]
    flagged = [f for _, f, _ in report.weekly]
    confirmed = [c for _, _, c in report.weekly]
    if not weeks or (not any(flagged) and not any(confirmed)):
        _empty(axes, "no flags or confirmations in this period")
    else:
        positions = list(range(len(weeks)))
        # Lines, not 2 bars a week: a year is 53 weeks, and a few artists draw fast.
        axes.fill_between(positions, flagged, step="mid", color=_FLAGGED, alpha=0.25)
        axes.step(positions, flagged, where="mid", color=_FLAGGED, label="flagged")
        axes.fill_between(positions, confirmed, step="mid", color=_CONFIRMED, alpha=0.35)
        axes.step(positions, confirmed, where="mid", color=_CONFIRMED, label="confirmed")
        axes.set_ylim(bottom=0)
        step = max(1, len(weeks) // 10)
        axes.set_xticks(list(positions)[::step], [w[5:] for w in weeks][::step], fontsize=8)
        axes.set_xlabel("week starting (month-day)")
        axes.set_ylabel("posts")
        axes.legend(frameon=False, fontsize=8)
    axes.set_title("Posts flagged and confirmed per week", fontsize=10, loc="left")
    return figure


def subjects_chart(report: Report) -> Figure:
    figure, axes = _figure(left=0.3)
    rows = list(reversed(report.top_subjects))
    if not rows:
        _empty(axes, "no subject had flags, confirmations or cases in this period")
    else:
        names = [row["subject"][:40] for row in rows]
        positions = range(len(rows))
        axes.barh(
            [p + 0.2 for p in positions],
            [row["flagged"] for row in rows],
            height=0.4,
            color=_FLAGGED,
            label="flagged",
        )
        axes.barh(
            [p - 0.2 for p in positions],
            [row["confirmed"] for row in rows],
            height=0.4,
            color=_CONFIRMED,
            label="confirmed",
        )
        axes.set_yticks(list(positions), names, fontsize=8)
        axes.set_xlabel("items")
        axes.legend(frameon=False, fontsize=8, loc="lower right")
    axes.set_title("Top subjects", fontsize=10, loc="left")
    return figure


def outcomes_chart(report: Report) -> Figure:
    figure, axes = _figure()
    labels = list(report.case_outcomes)
    values = [report.case_outcomes[label] for label in labels]
    if not any(values):
        _empty(axes, "no case activity in this period")
    else:
        bars = axes.bar(labels, values, color=[_OUTCOME_COLOURS.get(k, "#888") for k in labels])
        axes.bar_label(bars, fontsize=8)
        axes.tick_params(axis="x", labelsize=8)
        axes.set_ylabel("cases")
    axes.set_title("Cases: opened and statuses reached", fontsize=10, loc="left")
    return figure


def decision_chart(report: Report) -> Figure:
    figure, axes = _figure()
    histogram = report.decision_histogram()
    if not report.decision_days:
        _empty(axes, "no review decisions in this period")
    else:
        bars = axes.bar(
            [label for label, _ in histogram], [n for _, n in histogram], color=_CONFIRMED
        )
        axes.bar_label(bars, fontsize=8)
        axes.tick_params(axis="x", labelsize=8)
        axes.set_ylabel("decisions")
    axes.set_title("Time from flag to decision", fontsize=10, loc="left")
    return figure


#: name -> (title for alt text, drawing function)
CHARTS: dict[str, tuple[str, Callable[[Report], Figure]]] = {
    "weekly": ("Posts flagged and confirmed per week", weekly_chart),
    "subjects": ("Top subjects by flagged and confirmed items", subjects_chart),
    "outcomes": ("Case outcomes", outcomes_chart),
    "decision": ("Time from flag to decision", decision_chart),
}


def render_chart(report: Report, name: str, fmt: str = "png") -> bytes:
    """One chart as PNG or SVG bytes."""
    _, draw = CHARTS[name]
    figure = draw(report)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, metadata={"Software": None} if fmt == "png" else None)
    return buffer.getvalue()


def chart_images(report: Report, fmt: str = "png") -> list[dict[str, str]]:
    """``[{"name", "title", "src"}]`` with each chart as a ``data:`` URI."""
    mime = "image/png" if fmt == "png" else "image/svg+xml"
    return [
        {
            "name": name,
            "title": title,
            "src": f"data:{mime};base64,"
            + base64.b64encode(render_chart(report, name, fmt)).decode("ascii"),
        }
        for name, (title, _) in CHARTS.items()
    ]
