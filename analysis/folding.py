"""Diacritics folding: the one definition every part of the project folds with.

"Đà Nẵng" -> "da nang": lower case, Vietnamese tone and vowel marks stripped, "đ" -> "d".
The analysis matches on it, the SQLite store indexes its ``*_f`` FTS columns with it, the
Elasticsearch store builds its ``*_f`` search copies with it, and the search page highlights
with it, so a query typed without diacritics finds and marks the same words everywhere.

``keep_length=True`` folds character by character and keeps a character whose fold would not
be one character (a lone combining mark, "ß"...) as its lower case or as written, so offsets
in the folded text are offsets in the original (match spans, highlights, search copies).
For Vietnamese text the two forms are equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

__all__ = ["CONTEXT_FOLD", "fold_diacritics", "fold_each"]

_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "D"})


def _fold_reference(text: str) -> str:
    """The definition of :func:`fold_diacritics`, walking every character in Python."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


#: Characters around which folding is not character by character: Greek (final sigma
#: lower-cases by context) and the scripts with a character of combining class 0 that
#: composes with the one before it under NFC (Hangul jamo, Brahmic two-part vowels, Tibetan,
#: Myanmar "ဦ"): stripping a mark between two such characters joins them.
#: ``tests/unit/test_folding.py`` checks this list against the Unicode database.
CONTEXT_FOLD = re.compile(
    "[\u0370-\u03ff\u0900-\u0dff\u0f00-\u109f\u1100-\u11ff\u1b00-\u1b7f"
    "\u1f00-\u1fff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff\U00011000-\U00011fff]"
)


class _FoldCache(dict):
    """``str.translate`` table filled on demand with the fold of each character."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_reference(chr(code))
        return folded


class _SameLengthCache(dict):
    """``str.translate`` table: each character's fold when it is one character, else its
    lower case when that is one character, else the character itself."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _FOLD_CACHE[code]
        if len(folded) != 1:
            lower = char.lower()
            folded = lower if len(lower) == 1 else char
        self[code] = folded
        return folded


_FOLD_CACHE = _FoldCache()
_SAME_LENGTH = _SameLengthCache()


def fold_diacritics(text: str, *, keep_length: bool = False) -> str:
    """Lower-case ``text`` and strip Vietnamese diacritics ("Đà Nẵng" -> "da nang").

    Character by character through a cached table (one C call) wherever that equals the
    definition (:func:`_fold_reference`; not around :data:`CONTEXT_FOLD` scripts), since
    folding is on every post's hot path. ``keep_length``: one character for one (see the
    module docstring).
    """
    if text.isascii():
        return text.lower()
    if keep_length:
        return text.translate(_SAME_LENGTH)
    if CONTEXT_FOLD.search(text):
        return _fold_reference(text)
    return text.translate(_FOLD_CACHE)


def fold_each(words: Sequence[str]) -> list[str]:
    """``[fold_diacritics(w) for w in words]``, in one pass over them joined where it can.

    Folding is character by character outside :data:`CONTEXT_FOLD`, so folding the words
    joined by line breaks and splitting there gives each word's fold; the known-claims
    prefilter folds every multi-syllable token of a post.
    """
    joined = "\n".join(words)
    if joined.count("\n") != len(words) - 1 or CONTEXT_FOLD.search(joined):
        return [fold_diacritics(word) for word in words]
    folded = joined.lower() if joined.isascii() else joined.translate(_FOLD_CACHE)
    return folded.split("\n")
