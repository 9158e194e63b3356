"""Prometheus metrics derived from the run history.

Counters are computed from ``state.db`` at every scrape instead of being incremented in
memory: the crawls happen in subprocesses, the service restarts, and the history is the one
record all of them share, so totals survive restarts and include manual runs. A scrape reads
one aggregate pass over the runs table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from crawler.service.health import source_health
from crawler.service.history import RunHistory, SourceTotals

__all__ = ["DURATION_BUCKETS", "RunHistoryCollector", "duration_buckets", "metrics_registry"]

#: Upper bounds (seconds) of the run duration histogram: seconds for a small site,
#: hours for a big backfill.
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


def duration_buckets(
    durations: Iterable[float], bounds: tuple[float, ...] = DURATION_BUCKETS
) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs, ending with ``+Inf``, as Prometheus expects."""
    values = sorted(durations)
    buckets = [(_format_bound(bound), float(sum(v <= bound for v in values))) for bound in bounds]
    buckets.append(("+Inf", float(len(values))))
    return buckets


def _format_bound(bound: float) -> str:
    return f"{float(bound)}"


class RunHistoryCollector(Collector):
    """Exports per-source crawl metrics from the run history at each scrape."""

    def __init__(
        self,
        state_path: Path,
        *,
        health_window: int = 3,
        sources: Callable[[], Iterable[str]] | None = None,
    ):
        self.state_path = state_path
        self.health_window = health_window
        #: Configured sources, so a source that never ran still shows up (with zeros).
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        totals: list[SourceTotals] = []
        statuses: dict[str, list[str]] = {}
        if self.state_path.exists():
            history = RunHistory(self.state_path)
            totals = history.totals()
            statuses = history.recent_statuses(self.health_window)
        known = {entry.source for entry in totals}
        extra = sorted(set(self.sources() if self.sources else ()) - known)
        totals += [
            SourceTotals(
                source=name,
                runs_by_status={},
                fetched=0,
                new=0,
                updated=0,
                flags={},
                durations=[],
                last_finished_at=None,
            )
            for name in extra
        ]

        pages = CounterMetricFamily(
            "misinfo_pages_fetched", "Pages fetched by crawl runs.", labels=["source"]
        )
        documents = CounterMetricFamily(
            "misinfo_documents_indexed",
            "Documents written to the index, by change (new or updated).",
            labels=["source", "change"],
        )
        flags = CounterMetricFamily(
            "misinfo_flags_raised",
            "Flags (covid, claim) raised on crawled documents.",
            labels=["source", "flag"],
        )
        runs = CounterMetricFamily(
            "misinfo_runs", "Finished crawl runs, by status.", labels=["source", "status"]
        )
        failures = CounterMetricFamily(
            "misinfo_run_failures", "Crawl runs that failed.", labels=["source"]
        )
        durations = HistogramMetricFamily(
            "misinfo_run_duration_seconds", "Crawl run duration.", labels=["source"]
        )
        unhealthy = GaugeMetricFamily(
            "misinfo_source_unhealthy",
            f"1 when the source's last {self.health_window} runs were all empty or failed.",
            labels=["source"],
        )
        for entry in totals:
            labels = [entry.source]
            pages.add_metric(labels, entry.fetched)
            documents.add_metric([entry.source, "new"], entry.new)
            documents.add_metric([entry.source, "updated"], entry.updated)
            for flag in sorted({"covid", "claim", *entry.flags}):
                flags.add_metric([entry.source, flag], entry.flags.get(flag, 0))
            for status in ("ok", "empty", "failed"):
                runs.add_metric([entry.source, status], entry.runs_by_status.get(status, 0))
            failures.add_metric(labels, entry.runs_by_status.get("failed", 0))
            durations.add_metric(
                labels, buckets=duration_buckets(entry.durations), sum_value=sum(entry.durations)
            )
            health = source_health(statuses.get(entry.source, []), self.health_window)
            unhealthy.add_metric(labels, 1.0 if health.unhealthy else 0.0)
        yield from (pages, documents, flags, runs, failures, durations, unhealthy)


def metrics_registry(
    state_path: Path,
    *,
    health_window: int = 3,
    sources: Callable[[], Iterable[str]] | None = None,
) -> CollectorRegistry:
    """A registry with only the run-history metrics (no process metrics of the service)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunHistoryCollector(state_path, health_window=health_window, sources=sources))
    return registry
