"""Pure SQL builders for the SQLite store: query AST + request -> ``(sql, params)``.

Nothing here touches a connection, so the SQL can be tested and printed (``--sql``).
User text only ever reaches SQLite as a bound parameter; inside an FTS5 ``MATCH``
expression every word is a double-quoted FTS5 string (:func:`quote_fts`), and identifiers
go through :func:`quote_identifier`.

Size: every SQL builder of the store in one place, so each quoting rule is written once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from index.documents import FACET_FIELDS, Document
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
    positive_text_leaves,
)
from index.store import SearchRequest

__all__ = [
    "BM25_WEIGHTS",
    "DOCUMENT_COLUMNS",
    "FTS_COLUMNS",
    "SearchSQL",
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
#: Of those, the columns stored as JSON text.
JSON_COLUMNS = ("outlinks", "engagement", "flags", "scores", "analysis")


def document_from_row(row: Any) -> Document:
    """A ``documents`` row (its :data:`DOCUMENT_COLUMNS`, in order) as a :class:`Document`."""
    data = dict(zip(DOCUMENT_COLUMNS, row, strict=False))
    for name in JSON_COLUMNS:
        data[name] = json.loads(data[name])
    return Document(**data)


#: FTS5 columns: as written, then folded.
FTS_COLUMNS = ("title", "text", "author", "title_f", "text_f", "author_f")
#: bm25 weights per FTS column: a title match counts four times a body match (the FTS5
#: ``rank`` setting of migration 0004 uses the same weights).
BM25_WEIGHTS = (4.0, 1.0, 1.0, 4.0, 1.0, 1.0)

_RANGE_COLUMNS = {
    "published_at": "published_utc",
    "fetched_at": "fetched_utc",
    "covid_score": "covid_score",
    "claim_score": "claim_score",
}
_MAX_CHAR = "\U0010ffff"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_fts(text: str) -> str:
    """``text`` as an FTS5 string literal (a phrase when it holds several words)."""
    return '"' + text.replace('"', '""') + '"'


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
    if node.field == "cluster":  # the LSH state's index (migration 0014) finds members
        if node.prefix:
            return (
                "d.rowid IN (SELECT doc_rowid FROM cluster_sketches "
                "WHERE cluster_id >= ? AND cluster_id < ?)",
                [node.value, node.value + _MAX_CHAR],
            )
        return (
            "d.rowid IN (SELECT doc_rowid FROM cluster_sketches WHERE cluster_id = ?)",
            [node.value],
        )
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


#: The per-connection scratch table a staged search fills with its matching rowids.
MATCHED_TABLE = "temp.search_matched"
CREATE_MATCHED = "CREATE TEMP TABLE IF NOT EXISTS search_matched (rid INTEGER PRIMARY KEY)"
CLEAR_MATCHED = f"DELETE FROM {MATCHED_TABLE}"
#: Up to this many matches, facets and histograms read each match's row; above it they scan
#: a covering index once, probing the matched set (cheaper than that many row reads).
LOOKUP_LIMIT = 8000
#: Up to this many matches, a sorted page reads and sorts every match's sort key; above it,
#: it walks the sort order's index probing the set (~limit x documents / matches steps).
SORT_LOOKUP_LIMIT = 1000


@dataclass(slots=True)
class StagedSQL:
    """One search that finds its matches once: :attr:`fill` inserts the matching rowids
    into :data:`MATCHED_TABLE` (after :data:`CREATE_MATCHED` and :data:`CLEAR_MATCHED`) and
    the rest read that set. The total is the fill's row count.

    Without it, hits, count, facets and histogram each ran the FTS5 match again. Only
    searches with a full-text part are staged: filling the set with the (possibly tens of
    thousands of) rowids that plain predicates select costs more than evaluating them per
    statement (their count reads an index; a sorted page stops after ``limit`` matches).
    """

    fill: tuple[str, list[Any]]
    hits: tuple[str, list[Any]]
    hits_lookup: tuple[str, list[Any]] | None = None
    facets_lookup: tuple[str, list[Any]] | None = None
    facets_scan: tuple[str, list[Any]] | None = None
    histogram_lookup: tuple[str, list[Any]] | None = None
    histogram_scan: tuple[str, list[Any]] | None = None

    def page(self, matches: int) -> tuple[str, list[Any]]:
        """The hits statement that is cheaper for ``matches`` matching documents."""
        if self.hits_lookup is not None and matches <= SORT_LOOKUP_LIMIT:
            return self.hits_lookup
        return self.hits

    def facets(self, matches: int) -> tuple[str, list[Any]] | None:
        """The facet statement that is cheaper for ``matches`` matching documents."""
        return self.facets_lookup if matches <= LOOKUP_LIMIT else self.facets_scan

    def histogram(self, matches: int) -> tuple[str, list[Any]] | None:
        return self.histogram_lookup if matches <= LOOKUP_LIMIT else self.histogram_scan


@dataclass(slots=True)
class SearchSQL:
    """The statements of one search, each as ``(sql, params)``.

    ``hits``/``count``/``facets``/``histogram`` stand alone (``scan`` pages and ``--sql``
    use them); when ``staged`` is set, :meth:`~index.sqlite.SqliteStore.search` runs its
    statements instead, which share one pass of the match.
    """

    hits: tuple[str, list[Any]]
    count: tuple[str, list[Any]]
    facets: tuple[str, list[Any]] | None = None
    histogram: tuple[str, list[Any]] | None = None
    uses_fts: bool = False
    staged: StagedSQL | None = None
    #: The matching rowids (as ``rid``) of an unstaged search that has predicates; facets
    #: and histogram may count them in memory instead (``None``: it matches everything).
    rowids: tuple[str, list[Any]] | None = None

    def statements(self) -> list[tuple[str, list[Any]]]:
        return [s for s in (self.hits, self.count, self.facets, self.histogram) if s]


@dataclass(slots=True)
class _Matched:
    """How the matching documents are selected: an FTS5 MATCH and/or SQL predicates."""

    match: str | None
    predicates: list[str]
    params: list[Any]  # for the predicates only

    indexed: bool = False  # some predicate can drive from an index of documents

    @property
    def where(self) -> str:
        """A predicate on ``documents AS d``; the MATCH runs once, as an ``IN`` subquery.

        Joining FTS5 rows to ``documents`` reads a wide row per match (the row holds the
        text). When another predicate has an index, the set of matching rowids is built
        once and probed while SQLite walks that narrow index; otherwise the set drives,
        one row lookup per match.
        """
        return self._where(probe=self.indexed)

    @property
    def probe_where(self) -> str:
        """:attr:`where` with the FTS5 set always probed, never driving (for index-ordered
        walks: a sorted page stops after ``limit`` hits; histograms read a covering index)."""
        return self._where(probe=True)

    def _where(self, *, probe: bool) -> str:
        fts = [("+" if probe else "") + _FTS_SUBQUERY] if self.match is not None else []
        return " AND ".join(fts + self.predicates) or "1"

    @property
    def all_params(self) -> list[Any]:
        return ([self.match] if self.match is not None else []) + self.params

    @property
    def fts_only(self) -> bool:
        return self.match is not None and not self.predicates

    def rowids(self) -> tuple[str, list[Any]]:
        """A SELECT of the matching rowids (as ``rid``)."""
        if self.fts_only:
            return "SELECT rowid AS rid FROM documents_fts WHERE documents_fts MATCH ?", [
                self.match
            ]
        return f"SELECT d.rowid AS rid FROM documents AS d WHERE {self.where}", self.all_params


def _matched(node: Node, request: SearchRequest) -> _Matched:
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
    match = None
    if positive:
        match = " AND ".join(f"({part})" for part in positive)
        if negative:
            match = f"({match})" + "".join(f" NOT ({part})" for part in negative)
    predicates: list[str] = []
    params: list[Any] = []
    indexed = False
    for child in rest:
        sql, child_params = where_clause(child)
        if sql != "1":
            predicates.append(f"({sql})")
            params += child_params
            indexed = indexed or _has_index(child)
    sql, filter_params = filters_clause(request.filters)
    if sql:
        predicates.append(sql)
        params += filter_params
        indexed = indexed or any(name in _INDEXED_FIELDS for name in request.filters)
    if request.date_from or request.date_to:
        sql, date_params = _range(date_bounds(request.date_from, request.date_to))
        predicates.append(sql)
        params += date_params
        indexed = True
    if request.ids is not None:
        ids = list(dict.fromkeys(request.ids))
        predicates.append(f"d.id IN ({', '.join('?' * len(ids))})" if ids else "0")
        params += ids
        indexed = True
    return _Matched(match, predicates, params, indexed)


#: Keyword fields whose values an index on ``documents`` leads with (source: the facet
#: index, migration 0006; flags: ``document_flags``).
_INDEXED_FIELDS = frozenset({"source", "flags", "url", "id", "cluster"})
#: Range fields with an index that leads with them (migration 0007).
_INDEXED_RANGES = frozenset({"published_at"})


def _has_index(node: Node) -> bool:
    """True when SQLite can find ``node``'s matches through an index."""
    if isinstance(node, Range):
        return node.field in _INDEXED_RANGES
    if isinstance(node, FieldTerm):
        return node.field in _INDEXED_FIELDS
    if isinstance(node, And):
        return any(_has_index(child) for child in node.children)
    return False


