"""Publication dates as Vietnamese sites print them.

Handles ISO 8601 (meta tags), "Thứ năm, 28/11/2026, 09:15 (GMT+7)", "28-11-2026 - 09:15",
"28/11/2026 09:15", "2 giờ trước", "hôm qua lúc 20:15", "3 ngày". Every result is
timezone-aware (Vietnam is UTC+7 when the page does not say) and never in the future.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

__all__ = ["VIETNAM_TZ", "parse_iso", "parse_vietnamese_date"]

VIETNAM_TZ = timezone(timedelta(hours=7))
#: A published date this far past the fetch time is a clock skew we accept, not the future.
FUTURE_SLACK = timedelta(minutes=10)

_DMY = re.compile(
    r"(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})"
    r"(?:\D{0,12}?(?P<H>\d{1,2})\s*[:hg]\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2}))?)?"
)
_HM_FIRST = re.compile(
    r"(?P<H>\d{1,2})\s*[:h]\s*(?P<M>\d{2})\D{1,12}?(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})"
)
_GMT = re.compile(r"(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_RELATIVE = re.compile(
    r"(?P<n>\d+)\s*(?P<unit>giây|phút|giờ|tiếng|ngày|tuần|tháng|năm)(?:\s*trước)?", re.I
)
_YESTERDAY = re.compile(r"hôm qua(?:\s*(?:lúc)?\s*(?P<H>\d{1,2})\s*[:h]\s*(?P<M>\d{2}))?", re.I)
_TODAY = re.compile(r"hôm nay(?:\s*(?:lúc)?\s*(?P<H>\d{1,2})\s*[:h]\s*(?P<M>\d{2}))?", re.I)
_JUST_NOW = re.compile(r"vừa xong|vừa đăng|mới đây", re.I)
_UNIT = {
    "giây": timedelta(seconds=1),
    "phút": timedelta(minutes=1),
    "giờ": timedelta(hours=1),
    "tiếng": timedelta(hours=1),
    "ngày": timedelta(days=1),
    "tuần": timedelta(weeks=1),
    "tháng": timedelta(days=30),
    "năm": timedelta(days=365),
}


def _not_future(value: datetime, now: datetime) -> datetime | None:
    return None if value > now + FUTURE_SLACK else value


def parse_iso(text: str, *, now: datetime | None = None) -> datetime | None:
    """ISO 8601 from a meta tag or ``<time datetime>``; naive values are taken as UTC+7."""
    now = now or datetime.now(VIETNAM_TZ)
    candidate = text.strip().replace("Z", "+00:00")
    if not candidate:
        return None
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VIETNAM_TZ)
    return _not_future(value, now)


def _offset(text: str) -> timezone:
    match = _GMT.search(text)
    if not match:
        return VIETNAM_TZ
    sign = 1 if match.group(1) == "+" else -1
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    return timezone(sign * timedelta(minutes=minutes))


def parse_vietnamese_date(text: str, *, now: datetime | None = None) -> datetime | None:
    """Find the first date in ``text``; relative forms resolve against ``now`` (fetch time)."""
    if not text:
        return None
    now = now or datetime.now(VIETNAM_TZ)
    text = unicodedata.normalize("NFC", text)
    iso = parse_iso(text, now=now)
    if iso is not None:
        return iso
    matches = [m for m in (_HM_FIRST.search(text), _DMY.search(text)) if m is not None]
    for match in sorted(matches, key=lambda m: m.start()):
        if match:
            try:
                value = datetime(
                    int(match.group("y")),
                    int(match.group("m")),
                    int(match.group("d")),
                    int(match.group("H") or 0),
                    int(match.group("M") or 0),
                    int((match.groupdict().get("S")) or 0),
                    tzinfo=_offset(text),
                )
            except ValueError:
                continue
            return _not_future(value, now)
    local_now = now.astimezone(VIETNAM_TZ)
    for pattern, days in ((_YESTERDAY, 1), (_TODAY, 0)):
        match = pattern.search(text)
        if match:
            day = (local_now - timedelta(days=days)).replace(second=0, microsecond=0)
            if match.group("H"):
                day = day.replace(hour=int(match.group("H")), minute=int(match.group("M")))
            return _not_future(day, now)
    match = _RELATIVE.search(text)
    if match:
        unit = _UNIT[match.group("unit").lower()]
        digits = match.group("n")
        try:
            if len(digits) > 9:  # no page was posted a billion units ago
                raise OverflowError(digits)
            return (now - int(digits) * unit).replace(microsecond=0)
        except OverflowError:  # "99999 năm trước": before year 1, no date
            return None
    if _JUST_NOW.search(text):
        return now.replace(microsecond=0)
    return None
