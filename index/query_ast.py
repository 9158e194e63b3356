"""The query AST and the field catalogue: what a parsed query is, for the parser
(:mod:`index.query`), both backends and the highlighter (:mod:`index.highlight`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.folding import fold_diacritics

__all__ = [
    "DATE_FIELDS",
    "DEFAULT_TEXT_FIELDS",
    "FACET_SIZE",
    "FIELDS",
    "HISTOGRAM_INTERVALS",
    "KEYWORD_FIELDS",
    "NUMERIC_FIELDS",
    "SEARCH_FACETS",
    "TEXT_FIELDS",
    "TOKEN",
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
    "has_diacritics",
    "tokenize",
]

#: Full-text fields (analysed, searchable with and without diacritics).
TEXT_FIELDS = ("title", "text", "author")
#: Where a word without a field is looked for.
DEFAULT_TEXT_FIELDS = TEXT_FIELDS
#: Exact-value fields (``flags`` is a list: a document matches if any flag equals the value).
KEYWORD_FIELDS = (
    "source",
    "site",
    "kind",
    "section",
    "lang",
    "flags",
    "review_status",
    "url",
    "id",
    "cluster",
)
#: Numeric fields, taken from ``Document.scores["covid"]`` / ``["claim"]``.
NUMERIC_FIELDS = ("covid_score", "claim_score")
#: Date fields (``Document.published_at`` / ``fetched_at``).
DATE_FIELDS = ("published_at", "fetched_at")
FIELDS = TEXT_FIELDS + KEYWORD_FIELDS + NUMERIC_FIELDS + DATE_FIELDS
#: Facets a search returns when ``SearchRequest.facets`` is set, top :data:`FACET_SIZE` each.
SEARCH_FACETS = ("source", "site", "kind", "flags", "review_status")
FACET_SIZE = 20
#: ``SearchRequest.histogram`` intervals; bucket keys are the first day of the period
#: (weeks start on Monday) as ``YYYY-MM-DD`` in :data:`DEFAULT_TZ`, empty periods included.
HISTOGRAM_INTERVALS = ("day", "week", "month")


# unicode61 (FTS5) and the Elasticsearch standard tokenizer both split on anything that is
# not a letter or digit; "_" is a separator too.
TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


# -- AST -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchAll:
    """Every document (the empty query, ``*``)."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word in full-text ``fields``; ``folded`` means match the diacritics-free form."""

    text: str
    fields: tuple[str, ...] = DEFAULT_TEXT_FIELDS
    folded: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words next to each other, in order, within one of ``fields``."""

    words: tuple[str, ...]
    fields: tuple[str, ...] = DEFAULT_TEXT_FIELDS
    folded: bool = False


@dataclass(frozen=True, slots=True)
class Prefix:
    """A word starting with ``text`` in full-text ``fields`` (``tiêm*``)."""

    text: str
    fields: tuple[str, ...] = DEFAULT_TEXT_FIELDS
    folded: bool = False


@dataclass(frozen=True, slots=True)
class FieldTerm:
    """An exact keyword value (``source:vnexpress``); ``prefix`` matches values starting
    with ``value`` (an empty prefix means "has any value")."""

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Range:
    """Bounds on a numeric (float) or date (UTC ISO string) field; ``None`` = unbounded.

    Both bounds ``None`` means "the field has a value".
    """

    field: str
    low: float | str | None = None
    high: float | str | None = None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = MatchAll | Term | Phrase | Prefix | FieldTerm | Range | And | Or | Not


# -- text helpers ----------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Split normalised text into lower-case word tokens the way the indexes do."""
    return [token.lower() for token in TOKEN.findall(text)]


def has_diacritics(word: str) -> bool:
    """True when ``word`` carries any Vietnamese diacritic (including "đ")."""
    return fold_diacritics(word) != word.lower()
