"""Vietnamese date formats and canonical URLs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crawler.extract.dates import VIETNAM_TZ, parse_iso, parse_vietnamese_date
from crawler.extract.urls import canonical_url, in_domains, site_of

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thứ năm, 26/11/2026, 09:15 (GMT+7)", datetime(2026, 11, 26, 9, 15, tzinfo=VIETNAM_TZ)),
        ("26-11-2026 - 09:15", datetime(2026, 11, 26, 9, 15, tzinfo=VIETNAM_TZ)),
        ("20/11/2026 09:15 GMT+7", datetime(2026, 11, 20, 9, 15, tzinfo=VIETNAM_TZ)),
        ("Cập nhật lúc 09:15 26/11/2026", datetime(2026, 11, 26, 9, 15, tzinfo=VIETNAM_TZ)),
        ("2 giờ trước", NOW - timedelta(hours=2)),
        ("5 phút trước", NOW - timedelta(minutes=5)),
        ("3 ngày", NOW - timedelta(days=3)),
        ("hôm qua lúc 20:15", datetime(2026, 11, 27, 20, 15, tzinfo=VIETNAM_TZ)),
        ("2026-11-20T09:15:00+07:00", datetime(2026, 11, 20, 9, 15, tzinfo=VIETNAM_TZ)),
        ("2026-11-20T02:15:00Z", datetime(2026, 11, 20, 9, 15, tzinfo=VIETNAM_TZ)),
    ],
)
def test_vietnamese_date_formats(text, expected):
    assert parse_vietnamese_date(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text", ["29/11/2026 10:00", "2027-01-01T00:00:00+07:00", "Thứ hai, 31/12/2026"]
)
def test_never_a_date_in_the_future(text):
    assert parse_vietnamese_date(text, now=NOW) is None


def test_invalid_dates_and_noise():
    assert parse_vietnamese_date("31/02/2026", now=NOW) is None
    assert parse_vietnamese_date("hôm qua lúc 31:00", now=NOW) is None
    assert parse_vietnamese_date("hôm nay 10:75", now=NOW) is None
    assert parse_vietnamese_date("không có ngày", now=NOW) is None
    assert parse_iso("hôm qua", now=NOW) is None


def test_naive_iso_is_vietnam_time():
    assert parse_iso("2026-11-20 09:15", now=NOW) == datetime(
        2026, 11, 20, 9, 15, tzinfo=VIETNAM_TZ
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTP://Songhong.localhost:80/a.html?utm_source=x&utm_medium=y#top",
            "http://songhong.localhost/a.html",
        ),
        ("https://x.vn/a?b=2&a=1&fbclid=abc", "https://x.vn/a?a=1&b=2"),
        ("https://x.vn/a;jsessionid=ABC?PHPSESSID=1&id=3", "https://x.vn/a?id=3"),
        ("https://x.vn", "https://x.vn/"),
        ("http://x.vn:8765/p", "http://x.vn:8765/p"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_domains():
    assert in_domains("https://www.x.vn/a", ["x.vn"])
    assert not in_domains("https://notx.vn/a", ["x.vn"])
    assert site_of("https://www.x.vn/a") == "x.vn"
