"""Vietnamese text layer: normalisation, diacritics folding and segmentation.

Everything downstream (search, matching, models) sees text that went through
:func:`normalize_text` first, so "hoà"/"hòa" and composed/decomposed forms compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "fold_diacritics",
    "normalize_text",
    "segment_words",
    "split_sentences",
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


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with one tone-mark convention and tidy whitespace.

    Spacing and punctuation are kept as written; only words are rewritten.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _WORD.sub(lambda m: _normalize_token(m.group()), text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "D"})


def fold_diacritics(text: str) -> str:
    """Lower-case ``text`` and strip Vietnamese diacritics ("Đà Nẵng" -> "da nang")."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


def segment_words(text: str) -> list[str]:
    """Split Vietnamese text into words; multi-syllable words are joined by "_"."""
    if not text.strip():
        return []
    from underthesea import word_tokenize

    return [token.replace(" ", "_") for token in word_tokenize(text)]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with underthesea."""
    if not text.strip():
        return []
    from underthesea import sent_tokenize

    return sent_tokenize(text)
