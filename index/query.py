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

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from luqum import tree
from luqum.exceptions import InconsistentQueryException, ParseError
from luqum.thread import parse as luqum_parse

from analysis.text import fold_diacritics, normalize_text
from index.errors import QuerySyntaxError

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
    "fast_fold",
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

#: Time zone for date values written without an offset (analysts work in Vietnam time).
DEFAULT_TZ = timezone(timedelta(hours=7))

# unicode61 (FTS5) and the Elasticsearch standard tokenizer both split on anything that is
# not a letter or digit; "_" is a separator too.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


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
    return [token.lower() for token in _TOKEN.findall(text)]


def has_diacritics(word: str) -> bool:
    """True when ``word`` carries any Vietnamese diacritic (including "đ")."""
    return fold_diacritics(word) != word.lower()


# -- dates -----------------------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def to_utc_iso(value: str | None) -> str | None:
    """A stored ISO datetime as a sortable UTC string (naive values are Vietnam time).

    Returns ``None`` for empty or unparseable values so one bad date never fails a write.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DEFAULT_TZ)
    return _utc(moment)


def to_local_day(value: str | None) -> str | None:
    """The calendar day (``YYYY-MM-DD``, :data:`DEFAULT_TZ`) of a stored ISO datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.astimezone(DEFAULT_TZ).date().isoformat()


def to_utc_and_local_day(value: str | None) -> tuple[str | None, str | None]:
    """``(to_utc_iso(value), to_local_day(value))``, parsing ``value`` once (indexing)."""
    if not value:
        return None, None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None, None
    if moment.tzinfo is None:
        return _utc(moment.replace(tzinfo=DEFAULT_TZ)), moment.date().isoformat()
    return _utc(moment), moment.astimezone(DEFAULT_TZ).date().isoformat()


def bucket_start(day: str, interval: str) -> str:
    """First day of the ``interval`` ("day", "week" from Monday, "month") holding ``day``."""
    if interval == "day":
        return day
    return period_start(datetime.strptime(day, "%Y-%m-%d").date(), interval).isoformat()


