"""Vietnamese text layer: normalisation, diacritics folding and segmentation.

Everything downstream (search, matching, models) sees text that went through
:func:`normalize_text` first, so "hoà"/"hòa" and composed/decomposed forms compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from analysis.crf_features import TemplateFeaturizer
from analysis.crfsuite_model import model_attributes

__all__ = [
    "DEFAULT_PHRASES",
    "DEFAULT_TABLE_MIN_CHARS",
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


def _fold_reference(text: str) -> str:
    """The definition of :func:`fold_diacritics`, walking every character in Python."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


#: Characters around which folding is not character by character: Greek (final sigma
#: lower-cases by context) and the scripts with a character of combining class 0 that
#: composes with the one before it under NFC (Hangul jamo, Brahmic two-part vowels, Tibetan,
#: Myanmar "ဦ"): stripping a mark between two such characters joins them. ``tests/test_text.py``
#: checks this list against the Unicode database.
_CONTEXT_FOLD = re.compile(
    "[\u0370-\u03ff\u0900-\u0dff\u0f00-\u109f\u1100-\u11ff\u1b00-\u1b7f"
    "\u1f00-\u1fff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff\U00011000-\U00011fff]"
)


class _FoldCache(dict):
    """``str.translate`` table filled on demand with the fold of each character."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_reference(chr(code))
        return folded


_FOLD_CACHE = _FoldCache()


def fold_diacritics(text: str) -> str:
    """Lower-case ``text`` and strip Vietnamese diacritics ("Đà Nẵng" -> "da nang").

    Character by character through a cached table (one C call) wherever that equals the
    definition (:func:`_fold_reference`, outside :data:`_CONTEXT_FOLD`): folding is on every
    post's hot path (signals, known claims), and the reference costs a Python step per
    character.
    """
    if text.isascii():
        return text.lower()
    if _CONTEXT_FOLD.search(text):
        return _fold_reference(text)
    return text.translate(_FOLD_CACHE)


def fold_each(words: Sequence[str]) -> list[str]:
    """``[fold_diacritics(w) for w in words]``, in one pass over them joined where it can.

    Folding is character by character outside :data:`_CONTEXT_FOLD`, so folding the words
    joined by line breaks and splitting there gives each word's fold; the known-claims
    prefilter folds every multi-syllable token of a post.
    """
    joined = "\n".join(words)
    if joined.count("\n") != len(words) - 1 or _CONTEXT_FOLD.search(joined):
        return [fold_diacritics(word) for word in words]
    folded = joined.lower() if joined.isascii() else joined.translate(_FOLD_CACHE)
    return folded.split("\n")


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


# ---------------------------------------------------------------------------
# Matching form: folded, teencode-resolved tokens with their spans in the text
# ---------------------------------------------------------------------------

_MATCH_WORD = re.compile(r"[^\W_]+", re.UNICODE)

#: Single tokens (already folded) that stand for another word in social-media writing.
DEFAULT_TEENCODE: dict[str, str] = {
    # Covid spellings and obfuscations
    "c0vid": "covid",
    "cov1d": "covid",
    "c0v1d": "covid",
    "covit": "covid",
    "covy": "covid",
    "covi": "covid",
    "coovid": "covid",
    "corana": "corona",
    "c0rona": "corona",
    "f0": "f0",
    # vaccine spellings
    "vaccine": "vacxin",
    "vaccines": "vacxin",
    "vacxin": "vacxin",
    "vacxine": "vacxin",
    "vaccin": "vacxin",
    "vacin": "vacxin",
    "vaxin": "vacxin",
    "vacine": "vacxin",
    # everyday teencode
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "hok": "khong",
    "hong": "khong",
    "kg": "khong",
    "khg": "khong",
    "dc": "duoc",
    "dk": "duoc",
    "duoc": "duoc",
    "vs": "voi",
    "ng": "nguoi",
    "j": "gi",
    "z": "vay",
    "bit": "biet",
    "bik": "biet",
    "mik": "minh",
    "mk": "minh",
    "r": "roi",
    "trc": "truoc",
    "cx": "cung",
    "tks": "cam on",
}

#: Token sequences (folded) merged into one canonical token; longest first wins.
DEFAULT_PHRASES: dict[tuple[str, ...], str] = {
    ("co", "vit"): "covid",
    ("co", "vid"): "covid",
    ("co", "vi"): "covid",
    ("covid", "19"): "covid19",
    ("covid19",): "covid19",
    ("c0vid", "19"): "covid19",
    ("sars", "cov", "2"): "sarscov2",
    ("sars", "cov2"): "sarscov2",
    ("sarscov", "2"): "sarscov2",
    ("sarscov2",): "sarscov2",
    ("vac", "xin"): "vacxin",
    ("vac", "xanh"): "vacxin",
    ("vac", "cin"): "vacxin",
    ("n", "cov"): "ncov",
    ("2019", "ncov"): "ncov",
    ("corona", "virus"): "virus corona",
    ("coronavirus",): "virus corona",
}


@dataclass(frozen=True)
class CanonToken:
    """One token of the matching form and the ``[start, end)`` span it came from."""

    form: str
    start: int
    end: int


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {code: chr(code + 32) for code in range(ord("A"), ord("Z") + 1)}
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        folded = fold_diacritics(chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    return table


#: Character-for-character folding, so spans in the folded text are spans in the original.
_FOLD_CHARS = _build_fold_table()


def _fold_same_length(text: str) -> str:
    """:func:`fold_diacritics` for NFC text, one character for one ("Đà Nẵng" -> "da nang")."""
    return text.translate(_FOLD_CHARS)


def _words_and_folds(text: str) -> list[tuple[str, str]]:
    """(word as written, folded word) for each non-numeric word of ``text``."""
    folded = _fold_same_length(text)
    return [
        (text[m.start() : m.end()], m.group())
        for m in _MATCH_WORD.finditer(folded)
        if not m.group().isdigit()
    ]


def _hyphen_joined(text: str, end: int, start: int) -> bool:
    """Whether two adjacent word tokens are separated by a single hyphen ("cô-vi")."""
    return text[end:start] in ("-", "‐", "–")


def canonical_tokens(
    text: str,
    *,
    teencode: dict[str, str] | None = None,
    phrases: dict[tuple[str, ...], str] | None = None,
) -> list[CanonToken]:
    """Fold, lower-case and resolve teencode/obfuscated spellings, keeping source spans.

    This is a *matching* form ("cô vít" -> "covid", "vắc-xin" -> "vacxin", "ko" -> "khong"),
    never stored or shown; spans let a detector quote the words as they were written.
    Phrase merges across a space only apply to the obfuscations listed in ``phrases``.
    """
    teencode = DEFAULT_TEENCODE if teencode is None else teencode
    phrases = DEFAULT_PHRASES if phrases is None else phrases
    folded = _fold_same_length(text)
    raw = [(m.group(), m.start(), m.end()) for m in _MATCH_WORD.finditer(folded)]
    out: list[CanonToken] = []
    i = 0
    max_n = max((len(key) for key in phrases), default=1)
    starters = _phrase_starters(phrases)
    while i < len(raw):
        if raw[i][0] not in starters:
            form, start, end = raw[i]
            out.append(CanonToken(teencode.get(form, form), start, end))
            i += 1
            continue
        merged = False
        for n in range(min(max_n, len(raw) - i), 0, -1):
            key = tuple(form for form, _, _ in raw[i : i + n])
            replacement = phrases.get(key)
            if replacement is None:
                continue
            # "co vi"/"co vit" are ordinary words ("có vị") unless hyphenated or
            # written with the Covid-mimicking diacritics ("cô vít", "cô vi").
            if key[0] == "co" and n == 2 and not _looks_like_co_vi(text, raw[i], raw[i + 1]):
                continue
            out.append(CanonToken(replacement, raw[i][1], raw[i + n - 1][2]))
            i += n
            merged = True
            break
        if merged:
            continue
        form, start, end = raw[i]
        out.append(CanonToken(teencode.get(form, form), start, end))
        i += 1
    return out


class CanonForms:
    """:func:`canonical_tokens` as plain strings: ``forms[k]`` is ``tokens[k].form``.

    A detector that matches on the joined forms and quotes only the few tokens it matched
    need not build a span object per word; spans are found from the folded text on demand.
    """

    __slots__ = ("_folded", "_merges", "_spans", "forms")

    def __init__(self, forms: list[str], folded: str, merges: list[tuple[int, int]]) -> None:
        self.forms = forms
        self._folded = folded
        #: (index in ``forms``, words merged into it) for each phrase merge, in order
        self._merges = merges
        self._spans: list[tuple[int, int]] | None = None

    def _word_spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = [m.span() for m in _MATCH_WORD.finditer(self._folded)]
        return self._spans

    def _words_of(self, index: int) -> tuple[int, int]:
        """Indices of the first and last word (as written) behind ``forms[index]``."""
        shift = 0
        for at, size in self._merges:
            if at > index:
                break
            if at == index:
                return index + shift, index + shift + size - 1
            shift += size - 1
        return index + shift, index + shift

    def span(self, first: int, last: int) -> tuple[int, int]:
        """``[start, end)`` in the text of tokens ``first`` to ``last`` (inclusive)."""
        spans = self._word_spans()
        return spans[self._words_of(first)[0]][0], spans[self._words_of(last)[1]][1]


def canonical_forms(
    text: str,
    *,
    teencode: dict[str, str] | None = None,
    phrases: dict[tuple[str, ...], str] | None = None,
) -> CanonForms:
    """The forms of :func:`canonical_tokens` without a per-word object (same merges)."""
    teencode = DEFAULT_TEENCODE if teencode is None else teencode
    phrases = DEFAULT_PHRASES if phrases is None else phrases
    folded = _fold_same_length(text)
    words = _MATCH_WORD.findall(folded)
    get = teencode.get
    forms = [get(w, w) for w in words]
    starters = _phrase_starters(phrases)
    if starters.isdisjoint(words):
        return CanonForms(forms, folded, [])
    max_n = max((len(key) for key in phrases), default=1)
    count = len(words)
    merges: list[tuple[int, int, str]] = []  # (word index, words merged, replacement)
    spans: list[tuple[int, int]] | None = None
    free = 0
    for i in [i for i, w in enumerate(words) if w in starters]:
        if i < free:
            continue
        for n in range(min(max_n, count - i), 0, -1):
            key = tuple(words[i : i + n])
            replacement = phrases.get(key)
            if replacement is None:
                continue
            if key[0] == "co" and n == 2:
                if spans is None:
                    spans = [m.span() for m in _MATCH_WORD.finditer(folded)]
                first = (words[i], *spans[i])
                second = (words[i + 1], *spans[i + 1])
                if not _looks_like_co_vi(text, first, second):
                    continue
            merges.append((i, n, replacement))
            free = i + n
            break
    if not merges:
        return CanonForms(forms, folded, [])
    out: list[str] = []
    positions: list[tuple[int, int]] = []
    previous = 0
    for i, n, replacement in merges:
        out.extend(forms[previous:i])
        positions.append((len(out), n))
        out.append(replacement)
        previous = i + n
    out.extend(forms[previous:])
    result = CanonForms(out, folded, positions)
    result._spans = spans
    return result


def _phrase_starters(phrases: dict[tuple[str, ...], str]) -> frozenset[str]:
    key = id(phrases)
    cached = _STARTERS.get(key)
    if cached is None or cached[0] is not phrases:
        cached = (phrases, frozenset(k[0] for k in phrases if k))
        _STARTERS[key] = cached
    return cached[1]


_STARTERS: dict[int, tuple[dict[tuple[str, ...], str], frozenset[str]]] = {}


def _looks_like_co_vi(text: str, first: tuple[str, int, int], second: tuple[str, int, int]) -> bool:
    if _hyphen_joined(text, first[2], second[1]):
        return True
    word1 = text[first[1] : first[2]].lower()
    word2 = text[second[1] : second[2]].lower()
    if word1 == "cô" and word2 in ("vít", "vi", "vid", "vy", "víd"):
        return True
    # typed without diacritics: "co vit"/"co vid" (but not "co vi", which is "có vị")
    return word1 == "co" and word2 in ("vit", "vid")


def canonical_terms(text: str) -> str:
    """The matching form of ``text`` as one space-separated string (see :func:`canonical_tokens`)."""
    return " ".join(token.form for token in canonical_tokens(text))


# ---------------------------------------------------------------------------
# Diacritics and language
# ---------------------------------------------------------------------------


_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


class _LetterCaseTable(dict):
    """``str.translate`` table: "U" for an upper-case letter, "l" for another, drop the rest."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        kind = self[code] = ("U" if char.isupper() else "l") if _LETTER.match(char) else None
        return kind


