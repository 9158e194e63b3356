"""The query parser (text -> AST) and the SQLite SQL builders, without a database
(except where a statement is checked to run)."""

from __future__ import annotations

import sqlite3

import pytest

from index.errors import QuerySyntaxError, SearchError
from index.query import (
    And,
    FieldTerm,
    MatchAll,
    Not,
    Or,
    Phrase,
    Prefix,
    Range,
    Term,
    date_bounds,
    fill_histogram,
    highlight_terms,
    make_snippet,
    parse_query,
    to_utc_iso,
)
from index.sqlite import SqliteStore
from index.sqlite_schema import MIGRATIONS, migrate
from index.sqlite_sql import fts_expression, quote_fts, search_sql, where_clause
from index.store import SearchRequest

ALL = ("title", "text", "author")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", MatchAll()),
        ("   ", MatchAll()),
        ("*", MatchAll()),
        ("ha", Term("ha", ALL, folded=True)),
        ("Hà", Term("hà", ALL, folded=False)),
        ("ĐÀ", Term("đà", ALL, folded=False)),
        ("da", Term("da", ALL, folded=True)),
        # decomposed input and the new tone placement are normalised first
        ("hoa\u0300", Term("hòa", ALL, folded=False)),
        ("hoà", Term("hòa", ALL, folded=False)),
        ("ha noi", And((Term("ha", ALL, True), Term("noi", ALL, True)))),
        ('"Hà Nội"', Phrase(("hà", "nội"), ALL, folded=False)),
        ('"ha noi"', Phrase(("ha", "noi"), ALL, folded=True)),
        (
            '"Hà noi"',
            And((Phrase(("ha", "noi"), ALL, True), Term("hà", ALL, False))),
        ),
        ("covid-19", Phrase(("covid", "19"), ALL, folded=True)),
        ("title:vắc", Term("vắc", ("title",), False)),
        ('author:"minh anh"', Phrase(("minh", "anh"), ("author",), True)),
        ("title:(a OR b)", Or((Term("a", ("title",), True), Term("b", ("title",), True)))),
        ("source:vnexpress", FieldTerm("source", "vnexpress")),
        ('url:"https://x.vn/a?b=1"', FieldTerm("url", "https://x.vn/a?b=1")),
        ("source:vn*", FieldTerm("source", "vn", prefix=True)),
        ("flags:*", FieldTerm("flags", "", prefix=True)),
        ("tiêm*", Prefix("tiêm", ALL, folded=False)),
        ("tiem*", Prefix("tiem", ALL, folded=True)),
        ("a OR b", Or((Term("a", ALL, True), Term("b", ALL, True)))),
        ("NOT a", Not(Term("a", ALL, True))),
        ("-a b", And((Not(Term("a", ALL, True)), Term("b", ALL, True)))),
        ("+a", Term("a", ALL, True)),
        ("a^2", Term("a", ALL, True)),
        ("NOT NOT a", Term("a", ALL, True)),
        (
            "a b OR c d",
            Or(
                (
                    And((Term("a", ALL, True), Term("b", ALL, True))),
                    And((Term("c", ALL, True), Term("d", ALL, True))),
                )
            ),
        ),
        (
            "a AND (b OR c)",
            And((Term("a", ALL, True), Or((Term("b", ALL, True), Term("c", ALL, True))))),
        ),
        ("claim_score:>0.7", Range("claim_score", 0.7, None, include_low=False)),
        ("claim_score:<=0.7", Range("claim_score", None, 0.7, include_high=True)),
        ("covid_score:{0.2 TO *]", Range("covid_score", 0.2, None, include_low=False)),
        ("covid_score:0.5", Range("covid_score", 0.5, 0.5)),
        ("covid_score:*", Range("covid_score")),
        # dates are Vietnam time (UTC+7) periods turned into UTC half-open ranges
        (
            "published_at:[2026-11-01 TO 2026-11-30]",
            Range("published_at", "2026-10-31T17:00:00Z", "2026-11-30T17:00:00Z", True, False),
        ),
        (
            "published_at:2026-11",
            Range("published_at", "2026-10-31T17:00:00Z", "2026-11-30T17:00:00Z", True, False),
        ),
        (
            "published_at:>2026-11-01",
            Range("published_at", "2026-11-01T17:00:00Z", None, True, True),
        ),
        (
            "published_at:<2026-11-01",
            Range("published_at", None, "2026-10-31T17:00:00Z", True, False),
        ),
        (
            'fetched_at:>="2026-11-01T10:00:00+00:00"',
            Range("fetched_at", "2026-11-01T10:00:00Z", None, True, True),
        ),
    ],
)
def test_parse(query, expected):
    assert parse_query(query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo:bar", r"unknown field 'foo' \(known: title, text, author, source"),
        ("a AND (b", "unmatched parenthesis"),
        ("a ) b", "position 2"),
        ("claim_score:abc", "numbers"),
        ("published_at:2026-13-01", "invalid date"),
        ("published_at:yesterday", "invalid date"),
        ("title:[a TO b]", "ranges work on number and date fields"),
        ("[1 TO 2]", "needs a field"),
        ("t*m", "trailing"),
        ("t?m", "trailing"),
        ("a~2", "fuzzy"),
        ('"a b"~2', "proximity"),
        ("a && b", "AND, OR or NOT"),
        ("title:(source:x)", "inside field"),
        ('"--"', "nothing searchable"),
    ],
)
def test_parse_errors(query, message):
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(query)


def test_parse_error_chains_luqum_error():
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("a AND (b")
    from luqum.exceptions import ParseError

    assert isinstance(caught.value.__cause__, ParseError)


