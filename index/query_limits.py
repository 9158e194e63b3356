"""Bounds on what one query may ask, so the work of a search is bounded before it starts.

Three limits, each with its own message: the query's length (checked first, on the raw
text), how deeply it nests (parentheses plus runs of ``NOT``/``-``/``+``, checked before
the parser, whose tree building recurses) and how many terms it holds (checked on the
AST: each term is one more FTS5 phrase or Elasticsearch clause, and ranking cost grows
with their number times the matches). Time is bounded separately, per search, by the
backends (SQLite's progress handler, Elasticsearch's ``timeout``).
"""

from __future__ import annotations

import re

from index.errors import QueryTooComplex
from index.query_ast import And, FieldTerm, MatchAll, Node, Not, Or, Phrase, Prefix, Range, Term

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_DEPTH",
    "MAX_QUERY_TERMS",
    "check_query_shape",
    "check_query_text",
]

#: Characters in one query (a long list of names fits; a pasted article does not).
MAX_QUERY_CHARS = 2000
#: Parentheses and NOT/-/+ operators nested inside each other.
MAX_QUERY_DEPTH = 20
#: Terms (words, phrases, prefixes, field values, ranges) in one query.
MAX_QUERY_TERMS = 64

# A quoted phrase (an unfinished one runs to the end), a parenthesis, or a run of other
# characters: enough to see nesting without parsing.
_LEXEME = re.compile(r'"(?:\\.|[^"\\])*"?|[()]|[^\s()"]+')
_UNARY = re.compile(r"^(?:NOT|!|[-+!]+)$")
_UNARY_PREFIX = re.compile(r"^[-+!]+")


def check_query_text(text: str) -> None:
    """Refuse a query too long or nested too deeply to parse; :class:`QueryTooComplex`."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTooComplex(f"query too long: {len(text)} characters (at most {MAX_QUERY_CHARS})")
    depth = deepest = 0
    unary = 0  # NOT/-/+ operators applying to what comes next
    for lexeme in _LEXEME.findall(text):
        if lexeme == "(":
            depth += 1 + unary
            unary = 0
        elif lexeme == ")":
            depth = max(0, depth - 1)
        elif _UNARY.match(lexeme):
            unary += 1 if lexeme in ("NOT", "!") else len(lexeme)
        else:
            unary = len(_UNARY_PREFIX.match(lexeme)[0]) if _UNARY_PREFIX.match(lexeme) else 0
            deepest = max(deepest, depth + unary)
            unary = 0
        deepest = max(deepest, depth + unary)
        if deepest > MAX_QUERY_DEPTH:
            raise QueryTooComplex(
                f"query nested too deeply: more than {MAX_QUERY_DEPTH} levels of "
                "parentheses and NOT"
            )


def _terms(node: Node) -> int:
    if isinstance(node, And | Or):
        return sum(_terms(child) for child in node.children)
    if isinstance(node, Not):
        return _terms(node.child)
    if isinstance(node, MatchAll):
        return 0
    if isinstance(node, Term | Phrase | Prefix | FieldTerm | Range):
        return 1
    raise TypeError(f"not a query node: {node!r}")


def check_query_shape(node: Node) -> Node:
    """``node`` when it has at most :data:`MAX_QUERY_TERMS` terms; else :class:`QueryTooComplex`."""
    terms = _terms(node)
    if terms > MAX_QUERY_TERMS:
        raise QueryTooComplex(
            f"query too complex: {terms} terms (at most {MAX_QUERY_TERMS}); split it into "
            "several searches or use filters"
        )
    return node
