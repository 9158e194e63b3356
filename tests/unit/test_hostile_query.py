"""Hostile queries (issue #13, rows 4, 8 and 9): every parse, range or size problem is a
one-line ``QuerySyntaxError``, the work of a search is bounded by limits and a time limit,
and no stored date stretches a histogram over centuries."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import Document, SearchRequest
from index.errors import QuerySyntaxError, QueryTooComplex, QueryTooExpensive
from index.query import Range, parse_query
from index.query_dates import date_bounds, fill_histogram, to_utc_and_local_day
from index.query_limits import MAX_QUERY_DEPTH, MAX_QUERY_TERMS
from index.sqlite import SqliteStore


def _doc(n: int, **fields) -> Document:
    url = f"https://a.vn/{n}"
    values = {
        "title": f"covid cách ly {n}",
        "text": "con chó cái cây " * 50,
        "published_at": "2026-11-01T00:00:00+07:00",
        "scores": {"claim": 0.3},
        **fields,
    }
    return Document(id=f"d{n}", url=url, canonical_url=url, source="a", site="a.vn", **values)


@pytest.fixture(scope="module")
def store():
    store = SqliteStore(":memory:")
    store.upsert([_doc(n) for n in range(125)])
    yield store
    store.close()


# -- row 8: ranges, dates, nesting and terms are one-line errors, never a crash -----------------
def test_negative_number_in_a_range_is_a_number(store):
    node = parse_query("claim_score:[-0.5 TO 1]")
    assert node == Range("claim_score", -0.5, 1.0, True, True)
    assert store.search(SearchRequest(query="claim_score:[-0.5 TO 1]")).total == 125


@pytest.mark.parametrize(
    "query",
    [
        "published_at:>=9999-12-31",
        "published_at:[* TO 9999-12-31]",
        "published_at:<0001-01-01",
        "published_at:0001-01-01T00:00:00+14:00",
        "claim_score:[nan TO 1]",
        "claim_score:>inf",
        "claim_score:[(a) TO 1]",
    ],
)
def test_out_of_range_values_are_query_errors(query):
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert "\n" not in str(caught.value)


def test_a_date_filter_out_of_range_is_a_query_error():
    with pytest.raises(QuerySyntaxError, match="out of range"):
        date_bounds("9999-12-31", None)
    with pytest.raises(QuerySyntaxError):
        date_bounds(None, "9999-12-31")


@pytest.mark.parametrize(
    "query",
    [
        "(" * 1000 + "a" + ")" * 1000,
        "(" * 300 + "a" + ")" * 300,
        "NOT " * 1000 + "a",
        "NOT " * 300 + "a",
        "-" * 400 + "a",
        "(" * (MAX_QUERY_DEPTH + 1) + "a" + ")" * (MAX_QUERY_DEPTH + 1),
    ],
)
def test_deep_nesting_is_refused_in_one_line(query):
    with pytest.raises(QueryTooComplex) as caught:
        parse_query(query)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("query", ["a~0.50.5", "a^0.50.5", "covid^1.2.3"])
def test_a_boost_or_fuzziness_that_is_no_number_is_a_query_error(query):
    # luqum hands these to decimal.Decimal, which raised InvalidOperation (a 500 in the UI)
    with pytest.raises(QuerySyntaxError, match="no number"):
        parse_query(query)


def test_nesting_up_to_the_limit_parses():
    depth = MAX_QUERY_DEPTH - 1
    assert parse_query("(" * depth + "a" + ")" * depth) is not None
    assert parse_query("NOT NOT a") is not None


def test_too_many_terms_is_a_clear_error_not_a_store_failure(store):
    many = " ".join(f"w{i}" for i in range(600))
    with pytest.raises(QueryTooComplex, match="too long"):
        store.search(SearchRequest(query=many))
    terms = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1))
    with pytest.raises(QueryTooComplex, match=f"at most {MAX_QUERY_TERMS}"):
        store.search(SearchRequest(query=terms))
    fits = " OR ".join(f"w{i}" for i in range(MAX_QUERY_TERMS))
    assert store.search(SearchRequest(query=fits)).total == 0


# -- row 9: no search runs longer than its time limit -----------------------------------------
def test_the_six_kilobyte_prefix_query_is_refused_at_once(store):
    query = " OR ".join(["c*"] * 1000)
    started = time.monotonic()
    with pytest.raises(QueryTooComplex):
        store.search(SearchRequest(query=query, facets=True, histogram="day"))
    assert time.monotonic() - started < 0.5


def test_an_expensive_search_stops_at_the_time_limit():
    store = SqliteStore(":memory:", time_limit=0.2)
    store.upsert([_doc(n) for n in range(2000)])
    query = " OR ".join(["c*"] * MAX_QUERY_TERMS)
    started = time.monotonic()
    with pytest.raises(QueryTooExpensive, match="query too expensive") as caught:
        store.search(SearchRequest(query=query, facets=True, histogram="day"))
    # The clock is read every few SQLite steps; one step (a row's rank) may overrun a little.
    assert time.monotonic() - started < 1.5
    assert "\n" not in str(caught.value)
    store.close()


# -- row 4: a page "from year 1" never stretches the histogram ---------------------------------
def test_absurd_stored_dates_are_not_indexed_and_not_charted():
    store = SqliteStore(":memory:")
    store.upsert(
        [
            _doc(1, published_at="0001-01-02T00:00:00+07:00"),
            _doc(2, published_at="0001-01-01T00:00:00+14:00"),
            _doc(3, published_at="9999-12-31T00:00:00+07:00"),
            _doc(4),
        ]
    )
    response = store.search(SearchRequest(query="covid", histogram="day"))
    assert response.total == 4
    assert [bucket.key for bucket in response.histogram] == ["2026-11-01"]
    assert store.search(SearchRequest(query="published_at:[* TO 1990-01-01]")).total == 0
    store.close()


def test_histogram_fill_ignores_days_outside_the_window():
    counts = {"0001-01-02": 1, "2026-11-01": 2, "2026-11-03": 1, "9999-12-31": 5}
    assert fill_histogram(counts, "day") == [
        ("2026-11-01", 2),
        ("2026-11-02", 0),
        ("2026-11-03", 1),
    ]


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1989-12-31", "not a date", ""],
)
def test_index_dates_never_raise(value):
    assert to_utc_and_local_day(value) == (None, None)


# -- the query language under fuzzing ----------------------------------------------------------
_QUERY_ALPHABET = st.sampled_from(
    [*'ab cđ()[]{}"*?:^~-+!\\/<>=&|', "AND ", "OR ", "NOT ", " TO ", "claim_score:",
     "published_at:", "site:", "title:", "0.5", "-1", "2026-11-01", "9999-12-31", "0001-01-01"]
)  # fmt: skip


def _one_line_error_or_none(call, *errors) -> None:
    """Run ``call``; it may only fail with ``errors``, in one line."""
    try:
        call()
    except errors as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_QUERY_ALPHABET, max_size=60).map("".join))
def test_any_query_parses_or_is_a_query_error(text):
    _one_line_error_or_none(lambda: parse_query(text), QuerySyntaxError)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_query_parses_or_is_a_query_error(text):
    _one_line_error_or_none(lambda: parse_query(text), QuerySyntaxError)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_QUERY_ALPHABET, max_size=40).map("".join))
def test_any_query_searches_or_is_refused(store, text):
    request = SearchRequest(query=text, facets=True, histogram="day")
    _one_line_error_or_none(lambda: store.search(request), QuerySyntaxError, QueryTooExpensive)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789-T:+Z.", max_size=30), st.booleans())
def test_any_date_filter_is_a_range_or_a_query_error(value, low):
    bounds = (value, None) if low else (None, value)
    _one_line_error_or_none(lambda: date_bounds(*bounds), QuerySyntaxError)
