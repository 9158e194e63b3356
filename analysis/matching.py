"""The matching form of a text: folded, teencode-resolved tokens with their spans.

"cô vít" -> "covid", "vắc-xin" -> "vacxin", "ko" -> "khong": what the Covid detector and the
known-claims matcher compare, never stored or shown; spans let a detector quote the words as
they were written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.folding import fold_diacritics

__all__ = [
    "DEFAULT_PHRASES",
    "DEFAULT_TEENCODE",
    "MATCH_WORD",
    "CanonForms",
    "CanonToken",
    "canonical_forms",
    "canonical_terms",
    "canonical_tokens",
    "words_and_folds",
]

#: A word of the matching form: letters and digits, no underscore.
MATCH_WORD = re.compile(r"[^\W_]+", re.UNICODE)

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


def words_and_folds(text: str) -> list[tuple[str, str]]:
    """(word as written, folded word) for each non-numeric word of ``text``."""
    folded = fold_diacritics(text, keep_length=True)
    return [
        (text[m.start() : m.end()], m.group())
        for m in MATCH_WORD.finditer(folded)
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
    folded = fold_diacritics(text, keep_length=True)
    raw = [(m.group(), m.start(), m.end()) for m in MATCH_WORD.finditer(folded)]
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
            self._spans = [m.span() for m in MATCH_WORD.finditer(self._folded)]
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
    folded = fold_diacritics(text, keep_length=True)
    words = MATCH_WORD.findall(folded)
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
                    spans = [m.span() for m in MATCH_WORD.finditer(folded)]
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
