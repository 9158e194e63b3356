"""Highlighting: which words of a document explain a query's match, and the snippet around
them, with the same diacritics rules as the search itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from analysis.folding import fold_diacritics
from index.query_ast import TOKEN, And, Node, Not, Or, Phrase, Prefix, Term

__all__ = ["highlight_terms", "make_snippet", "positive_text_leaves"]

# -- highlighting ----------------------------------------------------------------------------


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


# A token is a run of [^\W_] (see index.query_ast.TOKEN): a term matches a whole token, a prefix term the
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
        self.folded_text = fold_diacritics(text, keep_length=True) if folded is not None else text
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
        for match in TOKEN.finditer(self.text, start):
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
