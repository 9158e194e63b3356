"""Pure Vietnamese text analysis: no I/O, no settings, no logging side effects."""

from analysis.text import fold_diacritics, normalize_text, segment_words, split_sentences

__all__ = [
    "fold_diacritics",
    "normalize_text",
    "segment_words",
    "split_sentences",
]
