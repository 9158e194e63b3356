"""Language and diacritics of a text: letter and capital counts, the share of words written
with diacritics, and "vi" / "en" / "other" / "unknown" from letters and stop words."""

from __future__ import annotations

import re

from analysis.folding import fold_diacritics
from analysis.matching import MATCH_WORD

__all__ = [
    "DEFAULT_MIN_LANGUAGE_WORDS",
    "EN_STOPWORDS",
    "VI_STOPWORDS",
    "detect_language",
    "diacritics_counts",
    "diacritics_ratio",
    "letter_counts",
    "word_classes",
]

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


class _LetterCaseTable(dict):
    """``str.translate`` table: "U" for an upper-case letter, "l" for another, drop the rest."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        kind = self[code] = ("U" if char.isupper() else "l") if _LETTER.match(char) else None
        return kind


_LETTER_CASES = _LetterCaseTable()


def letter_counts(text: str) -> tuple[int, int]:
    """(letters, upper-case letters) in ``text``: what capital shares are made of.

    One ``str.translate`` to a class per letter instead of a list of every letter: the claim
    classifier and the capitals signal both ask this of every post.
    """
    letters = text.translate(_LETTER_CASES)
    return len(letters), letters.count("U")


def diacritics_ratio(text: str) -> float:
    """Share of alphabetic words that carry a Vietnamese diacritic (0.0 when there are none).

    Vietnamese prose written normally scores about 0.5-0.8; text typed without
    diacritics ("dich covid o ha noi") scores near 0 and is matched in folded form.
    """
    marked, words = diacritics_counts(text)
    return marked / words if words else 0.0


class _WordClassTable(dict):
    """``str.translate`` table: each character's class in the words of :func:`analysis.matching.words_and_folds`.

    ``a`` ASCII letter, ``v`` non-ASCII letter that folds to ASCII (a diacritic), ``x`` other
    letter, ``n`` other word character (a numeral such as "½" or "Ⅻ": neither digit nor
    letter), ``d``/``D`` ASCII/other digit, space for what is not part of a word.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = fold_diacritics(char, keep_length=True)
        if not MATCH_WORD.match(folded):
            kind = " "
        elif folded.isdigit():
            kind = "d" if folded.isascii() else "D"
        elif char.isascii():
            kind = "a"
        elif folded.isascii():
            kind = "v"
        else:
            kind = "x" if folded.isalpha() else "n"
        self[code] = kind
        return kind


_WORD_CLASSES = _WordClassTable()


def word_classes(text: str) -> str:
    """One class letter per character of ``text`` (see :class:`_WordClassTable`)."""
    return text.translate(_WORD_CLASSES)


def diacritics_counts(text: str) -> tuple[int, int]:
    """(words carrying a diacritic, words) as :func:`diacritics_ratio` counts them.

    Counted on a one-letter-per-character class string, whose words are its runs of
    letters: the known-claims matcher asks this of every sentence of a post. A run of
    digits only is a number (not a word); a word is marked when its letters are ASCII
    letters, digits and diacritic letters with at least one of the latter.
    """
    words = marked = 0
    for run in word_classes(text).split():
        if run.strip("dD"):
            words += 1
            if "v" in run and not run.strip("adv"):
                marked += 1
    if not words:
        return 0, 0
    return marked, words


VI_STOPWORDS = frozenset(
    [
        "cua",
        "la",
        "va",
        "cac",
        "nhung",
        "duoc",
        "khong",
        "trong",
        "nguoi",
        "mot",
        "cho",
        "voi",
        "nay",
        "da",
        "se",
        "tai",
        "thi",
        "ma",
        "ve",
        "nhu",
        "khi",
        "den",
        "tu",
        "cung",
        "rat",
        "nhieu",
        "chung",
        "toi",
        "ban",
        "minh",
        "lam",
        "ra",
        "vao",
        "theo",
        "sau",
        "nhat",
        "dang",
        "hon",
        "neu",
        "vi",
        "bi",
        "nam",
        "ngay",
        "cung",
        "nhu",
        "viec",
        "cai",
        "nay",
        "nao",
        "gi",
        "roi",
        "dau",
        "con",
        "lai",
        "nen",
        "phai",
        "chi",
        "moi",
    ]
)
EN_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "is",
        "are",
        "was",
        "were",
        "this",
        "that",
        "with",
        "for",
        "have",
        "has",
        "from",
        "which",
        "would",
        "will",
        "be",
        "it",
        "not",
        "you",
        "they",
        "their",
        "there",
        "by",
        "at",
        "or",
        "as",
        "what",
        "who",
        "been",
        "its",
        "our",
        "your",
        "can",
        "more",
        "about",
        "than",
        "into",
        "after",
        "also",
        "these",
        "those",
    ]
)
#: Fewer alphabetic words than this and the language is "unknown".
DEFAULT_MIN_LANGUAGE_WORDS = 3


def detect_language(text: str, *, min_words: int = DEFAULT_MIN_LANGUAGE_WORDS) -> str:
    """Return "vi", "en", "other" or "unknown" (too short) from letters and stop words.

    Offline and cheap: Vietnamese diacritics settle most texts; stop-word shares
    tell Vietnamese typed without diacritics from English; non-Latin script is "other".
    """
    # the class runs of the words (see _WordClassTable: runs of letters between spaces) give
    # every count but the stop words; numbers (runs of digits only) are left out
    words = [run for run in word_classes(text).split() if run.strip("dD")]
    letters = sum(map(len, words))
    non_latin = "".join(words).count("x")  # folded letters outside ASCII
    if letters >= 4 * min_words and non_latin / letters > 0.5:
        return "other"  # scripts written without spaces (Chinese, Thai) have few "words"
    count = len(words)
    if count < min_words:
        return "unknown"
    # a folded word is ASCII when none of its characters folds outside ASCII
    latin = sum(1 for c in words if "x" not in c and "n" not in c and "D" not in c)
    if latin / count < 0.5:
        return "other"
    marked = sum(1 for c in words if "v" in c and "x" not in c and "n" not in c and "D" not in c)
    ratio = marked / count
    if ratio >= 0.2 and ratio * count >= 2:
        return "vi"  # most posts: stop words need not be counted
    # the folded words line up one for one with the class runs (as in analysis.matching.words_and_folds)
    folded = [
        f for f in MATCH_WORD.findall(fold_diacritics(text, keep_length=True)) if not f.isdigit()
    ]
    vi_hits = sum(1 for f in folded if f in VI_STOPWORDS)
    # a word written with diacritics is not an English stop word ("thế" is not "the"):
    # as written it is ASCII only when its classes are all "a"/"d"
    en_hits = sum(
        1
        for f, c in zip(folded, words, strict=True)
        if f in EN_STOPWORDS and "v" not in c and "x" not in c and "n" not in c
    )
    if en_hits > vi_hits and en_hits / count >= 0.08:
        return "en"
    if vi_hits / count >= 0.08 or ratio >= 0.2:
        return "vi"
    return "other"
