"""Trends: the clusters and terms growing fastest against their own baseline.

A rumour that matters is one that is spreading now. For each cluster, the members that
appeared in the last ``window`` (24 hours by default) are compared with those of the
``baseline`` before it (the previous 7 days), as rates per hour; likewise for terms
(word pairs of titles and leads, counted once per document). Growth is

    (recent / window_hours) / ((baseline + 1) / baseline_hours)

so a story that was quiet all week and has five new copies today ranks above one that has
five today as every day. Items need :data:`MIN_RECENT` appearances in the window.

:func:`cluster_trends` and :func:`term_trends` are pure; :func:`trends` reads a store
(:meth:`~index.spread.SpreadStore.cluster_activity` and ``Store.scan``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.language import VI_STOPWORDS
from analysis.text import fold_diacritics
from index.query import to_utc_iso
from index.spread import ClusterSummary, cluster_summary, member_time
from index.store import SearchRequest

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_WINDOW",
    "ClusterTrend",
    "TermTrend",
    "Trends",
    "cluster_trends",
    "parse_duration",
    "term_trends",
    "trends",
]

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_BASELINE = timedelta(days=7)
MIN_RECENT = 2
#: Documents read for term counts at most (the newest of the window and baseline).
MAX_TERM_DOCUMENTS = 20_000
#: Characters of the text (after the title) that terms are taken from: the lead.
LEAD_CHARS = 400
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
#: Syllables too common to make a term on their own (folded): the language detector's
#: Vietnamese stopwords and a few more that headlines repeat.
_COMMON = VI_STOPWORDS | {"ba", "co", "de", "duoi", "nhan", "o", "ong", "tren"}


def parse_duration(text: str) -> timedelta:
    """``"24h"``, ``"7d"``, ``"90m"``, ``"2w"``; ``ValueError`` otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90m, 24h, 7d or 2w")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return {
        "m": timedelta(minutes=amount),
        "h": timedelta(hours=amount),
        "d": timedelta(days=amount),
        "w": timedelta(weeks=amount),
    }[unit]


def _growth(recent: int, baseline: int, window: timedelta, span: timedelta) -> float:
    hours = window.total_seconds() / 3600
    base_hours = span.total_seconds() / 3600
    return (recent / hours) / ((baseline + 1) / base_hours)


@dataclass(slots=True)
class ClusterTrend:
    cluster_id: str
    recent: int
    baseline: int
    growth: float
    summary: ClusterSummary | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "cluster_id": self.cluster_id,
            "recent": self.recent,
            "baseline": self.baseline,
            "growth": round(self.growth, 2),
        }
        if self.summary is not None:
            data["cluster"] = self.summary.to_dict()
        return data


@dataclass(slots=True)
class TermTrend:
    term: str
    recent: int
    baseline: int
    growth: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "recent": self.recent,
            "baseline": self.baseline,
            "growth": round(self.growth, 2),
        }


@dataclass(slots=True)
class Trends:
    now: datetime
    window: timedelta
    baseline: timedelta
    clusters: list[ClusterTrend] = field(default_factory=list)
    terms: list[TermTrend] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(timespec="seconds"),
            "window_hours": self.window.total_seconds() / 3600,
            "baseline_hours": self.baseline.total_seconds() / 3600,
            "clusters": [trend.to_dict() for trend in self.clusters],
            "terms": [trend.to_dict() for trend in self.terms],
        }


def _split(
    times: Iterable[str], now: datetime, window: timedelta, baseline: timedelta
) -> tuple[int, int]:
    start = to_utc_iso((now - window).isoformat()) or ""
    first = to_utc_iso((now - window - baseline).isoformat()) or ""
    end = to_utc_iso(now.isoformat()) or ""
    recent = older = 0
    for moment in times:
        if start <= moment <= end:
            recent += 1
        elif first <= moment < start:
            older += 1
    return recent, older


def cluster_trends(
    activity: Iterable[tuple[str, str]],
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    baseline: timedelta = DEFAULT_BASELINE,
    limit: int = 20,
) -> list[ClusterTrend]:
    """Clusters by growth from ``(cluster_id, UTC time)`` of members, fastest first."""
    times: dict[str, list[str]] = {}
    for cluster_id, moment in activity:
        if cluster_id and moment:
            times.setdefault(cluster_id, []).append(moment)
    found = []
    for cluster_id, moments in times.items():
        recent, older = _split(moments, now, window, baseline)
        if recent >= MIN_RECENT:
            growth = _growth(recent, older, window, baseline)
            found.append(ClusterTrend(cluster_id, recent, older, growth))
    found.sort(key=lambda trend: (-trend.growth, -trend.recent, trend.cluster_id))
    return found[:limit]


def _terms(text: str) -> dict[str, str]:
    """Folded word pairs of ``text`` -> the pair as written (lower case)."""
    words = [word.lower() for word in _TOKEN.findall(text)]
    folded = [fold_diacritics(word) for word in words]
    pairs: dict[str, str] = {}
    for index in range(len(words) - 1):
        a, b = folded[index], folded[index + 1]
        if a in _COMMON and b in _COMMON:
            continue
        pairs.setdefault(f"{a} {b}", f"{words[index]} {words[index + 1]}")
    return pairs


def term_trends(
    documents: Iterable[tuple[str, str]],
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    baseline: timedelta = DEFAULT_BASELINE,
    limit: int = 20,
) -> list[TermTrend]:
    """Terms by growth from ``(UTC time, text)`` of documents (each counted once)."""
    recent: Counter[str] = Counter()
    older: Counter[str] = Counter()
    shown: dict[str, Counter[str]] = {}
    start = to_utc_iso((now - window).isoformat()) or ""
    first = to_utc_iso((now - window - baseline).isoformat()) or ""
    for moment, text in documents:
        if not moment or moment < first:
            continue
        target = recent if moment >= start else older
        for key, written in _terms(text).items():
            target[key] += 1
            if target is recent:
                shown.setdefault(key, Counter())[written] += 1
    found = [
        TermTrend(
            shown[key].most_common(1)[0][0],
            count,
            older[key],
            _growth(count, older[key], window, baseline),
        )
        for key, count in recent.items()
        if count >= MIN_RECENT
    ]
    found.sort(key=lambda trend: (-trend.growth, -trend.recent, trend.term))
    return found[:limit]


def trends(
    store: Any,
    *,
    now: datetime | None = None,
    window: timedelta = DEFAULT_WINDOW,
    baseline: timedelta = DEFAULT_BASELINE,
    limit: int = 20,
) -> Trends:
    """Cluster and term trends of a store, clusters with their summaries."""
    now = now or datetime.now(UTC)
    since = to_utc_iso((now - window - baseline).isoformat()) or ""
    result = Trends(now, window, baseline)
    result.clusters = cluster_trends(
        store.cluster_activity(since), now, window=window, baseline=baseline, limit=limit
    )
    for trend in result.clusters:
        trend.summary = cluster_summary(store, trend.cluster_id)
    day = (now - window - baseline).date().isoformat()
    documents = []
    for number, doc in enumerate(
        store.scan(
            SearchRequest(query=f"published_at:>={day} OR fetched_at:>={day}", sort="newest")
        )
    ):
        if number >= MAX_TERM_DOCUMENTS:
            break
        moment = to_utc_iso(member_time(doc))
        if moment:
            documents.append((moment, f"{doc.title}\n{doc.text[:LEAD_CHARS]}"))
    result.terms = term_trends(documents, now, window=window, baseline=baseline, limit=limit)
    return result
