"""The query language: Lucene/Kibana-style text parsed into a small typed AST.

Both backends translate the same AST (``index.sqlite`` to FTS5 + SQL, ``index.elastic`` to
the Elasticsearch query DSL), so a query means the same thing everywhere.

Syntax (parsed by luqum)::

    words                 hà nội           every word must match (default operator AND)
    phrases               "tiêm vắc xin"   the words next to each other, in that order
    fields                source:vnexpress   title:"ca nhiễm"   flags:covid   cluster:ID
    boolean               a AND b, a OR b, NOT a, -a (= NOT a), +a (= a), ( ... )
    ranges                published_at:[2026-11-01 TO 2026-11-30]   claim_score:>0.7
                          covid_score:{0.2 TO *]   published_at:>=2026-11
    prefix wildcard       tiêm*   source:vn*   flags:*  (field has any value)
    boost                 a^2 is accepted and ignored

Precedence: NOT, then AND (explicit or a space), then OR; ``a b OR c`` is ``(a b) OR c``.

Fuzzy (``a~1``), proximity (``"a b"~3``), regular expressions and wildcards anywhere but
the end of a word are rejected with :class:`~index.errors.QuerySyntaxError`.

Diacritics. Every word is normalised (NFC, one tone-mark convention, lower case) and then:

* written **without** diacritics ("ha noi", "da nang"), it matches the *folded* text, so it
  finds "Hà Nội", "hà nói", "Đà Nẵng" ("d" matches "đ");
* written **with** diacritics ("Hà Nội"), it matches that exact spelling only (any case):
  "Hà Nội" finds "hà nội" but not "hà nôi" or "Ha Noi".

The decision is per word; a phrase that mixes both kinds ("Hà noi") becomes the folded
phrase AND the words that carry diacritics, matched exactly.

Dates. Date values may be ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or full ISO datetimes; a
value without an offset is read in Vietnam time (:data:`DEFAULT_TZ`, UTC+07:00) and a date
stands for the whole period (``published_at:2026-11-01`` is that whole day). The AST carries
UTC instants (``2026-10-31T17:00:00Z``), so backends only compare strings/instants.
"""

from __future__ import annotations

import decimal
import math

from luqum import tree
from luqum.exceptions import InconsistentQueryException, ParseError
from luqum.thread import parse as luqum_parse

from analysis.folding import fold_diacritics
from analysis.text import normalize_text
from index.errors import QuerySyntaxError
from index.highlight import highlight_terms, make_snippet, positive_text_leaves
from index.query_ast import (
    DATE_FIELDS,
    DEFAULT_TEXT_FIELDS,
    FACET_SIZE,
    FIELDS,
    HISTOGRAM_INTERVALS,
    KEYWORD_FIELDS,
    NUMERIC_FIELDS,
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
    has_diacritics,
    tokenize,
)
from index.query_dates import (
    DEFAULT_TZ,
    bucket_start,
    date_bounds,
    date_range_high,
    date_range_low,
    fill_histogram,
    period_start,
    to_local_day,
    to_utc_and_local_day,
    to_utc_iso,
)
from index.query_limits import check_query_shape, check_query_text

# The AST (index.query_ast), dates (index.query_dates) and highlighting (index.highlight)
# live in modules of their own; their names are re-exported for callers of this module.
__all__ = [
    "DATE_FIELDS",
    "DEFAULT_TEXT_FIELDS",
    "DEFAULT_TZ",
    "FACET_SIZE",
    "FIELDS",
    "HISTOGRAM_INTERVALS",
    "KEYWORD_FIELDS",
    "NUMERIC_FIELDS",
    "SEARCH_FACETS",
    "TEXT_FIELDS",
    "And",
    "FieldTerm",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "Range",
    "Term",
    "bucket_start",
    "date_bounds",
    "fill_histogram",
    "has_diacritics",
    "highlight_terms",
    "make_snippet",
    "parse_query",
    "period_start",
    "positive_text_leaves",
    "to_local_day",
    "to_utc_and_local_day",
    "to_utc_iso",
    "tokenize",
]


# -- parsing ---------------------------------------------------------------------------------