def test_dates():
    assert to_utc_iso("2026-11-02T08:00:00+07:00") == "2026-11-02T01:00:00Z"
    assert to_utc_iso("2026-11-02T08:00:00") == "2026-11-02T01:00:00Z"  # naive = Vietnam
    assert to_utc_iso("2026-11-02T01:00:00Z") == "2026-11-02T01:00:00Z"
    assert to_utc_iso("not a date") is None and to_utc_iso(None) is None
    assert date_bounds("2026-11-01", None) == Range("published_at", "2026-10-31T17:00:00Z")
    assert fill_histogram({"2026-11-02": 1, "2026-11-16": 2}, "week") == [
        ("2026-11-02", 1),
        ("2026-11-09", 0),
        ("2026-11-16", 2),
    ]
    assert fill_histogram({"2026-11-01": 1, "2027-01-01": 1}, "month")[1] == ("2026-12-01", 0)
    with pytest.raises(QuerySyntaxError):
        fill_histogram({}, "year")


def test_highlight_terms_skip_negated_words():
    terms = highlight_terms(parse_query('ha noi -covid "Đà Nẵng" tiêm*'))
    assert terms == [
        ("ha", True, False),
        ("noi", True, False),
        ("đà", False, False),
        ("nẵng", False, False),
        ("tiêm", False, True),
    ]


def test_snippet_pieces_around_first_match():
    text = "Mở đầu. " + "chữ " * 100 + "Hôm nay Hà Nội mưa. " + "chữ " * 100
    pieces = make_snippet(text, highlight_terms(parse_query("ha noi")))
    assert pieces[0] == ("…", False) and pieces[-1] == ("…", False)
    assert [p for p, hit in pieces if hit] == ["Hà", "Nội"]
    assert 150 < sum(len(p) for p, _ in pieces) < 260
    # exact terms do not match other spellings; no match gives the start of the text
    assert make_snippet("hà nôi", highlight_terms(parse_query("Hà Nội"))) == [
        ("hà", True),
        (" nôi", False),
    ]
    assert make_snippet("ngắn", [("xa", True, False)]) == [("ngắn", False)]


# -- SQL builders ----------------------------------------------------------------------------


def test_quote_fts():
    assert quote_fts('a"b') == '"a""b"'


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ha", '{title_f text_f author_f} : "ha"'),
        ("title:Hà", '{title} : "hà"'),
        ('"tiêm vắc"', '{title text author} : "tiêm vắc"'),
        ("tiêm*", '{title text author} : "tiêm" *'),
        ("a OR b", '({title_f text_f author_f} : "a") OR ({title_f text_f author_f} : "b")'),
        (
            "a -b",
            '(({title_f text_f author_f} : "a")) NOT ({title_f text_f author_f} : "b")',
        ),
        ("NOT a", None),
        ("a OR source:x", None),
    ],
)
def test_fts_expression(query, expected):
    assert fts_expression(parse_query(query)) == expected


def test_where_clause_binds_values():
    sql, params = where_clause(parse_query("source:x OR claim_score:>0.5 OR flags:covid"))
    assert sql == (
        '(d."source" = ?) OR (d."claim_score" IS NOT NULL AND d."claim_score" > ?) OR '
        "(d.rowid IN (SELECT doc_rowid FROM document_flags WHERE flag = ?))"
    )
    assert params == ["x", 0.5, "covid"]
    sql, params = where_clause(parse_query("NOT a"))
    assert sql.startswith("NOT (d.rowid IN (SELECT rowid FROM documents_fts")
    assert params == ['{title_f text_f author_f} : "a"']


def test_search_sql_never_inlines_user_text():
    hostile = "x'); DROP TABLE documents; --"
    request = SearchRequest(
        query=f'source:"{hostile}" "{hostile}"', filters={"site": [hostile]}, facets=True
    )
    statements = search_sql(parse_query(request.query), request)
    for sql, params in statements.statements():
        assert "DROP" not in sql
        assert any("DROP" in str(param) for param in params)


def test_search_sql_drives_from_fts_only_with_positive_words():
    with_words = search_sql(parse_query("covid source:x"), SearchRequest())
    assert with_words.uses_fts and "THEN documents_fts.rank" in with_words.hits[0]
    without = search_sql(parse_query("-covid"), SearchRequest(sort="relevance"))
    assert not without.uses_fts and "published_utc DESC" in without.hits[0]


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(filters={"nope": ["x"]}),
        SearchRequest(sort="random"),  # type: ignore[arg-type]
        SearchRequest(histogram="year"),
        SearchRequest(limit=-1),
    ],
)
def test_search_sql_rejects_bad_requests(request_):
    with pytest.raises(QuerySyntaxError):
        search_sql(MatchAll(), request_)


# -- SQLite store specifics ------------------------------------------------------------------


def test_migrations_are_recorded_and_run_once(tmp_path):
    path = tmp_path / "m.db"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    names = [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert migrate(conn) == []
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_audit_log_is_append_only(tmp_path):
    store = SqliteStore(tmp_path / "t.db")
    store.upsert_site({"site": "x.vn", "score": 0.9, "flag": "site_style"})
    store.close()
    conn = sqlite3.connect(tmp_path / "t.db")  # any writer, not only the store's own
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM review_audit")
    conn.close()


def test_slow_query_is_interrupted(tmp_path):
    store = SqliteStore(tmp_path / "t.db", time_limit=0.05)
    with pytest.raises(SearchError, match="longer than"), store.reading() as conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
        ).fetchone()
    store.close()


def test_reads_use_a_read_only_connection(tmp_path):
    store = SqliteStore(tmp_path / "t.db")
    with pytest.raises(SearchError), store.reading() as conn:
        conn.execute("DELETE FROM documents")
    store.close()
