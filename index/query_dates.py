"""Dates in queries and histograms: partial dates read in Vietnam time, UTC instants for the
backends, local days and the periods of the search page's histogram."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from index.errors import QuerySyntaxError
from index.query_ast import HISTOGRAM_INTERVALS, Range

__all__ = [
    "DEFAULT_TZ",
    "bucket_start",
    "date_bounds",
    "date_range_high",
    "date_range_low",
    "fill_histogram",
    "period_start",
    "to_local_day",
    "to_utc_and_local_day",
    "to_utc_iso",
]

#: Time zone for date values written without an offset (analysts work in Vietnam time).
DEFAULT_TZ = timezone(timedelta(hours=7))


# -- dates -----------------------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def to_utc_iso(value: str | None) -> str | None:
    """A stored ISO datetime as a sortable UTC string (naive values are Vietnam time).

    Returns ``None`` for empty or unparseable values so one bad date never fails a write.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DEFAULT_TZ)
    return _utc(moment)


def to_local_day(value: str | None) -> str | None:
    """The calendar day (``YYYY-MM-DD``, :data:`DEFAULT_TZ`) of a stored ISO datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.astimezone(DEFAULT_TZ).date().isoformat()


def to_utc_and_local_day(value: str | None) -> tuple[str | None, str | None]:
    """``(to_utc_iso(value), to_local_day(value))``, parsing ``value`` once (indexing)."""
    if not value:
        return None, None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None, None
    if moment.tzinfo is None:
        return _utc(moment.replace(tzinfo=DEFAULT_TZ)), moment.date().isoformat()
    return _utc(moment), moment.astimezone(DEFAULT_TZ).date().isoformat()


def bucket_start(day: str, interval: str) -> str:
    """First day of the ``interval`` ("day", "week" from Monday, "month") holding ``day``."""
    if interval == "day":
        return day
    return period_start(datetime.strptime(day, "%Y-%m-%d").date(), interval).isoformat()


def period_start(day: date, interval: str) -> date:
    """:func:`bucket_start` on dates."""
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _period(value: str) -> tuple[datetime, datetime | None]:
    """Start of the period ``value`` names and the start of the next one (None: an instant)."""
    match = _PARTIAL_DATE.match(value)
    if match:
        year, month, day = match.groups()
        try:
            if day:
                start = datetime(int(year), int(month), int(day), tzinfo=DEFAULT_TZ)
                return start, start + timedelta(days=1)
            if month:
                start = datetime(int(year), int(month), 1, tzinfo=DEFAULT_TZ)
                nxt = datetime(
                    int(year) + (month == "12"), int(month) % 12 + 1, 1, tzinfo=DEFAULT_TZ
                )
                return start, nxt
            start = datetime(int(year), 1, 1, tzinfo=DEFAULT_TZ)
            return start, datetime(int(year) + 1, 1, 1, tzinfo=DEFAULT_TZ)
        except ValueError as exc:
            raise QuerySyntaxError(f"invalid date {value!r}: {exc}") from exc
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise QuerySyntaxError(
            f"invalid date {value!r} (use YYYY-MM-DD or an ISO 8601 datetime)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DEFAULT_TZ)
    return moment, None


def date_range_low(value: str, inclusive: bool) -> tuple[str, bool]:
    start, end = _period(value)
    if end is None:
        return _utc(start), inclusive
    return _utc(start if inclusive else end), True


def date_range_high(value: str, inclusive: bool) -> tuple[str, bool]:
    start, end = _period(value)
    if end is None:
        return _utc(start), inclusive
    return _utc(end if inclusive else start), False


def date_bounds(date_from: str | None, date_to: str | None, field: str = "published_at") -> Range:
    """``SearchRequest.date_from``/``date_to`` (inclusive dates) as a :class:`Range`."""
    low, include_low = date_range_low(date_from, True) if date_from else (None, True)
    high, include_high = date_range_high(date_to, True) if date_to else (None, True)
    return Range(field, low, high, include_low, include_high)


def fill_histogram(counts: dict[str, int], interval: str) -> list[tuple[str, int]]:
    """Histogram buckets from first to last key with empty periods as zero counts."""
    if interval not in HISTOGRAM_INTERVALS:
        raise QuerySyntaxError(
            f"unknown histogram interval {interval!r} (known: {', '.join(HISTOGRAM_INTERVALS)})"
        )
    if not counts:
        return []
    keys = sorted(counts)
    day = datetime.strptime(keys[0], "%Y-%m-%d").date()
    last = datetime.strptime(keys[-1], "%Y-%m-%d").date()
    buckets = []
    while day <= last:
        key = day.isoformat()
        buckets.append((key, counts.get(key, 0)))
        if interval == "day":
            day += timedelta(days=1)
        elif interval == "week":
            day += timedelta(days=7)
        else:
            day = day.replace(year=day.year + (day.month == 12), month=day.month % 12 + 1)
    return buckets
