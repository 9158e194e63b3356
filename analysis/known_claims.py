"""Known false claims: record validation and a matcher that works on meaning-ish overlap.

A record (one line of ``config/known_false_claims.jsonl``)::

    {"id": "salt-water-gargle", "claim": "...", "verdict": "false" | "misleading",
     "source": "who refuted it", "source_url": "optional", "date": "YYYY-MM-DD",
     "aliases": ["paraphrases", ...], "keywords": ["nước muối", "covid|cô vít|corona", ...]}

Each keyword is a concept group: alternatives separated by ``|``. They are compared as written
(lower-cased) when the text carries diacritics, and folded when it was typed without them.

The bundled file is seeded with Covid-era rumours that Vietnamese authorities (Bộ Y tế, the
Trung tâm Xử lý tin giả Việt Nam (VAFC), Bộ Thông tin và Truyền thông) and the WHO publicly
refuted. ``source`` names the kind of authority, no ``source_url`` is given unless verified, and
seeded dates have month precision (day ``01``: the month the rumour circulated and was refuted).
Analyst decisions append lines with :func:`append_known_claim`. Records (validation and the
JSONL line) live in :mod:`analysis.known_claim_records`; this module matches text against them
and re-exports the record names.

Similarity of a text unit (a sentence, a pair of sentences or the title) to a claim:

* ``char``: cosine of character 2-4 gram TF-IDF vectors of the folded text (near-duplicates,
  spelling variants; "nuoc muoi" and "nước muối" agree);
* ``words``: share of the claim's content words and syllables present in the unit (as written,
  or folded for text without diacritics);
* ``keywords``: share of the claim's keyword groups present in the unit (the "meaning" part:
  "uống nước muối ấm giúp chữa khỏi cô vít" hits the salt-water, cure and Covid groups).

``similarity = 0.35 char + 0.25 words + 0.40 keywords``, scaled by 0.6 when a keyword group is
missing, so a sentence that shares only the topic ("Bộ Y tế khuyến cáo rửa tay...") stays low.
Keyword groups spread over more than 80 characters count less, and units longer than 30
syllables are damped by ``sqrt(30 / syllables)``: long news sentences share words with anything.
A unit that itself refutes the claim ("... là tin giả") has its similarity halved, so it is
usually not reported at all (and marked ``refuted_in_text`` when it still is): fact-checks quote
the rumours they debunk.

Size: one algorithm (text units, the cheap prefilter bound and the full similarity must
agree, and the bound is proved against the similarity), so it stays in one module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from analysis.known_claim_records import (
    VERDICTS,
    KnownClaim,
    KnownClaimError,
    append_known_claim,
    parse_known_claim,
)
from analysis.text import (
    diacritics_counts,
    diacritics_ratio,
    fold_diacritics,
    fold_each,
    segment_words,
)

__all__ = [
    "DEFAULT_MATCH_MIN_SIMILARITY",
    "VERDICTS",
    "ClaimMatch",
    "KnownClaim",
    "KnownClaimError",
    "KnownClaimIndex",
    "TextUnit",
    "append_known_claim",
    "parse_known_claim",
    "text_units",
]

DEFAULT_MATCH_MIN_SIMILARITY = 0.45
DEFAULT_CHAR_WEIGHT = 0.35
DEFAULT_WORD_WEIGHT = 0.25
DEFAULT_KEYWORD_WEIGHT = 0.40
DEFAULT_PARTIAL_KEYWORD_FACTOR = 0.6
DEFAULT_REFUTED_FACTOR = 0.5
DEFAULT_PAIR_MAX_SYLLABLES = 40
DEFAULT_LONG_UNIT_SYLLABLES = 30
DEFAULT_KEYWORD_SPAN_CHARS = 80
DEFAULT_ACCENTED_RATIO = 0.15
#: Margin on the prefilter's bound for float32 character similarities a hair above 1.
_BOUND_SLACK = 1e-6
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")
_SYLLABLE = re.compile(r"\w+", re.UNICODE)
# Everything but letters and digits ("_" joins multi-syllable tokens): word tokens are aligned
# with their sentences by counting letters and digits, which survives the tokenizer splitting
# "65ha" into "65" "ha" or joining "nước muối" into "nước_muối".
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
_SENTENCE_PUNCT = {".", "!", "?", "…", ";", "..."}

#: Folded function words ignored by the word-overlap part.
STOPWORDS = frozenset(
    [
        "la",
        "va",
        "cua",
        "co",
        "cac",
        "nhung",
        "mot",
        "duoc",
        "cho",
        "voi",
        "trong",
        "nay",
        "do",
        "thi",
        "ma",
        "de",
        "khi",
        "se",
        "da",
        "dang",
        "bi",
        "tai",
        "ve",
        "tu",
        "nhu",
        "cung",
        "rat",
        "hay",
        "hoac",
        "neu",
        "vi",
        "o",
        "ra",
        "len",
        "nhieu",
        "nen",
        "theo",
        "sau",
        "truoc",
        "hon",
        "moi",
        "ai",
        "gi",
        "nao",
        "the",
        "con",
        "chi",
        "lai",
        "dieu",
        "viec",
        "cai",
        "nguoi",
        "ban",
        "minh",
        "toi",
        "chung",
        "ta",
        "ho",
        "no",
        "ay",
        "kia",
        "day",
    ]
)

#: Folded phrases showing the unit refutes rather than spreads a claim.
REFUTING_CUES = tuple(
    fold_diacritics(cue)
    for cue in (
        "tin giả",
        "sai sự thật",
        "thông tin sai",
        "không có cơ sở",
        "không có căn cứ",
        "bác bỏ",
        "không có tác dụng",
        "không thể chữa",
        "không chữa được",
        "không giúp",
        "chưa có bằng chứng",
        "không có bằng chứng",
        "không đúng sự thật",
        "bịa đặt",
        "xuyên tạc",
        "đã bị xử phạt",
        "tin đồn thất thiệt",
        "tung tin sai",
        "tin sai lệch",
        "xử phạt",
    )
)


@dataclass(frozen=True, slots=True)
class TextUnit:
    """A sentence (or two, or the title) of a post, in the forms matching needs.

    ``accented`` says the unit is written with diacritics: its words are then compared as
    written (lower-cased), because folding makes short words ambiguous ("tỏi" garlic vs
    "tôi" I, "nắng" sun vs "nặng" heavy). Text typed without diacritics is compared folded.
    """

    text: str
    folded: str
    lowered: str
    accented: bool
    terms: frozenset[str]
    syllables: int


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    claim: KnownClaim
    similarity: float
    evidence: str
    refuted_in_text: bool = False
    parts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        result = {
            "id": self.claim.id,
            "claim": self.claim.claim,
            "similarity": round(self.similarity, 4),
            "verdict": self.claim.verdict,
            "source": self.claim.source,
            "date": self.claim.date,
            "evidence": self.evidence,
            "refuted_in_text": self.refuted_in_text,
            "parts": {name: round(value, 4) for name, value in self.parts.items()},
        }
        if self.claim.source_url:
            result["source_url"] = self.claim.source_url
        return result


@lru_cache(maxsize=65536)
def _is_stopword(syllable: str) -> bool:
    """Whether a syllable folds to a stopword (cached: posts reuse a few thousand syllables)."""
    return fold_diacritics(syllable) in STOPWORDS


def _terms(text: str, words: Sequence[str] | None, *, fold: bool) -> frozenset[str]:
    """Content syllables plus multi-syllable words ("_"-joined) of a piece of text."""
    form = fold_diacritics if fold else str.lower
    terms = {s for s in _SYLLABLE.findall(form(text)) if not _is_stopword(s)}
    for word in words or ():
        if "_" in word and _SYLLABLE.search(word):
            terms.add(form(word))
    return frozenset(terms)


def _unit(text: str, words: Sequence[str] | None) -> TextUnit:
    accented = diacritics_ratio(text) >= DEFAULT_ACCENTED_RATIO
    return TextUnit(
        text=text,
        folded=fold_diacritics(text),
        lowered=text.lower(),
        accented=accented,
        terms=_terms(text, words, fold=not accented),
        syllables=len(_SYLLABLE.findall(text)),
    )


def _split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _sentence_words(sentences: list[str], tokens: Sequence[str]) -> list[list[str]] | None:
    """Give each sentence its word tokens, aligned by letter counts; ``None`` if they differ."""
    counts = [len(_NOT_ALNUM.sub("", sentence)) for sentence in sentences]
    token_counts = [len(_NOT_ALNUM.sub("", token)) for token in tokens]
    if sum(counts) != sum(token_counts):
        return None
    result: list[list[str]] = []
    position = 0
    for needed in counts:
        words: list[str] = []
        taken = 0
        while taken < needed and position < len(tokens):
            words.append(tokens[position])
            taken += token_counts[position]
            position += 1
        result.append(words)
    return result


def text_units(text: str, title: str = "", tokens: Sequence[str] | None = None) -> list[TextUnit]:
    """Sentences of ``text``, adjacent short sentence pairs, and the title, as match units.

    ``tokens`` are the text's word tokens (underthesea, "_"-joined); without them, units use
    syllables only. Text is expected normalised (:func:`analysis.text.normalize_text`).
    """
    sentences = _split_sentences(text)
    words = _sentence_words(sentences, tokens) if tokens else None
    units: list[TextUnit] = []
    if title.strip():
        units.append(_unit(title, None))
    for index, sentence in enumerate(sentences):
        units.append(_unit(sentence, words[index] if words else None))
    for index in range(len(sentences) - 1):
        pair = f"{sentences[index]} {sentences[index + 1]}"
        if len(_SYLLABLE.findall(pair)) <= DEFAULT_PAIR_MAX_SYLLABLES:
            units.append(_unit(pair, (words[index] + words[index + 1]) if words else None))
    return units


@dataclass(frozen=True)
class _AlternativeIndex:
    """Every keyword group's alternatives in one form (as written or folded), for the prefilter.

    An alternative can only match where all of its words occur as whole words. Each is filed
    under its longest word, so the groups that may occur in a text are found from the few
    filed words the text has, instead of testing every group of every claim.
    """

    #: groups with an alternative that has no word to require: it may match anywhere
    always: frozenset[int]
    by_word: dict[str, tuple[tuple[int, frozenset[str]], ...]]
    keys: frozenset[str]

    @classmethod
    def of(cls, groups: Sequence[Iterable[str]]) -> _AlternativeIndex:
        """Index of the groups (numbered by position), each given as its alternatives."""
        by_word: dict[str, list[tuple[int, frozenset[str]]]] = {}
        always: set[int] = set()
        for number, alternatives in enumerate(groups):
            for alternative in alternatives:
                words = frozenset(_SYLLABLE.findall(alternative))
                if not words:
                    always.add(number)
                    continue
                key = max(sorted(words), key=len)
                by_word.setdefault(key, []).append((number, words))
        frozen = {word: tuple(runs) for word, runs in by_word.items()}
        return cls(frozenset(always), frozen, frozenset(frozen))

    def occurring(self, words: frozenset[str]) -> set[int]:
        """The groups that may occur in a text whose word runs are ``words``."""
        found = set(self.always)
        by_word = self.by_word
        for key in self.keys & words:
            for number, alternative in by_word[key]:
                if number not in found and alternative <= words:
                    found.add(number)
        return found


@dataclass(frozen=True)
class _KeywordGroup:
    accented: re.Pattern[str]
    folded: re.Pattern[str]
    #: the alternatives as written (lower-cased) and folded (the prefilter indexes them)
    alternatives: tuple[str, ...]
    folded_alternatives: tuple[str, ...]

    @classmethod
    def parse(cls, group: str) -> _KeywordGroup:
        alternatives = [alt.strip().lower() for alt in group.split("|") if alt.strip()]
        folded = [fold_diacritics(a) for a in alternatives]
        return cls(
            _alternation(alternatives), _alternation(folded), tuple(alternatives), tuple(folded)
        )

    def find(self, unit: TextUnit) -> int | None:
        """Where the group first occurs in the unit (character offset), if it does."""
        found = (self.accented.search(unit.lowered) if unit.accented else None) or (
            self.folded.search(unit.folded) if not unit.accented else None
        )
        return found.start() if found else None


def _alternation(alternatives: list[str]) -> re.Pattern[str]:
    body = "|".join(re.escape(alt).replace(r"\ ", r"\W+") for alt in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


def _keyword_score(groups: Sequence[_KeywordGroup], unit: TextUnit) -> float:
    """Share of groups present, scaled down when they are spread over a long stretch."""
    positions = [pos for group in groups if (pos := group.find(unit)) is not None]
    if not positions:
        return 0.0
    share = len(positions) / len(groups)
    spread = max(positions) - min(positions)
    if spread > DEFAULT_KEYWORD_SPAN_CHARS:
        share *= DEFAULT_KEYWORD_SPAN_CHARS / spread
    return share


def _similarity(groups: Sequence[_KeywordGroup], char: float, words: float, hits: float) -> float:
    """The weighted similarity before the length and refutation factors (module docstring)."""
    if not groups:
        return (DEFAULT_CHAR_WEIGHT * char + DEFAULT_WORD_WEIGHT * words) / (
            DEFAULT_CHAR_WEIGHT + DEFAULT_WORD_WEIGHT
        )
    similarity = DEFAULT_CHAR_WEIGHT * char + DEFAULT_WORD_WEIGHT * words
    similarity += DEFAULT_KEYWORD_WEIGHT * hits
    return similarity * DEFAULT_PARTIAL_KEYWORD_FACTOR if hits < 1 else similarity


def _bound(groups: Sequence[_KeywordGroup], words: float, hits: float) -> float:
    """:func:`_similarity` at character similarity 1: the prefilter's upper bound."""
    return _similarity(groups, 1.0, words, hits)