_LETTER_CASES = _LetterCaseTable()

#: Texts from this many characters on are classified through a :class:`_CodePointTable`;
#: below it, ``str.translate`` (no numpy call overheads) is faster.
DEFAULT_TABLE_MIN_CHARS = 96


class _CodePointTable:
    """One ASCII byte per code point, read for a whole text with one numpy gather.

    ``str.translate`` with a dict looks each non-ASCII character up in Python's dict (about
    50 ns each, a post's capitals and language cost ~0.1 ms); here the text's code points
    index a byte array. Bytes are filled on first sight by ``classify`` (0: not seen yet), so
    every text gets exactly the classes ``classify`` gives.
    """

    def __init__(self, classify: Callable[[str], str]) -> None:
        self._classify = classify
        self._table = np.zeros(0x110000, dtype=np.uint8)

    def classes(self, text: str) -> np.ndarray:
        """The class byte of each character of ``text``."""
        # surrogatepass: a str may hold lone surrogates, still one code unit each
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        found = self._table[codes]
        if not found.all():
            for code in np.unique(codes[found == 0]).tolist():
                self._table[code] = ord(self._classify(chr(code)))
            found = self._table[codes]
        return found

    def translate(self, text: str) -> str:
        """``text`` with each character replaced by its class."""
        return self.classes(text).tobytes().decode("ascii")