def period_start(day: date, interval: str) -> date:
    """:func:`bucket_start` on dates."""
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _period(value: str) -> tuple[datetime, datetime | None]:
    """Start of the period ``value`` names and the start of the next one (None: an instant)."""
    match = _PARTIAL_DATE.match(value)
    if match:
        year, month, day = match.groups()
        try:
            if day:
                start = datetime(int(year), int(month), int(day), tzinfo=DEFAULT_TZ)
                return start, start + timedelta(days=1)
            if month:
                start = datetime(int(year), int(month), 1, tzinfo=DEFAULT_TZ)
                nxt = datetime(
                    int(year) + (month == "12"), int(month) % 12 + 1, 1, tzinfo=DEFAULT_TZ
                )
                return start, nxt
            start = datetime(int(year), 1, 1, tzinfo=DEFAULT_TZ)
            return start, datetime(int(year) + 1, 1, 1, tzinfo=DEFAULT_TZ)
        except ValueError as exc:
            raise QuerySyntaxError(f"invalid date {value!r}: {exc}") from exc
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise QuerySyntaxError(
            f"invalid date {value!r} (use YYYY-MM-DD or an ISO 8601 datetime)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DEFAULT_TZ)
    return moment, None


def _date_low(value: str, inclusive: bool) -> tuple[str, bool]:
    start, end = _period(value)
    if end is None:
        return _utc(start), inclusive
    return _utc(start if inclusive else end), True


def _date_high(value: str, inclusive: bool) -> tuple[str, bool]:
    start, end = _period(value)
    if end is None:
        return _utc(start), inclusive
    return _utc(end if inclusive else start), False


def date_bounds(date_from: str | None, date_to: str | None, field: str = "published_at") -> Range:
    """``SearchRequest.date_from``/``date_to`` (inclusive dates) as a :class:`Range`."""
    low, include_low = _date_low(date_from, True) if date_from else (None, True)
    high, include_high = _date_high(date_to, True) if date_to else (None, True)
    return Range(field, low, high, include_low, include_high)


def fill_histogram(counts: dict[str, int], interval: str) -> list[tuple[str, int]]:
    """Histogram buckets from first to last key with empty periods as zero counts."""
    if interval not in HISTOGRAM_INTERVALS:
        raise QuerySyntaxError(
            f"unknown histogram interval {interval!r} (known: {', '.join(HISTOGRAM_INTERVALS)})"
        )
    if not counts:
        return []
    keys = sorted(counts)
    day = datetime.strptime(keys[0], "%Y-%m-%d").date()
    last = datetime.strptime(keys[-1], "%Y-%m-%d").date()
    buckets = []
    while day <= last:
        key = day.isoformat()
        buckets.append((key, counts.get(key, 0)))
        if interval == "day":
            day += timedelta(days=1)
        elif interval == "week":
            day += timedelta(days=7)
        else:
            day = day.replace(year=day.year + (day.month == 12), month=day.month % 12 + 1)
    return buckets


# -- parsing ---------------------------------------------------------------------------------


def parse_query(text: str) -> Node:
    """Parse query-language ``text`` into the AST; the empty query is :class:`MatchAll`.

    Raises :class:`QuerySyntaxError` with a readable message (and the position, when the
    parser knows it).
    """
    text = normalize_text(text or "")
    if not text:
        return MatchAll()
    try:
        parsed = luqum_parse(text)
    except ParseError as exc:
        message = str(exc).replace("Syntax error in input : ", "").rstrip("!")
        raise QuerySyntaxError(f"cannot parse query {text!r}: {message}") from exc
    except InconsistentQueryException as exc:
        raise QuerySyntaxError(f"inconsistent query {text!r}: {exc}") from exc
    return _simplify(_convert(parsed, None))


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
    """A range bound's text (a quoted bound loses its quotes)."""
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
        return Range(field, lo, hi, include_low, include_high)
    if kind == "date":
        lo, include_low = _date_low(low, include_low) if low else (None, True)
        hi, include_high = _date_high(high, include_high) if high else (None, True)
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


# -- highlighting ----------------------------------------------------------------------------

# A precomputed table is ~10x faster than NFD + filtering character by character, and a list
# indexed by code point ~3x faster than a dict (code points past the end raise IndexError,
# which str.translate reads as "keep"). It gives the same result as fold_diacritics for every
# character it covers (checked in tests). Only combining marks map to "" (NFC text has none
# in Vietnamese), so folding NFC text keeps its length and offsets.
_FOLD_LIMIT = 0x2000


def _fold_table() -> list[str]:
    table: list[str] = []
    for code in range(_FOLD_LIMIT):
        char = chr(code)
        if code >= 0x80 and unicodedata.combining(char):
            table.append("")
            continue
        folded = fold_diacritics(char) if code >= 0x80 else char
        table.append(folded if folded != char.lower() else char)
    return table


_FOLD = _fold_table()


def fast_fold(text: str, *, lower: bool = True) -> str:
    """:func:`analysis.text.fold_diacritics` for indexing: lower case, no diacritics.

    ``lower=False`` skips lower-casing plain letters (the FTS5 tokenizer folds case anyway).
    """
    folded = text.translate(_FOLD)
    return folded.lower() if lower else folded


@dataclass(frozen=True, slots=True)
class _Want:
    text: str
    folded: bool
    prefix: bool


def positive_text_leaves(node: Node) -> Iterator[Term | Phrase | Prefix]:
    """The full-text leaves of a query that can explain a match, in query order.

    Leaves under a NOT (an odd number of them) are left out: they never explain why a
    document matched.
    """

    def walk(item: Node, negated: bool) -> Iterator[Term | Phrase | Prefix]:
        if isinstance(item, And | Or):
            for child in item.children:
                yield from walk(child, negated)
        elif isinstance(item, Not):
            yield from walk(item.child, not negated)
        elif not negated and isinstance(item, Term | Phrase | Prefix):
            yield item

    return walk(node, False)


def highlight_terms(node: Node) -> list[tuple[str, bool, bool]]:
    """Positive full-text words of a query as ``(text, folded, prefix)`` triples."""
    found: list[tuple[str, bool, bool]] = []
    for leaf in positive_text_leaves(node):
        if isinstance(leaf, Phrase):
            found.extend((word, leaf.folded, False) for word in leaf.words)
        else:
            found.append((leaf.text, leaf.folded, isinstance(leaf, Prefix)))
    return list(dict.fromkeys(found))


# A token is a run of [^\W_] (see _TOKEN): a term matches a whole token, a prefix term the
# start of one (the match then runs to the token's end, so the whole word is highlighted).
_NOT_AFTER_TOKEN = r"(?<![^\W_])"
_TOKEN_END = r"(?![^\W_])"
_TOKEN_REST = r"[^\W_]*"


def _term_pattern(wants: list[_Want]) -> re.Pattern[str] | None:
    """One regex for ``wants``, longest words first (alternation takes the first match)."""
    if not wants:
        return None
    parts = [
        re.escape(want.text) + (_TOKEN_REST if want.prefix else _TOKEN_END)
        for want in sorted(wants, key=lambda want: -len(want.text))
    ]
    return re.compile(_NOT_AFTER_TOKEN + "(?:" + "|".join(parts) + ")")


def _term_patterns(terms: tuple[tuple[str, bool, bool], ...]) -> _Patterns:
    """Patterns for the exact terms (over lower-cased text) and the folded ones (folded)."""
    wants = [_Want(*term) for term in terms]
    return (
        _term_pattern([want for want in wants if not want.folded]),
        _term_pattern([want for want in wants if want.folded]),
    )


_Patterns = tuple[re.Pattern[str] | None, re.Pattern[str] | None]
_PATTERN_CACHE: dict[tuple[tuple[str, bool, bool], ...], _Patterns] = {}


def _spans(text: str, terms: list[tuple[str, bool, bool]]) -> _SpanFinder:
    key = tuple(terms)
    patterns = _PATTERN_CACHE.get(key)
    if patterns is None:
        if len(_PATTERN_CACHE) > 256:
            _PATTERN_CACHE.clear()
        patterns = _PATTERN_CACHE[key] = _term_patterns(key)
    return _SpanFinder(text, *patterns)


class _SpanFinder:
    """Matches of the query terms in ``text``, found on whole-text copies.

    The text is lower-cased once (for exact terms) and folded once (for folded terms) and
    searched with one compiled regex each, rather than folding every word. Both copies keep
    the text's offsets when lower-casing and folding keep its length, which they do for NFC
    Vietnamese; otherwise matching falls back to folding token by token.
    """

    def __init__(
        self, text: str, exact: re.Pattern[str] | None, folded: re.Pattern[str] | None
    ) -> None:
        self.text = text
        self.exact, self.folded = exact, folded
        self.lowered = text.lower() if exact is not None else text
        self.folded_text = fast_fold(text) if folded is not None else text
        self.aligned = len(self.lowered) == len(text) == len(self.folded_text)

    def first(self) -> int | None:
        """Offset of the first match, or ``None``."""
        spans = self.between(0, len(self.text), first=True)
        return spans[0][0] if spans else None

    def between(self, start: int, end: int, *, first: bool = False) -> list[tuple[int, int]]:
        """Sorted spans of matches starting in ``text[start:end]`` (the first one only).

        Searches run to the end of the text (an ``endpos`` would cut the last word short
        and let its start pass for a whole word); they stop at the first match past ``end``.
        """
        if not self.aligned:
            return self._by_token(start, end, first)
        spans: list[tuple[int, int]] = []
        for pattern, haystack in ((self.exact, self.lowered), (self.folded, self.folded_text)):
            if pattern is None:
                continue
            for match in pattern.finditer(haystack, start):
                if match.start() >= end:
                    break
                spans.append(match.span())
                if first:
                    break
        spans.sort()
        return _disjoint(spans[:1] if first else spans)

    def _by_token(self, start: int, end: int, first: bool) -> list[tuple[int, int]]:
        spans = []
        for match in _TOKEN.finditer(self.text, start):
            if match.start() >= end:
                break
            token = match.group().lower()
            folded = fold_diacritics(token)
            if (self.exact is not None and self.exact.fullmatch(token)) or (
                self.folded is not None and self.folded.fullmatch(folded)
            ):
                spans.append(match.span())
                if first:
                    break
        return spans


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans without overlaps (an exact and a folded term can match one word)."""
    kept: list[tuple[int, int]] = []
    for lo, hi in spans:
        if kept and lo < kept[-1][1]:
            continue
        kept.append((lo, hi))
    return kept


def make_snippet(
    text: str, terms: list[tuple[str, bool, bool]], *, width: int = 200
) -> list[tuple[str, bool]]:
    """``(text, is_match)`` pieces of about ``width`` characters around the first match.

    Matching follows the query rules: folded terms match the folded token, exact terms the
    lower-cased token. Without a match the snippet is the start of the text. Only the
    window around the first match is searched for further matches.
    """
    if not text:
        return []
    finder = _spans(text, terms) if terms else None
    first = finder.first() if finder is not None else None
    if finder is None or first is None:
        end = _cut_end(text, width)
        return [(text[:end] + ("…" if end < len(text) else ""), False)]
    start = max(0, first - width // 4)
    if start:
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = _cut_end(text, start + width)
    pieces: list[tuple[str, bool]] = [("…", False)] if start else []
    cursor = start
    for lo, hi in finder.between(first, end):
        if hi > end:
            break
        if lo > cursor:
            pieces.append((text[cursor:lo], False))
        pieces.append((text[lo:hi], True))
        cursor = hi
    if cursor < end:
        pieces.append((text[cursor:end], False))
    if end < len(text):
        pieces.append(("…", False))
    return pieces


def _cut_end(text: str, end: int) -> int:
    """``end`` moved back to a word boundary (never cutting a word in half)."""
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", 0, end)
    return space if space > end - 30 else end
