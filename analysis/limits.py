"""Bounded work per post: how much of a text the analysis reads, and in what pieces.

The word segmenter's memory grows with the length of what it is given (about 1.4 KB per
character: a 1 MB post took 1.5 GB), and a hostile page can be 5 MB of text. So the
analysis reads at most :data:`DEFAULT_MAX_ANALYSED_CHARS` characters of a post (cut at a
paragraph, sentence or word boundary; the rest is stored and searchable but not analysed,
and the result says so), and segments long texts in pieces of at most
:data:`DEFAULT_PIECE_CHARS`, cut at boundaries too, so memory stays flat. Both steps scan
the text once (linear time).
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = [
    "DEFAULT_MAX_ANALYSED_CHARS",
    "DEFAULT_MAX_TITLE_CHARS",
    "DEFAULT_PIECE_CHARS",
    "analysed_part",
    "pieces",
]

#: Characters of a post's text the analysis reads (a long newspaper article has 20-40k).
DEFAULT_MAX_ANALYSED_CHARS = 100_000
#: Characters of a title the analysis reads.
DEFAULT_MAX_TITLE_CHARS = 1_000
#: Longest piece given to the word segmenter at once.
DEFAULT_PIECE_CHARS = 20_000
#: How far back from a hard limit a cut looks for a boundary (a share of the limit).
_LOOKBACK = 0.2
#: Boundaries, best first: a paragraph break, a line break, a sentence end, a space.
_BOUNDARIES = ("\n\n", "\n", ". ", "! ", "? ", "… ", " ")


def _cut_point(text: str, limit: int) -> int:
    """Where to cut ``text`` at most ``limit`` characters in: after the best boundary in the
    last part before the limit, else exactly at the limit."""
    floor = int(limit * (1 - _LOOKBACK))
    for boundary in _BOUNDARIES:
        position = text.rfind(boundary, floor, limit)
        if position != -1:
            return position + len(boundary)
    return limit


def analysed_part(text: str, max_chars: int = DEFAULT_MAX_ANALYSED_CHARS) -> str:
    """``text`` when it fits in ``max_chars``, else its start cut at a boundary."""
    if len(text) <= max_chars:
        return text
    return text[: _cut_point(text, max_chars)].rstrip()


def pieces(text: str, size: int = DEFAULT_PIECE_CHARS) -> Iterator[str]:
    """``text`` in consecutive pieces of at most ``size`` characters, each cut at a
    boundary when one is near; joined back they are ``text``. A text that fits is one piece."""
    start = 0
    while len(text) - start > size:
        end = start + _cut_point(text[start : start + size], size)
        yield text[start:end]
        start = end
    if start < len(text) or not text:
        yield text[start:]
