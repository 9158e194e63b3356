"""Cases, tips and the period report against hostile input (issue #13, on the surfaces added
after it): a period of centuries, case and tip ids of thousands of digits, absurd fines."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from index.cases import CaseError, record_number
from index.errors import NotFound
from index.report import MAX_PERIOD_DAYS, build_report, check_period, local_today
from index.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(tmp_path / "index.db")
    yield store
    store.close()


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (date(1, 1, 1), date(9999, 12, 31), "lies between 1990-01-01"),
        (date(1989, 12, 31), date(2000, 1, 1), "lies between 1990-01-01"),
        (date(2020, 1, 1), local_today() + timedelta(days=400), "lies between"),
        (date(1990, 1, 1), date(2020, 1, 1), "at most"),
        (date(2026, 2, 1), date(2026, 1, 1), "before --from"),
    ],
)
def test_absurd_report_periods_are_one_line_errors(first, last, message):
    with pytest.raises(CaseError, match=message) as caught:
        check_period(first, last)
    assert "\n" not in str(caught.value)


def test_a_long_but_sane_period_is_reported(store):
    today = local_today()
    first = today - timedelta(days=MAX_PERIOD_DAYS - 1)
    check_period(first, today)
    report = build_report(store, first, today)
    assert len(report.weekly) <= MAX_PERIOD_DAYS // 7 + 2


def test_the_report_refuses_a_period_of_centuries_before_counting(store):
    with pytest.raises(CaseError):
        build_report(store, date(1, 1, 1), date(9999, 12, 31))


@pytest.mark.parametrize("value", ["9" * 30, "9" * 5000, "²", "-1", "1e3", "", "#"])
def test_case_and_tip_ids_that_are_no_numbers_are_not_found(store, value):
    with pytest.raises(NotFound) as caught:
        record_number(value, "case")
    assert len(str(caught.value)) < 120
    with pytest.raises(NotFound):
        store.case_get(value)
    with pytest.raises(NotFound):
        store.tip_get(value)


@pytest.mark.parametrize(("value", "number"), [("12", 12), ("#7", 7), (" 3 ", 3)])
def test_case_numbers_parse(value, number):
    assert record_number(value, "tip") == number