_HISTOGRAM_INTERVALS = ("day", "week", "month")
#: Relevance sorting ranks this many of the most recently indexed matches (see search_sql).
RELEVANCE_WINDOW = 2000
_ORDER = {
    "newest": "d.published_utc DESC NULLS LAST, d.rowid DESC",
    "oldest": "d.published_utc ASC NULLS LAST, d.rowid ASC",
    "score": "d.max_score DESC NULLS LAST, d.published_utc DESC NULLS LAST, d.rowid DESC",
}


def search_sql(node: Node, request: SearchRequest) -> SearchSQL:
    """The statements for ``request`` whose query parsed to ``node``.

    Relevance ranks the :data:`RELEVANCE_WINDOW` most recently indexed matches (after
    filters), then lists the older matches newest-indexed first; without a positive
    full-text part it is newest first. Within the window the rank is FTS5's ``rank`` (bm25
    with title weighted 4x, migration 0004) when every match fits in it (at most
    :data:`BM25_LIMIT`), otherwise the number of query words in the title, ties
    newest-indexed first (see :func:`_relevance_page` for why).
    Histograms count per ``published_day``; the caller folds days into weeks or months.
    """
    if request.histogram is not None and request.histogram not in _HISTOGRAM_INTERVALS:
        raise QuerySyntaxError(
            f"unknown histogram interval {request.histogram!r} (known: day, week, month)"
        )
    if request.limit < 0 or request.offset < 0:
        raise QuerySyntaxError("offset and limit must not be negative")
    if request.sort not in ("relevance", *_ORDER):
        raise QuerySyntaxError(
            f"unknown sort {request.sort!r} (known: relevance, newest, oldest, score)"
        )
    m = _matched(node, request)
    columns = ", ".join(f"d.{quote_identifier(name)}" for name in DOCUMENT_COLUMNS)
    sort = request.sort if request.sort != "relevance" or m.match is not None else "newest"
    if sort == "relevance":
        inner, inner_params = _relevance_page(
            m, title_expressions(node), request.limit, request.offset, staged=False
        )
        outer = "ORDER BY page.score IS NULL, page.score, page.rid DESC"
    else:
        inner = (
            f"SELECT d.rowid AS rid, 0.0 AS score FROM documents AS d WHERE {m.probe_where} "
            f"ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?"
        )
        outer = "ORDER BY " + _ORDER[sort]
        inner_params = [*m.all_params, request.limit, request.offset]
    # Sort only (rowid, score) pairs, then fetch the page's documents: sorting whole rows
    # (with their text) cost more than ranking.
    hits = (
        f"SELECT {columns}, page.score FROM ({inner}) AS page "
        f"CROSS JOIN documents AS d ON d.rowid = page.rid {outer}",
        inner_params,
    )
    if m.fts_only:
        count = ("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ?", [m.match])
    else:
        count = (f"SELECT count(*) FROM documents AS d WHERE {m.where}", m.all_params)
    facets = _facets_sql(m) if request.facets else None
    histogram = None
    if request.histogram:
        histogram = (
            f"SELECT d.published_day, count(*) FROM documents AS d WHERE {m.probe_where} "
            "AND d.published_day IS NOT NULL GROUP BY d.published_day",
            m.all_params,
        )
    if m.match is None and not m.predicates and request.histogram:
        histogram = ("SELECT day, n FROM day_counts WHERE n > 0", [])
    return SearchSQL(
        hits=hits,
        count=count,
        facets=facets,
        histogram=histogram,
        uses_fts=m.match is not None,
        staged=_staged(node, m, request, sort, columns) if m.match is not None else None,
        rowids=m.rowids() if m.match is not None or m.predicates else None,
    )