def _letter_case(char: str) -> str:
    return _LETTER_CASES[ord(char)] or "-"


_LETTER_CASE_BYTES = _CodePointTable(_letter_case)
_UPPER, _NOT_LETTER = ord("U"), ord("-")


def letter_counts(text: str) -> tuple[int, int]:
    """(letters, upper-case letters) in ``text``: what capital shares are made of.

    One pass over a per-character class (see :class:`_CodePointTable`) instead of a list of
    every letter: the claim classifier and the capitals signal both ask this of every post.
    """
    if len(text) < DEFAULT_TABLE_MIN_CHARS:
        letters = text.translate(_LETTER_CASES)
        return len(letters), letters.count("U")
    classes = _LETTER_CASE_BYTES.classes(text)
    upper = int(np.count_nonzero(classes == _UPPER))
    return len(text) - int(np.count_nonzero(classes == _NOT_LETTER)), upper


def diacritics_ratio(text: str) -> float:
    """Share of alphabetic words that carry a Vietnamese diacritic (0.0 when there are none).

    Vietnamese prose written normally scores about 0.5-0.8; text typed without
    diacritics ("dich covid o ha noi") scores near 0 and is matched in folded form.
    """
    marked, words = diacritics_counts(text)
    return marked / words if words else 0.0


class _WordClassTable(dict):
    """``str.translate`` table: each character's class in the words of :func:`_words_and_folds`.

    ``a`` ASCII letter, ``v`` non-ASCII letter that folds to ASCII (a diacritic), ``x`` other
    letter, ``n`` other word character (a numeral such as "½" or "Ⅻ": neither digit nor
    letter), ``d``/``D`` ASCII/other digit, space for what is not part of a word.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold_same_length(char)
        if not _MATCH_WORD.match(folded):
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
_WORD_CLASS_BYTES = _CodePointTable(lambda char: _WORD_CLASSES[ord(char)])


def _word_classes(text: str) -> str:
    """``text.translate(_WORD_CLASSES)``: one class letter per character."""
    if len(text) < DEFAULT_TABLE_MIN_CHARS:
        return text.translate(_WORD_CLASSES)
    return _WORD_CLASS_BYTES.translate(text)


def diacritics_counts(text: str) -> tuple[int, int]:
    """(words carrying a diacritic, words) as :func:`diacritics_ratio` counts them.

    Counted on a one-letter-per-character class string, whose words are its runs of
    letters: the known-claims matcher asks this of every sentence of a post. A run of
    digits only is a number (not a word); a word is marked when its letters are ASCII
    letters, digits and diacritic letters with at least one of the latter.
    """
    words = marked = 0
    for run in _word_classes(text).split():
        if run.strip("dD"):
            words += 1
            if "v" in run and not run.strip("adv"):
                marked += 1
    if not words:
        return 0, 0
    return marked, words


def _marked_share(pairs: list[tuple[str, str]]) -> float:
    if not pairs:
        return 0.0
    # a word with diacritics is non-ASCII as written and ASCII once folded
    marked = sum(1 for word, folded in pairs if not word.isascii() and folded.isascii())
    return marked / len(pairs)


_VI_STOPWORDS = frozenset(
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
_EN_STOPWORDS = frozenset(
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
    words = [run for run in _word_classes(text).split() if run.strip("dD")]
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
    # the folded words line up one for one with the class runs (as in _words_and_folds)
    folded = [f for f in _MATCH_WORD.findall(_fold_same_length(text)) if not f.isdigit()]
    vi_hits = sum(1 for f in folded if f in _VI_STOPWORDS)
    # a word written with diacritics is not an English stop word ("thế" is not "the"):
    # as written it is ASCII only when its classes are all "a"/"d"
    en_hits = sum(
        1
        for f, c in zip(folded, words, strict=True)
        if f in _EN_STOPWORDS and "v" not in c and "x" not in c and "n" not in c
    )
    if en_hits > vi_hits and en_hits / count >= 0.08:
        return "en"
    if vi_hits / count >= 0.08 or ratio >= 0.2:
        return "vi"
    return "other"


# ---------------------------------------------------------------------------
# Named entities on already-segmented tokens
# ---------------------------------------------------------------------------

_POS_TEMPLATE = [
    "T[-2].lower", "T[-1].lower", "T[0].lower", "T[1].lower", "T[2].lower",
    "T[0].istitle", "T[-1].istitle", "T[1].istitle",
    "T[-2]", "T[-1]", "T[0]", "T[1]", "T[2]",
    "T[-2,-1]", "T[-1,0]", "T[0,1]", "T[1,2]",
    "T[-3][1]", "T[-2][1]", "T[-1][1]",
    "T[-3,-2][1]", "T[-2,-1][1]",
]  # fmt: skip
_CHUNK_TEMPLATE = [
    "T[-2].lower", "T[-1].lower", "T[0].lower", "T[1].lower", "T[2].lower",
    "T[0].istitle", "T[-1].istitle", "T[1].istitle",
    "T[-2]", "T[-1]", "T[0]", "T[1]", "T[2]",
    "T[-2,-1]", "T[-1,0]", "T[0,1]", "T[1,2]",
    "T[-2][1]", "T[-1][1]", "T[0][1]", "T[1][1]", "T[2][1]",
    "T[-2,-1][1]", "T[-1,0][1]", "T[0,1][1]", "T[1,2][1]",
    "T[-3][2]", "T[-2][2]", "T[-1][2]",
]  # fmt: skip
_NER_TEMPLATE = [
    "T[-2].lower", "T[-1].lower", "T[0].lower", "T[1].lower", "T[2].lower",
    "T[0].istitle", "T[-1].istitle", "T[1].istitle", "T[-2].istitle", "T[2].istitle",
    "T[-2]", "T[-1]", "T[0]", "T[1]", "T[2]",
    "T[-2,-1]", "T[-1,0]", "T[0,1]", "T[1,2]",
    "T[-2][1]", "T[-1][1]", "T[0][1]", "T[1][1]", "T[2][1]",
    "T[-2,-1][1]", "T[-1,0][1]", "T[0,1][1]", "T[1,2][1]",
    "T[-3][3]", "T[-2][3]", "T[-1][3]",
]  # fmt: skip

#: Sentence-final tokens: NER runs sentence by sentence, as underthesea's models were trained.
_SENTENCE_END = frozenset({".", "!", "?", "…", "...", "!!!", "?!"})


@dataclass(frozen=True)
class Entity:
    """A named entity: surface text and type (PER, LOC, ORG, MISC)."""

    text: str
    type: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "type": self.type}


class _CrfStage:
    """One of underthesea's CRF taggers (POS, chunk, NER) run on tokens we already have.

    underthesea's own ``ner()`` re-tokenises its input and builds features in Python in
    time quadratic in sentence length; the same model files with the same feature
    templates run here on our tokens, giving the same tags. Features come from
    :class:`~analysis.crf_features.TemplateFeaturizer` (strings cached per word), only those
    the model knows.
    """

    def __init__(self, model_file: str, template: list[str]) -> None:
        from underthesea_core import CRFTagger

        self._tagger = CRFTagger()
        self._tagger.load(model_file)
        with open(model_file, "rb") as handle:  # the file the tagger just read (no new input)
            known = model_attributes(handle.read())
        self.featurizer = TemplateFeaturizer(template, known=known, reference_lower=_rust_lower)

    def tag(self, columns: list[list[str]]) -> list[str]:
        """Tags of one sentence given as columns: words (see :func:`_safe_word`), then tags."""
        return list(self._tagger.tag(self.featurizer.features(columns)))


@lru_cache(maxsize=1)
def _rust_lowerer():  # -> underthesea_core.CRFFeaturizer (untyped extension)
    """A one-entry featurizer, for the rare words Python's Unicode tables cannot lower-case."""
    from underthesea_core import CRFFeaturizer

    return CRFFeaturizer(["T[0].lower"], set())


