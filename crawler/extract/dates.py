"""Publication dates as Vietnamese sites print them.

Handles ISO 8601 (meta tags), "Thứ năm, 28/11/2026, 09:15 (GMT+7)", "28-11-2026 - 09:15 AM",
"28/11/2026 09:15", "09:15 ngày 28/11/2026", "ngày 28 tháng 11 năm 2026", "2026-11-28 09:15",
"2 giờ trước", "hôm qua lúc 20:15", and a bare "3 ngày" when that is the whole text (a
social post's age).
Every result is timezone-aware (Vietnam is UTC+7 when the page does not say) and never in
the future.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["VIETNAM_TZ", "ShownDate", "parse_iso", "parse_shown_date", "parse_vietnamese_date"]

VIETNAM_TZ = timezone(timedelta(hours=7))
#: A published date this far past the fetch time is a clock skew we accept, not the future.
FUTURE_SLACK = timedelta(minutes=10)

_TIME = (
    r"(?P<H>\d{1,2})\s*[:hg]\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2}))?"
    r"(?:\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?|SA|CH)(?![\wÀ-ỹ]))?"
)
_DMY = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})(?!\d)"
    r"(?:\D{0,12}?" + _TIME + ")?"
)
#: "2026-11-28 09:15" as some CMSs print it (year first, with a dash or a slash).
_YMD = re.compile(
    r"(?<!\d)(?P<y>\d{4})\s*[/\-]\s*(?P<m>\d{1,2})\s*[/\-]\s*(?P<d>\d{1,2})(?!\d)"
    r"(?:\D{0,12}?" + _TIME + ")?"
)
#: "ngày 28 tháng 11 năm 2026" / "28 tháng 11, 2026" (the long form of date lines and bars).
_LONG = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s*(?:,|năm)\s*(?P<y>\d{4})(?!\d)"
    r"(?:\D{0,12}?" + _TIME + ")?",
    re.I,
)
_HM_FIRST = re.compile(
    r"(?<!\d)"
    + _TIME
    + r"\D{1,12}?(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})(?!\d)"
)
_GMT = re.compile(r"(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_UNITS = r"giây|phút|giờ|tiếng|ngày|tuần|tháng|năm"
#: Inside a longer text a relative age must say "trước" ("2 giờ trước"): "07 tháng 03 năm
#: 2026" in a header date bar is not "7 months ago".
_RELATIVE = re.compile(rf"(?P<n>\d+)\s*(?P<unit>{_UNITS})\s*trước", re.I)
#: A bare "3 ngày" counts only when it is the whole text (a social post's age label).
_BARE_RELATIVE = re.compile(rf"\s*(?P<n>\d+)\s*(?P<unit>{_UNITS})(?:\s*trước)?\s*\.?\s*", re.I)
_YESTERDAY = re.compile(r"hôm qua(?:\s*(?:lúc)?\s*(?P<H>\d{1,2})\s*[:h]\s*(?P<M>\d{2}))?", re.I)
_TODAY = re.compile(r"hôm nay(?:\s*(?:lúc)?\s*(?P<H>\d{1,2})\s*[:h]\s*(?P<M>\d{2}))?", re.I)
_JUST_NOW = re.compile(r"vừa xong|vừa đăng|mới đây", re.I)
_ISO_ZONE_GAP = re.compile(r"\s+(?=[+-]\d{2}:?\d{2}$)")
_ISO_COMPACT_ZONE = re.compile(r"([+-]\d{2})(\d{2})$")
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


@dataclass(frozen=True, slots=True)
class ShownDate:
    """A date read from text: whether it carried a time of day, and whether it was relative
    to the fetch time ("2 giờ trước") rather than printed."""

    value: datetime
    has_time: bool
    relative: bool = False


def _not_future(value: datetime, now: datetime) -> datetime | None:
    return None if value > now + FUTURE_SLACK else value


def parse_iso(text: str, *, now: datetime | None = None) -> datetime | None:
    """ISO 8601 from a meta tag or ``<time datetime>``; naive values are taken as UTC+7."""
    now = now or datetime.now(VIETNAM_TZ)
    candidate = text.strip().replace("Z", "+00:00")
    if not candidate:
        return None
    # "2026-03-07T08:52:11.000 +07:00" and "...+0700" are common in Vietnamese CMS output.
    candidate = _ISO_COMPACT_ZONE.sub(r"\1:\2", _ISO_ZONE_GAP.sub("", candidate))
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


def _hour(match: re.Match[str]) -> int:
    hour = int(match.group("H") or 0)
    marker = (match.group("ampm") or "").upper().replace(".", "").replace(" ", "")
    if marker in ("PM", "CH") and hour < 12:
        hour += 12
    elif marker in ("AM", "SA") and hour == 12:
        hour = 0
    return hour


def _absolute(text: str, now: datetime) -> ShownDate | None:
    matches = [m for p in (_HM_FIRST, _DMY, _YMD, _LONG) if (m := p.search(text)) is not None]
    for match in sorted(matches, key=lambda m: m.start()):
        try:
            value = datetime(
                int(match.group("y")),
                int(match.group("m")),
                int(match.group("d")),
                _hour(match),
                int(match.group("M") or 0),
                int(match.group("S") or 0),
                tzinfo=_offset(text),
            )
        except ValueError:
            continue
        if _not_future(value, now) is None:
            return None
        return ShownDate(value, has_time=match.group("H") is not None)
    return None


def parse_shown_date(text: str, *, now: datetime | None = None) -> ShownDate | None:
    """The first date in ``text``; relative forms resolve against ``now`` (fetch time)."""
    if not text:
        return None
    now = now or datetime.now(VIETNAM_TZ)
    text = unicodedata.normalize("NFC", text)
    if (iso := parse_iso(text, now=now)) is not None:
        return ShownDate(iso, has_time=True)
    if (absolute := _absolute(text, now)) is not None:
        return absolute
    if any(pattern.search(text) for pattern in (_DMY, _YMD, _LONG, _HM_FIRST)):
        return None  # a printed date that is invalid or in the future: not a relative one
    local_now = now.astimezone(VIETNAM_TZ)
    for pattern, days in ((_YESTERDAY, 1), (_TODAY, 0)):
        match = pattern.search(text)
        if match:
            day = (local_now - timedelta(days=days)).replace(second=0, microsecond=0)
            if match.group("H"):
                hour, minute = int(match.group("H")), int(match.group("M"))
                if hour > 23 or minute > 59:
                    return None  # "hôm qua lúc 31:00" is no time: no date rather than a guess
                day = day.replace(hour=hour, minute=minute)
            value = _not_future(day, now)
            return ShownDate(value, has_time=True, relative=True) if value else None
    match = _RELATIVE.search(text) or _BARE_RELATIVE.fullmatch(text)
    if match:
        unit = _UNIT[match.group("unit").lower()]
        digits = match.group("n")
        try:
            if len(digits) > 9:  # no page was posted a billion units ago
                raise OverflowError(digits)
            value = (now - int(digits) * unit).replace(microsecond=0)
        except OverflowError:  # "99999 năm trước": before year 1, no date
            return None
        return ShownDate(value, has_time=True, relative=True)
    if _JUST_NOW.search(text):
        return ShownDate(now.replace(microsecond=0), has_time=True, relative=True)
    return None


def parse_vietnamese_date(text: str, *, now: datetime | None = None) -> datetime | None:
    """Find the first date in ``text`` (see :func:`parse_shown_date`)."""
    shown = parse_shown_date(text, now=now)
    return shown.value if shown is not None else None