def _staged(node: Node, m: _Matched, request: SearchRequest, sort: str, columns: str) -> StagedSQL:
    """The statements of a search that fills :data:`MATCHED_TABLE` once (see StagedSQL)."""
    rowids, params = m.rowids()
    fill = (f"INSERT INTO {MATCHED_TABLE} (rid) {rowids}", params)
    probe = f"+d.rowid IN {MATCHED_TABLE}"
    if sort == "relevance":
        inner, inner_params = _relevance_page(
            m, title_expressions(node), request.limit, request.offset, staged=True
        )
        outer = "ORDER BY page.score IS NULL, page.score, page.rid DESC"
        staged = StagedSQL(fill=fill, hits=(_page(columns, inner, outer), inner_params))
    else:
        # Many matches: walk the sort order's index, probe the set, stop after the page.
        # Few: read each match's sort key and sort them.
        order, page_params = _ORDER[sort], [request.limit, request.offset]
        walk = (
            f"SELECT d.rowid AS rid, 0.0 AS score FROM documents AS d WHERE {probe} "
            f"ORDER BY {order} LIMIT ? OFFSET ?"
        )
        lookup = (
            f"SELECT d.rowid AS rid, 0.0 AS score FROM {MATCHED_TABLE} AS m "
            f"CROSS JOIN documents AS d ON d.rowid = m.rid ORDER BY {order} LIMIT ? OFFSET ?"
        )
        staged = StagedSQL(
            fill=fill,
            hits=(_page(columns, walk, f"ORDER BY {order}"), page_params),
            hits_lookup=(_page(columns, lookup, f"ORDER BY {order}"), page_params),
        )
    if request.facets:
        by_row = f"{MATCHED_TABLE} AS m CROSS JOIN documents AS d ON d.rowid = m.rid"
        flags = f"{MATCHED_TABLE} AS m JOIN document_flags AS f ON f.doc_rowid = m.rid"
        staged.facets_lookup = (_facets_union(f"FROM {by_row}", flags), [])
        staged.facets_scan = (
            _facets_union(f"FROM documents AS d INDEXED BY documents_facets WHERE {probe}", flags),
            [],
        )
    if request.histogram:
        day = "d.published_day IS NOT NULL GROUP BY d.published_day"
        staged.histogram_lookup = (
            f"SELECT d.published_day, count(*) FROM {MATCHED_TABLE} AS m "
            f"CROSS JOIN documents AS d ON d.rowid = m.rid WHERE {day}",
            [],
        )
        staged.histogram_scan = (
            f"SELECT d.published_day, count(*) FROM documents AS d "
            f"INDEXED BY documents_published_day WHERE {probe} AND {day}",
            [],
        )
    return staged


