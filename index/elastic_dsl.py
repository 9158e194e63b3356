"""Pure translation for the Elasticsearch store: documents to ``_source``, the query AST to
query DSL, search requests to request bodies, and responses back to our dataclasses.

Nothing here performs I/O, so every rule is unit-tested without a node
(``tests/test_elastic.py``).

Vietnamese search without plugins. A stock cluster (or the integ-test distribution, which
lacks ``analysis-common``: no ``asciifolding``, no custom tokenizers) has only the
``standard`` analyzer. So the folding happens in Python: every full-text field is indexed
three times,

* ``title``: the normalised text as written (what ``get`` returns and highlights show),
* ``title_x``: the same text with every character that is not a letter or digit replaced by
  a space, so the standard tokenizer yields exactly :func:`index.query.tokenize`'s tokens
  ("covid-19" -> "covid", "19"; "hà_nội" -> "hà", "nội"), as the SQLite store sees them,
* ``title_f``: the diacritics-folded copy of ``title_x`` ("đà nẵng" -> "da nang").

Both copies keep every character's offset, so the highlighter maps their matches onto the
original text (``matched_fields``). Query words written without diacritics search ``*_f``,
words with diacritics search ``*_x`` (the rule is in :mod:`index.query`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from analysis.folding import fold_diacritics
from index.documents import FACET_FIELDS, Document
from index.errors import QuerySyntaxError
from index.query import (
    FACET_SIZE,
    HISTOGRAM_INTERVALS,
    SEARCH_FACETS,
    TEXT_FIELDS,
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
    to_utc_iso,
)
from index.store import SearchRequest

__all__ = [
    "DATE_FIELDS",
    "HIGHLIGHT_POST",
    "HIGHLIGHT_PRE",
    "MAX_RESULT_WINDOW",
    "document_from_source",
    "document_source",
    "exact_copy",
    "filters_dsl",
    "folded_copy",
    "query_dsl",
    "search_body",
    "sort_dsl",
    "split_highlight",
    "uses_text",
]

#: Highlight markers: private-use characters that never occur in crawled text, so the
#: fragment can be split into (text, is_match) pieces without passing any HTML around.
HIGHLIGHT_PRE = "\ue000"
HIGHLIGHT_POST = "\ue001"
#: ``from + size`` beyond this is refused by Elasticsearch (``index.max_result_window``).
MAX_RESULT_WINDOW = 10_000
#: Document date fields: indexed as UTC instants; the strings as written go to ``raw_dates``.
DATE_FIELDS = ("published_at", "fetched_at", "first_seen")
#: Score weights per field, as the SQLite store's bm25 weights (title counts four times).
FIELD_BOOST = {"title": 4.0, "text": 1.0, "author": 1.0}
SNIPPET_CHARS = 200
_CALENDAR = {"day": "day", "week": "week", "month": "month"}
_WORD_CHAR = re.compile(r"[^\W_]", re.UNICODE)


# -- documents -----------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _exact_char(char: str) -> str:
    if not _WORD_CHAR.match(char):
        return " "
    lower = char.lower()
    return lower if len(lower) == 1 else char


@lru_cache(maxsize=8192)
def _folded_char(char: str) -> str:
    if not _WORD_CHAR.match(char):
        return " "
    return fold_diacritics(char, keep_length=True)


def exact_copy(text: str) -> str:
    """``text`` lower-cased with non-word characters blanked; same length as ``text``."""
    return "".join(map(_exact_char, text))


def folded_copy(text: str) -> str:
    """``text`` folded ("Đà Nẵng" -> "da nang") with non-word characters blanked; same length."""
    return "".join(map(_folded_char, text))


def document_source(doc: Document, *, first_seen: str | None = None) -> dict[str, Any]:
    """The ``_source`` stored for ``doc``: its fields plus search copies and derived values.

    ``first_seen`` (from an earlier version of the document) wins over the document's own;
    a new document's ``first_seen`` defaults to ``fetched_at``, as in the SQLite store.
    """
    source = doc.to_dict()
    raw = {name: source[name] for name in DATE_FIELDS}
    raw["first_seen"] = first_seen or doc.first_seen or doc.fetched_at
    source["raw_dates"] = raw
    for name in DATE_FIELDS:
        source[name] = to_utc_iso(raw[name])
    for name in TEXT_FIELDS:
        value = source[name] or ""
        source[f"{name}_x"] = exact_copy(value)
        source[f"{name}_f"] = folded_copy(value)
    covid = doc.scores.get("covid")
    claim = doc.scores.get("claim")
    present = [float(score) for score in (covid, claim) if score is not None]
    source["covid_score"] = None if covid is None else float(covid)
    source["claim_score"] = None if claim is None else float(claim)
    source["max_score"] = max(present) if present else None
    return source


def document_from_source(source: dict[str, Any]) -> Document:
    """The :class:`Document` a stored ``_source`` came from (dates as originally written)."""
    data = dict(source)
    raw = data.pop("raw_dates", None) or {}
    for name in DATE_FIELDS:
        data[name] = raw.get(name, data.get(name))
    return Document.from_dict(data)


# -- queries -------------------------------------------------------------------------------


def _text_field(name: str, folded: bool) -> str:
    return f"{name}_{'f' if folded else 'x'}"


def _boosted(fields: tuple[str, ...], folded: bool) -> list[str]:
    return [f"{_text_field(name, folded)}^{FIELD_BOOST.get(name, 1.0):g}" for name in fields]


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _keyword_fields(field: str) -> list[str]:
    if field == "cluster":
        return ["cluster_id"]
    return ["url", "canonical_url"] if field == "url" else [field]


def _field_term(node: FieldTerm) -> dict[str, Any]:
    clauses = []
    for name in _keyword_fields(node.field):
        if not node.prefix:
            clauses.append({"term": {name: node.value}})
        elif node.value:
            clauses.append({"prefix": {name: node.value}})
        elif node.field == "flags":
            clauses.append({"exists": {"field": name}})
        else:  # "field:*": has a non-empty value
            clauses.append(
                {
                    "bool": {
                        "filter": [{"exists": {"field": name}}],
                        "must_not": [{"term": {name: ""}}],
                    }
                }
            )
    return _any(clauses)


def _range(node: Range) -> dict[str, Any]:
    if node.low is None and node.high is None:
        return {"exists": {"field": node.field}}
    bounds: dict[str, Any] = {}
    if node.low is not None:
        bounds["gte" if node.include_low else "gt"] = node.low
    if node.high is not None:
        bounds["lte" if node.include_high else "lt"] = node.high
    return {"range": {node.field: bounds}}


def query_dsl(node: Node) -> dict[str, Any]:
    """``node`` as an Elasticsearch query (same matches as the SQLite store)."""
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, Term):
        return {
            "multi_match": {
                "query": node.text,
                "fields": _boosted(node.fields, node.folded),
                "type": "best_fields",
                "operator": "and",
            }
        }
    if isinstance(node, Phrase):
        return {
            "multi_match": {
                "query": " ".join(node.words),
                "fields": _boosted(node.fields, node.folded),
                "type": "phrase",
            }
        }
    if isinstance(node, Prefix):
        return _any(
            [{"prefix": {_text_field(name, node.folded): node.text}} for name in node.fields]
        )
    if isinstance(node, FieldTerm):
        return _field_term(node)
    if isinstance(node, Range):
        return _range(node)
    if isinstance(node, And):
        must, must_not = [], []
        for child in node.children:
            if isinstance(child, Not):
                must_not.append(query_dsl(child.child))
            else:
                must.append(query_dsl(child))
        body: dict[str, Any] = {}
        if must:
            body["must"] = must
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(node, Or):
        return {
            "bool": {
                "should": [query_dsl(child) for child in node.children],
                "minimum_should_match": 1,
            }
        }
    if isinstance(node, Not):
        return {"bool": {"must_not": [query_dsl(node.child)]}}
    raise TypeError(f"not a query node: {node!r}")


def _is_text(node: Node) -> bool:
    """True when ``node`` is full text only (what the SQLite store ranks with bm25)."""
    if isinstance(node, Term | Phrase | Prefix):
        return True
    if isinstance(node, Or):
        return all(_is_text(child) for child in node.children)
    if isinstance(node, And):
        positive = [child for child in node.children if not isinstance(child, Not)]
        negative = [child.child for child in node.children if isinstance(child, Not)]
        return bool(positive) and all(map(_is_text, positive)) and all(map(_is_text, negative))
    return False


def uses_text(node: Node) -> bool:
    """Whether a "relevance" sort ranks by score: some positive conjunct is full text.

    Otherwise (filters only) relevance means newest first, as in the SQLite store.
    """
    conjuncts = node.children if isinstance(node, And) else (node,)
    return any(_is_text(child) for child in conjuncts if not isinstance(child, Not))


def filters_dsl(request: SearchRequest) -> list[dict[str, Any]]:
    """``SearchRequest.filters`` (OR within a field, AND across) and the date bounds."""
    clauses: list[dict[str, Any]] = []
    for name, values in sorted(request.filters.items()):
        if name not in FACET_FIELDS:
            raise QuerySyntaxError(
                f"cannot filter on {name!r} (filter fields: {', '.join(FACET_FIELDS)})"
            )
        values = [str(value) for value in values]
        if values:
            clauses.append({"terms": {name: values}})
    if request.date_from or request.date_to:
        clauses.append(_range(date_bounds(request.date_from, request.date_to)))
    if request.ids is not None:
        clauses.append({"ids": {"values": list(dict.fromkeys(request.ids))}})
    return clauses


_NEWEST = {"published_at": {"order": "desc", "missing": "_last"}}
_TIE = {"id": {"order": "asc"}}


def sort_dsl(sort: str, node: Node) -> list[Any]:
    """The sort for ``sort`` ("relevance", "newest", "oldest", "score")."""
    if sort == "relevance":
        return (
            [{"_score": {"order": "desc"}}, _NEWEST, _TIE] if uses_text(node) else [_NEWEST, _TIE]
        )
    if sort == "newest":
        return [_NEWEST, _TIE]
    if sort == "oldest":
        return [{"published_at": {"order": "asc", "missing": "_last"}}, _TIE]
    if sort == "score":
        return [{"max_score": {"order": "desc", "missing": "_last"}}, _NEWEST, _TIE]
    raise QuerySyntaxError(f"unknown sort {sort!r} (known: relevance, newest, oldest, score)")


def _highlight() -> dict[str, Any]:
    def field(name: str) -> dict[str, Any]:
        return {
            "type": "unified",
            "matched_fields": [f"{name}_x", f"{name}_f"],
            "fragment_size": SNIPPET_CHARS,
            "number_of_fragments": 1,
            "no_match_size": SNIPPET_CHARS,
        }

    return {
        "pre_tags": [HIGHLIGHT_PRE],
        "post_tags": [HIGHLIGHT_POST],
        "encoder": "default",
        "fields": {"text": field("text"), "title": field("title")},
    }


def search_body(node: Node, request: SearchRequest) -> dict[str, Any]:
    """The ``_search`` body for ``request`` whose query parsed to ``node``."""
    if request.limit < 0 or request.offset < 0:
        raise QuerySyntaxError("offset and limit must not be negative")
    if request.offset + request.limit > MAX_RESULT_WINDOW:
        raise QuerySyntaxError(
            f"offset + limit may not exceed {MAX_RESULT_WINDOW}; narrow the search or use scan"
        )
    if request.histogram is not None and request.histogram not in HISTOGRAM_INTERVALS:
        raise QuerySyntaxError(
            f"unknown histogram interval {request.histogram!r} "
            f"(known: {', '.join(HISTOGRAM_INTERVALS)})"
        )
    query: dict[str, Any] = query_dsl(node)
    filters = filters_dsl(request)
    if filters:
        query = {"bool": {"must": [query], "filter": filters}}
    body: dict[str, Any] = {
        "query": query,
        "from": request.offset,
        "size": request.limit,
        "sort": sort_dsl(request.sort, node),
        "track_total_hits": True,
        "track_scores": True,
    }
    if request.highlight and request.limit:
        body["highlight"] = _highlight()
    aggs: dict[str, Any] = {}
    if request.facets:
        for name in SEARCH_FACETS:
            aggs[f"facet_{name}"] = {
                "terms": {
                    "field": name,
                    "size": FACET_SIZE,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
    if request.histogram:
        aggs["histogram"] = {
            "date_histogram": {
                "field": "published_at",
                "calendar_interval": _CALENDAR[request.histogram],
                "time_zone": "+07:00",
                "format": "yyyy-MM-dd",
                "min_doc_count": 1,
            }
        }
    if aggs:
        body["aggs"] = aggs
    return body


# -- responses -----------------------------------------------------------------------------


def split_highlight(fragment: str, original: str) -> list[tuple[str, bool]]:
    """A highlighted fragment as ``(text, is_match)`` pieces, with "…" where it was cut."""
    pieces: list[tuple[str, bool]] = []
    for index, part in enumerate(re.split(f"[{HIGHLIGHT_PRE}{HIGHLIGHT_POST}]", fragment)):
        if part:
            pieces.append((part, index % 2 == 1))
    plain = "".join(text for text, _ in pieces)
    stripped = original.strip()
    if plain and not stripped.startswith(plain):
        pieces.insert(0, ("…", False))
    if plain and not stripped.endswith(plain):
        pieces.append(("…", False))
    return pieces


def hit_snippet(hit: dict[str, Any], doc: Document) -> list[tuple[str, bool]]:
    """The snippet of a search hit: the highlighted body, or the title for empty bodies."""
    highlight = hit.get("highlight") or {}
    name, original = ("text", doc.text) if doc.text else ("title", doc.title)
    fragments = highlight.get(name) or []
    if not fragments:
        return [(original, False)] if original else []
    return split_highlight(fragments[0], original)