def _rust_lower(word: str) -> str:
    """``word`` lower-cased by underthesea's Rust featurizer (its Unicode version)."""
    feature = _rust_lowerer().process([[[word]]])[0][0][0]
    return feature[len("T[0].lower=") :]


def _safe_word(word: str) -> str:
    # features are built from single-spaced syllables, and an empty word would be no token
    return " ".join(word.split()) or "_"


@lru_cache(maxsize=1)
def _ner_stages() -> tuple[_CrfStage, _CrfStage, _CrfStage]:
    from pathlib import Path

    import underthesea.pipeline as pipeline

    base = Path(pipeline.__file__).resolve().parent
    return (
        _CrfStage(str(base / "pos_tag" / "pos_crf_2017_10_11.bin"), _POS_TEMPLATE),
        _CrfStage(str(base / "chunking" / "chunk_crf_2017_10_12.bin"), _CHUNK_TEMPLATE),
        _CrfStage(str(base / "ner" / "ner_crf_2017_10_12.bin"), _NER_TEMPLATE),
    )


def tag_entities(tokens: list[str]) -> list[tuple[str, str, str, str]]:
    """(word, POS, chunk, NER) rows for one sentence of tokens, like ``underthesea.ner``.

    ``tokens`` are words as ``word_tokenize`` returns them (syllables joined by spaces).
    """
    if not tokens:
        return []
    pos, chunks, ner = _tag_columns(tokens, chunk=True)
    return list(zip(tokens, pos, chunks, ner, strict=True))