def _page(columns: str, inner: str, outer: str) -> str:
    """The documents of the ``(rid, score)`` rows ``inner`` selects, in ``outer`` order."""
    return (
        f"SELECT {columns}, page.score FROM ({inner}) AS page "
        f"CROSS JOIN documents AS d ON d.rowid = page.rid {outer}"
    )


#: Up to this many matches relevance is bm25; above, the window is ranked by title words.
BM25_LIMIT = RELEVANCE_WINDOW


def title_expressions(node: Node) -> list[str]:
    """FTS5 expressions of the positive full-text leaves of ``node`` that may match a title,
    each restricted to the title column it would match (``title`` or ``title_f``).

    Leaves under a NOT never explain a match, so they are left out.
    """
    found: list[str] = []
    for leaf in positive_text_leaves(node):
        if "title" in leaf.fields:
            expression = fts_expression(replace(leaf, fields=("title",)))
            if expression is not None:
                found.append(expression)
    return list(dict.fromkeys(found))


def _relevance_page(
    m: _Matched, titles: list[str], limit: int, offset: int, *, staged: bool
) -> tuple[str, list[Any]]:
    """``(rid, score)`` rows of one relevance page: the window ranked, then the rest.

    Only the :data:`RELEVANCE_WINDOW` most recently indexed matches (rowid at or above
    ``cutoff``) are ranked; older matches follow them, newest-indexed first, and only
    ``offset + limit`` of those are ever read. Ranking is one of:

    * at most :data:`BM25_LIMIT` matches: FTS5's ``rank`` (bm25, title weighted 4x). bm25
      reads each query word's whole doclist once for its document frequency, a cost that
      grows with the collection for a common word, whatever the number of matches;
    * more matches (common words, where that cost adds up): the number of query words
      (positive leaves, :func:`title_expressions`) found in the title, more first, ties
      newest-indexed first. Those FTS5 lookups are bounded by the window's rowids.

    The matches come from :data:`MATCHED_TABLE` (``staged``) or a materialised CTE.
    """
    window = RELEVANCE_WINDOW - 1
    matched = MATCHED_TABLE if staged else "matched"
    ctes, params = "", []
    if not staged:
        rowids, params = m.rowids()
        ctes = f"matched(rid) AS MATERIALIZED ({rowids}), "
    rank = "CASE WHEN documents_fts.rowid >= cutoff.v THEN documents_fts.rank END"
    # With filters the window's FTS rows must also be in the set; without, they all are.
    member = "" if m.fts_only else f" AND +documents_fts.rowid IN {matched}"
    in_window = "documents_fts.rowid >= (SELECT v FROM cutoff)"
    titled = " UNION ALL ".join(
        f"SELECT documents_fts.rowid AS rid FROM documents_fts "
        f"WHERE documents_fts MATCH ? AND {in_window}"
        for _ in titles
    )
    title_hits = (
        f"SELECT rid, count(*) AS n FROM ({titled}) GROUP BY rid"
        if titles
        else "SELECT NULL AS rid, 0 AS n WHERE 0"
    )
    sql = (
        f"WITH {ctes}cutoff(v) AS (SELECT COALESCE((SELECT rid FROM {matched} "
        f"ORDER BY rid DESC LIMIT 1 OFFSET {window}), 0)), "
        f"use_bm25(v) AS (SELECT count(*) <= {BM25_LIMIT} FROM "
        f"(SELECT 1 FROM {matched} LIMIT {BM25_LIMIT + 1})), "
        f"title_hits(rid, n) AS MATERIALIZED ({title_hits}) "
        f"SELECT rid, score FROM (SELECT documents_fts.rowid AS rid, {rank} AS score "
        "FROM cutoff CROSS JOIN documents_fts WHERE (SELECT v FROM use_bm25) "
        f"AND documents_fts MATCH ? AND documents_fts.rowid >= cutoff.v{member} "
        "UNION ALL SELECT m.rid AS rid, -COALESCE(t.n, 0) AS score "
        f"FROM {matched} AS m LEFT JOIN title_hits AS t ON t.rid = m.rid "
        "WHERE NOT (SELECT v FROM use_bm25) AND m.rid >= (SELECT v FROM cutoff) "
        # A scalar bound (not a join with cutoff) lets SQLite walk the set backwards
        # instead of sorting it.
        "UNION ALL SELECT * FROM (SELECT m.rid AS rid, NULL AS score "
        f"FROM {matched} AS m WHERE m.rid < (SELECT v FROM cutoff) "
        "ORDER BY m.rid DESC LIMIT ?)) "
        "ORDER BY score IS NULL, score, rid DESC LIMIT ? OFFSET ?"
    )
    return sql, [*params, *titles, m.match, offset + limit, limit, offset]