def parse_query(text: str) -> Node:
    """Parse query-language ``text`` into the AST; the empty query is :class:`MatchAll`.

    Raises :class:`QuerySyntaxError` with a readable message (and the position, when the
    parser knows it); :class:`~index.errors.QueryTooComplex` for a query over the limits of
    :mod:`index.query_limits`.
    """
    check_query_text(text or "")
    text = normalize_text(text or "")
    if not text:
        return MatchAll()
    try:
        parsed = luqum_parse(text)
        node = _simplify(_convert(parsed, None))
    except ParseError as exc:
        message = " ".join(str(exc).replace("Syntax error in input : ", "").rstrip("!").split())
        raise QuerySyntaxError(f"cannot parse query {_shown(text)}: {message}") from exc
    except InconsistentQueryException as exc:
        message = " ".join(str(exc).split())
        raise QuerySyntaxError(f"inconsistent query {_shown(text)}: {message}") from exc
    except RecursionError as exc:  # a shape the nesting pre-check did not foresee
        raise QuerySyntaxError("query nested too deeply") from exc
    except decimal.InvalidOperation as exc:  # luqum reads "a~0.50.5" or "a^1.2.3" as a number
        raise QuerySyntaxError(
            f"cannot parse query {_shown(text)}: a fuzziness (~) or boost (^) that is no number"
        ) from exc
    except QuerySyntaxError as exc:  # messages quote the query: keep them on one line
        if "\n" not in str(exc) and "\r" not in str(exc):
            raise
        raise type(exc)(" ".join(str(exc).split())) from exc
    return check_query_shape(node)