def _tag_columns(tokens: list[str], *, chunk: bool) -> tuple[list[str], list[str], list[str]]:
    """POS, chunk and NER tags of one sentence, each stage reading the tags before it.

    Without ``chunk`` the chunk tags are placeholders: the NER template reads words, POS and
    its own column only, so named entities do not need the chunk tagger (a third of the cost).
    """
    pos_stage, chunk_stage, ner_stage = _ner_stages()
    words = [_safe_word(token) for token in tokens]
    filler = ["X"] * len(words)
    pos = pos_stage.tag([words, filler])
    if chunk or _CHUNK_COLUMN in ner_stage.featurizer.columns:
        chunks = chunk_stage.tag([words, pos, filler])
    else:
        chunks = filler
    return pos, chunks, ner_stage.tag([words, pos, chunks, filler])


#: Column of the chunk tags in the NER stage's rows (word, POS, chunk, NER).
_CHUNK_COLUMN = 2


def sentences_of_tokens(tokens: list[str]) -> list[list[str]]:
    """Cut a token list at sentence-final punctuation."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for token in tokens:
        current.append(token)
        if token in _SENTENCE_END:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def extract_entities(tokens: list[str]) -> list[Entity]:
    """Named entities in ``tokens`` (underthesea CRF NER), in order of first appearance.

    ``tokens`` are words as :func:`tokenize_words` returns them (syllables joined by spaces).
    Callers choose how much text to pass: NER costs a few times tokenisation per token,
    so the analysis entry point feeds it the title and lead sentences only.
    """
    found: dict[tuple[str, str], Entity] = {}
    for sentence in sentences_of_tokens(tokens):
        span: list[str] = []
        span_type = ""
        tags = _tag_columns(sentence, chunk=False)[2]
        for word, tag in [*zip(sentence, tags, strict=True), ("", "O")]:
            if tag.startswith("I-") and span and tag[2:] == span_type:
                span.append(word)
                continue
            if span:
                entity = Entity(" ".join(span), span_type)
                found.setdefault((entity.text, entity.type), entity)
                span = []
            if tag.startswith(("B-", "I-")):
                span, span_type = [word], tag[2:]
    return list(found.values())
