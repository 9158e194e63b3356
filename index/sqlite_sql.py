"""Pure SQL builders for the SQLite store: query AST + request -> ``(sql, params)``.

Nothing here touches a connection, so the SQL can be tested and printed (``--sql``).
User text only ever reaches SQLite as a bound parameter; inside an FTS5 ``MATCH``
expression every word is a double-quoted FTS5 string (:func:`quote_fts`), and identifiers
go through :func:`quote_identifier`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from analysis.text import fold_diacritics
from index.documents import FACET_FIELDS
from index.errors import QuerySyntaxError
from index.query import (
    FACET_SIZE,
    SEARCH_FACETS,
    And,
    FieldTerm,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Range,
    Term,
    date_bounds,
)
from index.store import SearchRequest

__all__ = [
    "BM25_WEIGHTS",
    "DOCUMENT_COLUMNS",
    "FTS_COLUMNS",
    "SearchSQL",
    "fast_fold",
    "fts_expression",
    "quote_fts",
    "quote_identifier",
    "search_sql",
    "where_clause",
]

#: Columns of ``documents`` that hold a :class:`~index.documents.Document` field.
DOCUMENT_COLUMNS = (
    "id", "url", "canonical_url", "source", "site", "kind", "title", "text", "author",
    "section", "published_at", "fetched_at", "first_seen", "lang", "content_hash",
    "segmented", "outlinks", "engagement", "flags", "scores", "analysis", "review_status",
    "cluster_id",
)  # fmt: skip
#: FTS5 columns: as written, then folded.
FTS_COLUMNS = ("title", "text", "author", "title_f", "text_f", "author_f")
#: bm25 weights per FTS column: a title match counts four times a body match.
BM25_WEIGHTS = (4.0, 1.0, 1.0, 4.0, 1.0, 1.0)

_RANGE_COLUMNS = {
    "published_at": "published_utc",
    "fetched_at": "fetched_utc",
    "covid_score": "covid_score",
    "claim_score": "claim_score",
}
_MAX_CHAR = "\U0010ffff"
_HISTOGRAM_BUCKET = {
    "day": "strftime('%Y-%m-%d', d.published_utc, '+7 hours')",
    "week": "date(d.published_utc, '+7 hours', '-6 days', 'weekday 1')",
    "month": "strftime('%Y-%m-01', d.published_utc, '+7 hours')",
}


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_fts(text: str) -> str:
    """``text`` as an FTS5 string literal (a phrase when it holds several words)."""
    return '"' + text.replace('"', '""') + '"'


# A precomputed table is ~20x faster than NFD + filtering character by character; it gives
# the same result as fold_diacritics for every character it covers (checked in tests).
def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x80, 0x2000):
        char = chr(code)
        if unicodedata.combining(char):
            table[code] = ""
            continue
        folded = fold_diacritics(char)
        if folded != char.lower():
            table[code] = folded
    return table


_FOLD = _fold_table()


def fast_fold(text: str) -> str:
    """:func:`analysis.text.fold_diacritics` for indexing: lower case, no diacritics."""
    return text.translate(_FOLD).lower()


# -- FTS5 expressions ------------------------------------------------------------------------


def _columns(fields: tuple[str, ...], folded: bool) -> str:
    return "{" + " ".join(f"{name}_f" if folded else name for name in fields) + "}"


def fts_expression(node: Node) -> str | None:
    """``node`` as one FTS5 MATCH expression, or ``None`` if it needs plain SQL.

    Full-text leaves and And/Or trees of them compile; a NOT compiles only as ``a NOT b``
    inside an And with at least one positive part (FTS5 has no unary NOT).
    """
    if isinstance(node, Term):
        return f"{_columns(node.fields, node.folded)} : {quote_fts(node.text)}"
    if isinstance(node, Phrase):
        return f"{_columns(node.fields, node.folded)} : {quote_fts(' '.join(node.words))}"
    if isinstance(node, Prefix):
        return f"{_columns(node.fields, node.folded)} : {quote_fts(node.text)} *"
    if isinstance(node, Or):
        parts = [fts_expression(child) for child in node.children]
        if any(part is None for part in parts):
            return None
        return " OR ".join(f"({part})" for part in parts)
    if isinstance(node, And):
        positive, negative = _split_and(node.children)
        if not positive or len(positive) + len(negative) != len(node.children):
            return None
        expression = " AND ".join(f"({part})" for part in positive)
        if negative:
            expression = f"({expression})" + "".join(f" NOT ({part})" for part in negative)
        return expression
    return None


def _split_and(children: tuple[Node, ...]) -> tuple[list[str], list[str]]:
    """FTS5 expressions of the positive and negated children that compile."""
    positive, negative = [], []
    for child in children:
        if isinstance(child, Not):
            part = fts_expression(child.child)
            if part is not None:
                negative.append(part)
        else:
            part = fts_expression(child)
            if part is not None:
                positive.append(part)
    return positive, negative


# -- SQL predicates --------------------------------------------------------------------------

_FTS_SUBQUERY = "d.rowid IN (SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?)"


def where_clause(node: Node) -> tuple[str, list[Any]]:
    """A predicate on ``documents AS d`` equivalent to ``node``."""
    if isinstance(node, MatchAll):
        return "1", []
    expression = fts_expression(node)
    if expression is not None:
        return _FTS_SUBQUERY, [expression]
    if isinstance(node, Term | Phrase | Prefix):  # a single leaf always compiles
        raise AssertionError(node)
    if isinstance(node, And | Or):
        parts = [where_clause(child) for child in node.children]
        joiner = " AND " if isinstance(node, And) else " OR "
        return joiner.join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]
    if isinstance(node, Not):
        sql, params = where_clause(node.child)
        return f"NOT ({sql})", params
    if isinstance(node, FieldTerm):
        return _field_term(node)
    if isinstance(node, Range):
        return _range(node)
    raise TypeError(f"not a query node: {node!r}")


def _field_term(node: FieldTerm) -> tuple[str, list[Any]]:
    if node.field == "flags":
        if node.prefix:
            return (
                "d.rowid IN (SELECT doc_rowid FROM document_flags WHERE flag >= ? AND flag < ?)",
                [node.value, node.value + _MAX_CHAR],
            )
        return "d.rowid IN (SELECT doc_rowid FROM document_flags WHERE flag = ?)", [node.value]
    columns = ["url", "canonical_url"] if node.field == "url" else [node.field]
    parts, params = [], []
    for column in columns:
        name = f"d.{quote_identifier(column)}"
        if node.prefix:
            parts.append(f"({name} >= ? AND {name} < ? AND {name} != '')")
            params += [node.value, node.value + _MAX_CHAR]
        else:
            parts.append(f"{name} = ?")
            params.append(node.value)
    return (parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"), params


def _range(node: Range) -> tuple[str, list[Any]]:
    column = f"d.{quote_identifier(_RANGE_COLUMNS[node.field])}"
    parts, params = [f"{column} IS NOT NULL"], []
    if node.low is not None:
        parts.append(f"{column} {'>=' if node.include_low else '>'} ?")
        params.append(node.low)
    if node.high is not None:
        parts.append(f"{column} {'<=' if node.include_high else '<'} ?")
        params.append(node.high)
    return " AND ".join(parts), params


def filters_clause(filters: dict[str, list[str]]) -> tuple[str, list[Any]]:
    """``SearchRequest.filters``: OR within a field, AND across fields."""
    parts, params = [], []
    for name, values in sorted(filters.items()):
        if name not in FACET_FIELDS:
            raise QuerySyntaxError(
                f"cannot filter on {name!r} (filter fields: {', '.join(FACET_FIELDS)})"
            )
        values = [str(value) for value in values]
        if not values:
            continue
        marks = ", ".join("?" * len(values))
        if name == "flags":
            parts.append(
                f"d.rowid IN (SELECT doc_rowid FROM document_flags WHERE flag IN ({marks}))"
            )
        else:
            parts.append(f"d.{quote_identifier(name)} IN ({marks})")
        params += values
    return " AND ".join(parts), params


# -- whole searches --------------------------------------------------------------------------


@dataclass(slots=True)
class SearchSQL:
    """Every statement one search runs, each as ``(sql, params)``."""

    hits: tuple[str, list[Any]]
    count: tuple[str, list[Any]]
    facets: tuple[str, list[Any]] | None = None
    histogram: tuple[str, list[Any]] | None = None
    uses_fts: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def statements(self) -> list[tuple[str, list[Any]]]:
        return [s for s in (self.hits, self.count, self.facets, self.histogram) if s]


def _from_where(node: Node, request: SearchRequest) -> tuple[str, str, list[Any], bool]:
    """FROM and WHERE for the matching documents, their params, and whether FTS drives."""
    conjuncts = node.children if isinstance(node, And) else (node,)
    positive, negative = _split_and(conjuncts)
    rest: list[Node] = []
    for child in conjuncts:
        compiles = (
            fts_expression(child.child) is not None
            if isinstance(child, Not)
            else fts_expression(child) is not None
        )
        if not compiles or (isinstance(child, Not) and not positive):
            rest.append(child)
    where: list[str] = []
    params: list[Any] = []
    if positive:
        source = "documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid"
        match = " AND ".join(f"({part})" for part in positive)
        if negative:
            match = f"({match})" + "".join(f" NOT ({part})" for part in negative)
        where.append("documents_fts MATCH ?")
        params.append(match)
    else:
        source = "documents AS d"
    for child in rest:
        sql, child_params = where_clause(child)
        if sql != "1":
            where.append(f"({sql})")
            params += child_params
    sql, filter_params = filters_clause(request.filters)
    if sql:
        where.append(sql)
        params += filter_params
    if request.date_from or request.date_to:
        sql, date_params = _range(date_bounds(request.date_from, request.date_to))
        where.append(sql)
        params += date_params
    return source, " AND ".join(where) or "1", params, bool(positive)


def search_sql(node: Node, request: SearchRequest) -> SearchSQL:
    """The statements for ``request`` whose query parsed to ``node``."""
    if request.histogram is not None and request.histogram not in _HISTOGRAM_BUCKET:
        raise QuerySyntaxError(
            f"unknown histogram interval {request.histogram!r} (known: day, week, month)"
        )
    if request.limit < 0 or request.offset < 0:
        raise QuerySyntaxError("offset and limit must not be negative")
    source, where, params, uses_fts = _from_where(node, request)
    columns = ", ".join(f"d.{quote_identifier(name)}" for name in DOCUMENT_COLUMNS)
    sort = request.sort
    if sort == "relevance" and not uses_fts:
        sort = "newest"
    if sort == "relevance":
        weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
        rank = f"bm25(documents_fts, {weights})"
        order = "rank, d.published_utc DESC"
    else:
        rank = "0.0"
        order = {
            "newest": "d.published_utc DESC NULLS LAST, d.rowid DESC",
            "oldest": "d.published_utc ASC NULLS LAST, d.rowid ASC",
            "score": "d.max_score DESC NULLS LAST, d.published_utc DESC NULLS LAST, d.rowid DESC",
        }.get(sort)
        if order is None:
            raise QuerySyntaxError(
                f"unknown sort {request.sort!r} (known: relevance, newest, oldest, score)"
            )
    hits = (
        f"SELECT {columns}, {rank} AS rank FROM {source} WHERE {where} "
        f"ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, request.limit, request.offset],
    )
    count = (f"SELECT count(*) FROM {source} WHERE {where}", list(params))
    facets = None
    if request.facets:
        selects = []
        for name in SEARCH_FACETS:
            if name == "flags":
                inner = (
                    "SELECT f.flag AS key, count(*) AS n FROM matched "
                    "JOIN document_flags AS f ON f.doc_rowid = matched.rid GROUP BY f.flag"
                )
            else:
                column = f"d.{quote_identifier(name)}"
                inner = (
                    f"SELECT {column} AS key, count(*) AS n FROM matched "
                    f"JOIN documents AS d ON d.rowid = matched.rid GROUP BY {column}"
                )
            selects.append(
                f"SELECT '{name}' AS facet, key, n FROM ({inner} ORDER BY n DESC, key "
                f"LIMIT {FACET_SIZE})"
            )
        facets = (
            f"WITH matched(rid) AS MATERIALIZED (SELECT d.rowid FROM {source} WHERE {where}) "
            + " UNION ALL ".join(selects),
            list(params),
        )
    histogram = None
    if request.histogram:
        bucket = _HISTOGRAM_BUCKET[request.histogram]
        histogram = (
            f"SELECT {bucket} AS key, count(*) FROM {source} WHERE {where} "
            "AND d.published_utc IS NOT NULL GROUP BY key ORDER BY key",
            list(params),
        )
    return SearchSQL(hits=hits, count=count, facets=facets, histogram=histogram, uses_fts=uses_fts)