@dataclass
class _Reference:
    claim_index: int
    text: str
    accented_terms: frozenset[str]
    folded_terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Side:
    """What the units of a post compared in one form could offer: the prefilter's bounds.

    Units written with diacritics (``accented``) are compared as written, lower-cased, and
    the others folded (:class:`TextUnit`), so each form gets its own bound: a post written
    with diacritics never offers "toi" (folded "tỏi", garlic) to a claim because it says
    "tôi" (I). ``words`` are the word runs of the units of this form (a keyword alternative
    matches a unit only where its words are whole words of the unit); ``terms`` adds their
    multi-syllable word tokens. ``tokens_known`` is False when no word tokens were given:
    any multi-syllable term of a claim may then be present.
    """

    accented: bool
    words: frozenset[str]
    terms: frozenset[str]
    tokens_known: bool = True

    def word_share(self, reference: _Reference) -> float:
        """Upper bound of the ``words`` part of any unit of this form for a reference."""
        reference_terms = reference.accented_terms if self.accented else reference.folded_terms
        present = len(reference_terms & self.terms)
        if not self.tokens_known:
            present += sum(1 for t in reference_terms if "_" in t and t not in self.terms)
        return present / max(1, len(reference_terms))


def _side(accented: bool, texts: list[str], tokens: Iterable[str], tokens_known: bool) -> _Side:
    joined = "\n".join(texts)
    form = str.lower if accented else fold_diacritics
    words = frozenset(_SYLLABLE.findall(form(joined)))
    tokens = list(tokens)
    forms = [t.lower() for t in tokens] if accented else fold_each(tokens)
    return _Side(accented, words, words.union(forms), tokens_known)


