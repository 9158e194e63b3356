"""Date formats the demo sites print: Vietnamese page styles, RFC 822 for RSS, HTTP dates.

Real Vietnamese sites disagree on how to write a date, so articles cycle through
:data:`PAGE_DATE_STYLES` and the crawler's date parser has to cope with all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

__all__ = [
    "PAGE_DATE_STYLES",
    "VN_TZ",
    "format_page_date",
    "http_date",
    "parse_iso",
    "rfc822",
    "vn_weekday",
]

#: Vietnam has one time zone, UTC+7, and no daylight saving.
VN_TZ = timezone(timedelta(hours=7))

_WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")

#: ``weekday`` is VnExpress-like, ``dash`` Dân trí-like, ``slash`` a plain CMS default.
PAGE_DATE_STYLES = ("weekday", "dash", "slash")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as Vietnam time."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VN_TZ)


def vn_weekday(moment: datetime) -> str:
    """``Thứ hai`` ... ``Chủ nhật`` for the day ``moment`` falls on in Vietnam."""
    return _WEEKDAYS[moment.astimezone(VN_TZ).weekday()]


def format_page_date(moment: datetime, style: str) -> str:
    """The visible date line of an article in one of :data:`PAGE_DATE_STYLES`.

    >>> from datetime import datetime
    >>> format_page_date(datetime(2026, 11, 20, 9, 15, tzinfo=VN_TZ), "weekday")
    'Thứ sáu, 20/11/2026, 09:15 (GMT+7)'
    """
    local = moment.astimezone(VN_TZ)
    if style == "weekday":
        return f"{vn_weekday(local)}, {local:%d/%m/%Y, %H:%M} (GMT+7)"
    if style == "dash":
        return f"{local:%d-%m-%Y - %H:%M}"
    if style == "slash":
        return f"{local:%d/%m/%Y %H:%M} GMT+7"
    raise ValueError(f"unknown date style {style!r}; expected one of {PAGE_DATE_STYLES}")


def rfc822(moment: datetime) -> str:
    """RSS ``pubDate``: ``Fri, 20 Nov 2026 09:15:00 +0700``."""
    return format_datetime(moment.astimezone(VN_TZ))


def http_date(moment: datetime) -> str:
    """HTTP ``Last-Modified``: always GMT, whole seconds."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)
