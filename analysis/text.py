"""Vietnamese text: normalisation and segmentation.

Everything downstream (search, matching, models) sees text that went through
:func:`normalize_text` first, so "hoà"/"hòa" and composed/decomposed forms compare equal.

The other text functions live in modules of their own (:mod:`analysis.folding`,
:mod:`analysis.matching`, :mod:`analysis.language`, :mod:`analysis.entities`); their public
names are re-exported here so callers of this module keep working.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from analysis.entities import Entity, extract_entities, sentences_of_tokens, tag_entities
from analysis.folding import fold_diacritics, fold_each
from analysis.language import (
    DEFAULT_MIN_LANGUAGE_WORDS,
    detect_language,
    diacritics_counts,
    diacritics_ratio,
    letter_counts,
)
from analysis.matching import (
    DEFAULT_PHRASES,
    DEFAULT_TEENCODE,
    CanonForms,
    CanonToken,
    canonical_forms,
    canonical_terms,
    canonical_tokens,
)

__all__ = [
    "DEFAULT_MIN_LANGUAGE_WORDS",
    "DEFAULT_PHRASES",
    "DEFAULT_TEENCODE",
    "CanonForms",
    "CanonToken",
    "Entity",
    "canonical_forms",
    "canonical_terms",
    "canonical_tokens",
    "detect_language",
    "diacritics_counts",
    "diacritics_ratio",
    "extract_entities",
    "fold_diacritics",
    "fold_each",
    "letter_counts",
    "normalize_text",
    "segment_words",
    "sentences_of_tokens",
    "split_sentences",
    "tag_entities",
    "tokenize_words",
]

_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"[ \t\u00a0\u200b\u202f]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@lru_cache(maxsize=65536)
def _normalize_token(token: str) -> str:
    # underthesea's table maps new-style tone placement ("hoà", "thuỷ") to the
    # classic one ("hòa", "thủy") that most Vietnamese newspapers print.
    from underthesea.pipeline.text_normalize.token_normalize import token_normalize

    return token_normalize(token)


@lru_cache(maxsize=1024)
def _words_pattern(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _normalize_words(text: str) -> str:
    r"""Each ``\w+`` word of ``text`` through :func:`_normalize_token`.

    Few words of a page change, so only those are replaced: one lookup per distinct word
    instead of a Python call per word of the page (this ran over every fetched page's text).
    """
    changed = {
        word: normal
        for word in set(_WORD.findall(text))
        if (normal := _normalize_token(word)) != word
    }
    if not changed:
        return text
    return _words_pattern(frozenset(changed)).sub(lambda match: changed[match.group()], text)


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with one tone-mark convention and tidy whitespace.

    Spacing and punctuation are kept as written; only words are rewritten.
    """
    if not text:
        return ""
    text = _normalize_words(unicodedata.normalize("NFC", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def segment_words(text: str) -> list[str]:
    """Split Vietnamese text into words; multi-syllable words are joined by "_"."""
    return [token.replace(" ", "_") for token in tokenize_words(text)]


def tokenize_words(text: str) -> list[str]:
    """underthesea's words as it returns them: syllables of one word joined by spaces.

    The form NER wants; :func:`segment_words` is the same list with "_" joins.
    """
    if not text.strip():
        return []
    from underthesea import word_tokenize

    return word_tokenize(text)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with underthesea."""
    if not text.strip():
        return []
    from underthesea import sent_tokenize

    return sent_tokenize(text)