@dataclass(frozen=True, slots=True)
class _UnitShape:
    """What the prefilter needs of one unit :func:`text_units` would build: its text, form
    and syllable count (which sets the long-unit damping of :meth:`KnownClaimIndex.match`)."""

    text: str
    accented: bool
    syllables: int
    #: the sentences (or title) the unit is made of: a pair's words are its two sentences'
    parts: tuple[str, ...]


def _unit_shapes(text: str, title: str) -> list[_UnitShape]:
    """The units :func:`text_units` would build, without their terms and folded forms.

    Whether a unit is accented needs only its counts of words and of words with diacritics,
    which add up over the two sentences of a pair (as do syllables).
    """
    sentences = _split_sentences(text)
    counts = [diacritics_counts(sentence) for sentence in sentences]
    syllables = [len(_SYLLABLE.findall(sentence)) for sentence in sentences]
    shapes: list[_UnitShape] = []
    if title.strip():
        shapes.append(
            _UnitShape(
                title,
                _accented(*diacritics_counts(title)),
                len(_SYLLABLE.findall(title)),
                (title,),
            )
        )
    for sentence, count, syllable_count in zip(sentences, counts, syllables, strict=True):
        shapes.append(_UnitShape(sentence, _accented(*count), syllable_count, (sentence,)))
    for index in range(len(sentences) - 1):
        pair_syllables = syllables[index] + syllables[index + 1]
        if pair_syllables <= DEFAULT_PAIR_MAX_SYLLABLES:
            pair = _accented(
                counts[index][0] + counts[index + 1][0], counts[index][1] + counts[index + 1][1]
            )
            parts = (sentences[index], sentences[index + 1])
            shapes.append(_UnitShape(" ".join(parts), pair, pair_syllables, parts))
    return shapes