_KEYWORD_FACETS = tuple(name for name in SEARCH_FACETS if name != "flags")


def _facets_union(
    keyword_rows: str,
    flag_rows: str,
    ctes: str = "",
    count: str = "count(*)",
    review_rows: str | None = None,
) -> str:
    """Top values of every search facet in one statement, in :data:`SEARCH_FACETS` order.

    The keyword facets come from one GROUP BY over all their columns (``FROM ...`` in
    ``keyword_rows``; a few hundred groups), summed per facet; flags from
    ``document_flags`` joined as ``flag_rows``; ``ctes`` are common table expressions
    (``name AS (...), ``) they may read; ``count`` counts one group's rows;
    ``review_rows`` (key, n) replaces the review_status facet, which ``keyword_rows`` then
    need not have.
    """
    grouped = [name for name in _KEYWORD_FACETS if name != "review_status" or review_rows is None]
    keys = ", ".join(f"d.{quote_identifier(name)}" for name in grouped)
    selects = []
    for name in SEARCH_FACETS:
        if name == "flags":
            inner = f"SELECT f.flag AS key, count(*) AS n FROM {flag_rows} GROUP BY f.flag"
        elif name == "review_status" and review_rows is not None:
            inner = review_rows
        else:
            column = quote_identifier(name)
            inner = f"SELECT {column} AS key, sum(n) AS n FROM groups GROUP BY {column}"
        selects.append(
            f"SELECT '{name}' AS facet, key, n FROM ({inner} ORDER BY n DESC, key "
            f"LIMIT {FACET_SIZE})"
        )
    columns = ", ".join(map(quote_identifier, grouped))
    return (
        f"WITH {ctes}groups({columns}, n) AS MATERIALIZED (SELECT {keys}, {count} "
        f"{keyword_rows} GROUP BY {keys}) " + " UNION ALL ".join(selects)
    )


def _facets_sql(m: _Matched) -> tuple[str, list[Any]]:
    """Top values of every search facet in one statement (standalone: no staged set).

    Matching everything, the keyword facets come from ``facet_counts``; otherwise the matching rowids are computed once and each match's row is read.
    """
    if m.match is None and not m.predicates:
        # The trigger-kept counts (migration 0008); groups whose documents all moved away
        # keep a zero row.
        sql = _facets_union(
            "FROM facet_counts AS d WHERE d.n > 0",
            "document_flags AS f",
            count="sum(d.n)",
            review_rows="SELECT review_status AS key, count(*) AS n FROM documents "
            "GROUP BY review_status",
        )
        return sql, []
    rowids, params = m.rowids()
    sql = _facets_union(
        "FROM matched CROSS JOIN documents AS d ON d.rowid = matched.rid",
        "matched JOIN document_flags AS f ON f.doc_rowid = matched.rid",
        ctes=f"matched(rid) AS MATERIALIZED ({rowids}), ",
    )
    return sql, params