def _shown(text: str, limit: int = 200) -> str:
    """The query as an error message quotes it: one line, cut when long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _field_kind(name: str) -> str:
    if name in TEXT_FIELDS:
        return "text"
    if name in KEYWORD_FIELDS:
        return "keyword"
    if name in NUMERIC_FIELDS:
        return "numeric"
    if name in DATE_FIELDS:
        return "date"
    raise QuerySyntaxError(f"unknown field {name!r} (known: {', '.join(FIELDS)})")


def _convert(node: tree.Item, field: str | None) -> Node:
    if isinstance(node, tree.SearchField):
        if field is not None:
            raise QuerySyntaxError(f"field {node.name!r} inside field {field!r} is not allowed")
        _field_kind(node.name)
        return _convert(node.expr, node.name)
    if isinstance(node, tree.Group | tree.FieldGroup):
        return _convert(node.expr, field)
    if isinstance(node, tree.UnknownOperation):
        return _implicit_and(node, field)
    if isinstance(node, tree.AndOperation):
        return And(tuple(_convert(child, field) for child in node.children))
    if isinstance(node, tree.OrOperation):
        return Or(tuple(_convert(child, field) for child in node.children))
    if isinstance(node, tree.Not | tree.Prohibit):
        return Not(_convert(node.a, field))
    if isinstance(node, tree.Plus):
        return _convert(node.a, field)
    if isinstance(node, tree.Boost):
        return _convert(node.expr, field)
    if isinstance(node, tree.Word):
        return _word(node.value, field)
    if isinstance(node, tree.Phrase):
        return _phrase(node.value[1:-1], field)
    if isinstance(node, tree.Range):
        low, high = _bound(node.low), _bound(node.high)
        return _range(field, low, high, node.include_low, node.include_high)
    if isinstance(node, tree.From):
        return _range(field, _bound(node.a), "*", node.include, True)
    if isinstance(node, tree.To):
        return _range(field, "*", _bound(node.a), True, node.include)
    if isinstance(node, tree.Fuzzy):
        raise QuerySyntaxError(f"fuzzy search ({node}) is not supported")
    if isinstance(node, tree.Proximity):
        raise QuerySyntaxError(f"proximity search ({node}) is not supported")
    if isinstance(node, tree.Regex):
        raise QuerySyntaxError(f"regular expressions ({node}) are not supported")
    raise QuerySyntaxError(f"unsupported query syntax: {node}")


def _bound(item: tree.Item) -> str:
    """A range bound's text (a quoted bound loses its quotes; ``-0.5`` is read by luqum as
    a prohibited ``0.5``, and gets its sign back)."""
    if isinstance(item, tree.Prohibit | tree.Plus):
        sign = "-" if isinstance(item, tree.Prohibit) else ""
        return sign + _bound(item.a)
    if not isinstance(item, tree.Term):
        raise QuerySyntaxError(f"a range bound must be a value, not {str(item)!r}")
    value = str(item.value)
    return value[1:-1] if isinstance(item, tree.Phrase) else value


def _implicit_and(node: tree.UnknownOperation, field: str | None) -> Node:
    """Words side by side are ANDed, binding tighter than OR: ``a b OR c d`` is
    ``(a AND b) OR (c AND d)`` (luqum alone would read ``a AND (b OR c) AND d``)."""
    groups: list[list[Node]] = [[]]
    for child in node.children:
        if isinstance(child, tree.OrOperation):
            first, *others = child.children
            groups[-1].append(_convert(first, field))
            groups.extend([_convert(other, field)] for other in others)
        else:
            groups[-1].append(_convert(child, field))
    ands = [group[0] if len(group) == 1 else And(tuple(group)) for group in groups]
    return ands[0] if len(ands) == 1 else Or(tuple(ands))


def _text_fields(field: str | None) -> tuple[str, ...]:
    return DEFAULT_TEXT_FIELDS if field is None else (field,)


def _word(value: str, field: str | None) -> Node:
    kind = _field_kind(field) if field else "text"
    if value in ("&&", "||", "!"):
        raise QuerySyntaxError(f"{value!r} is not an operator here: write AND, OR or NOT")
    if kind == "keyword":
        if "?" in value or "*" in value.rstrip("*"):
            raise QuerySyntaxError(f"only a trailing * is supported ({field}:{value})")
        if value.endswith("*"):
            return FieldTerm(field, value.rstrip("*"), prefix=True)
        return FieldTerm(field, value)
    if kind in ("numeric", "date"):
        if value == "*":
            return Range(field)
        return _range(field, value, value, True, True)
    # full text
    if value == "*":
        return MatchAll()
    if "?" in value or "*" in value.rstrip("*"):
        raise QuerySyntaxError(f"only a trailing * is supported ({value!r})")
    fields = _text_fields(field)
    if value.endswith("*"):
        tokens = tokenize(value.rstrip("*"))
        if len(tokens) != 1 or not value.rstrip("*")[-1:].isalnum():
            raise QuerySyntaxError(f"a wildcard must end a single word ({value!r})")
        folded = not has_diacritics(tokens[0])
        return Prefix(fold_diacritics(tokens[0]) if folded else tokens[0], fields, folded)
    tokens = tokenize(value)
    if not tokens:
        raise QuerySyntaxError(f"{value!r} contains nothing searchable")
    if len(tokens) > 1:  # "covid-19" is the phrase "covid 19", as the index sees it
        return _phrase_tokens(tokens, fields)
    folded = not has_diacritics(tokens[0])
    return Term(fold_diacritics(tokens[0]) if folded else tokens[0], fields, folded)


def _phrase(value: str, field: str | None) -> Node:
    kind = _field_kind(field) if field else "text"
    if kind == "keyword":
        return FieldTerm(field, value)
    if kind in ("numeric", "date"):
        return _range(field, value, value, True, True)
    tokens = tokenize(value)
    if not tokens:
        raise QuerySyntaxError(f"phrase {value!r} contains nothing searchable")
    return _phrase_tokens(tokens, _text_fields(field))


def _phrase_tokens(tokens: list[str], fields: tuple[str, ...]) -> Node:
    marked = [token for token in tokens if has_diacritics(token)]
    folded_words = tuple(fold_diacritics(token) for token in tokens)
    if len(tokens) == 1:
        return Term(tokens[0], fields, False) if marked else Term(folded_words[0], fields, True)
    if len(marked) == len(tokens):
        return Phrase(tuple(tokens), fields, False)
    phrase = Phrase(folded_words, fields, True)
    if not marked:
        return phrase
    return And((phrase, *(Term(token, fields, False) for token in marked)))


def _range(field: str | None, low: str, high: str, include_low: bool, include_high: bool) -> Node:
    if field is None:
        raise QuerySyntaxError(
            f"a range needs a field, e.g. published_at:[{low} TO {high}] or claim_score:>0.5"
        )
    kind = _field_kind(field)
    low = None if low == "*" else low
    high = None if high == "*" else high
    if kind == "numeric":
        try:
            lo = None if low is None else float(low)
            hi = None if high is None else float(high)
        except ValueError as exc:
            raise QuerySyntaxError(f"{field} takes numbers, not {low!r}/{high!r}") from exc
        if any(bound is not None and not math.isfinite(bound) for bound in (lo, hi)):
            raise QuerySyntaxError(f"{field} takes finite numbers, not {low!r}/{high!r}")
        return Range(field, lo, hi, include_low, include_high)
    if kind == "date":
        lo, include_low = date_range_low(low, include_low) if low else (None, True)
        hi, include_high = date_range_high(high, include_high) if high else (None, True)
        return Range(field, lo, hi, include_low, include_high)
    raise QuerySyntaxError(f"ranges work on number and date fields, not on {field!r}")


def _simplify(node: Node) -> Node:
    """Flatten nested And/Or, drop MatchAll inside And, unwrap one-child groups."""
    if isinstance(node, And | Or):
        kind = type(node)
        children: list[Node] = []
        for child in map(_simplify, node.children):
            if isinstance(child, kind):
                children.extend(child.children)
            elif isinstance(child, MatchAll) and kind is And:
                continue
            else:
                children.append(child)
        if kind is Or and any(isinstance(child, MatchAll) for child in children):
            return MatchAll()
        if not children:
            return MatchAll()
        return children[0] if len(children) == 1 else kind(tuple(children))
    if isinstance(node, Not):
        child = _simplify(node.child)
        return child.child if isinstance(child, Not) else Not(child)
    return node