def _sides_of_shapes(shapes: Sequence[_UnitShape], tokens: Sequence[str] | None) -> list[_Side]:
    """The sides of the units :func:`text_units` would build (the post-level bound)."""
    joined = [t for t in tokens or () if "_" in t]
    known = tokens is not None
    sides: list[_Side] = []
    for accented in (True, False):
        # each sentence once: a pair offers no word its two sentences do not
        texts = list(
            dict.fromkeys(
                part for shape in shapes if shape.accented == accented for part in shape.parts
            )
        )
        if texts:
            sides.append(_side(accented, texts, joined, known))
    return sides


def _sides_of_text(text: str, title: str, tokens: Sequence[str] | None) -> list[_Side]:
    """The sides of the units :func:`text_units` would build, without building them."""
    return _sides_of_shapes(_unit_shapes(text, title), tokens)


def _accented(marked: int, words: int) -> bool:
    """:func:`_unit`'s test, from :func:`analysis.text.diacritics_counts`."""
    return (marked / words if words else 0.0) >= DEFAULT_ACCENTED_RATIO


def _sides_of_units(units: Sequence[TextUnit]) -> list[_Side]:
    sides: list[_Side] = []
    for accented in (True, False):
        chosen = [unit for unit in units if unit.accented == accented]
        if chosen:
            words: set[str] = set()
            for unit in chosen:
                words.update(_SYLLABLE.findall(unit.lowered if accented else unit.folded))
            terms = words.union(*(unit.terms for unit in chosen))
            sides.append(_Side(accented, frozenset(words), frozenset(terms)))
    return sides


