"""Dates in queries and histograms: partial dates read in Vietnam time, UTC instants for the
backends, local days and the periods of the search page's histogram."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from index.errors import QuerySyntaxError
from index.query_ast import HISTOGRAM_INTERVALS, Range

__all__ = [
    "DEFAULT_TZ",
    "EARLIEST_DATE",
    "LATEST_AHEAD",
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
#: Stored dates before this day are not dates of pages we watch (a page "from year 1" is a
#: broken or hostile page): they are not indexed for ranges and histograms.
EARLIEST_DATE = date(1990, 1, 1)
#: ...nor are dates further than this past the time of writing (or of the search).
LATEST_AHEAD = timedelta(days=1)


# -- dates -----------------------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _stored_moment(value: str | None) -> datetime | None:
    """A stored ISO datetime (naive: Vietnam time) inside the window of
    :data:`EARLIEST_DATE` to now + :data:`LATEST_AHEAD`; ``None`` for anything else, so one
    bad or absurd date never fails a write nor stretches a histogram over centuries."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=DEFAULT_TZ)
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError):  # "year 1, UTC+14" has no UTC instant
        return None
    if utc.date() < EARLIEST_DATE or utc > datetime.now(UTC) + LATEST_AHEAD:
        return None
    return moment


def to_utc_iso(value: str | None) -> str | None:
    """A stored ISO datetime as a sortable UTC string (naive values are Vietnam time).

    Returns ``None`` for empty, unparseable or out-of-window values (see
    :func:`_stored_moment`) so one bad date never fails a write.
    """
    moment = _stored_moment(value)
    return None if moment is None else _utc(moment)


def to_local_day(value: str | None) -> str | None:
    """The calendar day (``YYYY-MM-DD``, :data:`DEFAULT_TZ`) of a stored ISO datetime."""
    moment = _stored_moment(value)
    return None if moment is None else moment.astimezone(DEFAULT_TZ).date().isoformat()


def to_utc_and_local_day(value: str | None) -> tuple[str | None, str | None]:
    """``(to_utc_iso(value), to_local_day(value))``, parsing ``value`` once (indexing)."""
    moment = _stored_moment(value)
    if moment is None:
        return None, None
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
        except (ValueError, OverflowError) as exc:
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


def _query_utc(moment: datetime, value: str) -> str:
    try:
        return _utc(moment)
    except OverflowError as exc:  # 9999-12-31 ends in year 10000; year 1 at UTC+14 in year 0
        raise QuerySyntaxError(f"date {value!r} is out of range") from exc


def date_range_low(value: str, inclusive: bool) -> tuple[str, bool]:
    start, end = _period(value)
    if end is None:
        return _query_utc(start, value), inclusive
    return _query_utc(start if inclusive else end, value), True


def date_range_high(value: str, inclusive: bool) -> tuple[str, bool]:
    start, end = _period(value)
    if end is None:
        return _query_utc(start, value), inclusive
    return _query_utc(end if inclusive else start, value), False


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
    # Days outside the window (stored before it was enforced) would stretch the filled
    # histogram over centuries: one bar per day since year 1.
    latest = (datetime.now(UTC) + LATEST_AHEAD).date().isoformat()
    earliest = EARLIEST_DATE.isoformat()
    counts = {key: n for key, n in counts.items() if earliest <= key <= latest}
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