class KnownClaimIndex:
    """Known claims ready for matching; rebuild it whenever the claims file changes."""

    def __init__(self, claims: Sequence[KnownClaim]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.claims = list(claims)
        self._references: list[_Reference] = []
        for index, claim in enumerate(self.claims):
            for text in (claim.claim, *claim.aliases):
                words = segment_words(text)
                self._references.append(
                    _Reference(
                        index, text, _terms(text, words, fold=False), _terms(text, words, fold=True)
                    )
                )
        self._keywords = [[_KeywordGroup.parse(group) for group in c.keywords] for c in self.claims]
        # the prefilter numbers every claim's keyword groups in one sequence
        flat = [group for groups in self._keywords for group in groups]
        self._alternatives = {
            True: _AlternativeIndex.of([group.alternatives for group in flat]),
            False: _AlternativeIndex.of([group.folded_alternatives for group in flat]),
        }
        self._group_numbers: list[range] = []
        for groups in self._keywords:
            start = sum(map(len, self._group_numbers))
            self._group_numbers.append(range(start, start + len(groups)))
        self._claim_of_group = [i for i, numbers in enumerate(self._group_numbers) for _ in numbers]
        #: each claim's bound when none of its keyword groups occurs
        self._bound_without_keywords = [_bound(groups, 1.0, 0.0) for groups in self._keywords]
        self._claim_references: list[list[_Reference]] = [[] for _ in self.claims]
        for reference in self._references:
            self._claim_references[reference.claim_index].append(reference)
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32
        )
        if self._references:
            self._matrix = self._vectorizer.fit_transform(
                [fold_diacritics(reference.text) for reference in self._references]
            )

    @classmethod
    def from_records(cls, records: Iterable[dict | KnownClaim]) -> KnownClaimIndex:
        """Build from raw records (validated here) or parsed claims; ids must be unique."""
        claims = [r if isinstance(r, KnownClaim) else parse_known_claim(r) for r in records]
        seen: set[str] = set()
        for claim in claims:
            if claim.id in seen:
                raise KnownClaimError(f"duplicate id: {claim.id}")
            seen.add(claim.id)
        return cls(claims)

    def __len__(self) -> int:
        return len(self.claims)

    @property
    def ids(self) -> list[str]:
        return [claim.id for claim in self.claims]

    def match(
        self,
        units: Sequence[TextUnit],
        *,
        min_similarity: float = DEFAULT_MATCH_MIN_SIMILARITY,
    ) -> list[ClaimMatch]:
        """Best unit per claim whose similarity reaches ``min_similarity``, best first.

        A post whose title or any sentence refutes ("tin giả", "sai sự thật", "bị xử phạt"...)
        is reporting on rumours, not spreading them: news of a fine for a false post quotes the
        rumour in one sentence and calls it false in another. Every unit of such a post counts
        as refuting.
        """
        if not units or not self._references:
            return []
        candidates = self._candidates(_sides_of_units(units), min_similarity)
        return self._match_units(units, candidates, min_similarity) if candidates else []

    def match_text(
        self,
        text: str,
        title: str = "",
        tokens: Sequence[str] | None = None,
        *,
        min_similarity: float = DEFAULT_MATCH_MIN_SIMILARITY,
        tokenize: Callable[[str], Sequence[str]] | None = None,
    ) -> list[ClaimMatch]:
        """``match(text_units(text, title, tokens))``, building the units only when needed.

        Most posts repeat no known claim, and a cheap post-level bound (keyword groups and
        claim words present anywhere in the post) shows it before any unit is built. Without
        ``tokens``, ``tokenize(text)`` (if given) supplies them, and only for a post that
        passes that bound.
        """
        if not self._references or not (text.strip() or title.strip()):
            return []
        shapes = _unit_shapes(text, title)
        candidates = self._candidates(_sides_of_shapes(shapes, tokens), min_similarity)
        if candidates:
            candidates = self._unit_candidates(shapes, tokens, candidates, min_similarity)
        if not candidates:
            return []
        if tokens is None and tokenize is not None:
            tokens = tokenize(text)
        units = text_units(text, title, tokens)
        return self._match_units(units, candidates, min_similarity) if units else []

    def match_units(
        self, units: Sequence[TextUnit], *, min_similarity: float = DEFAULT_MATCH_MIN_SIMILARITY
    ) -> list[ClaimMatch]:
        """Every unit against every claim, without the prefilter: what :meth:`match_text`
        must return (slower; for evaluation and checks)."""
        return self._match_units(units, set(range(len(self.claims))), min_similarity)

    def _candidates(self, sides: Sequence[_Side], min_similarity: float) -> set[int]:
        """Claims some unit of the post could match at ``min_similarity`` (a sound superset).

        For each form its units are compared in, the bound takes the character similarity
        as 1, the word share over all units of that form and the share of keyword groups
        that may occur in one of them. Keyword groups are tested first: word shares (one set
        intersection per claim text) are computed only where they can decide.
        """
        candidates: set[int] = set()
        for side in sides:
            occurring = self._alternatives[side.accented].occurring(side.words)
            for index in self._examined(occurring, min_similarity):
                groups = self._keywords[index]
                if index in candidates:
                    continue
                hits = self._group_share(index, occurring)
                if _bound(groups, 1.0, hits) + _BOUND_SLACK < min_similarity:
                    continue
                if not _bound(groups, 0.0, hits) + _BOUND_SLACK >= min_similarity:
                    words = max(side.word_share(r) for r in self._claim_references[index])
                    if _bound(groups, words, hits) + _BOUND_SLACK < min_similarity:
                        continue
                candidates.add(index)
        return candidates

    def _examined(self, occurring: set[int], min_similarity: float) -> set[int]:
        """The claims worth bounding: those with a keyword group in ``occurring``, and those
        whose bound reaches ``min_similarity`` with none of their groups present (the others
        have a keyword share of 0 and would fall short)."""
        chosen = {self._claim_of_group[number] for number in occurring}
        chosen.update(
            index
            for index, bound in enumerate(self._bound_without_keywords)
            if bound + _BOUND_SLACK >= min_similarity
        )
        return chosen

    def _group_share(self, index: int, occurring: set[int]) -> float:
        """Share of claim ``index``'s keyword groups among the ``occurring`` ones."""
        numbers = self._group_numbers[index]
        return sum(1 for n in numbers if n in occurring) / len(numbers) if numbers else 0.0

    def _unit_candidates(
        self,
        shapes: Sequence[_UnitShape],
        tokens: Sequence[str] | None,
        candidates: set[int],
        min_similarity: float,
    ) -> set[int]:
        """The ``candidates`` that some single unit could match (a sound subset of them).

        The post-level bound lets long posts through whose claim words are spread over the
        whole post; a unit only offers its own words, and its long-unit damping applies. Each
        unit's bound takes the character similarity as 1, its word runs plus all of the
        post's multi-syllable tokens as its terms, and the share of keyword groups that may
        occur in it.
        """
        joined = [t for t in tokens or () if "_" in t]
        known = tokens is not None
        token_forms: dict[bool, frozenset[str]] = {}
        # word runs of each sentence in each form, found once: a pair's are its sentences'
        part_words: dict[tuple[str, bool], frozenset[str]] = {}
        remaining = set(candidates)
        kept: set[int] = set()
        for shape in shapes:
            if not remaining:
                break
            factor = min(1.0, (DEFAULT_LONG_UNIT_SYLLABLES / max(1, shape.syllables)) ** 0.5)
            accented = shape.accented
            form = str.lower if accented else fold_diacritics
            for part in shape.parts:
                if (part, accented) not in part_words:
                    part_words[(part, accented)] = frozenset(_SYLLABLE.findall(form(part)))
            words = frozenset().union(*(part_words[(part, accented)] for part in shape.parts))
            if accented not in token_forms:
                forms = [t.lower() for t in joined] if accented else fold_each(joined)
                token_forms[accented] = frozenset(forms)
            side = _Side(accented, words, words | token_forms[accented], known)
            occurring = self._alternatives[shape.accented].occurring(words)
            for index in remaining.intersection(self._examined(occurring, min_similarity)):
                groups = self._keywords[index]
                hits = self._group_share(index, occurring)
                if _bound(groups, 1.0, hits) * factor + _BOUND_SLACK < min_similarity:
                    continue
                share = max(side.word_share(r) for r in self._claim_references[index])
                if _bound(groups, share, hits) * factor + _BOUND_SLACK < min_similarity:
                    continue
                kept.add(index)
                remaining.discard(index)
        return kept

    def _match_units(
        self, units: Sequence[TextUnit], candidates: set[int], min_similarity: float
    ) -> list[ClaimMatch]:
        """The full similarity of every unit against the references of ``candidates``."""
        columns = [i for i, r in enumerate(self._references) if r.claim_index in candidates]
        post_refutes = any(cue in unit.folded for unit in units for cue in REFUTING_CUES)
        # everything but the character similarity first: a (unit, reference) pair that cannot
        # reach the threshold even at char similarity 1 needs no character vectors at all
        pending: list[tuple[int, int, float, float, float]] = []
        for unit_index, unit in enumerate(units):
            keyword_hits = {
                index: _keyword_score(self._keywords[index], unit) for index in candidates
            }
            # long sentences share words with anything: damp them (claims are short)
            factor = min(1.0, (DEFAULT_LONG_UNIT_SYLLABLES / max(1, unit.syllables)) ** 0.5)
            if post_refutes:
                factor *= DEFAULT_REFUTED_FACTOR
            for column, ref_index in enumerate(columns):
                reference = self._references[ref_index]
                ref_terms = reference.accented_terms if unit.accented else reference.folded_terms
                words = len(ref_terms & unit.terms) / max(1, len(ref_terms))
                hits = keyword_hits[reference.claim_index]
                bound = _similarity(self._keywords[reference.claim_index], 1.0, words, hits)
                if bound * factor + _BOUND_SLACK >= min_similarity:
                    pending.append((unit_index, column, words, hits, factor))
        if not pending:
            return []
        needed = sorted({unit_index for unit_index, *_ in pending})
        row_of = {unit_index: row for row, unit_index in enumerate(needed)}
        vectors = self._vectorizer.transform([units[i].folded for i in needed])
        char = (vectors @ self._matrix[columns].T).toarray()
        best: dict[int, ClaimMatch] = {}
        for unit_index, column, words, hits, factor in pending:
            unit = units[unit_index]
            claim_index = self._references[columns[column]].claim_index
            refuting = post_refutes
            char_sim = float(char[row_of[unit_index], column])
            similarity = _similarity(self._keywords[claim_index], char_sim, words, hits) * factor
            current = best.get(claim_index)
            if similarity >= min_similarity and (
                current is None or similarity > current.similarity
            ):
                best[claim_index] = ClaimMatch(
                    self.claims[claim_index],
                    min(1.0, similarity),
                    unit.text,
                    refuting,
                    {"char": char_sim, "words": words, "keywords": hits},
                )
        return sorted(best.values(), key=lambda match: -match.similarity)
