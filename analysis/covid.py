"""Covid-19 detector: is a post about Covid-19 or its direct consequences, and which words say so?

Evidence comes from a weighted term lexicon (``config/lexicons/covid.yaml``, passed in as
data) matched on the folded matching form of the text (see
:func:`analysis.text.canonical_tokens`), so "cô vít", "c0vid" and text typed without
diacritics are found. Terms fall in groups: *specific* (only Covid-19: its names and its
2020-22 measures), *context* (the pandemic's measures and consequences that other outbreaks
share: "dịch", "cách ly", "khẩu trang", "nghỉ học"), *patterns* (numbered patients), and
*distractors* (dengue, measles, swine fever...). A small logistic model combines a handful of
interpretable features (how much evidence of each group, whether it is in the title or lead,
how evenly it spreads) with the score of a word model over the whole post
(:mod:`analysis.covid_model`: folded word n-grams, which reads the context the lexicon lacks).

A flag always carries readable evidence: a post with no Covid term or cue is never flagged,
and neither is one that names another disease and no Covid-specific term.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import accumulate
from typing import Any

from analysis.covid_model import WordModel, ngrams
from analysis.text import (
    CanonForms,
    canonical_forms,
    canonical_tokens,
    detect_language,
    fold_diacritics,
    normalize_text,
)

__all__ = [
    "DEFAULT_COVID_MODEL",
    "DEFAULT_COVID_THRESHOLD",
    "FEATURE_NAMES",
    "CovidFeatures",
    "CovidLexicon",
    "CovidModel",
    "CovidResult",
    "covid_features",
    "detect_covid",
]

#: Score at or above which a post is flagged as Covid-centred.
DEFAULT_COVID_THRESHOLD = 0.5
#: Tokens at the start of the body that count as the lead.
DEFAULT_LEAD_TOKENS = 60
#: Equal parts the body is cut into to measure how evenly Covid terms spread.
DEFAULT_SPREAD_PARTS = 4
#: Bound on the model's log-odds (a score of 0.999 at most).
DEFAULT_MAX_LOGIT = math.log(999)

_GROUPS = ("specific", "context", "distractors", "background", "unrelated")
#: Lexicon sections that are not phrase groups.
_SECTIONS = (*_GROUPS, "patterns")


def _canonical_phrase(term: str) -> str:
    return " ".join(token.form for token in canonical_tokens(term))


@dataclass(frozen=True)
class CovidLexicon:
    """Weighted terms per group, keyed by their matching form, with one compiled matcher."""

    specific: Mapping[str, float]
    context: Mapping[str, float]
    distractors: Mapping[str, float]
    #: phrases that set Covid as the backdrop ("sau đại dịch", "do ảnh hưởng của dịch")
    background: Mapping[str, float] = field(default_factory=dict)
    #: compounds that contain a term but mean something else ("giao dịch" is a transaction,
    #: not an epidemic): matched so the longer phrase wins, then ignored
    unrelated: Mapping[str, float] = field(default_factory=dict)
    #: matching form -> the term as written in the lexicon (for display)
    labels: Mapping[str, str] = field(default_factory=dict)
    #: regular expressions on the joined matching form (numbered patients), counted as
    #: specific evidence
    patterns: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CovidLexicon:
        """Build from the YAML structure ``{group: {term: weight}}``; errors name the term."""
        if not isinstance(data, Mapping):
            raise ValueError("covid lexicon: expected a mapping of groups")
        unknown = set(data) - set(_SECTIONS)
        if unknown:
            raise ValueError(f"covid lexicon: unknown group(s) {sorted(unknown)}")
        groups: dict[str, dict[str, float]] = {}
        labels: dict[str, str] = {}
        for group in _GROUPS:
            entries = data.get(group) or {}
            if not isinstance(entries, Mapping):
                raise ValueError(f"covid lexicon: {group!r} must map terms to weights")
            groups[group] = {}
            for term, weight in entries.items():
                if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
                    raise ValueError(f"covid lexicon: {group}.{term}: weight must be >= 0")
                phrase = _canonical_phrase(str(term))
                if not phrase:
                    raise ValueError(f"covid lexicon: {group}.{term!r} has no letters")
                if phrase in labels:
                    raise ValueError(
                        f"covid lexicon: {group}.{term!r} matches as {labels[phrase]!r} does"
                    )
                groups[group][phrase] = float(weight)
                labels[phrase] = str(term)
        patterns: dict[str, float] = {}
        for expression, weight in (data.get("patterns") or {}).items():
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
                raise ValueError(f"covid lexicon: patterns.{expression}: weight must be >= 0")
            try:
                re.compile(str(expression))
            except re.error as exc:
                raise ValueError(f"covid lexicon: patterns.{expression}: {exc}") from exc
            patterns[str(expression)] = float(weight)
        return cls(
            groups["specific"],
            groups["context"],
            groups["distractors"],
            groups["background"],
            groups["unrelated"],
            labels,
            patterns,
        )

    def group_of(self, phrase: str) -> str:
        for group in _GROUPS:
            if phrase in getattr(self, group):
                return group
        if phrase in self.patterns:
            return "specific"
        raise KeyError(phrase)

    def weight(self, phrase: str) -> float:
        """The weight of a phrase or pattern, whichever group it is in."""
        for group in _GROUPS:
            weights = getattr(self, group)
            if phrase in weights:
                return weights[phrase]
        return self.patterns[phrase]

    @cached_property
    def pattern_matcher(self) -> re.Pattern[str] | None:
        """One matcher for the patterns, each in a named group (``p0``, ``p1``...)."""
        if not self.patterns:
            return None
        body = "|".join(f"(?P<p{i}>{expression})" for i, expression in enumerate(self.patterns))
        return re.compile(rf"(?<!\S)(?:{body})(?!\S)")

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """One matcher for every phrase (built once per lexicon: it is asked for every post)."""
        return _compile(
            tuple(
                sorted(
                    {
                        *self.specific,
                        *self.context,
                        *self.distractors,
                        *self.background,
                        *self.unrelated,
                    }
                )
            )
        )


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compile(phrases: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _PATTERNS.get(phrases)
    if pattern is None:
        # longest first, so "virus corona" wins over "corona" at the same place
        ordered = sorted(phrases, key=len, reverse=True)
        body = "|".join(re.escape(p) for p in ordered)
        pattern = re.compile(rf"(?<!\S)(?:{body})(?!\S)")
        _PATTERNS[phrases] = pattern
    return pattern


@dataclass(frozen=True)
class _Hit:
    phrase: str
    group: str
    token_index: int
    surface: str
    #: index of the last token the hit covers
    last_index: int = -1


_LETTERS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=8192)
def _accented_words(text: str) -> tuple[str, ...]:
    # the same few surfaces ("dịch", "cách ly") come back post after post
    return tuple(_LETTERS.findall(normalize_text(text).lower()))


def _same_spelling(surface: str, written: str) -> bool:
    """Whether the text as written can be the lexicon term as written.

    Matching is on folded forms, so "địch" (enemy), "đích" (goal) and "dịch" (epidemic) meet
    as "dich", "đông của" as "đóng cửa". Where both the text's word and the term's carry
    diacritics and differ, they are different words; a word typed without diacritics, or a
    teencode spelling ("cô vít" for "Covid"), still matches.
    """
    seen, wanted = _accented_words(surface), _accented_words(written)
    if len(seen) != len(wanted):
        return True  # merged or split spellings ("cô vít", "c0vid"): the teencode table's call
    return all(
        a == b or a.isascii() or b.isascii() or fold_diacritics(a) != fold_diacritics(b)
        for a, b in zip(seen, wanted, strict=True)
    )


def _find(lexicon: CovidLexicon, text: str, canon: CanonForms) -> list[_Hit]:
    forms = canon.forms
    joined = " ".join(forms)
    matches = [(m.span(), m.group()) for m in lexicon.pattern.finditer(joined)]
    if lexicon.pattern_matcher is not None:
        expressions = list(lexicon.patterns)
        for m in lexicon.pattern_matcher.finditer(joined):
            matches.append((m.span(), expressions[int(m.lastgroup[1:])]))
    hits: list[_Hit] = []
    if not matches:
        return hits
    # ends[k] is one past where token k ends in ``joined`` (= where token k + 1 starts)
    ends = list(accumulate(len(form) + 1 for form in forms))
    for (start, end), phrase in matches:
        first = bisect_right(ends, start)
        last = bisect_left(ends, end + 1)
        if (ends[first - 1] if first else 0) != start or last >= len(ends) or ends[last] != end + 1:
            continue  # matched inside a merged token ("cam on"): not a term boundary
        group = lexicon.group_of(phrase)
        if group == "unrelated":
            continue
        begin, finish = canon.span(first, last)
        surface = text[begin:finish]
        written = lexicon.labels.get(phrase)
        if written is not None and not _same_spelling(surface, written):
            continue
        hits.append(_Hit(phrase, group, first, surface, last))
    return hits


#: Tokens after a backdrop phrase ("sau đại dịch") that still belong to it ("Covid-19").
DEFAULT_BACKDROP_TOKENS = 2


def _backdrop(hits: list[_Hit]) -> set[int]:
    """Positions of Covid terms that only complete a backdrop phrase ("sau đại dịch Covid-19")."""
    covered: set[int] = set()
    for hit in hits:
        if hit.group == "background":
            covered.update(range(hit.token_index, hit.last_index + DEFAULT_BACKDROP_TOKENS + 1))
    return covered


FEATURE_NAMES = (
    "specific",
    "context",
    "distractors",
    "background",
    "title",
    "lead",
    "spread",
    "density",
    "words",
)


@dataclass(frozen=True)
class CovidFeatures:
    """The evidence a score is computed from, plus the matched surface forms."""

    values: dict[str, float]
    terms: list[str]
    distractor_terms: list[str]
    #: whether the post may be flagged at all: some Covid term or cue was found, and no other
    #: disease is named without a Covid-specific term
    eligible: bool = True


def _mass(hits: list[_Hit], lexicon: CovidLexicon) -> float:
    counts = Counter(hit.phrase for hit in hits)
    return sum(lexicon.weight(phrase) * math.log1p(n) for phrase, n in counts.items())


def covid_features(
    text: str,
    title: str = "",
    *,
    lexicon: CovidLexicon,
    words: WordModel | None = None,
    lead_tokens: int = DEFAULT_LEAD_TOKENS,
    parts: int = DEFAULT_SPREAD_PARTS,
) -> CovidFeatures:
    """Match the lexicon on title and text and summarise the evidence as numbers.

    ``words`` is the word model whose log-odds becomes the ``words`` feature (0 without one).
    """
    body = canonical_forms(text)
    body_hits = _find(lexicon, text, body)
    title_forms = canonical_forms(title) if title else None
    title_hits = _find(lexicon, title, title_forms) if title_forms is not None else []
    # a Covid term inside a backdrop phrase ("sau đại dịch Covid-19") sets the time of an
    # unrelated story: it counts as backdrop, not as evidence
    body_backdrop = _backdrop(body_hits)
    body_hits = [
        h
        for h in body_hits
        if h.group not in ("specific", "context") or h.token_index not in body_backdrop
    ]
    all_hits = title_hits + body_hits
    specific = [h for h in all_hits if h.group == "specific"]
    context = [h for h in all_hits if h.group == "context"]
    distractors = [h for h in all_hits if h.group == "distractors"]
    background = [h for h in all_hits if h.group == "background"]
    body_cues = [h for h in body_hits if h.group in ("specific", "context")]
    size = max(len(body.forms), 1)
    touched = {min(h.token_index * parts // size, parts - 1) for h in body_cues}
    word_score = 0.0
    if words is not None:
        grams = ngrams(body.forms)
        if title_forms is not None:
            grams |= ngrams(title_forms.forms)
        word_score = words.decision(grams)
    values = {
        "specific": _mass(specific, lexicon),
        "context": _mass(context, lexicon),
        "distractors": _mass(distractors, lexicon),
        "background": _mass(background, lexicon),
        "title": float(any(h.group in ("specific", "context") for h in title_hits)),
        "lead": float(any(h.token_index < lead_tokens for h in body_cues)),
        "spread": len(touched) / parts,
        "density": math.log1p(100.0 * len(body_cues) / size),
        "words": word_score,
    }
    # other diseases alone never flag: with one named, only a Covid-specific term counts
    eligible = bool(specific) or (bool(context) and not distractors)
    terms = (
        list(dict.fromkeys(h.surface for h in all_hits if h.group in ("specific", "context")))
        if eligible
        else []
    )
    return CovidFeatures(
        values, terms, list(dict.fromkeys(h.surface for h in distractors)), eligible
    )


@dataclass(frozen=True)
class CovidModel:
    """Logistic combination of :data:`FEATURE_NAMES`: readable coefficients, small artefact.

    ``words`` is the word model behind the ``words`` feature (``None``: that feature is 0).
    """

    coefficients: Mapping[str, float]
    intercept: float
    threshold: float = DEFAULT_COVID_THRESHOLD
    #: where the numbers came from (training set, date, held-out figures)
    info: Mapping[str, Any] = field(default_factory=dict)
    words: WordModel | None = None

    def score(self, values: Mapping[str, float]) -> float:
        z = self.intercept + sum(
            self.coefficients.get(n, 0.0) * values.get(n, 0.0) for n in FEATURE_NAMES
        )
        # a few thousand labelled posts make no post certain: scores stay in [0.001, 0.999]
        z = max(-DEFAULT_MAX_LOGIT, min(DEFAULT_MAX_LOGIT, z))
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CovidModel:
        try:
            coefficients = {str(k): float(v) for k, v in data["coefficients"].items()}
            intercept = float(data["intercept"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"covid model: needs 'coefficients' and 'intercept': {exc}") from exc
        unknown = set(coefficients) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"covid model: unknown feature(s) {sorted(unknown)}")
        threshold = float(data.get("threshold", DEFAULT_COVID_THRESHOLD))
        words = WordModel.from_mapping(data["words"]) if data.get("words") else None
        return cls(coefficients, intercept, threshold, dict(data.get("info") or {}), words)

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "coefficients": dict(self.coefficients),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "info": dict(self.info),
        }
        if self.words is not None:
            out["words"] = self.words.to_mapping()
        return out


#: Hand-set weights used when no trained model is given: one specific mention in the
#: lead of a long article is not enough; the title, repetition or spread are.
DEFAULT_COVID_MODEL = CovidModel(
    coefficients={
        "specific": 0.9,
        "context": 0.6,
        "distractors": -0.8,
        "background": -1.5,
        "title": 2.0,
        "lead": 0.5,
        "spread": 2.5,
        "density": 1.0,
    },
    intercept=-5.0,
    info={"source": "hand-set defaults"},
)


@dataclass(frozen=True)
class CovidResult:
    score: float
    flag: bool
    terms: list[str]
    #: why the detector did not look (e.g. "language:en"), else None
    reason: str | None = None
    features: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": round(self.score, 4),
            "flag": self.flag,
            "terms": self.terms,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def detect_covid(
    text: str,
    title: str = "",
    *,
    lexicon: CovidLexicon,
    model: CovidModel | None = None,
    threshold: float | None = None,
    lang: str | None = None,
) -> CovidResult:
    """Score how much ``title``/``text`` is about Covid-19 (0..1) and flag it.

    Text that is not Vietnamese (``lang`` if the caller knows it, else detected) is not
    scored: the result says so in ``reason`` instead of guessing from English words. A post
    without readable evidence (see :class:`CovidFeatures`) scores 0.
    """
    model = model or DEFAULT_COVID_MODEL
    cutoff = model.threshold if threshold is None else threshold
    language = lang or detect_language(f"{title}\n{text}")
    if language != "vi":
        return CovidResult(0.0, False, [], reason=f"language:{language}")
    features = covid_features(text, title, lexicon=lexicon, words=model.words)
    score = model.score(features.values) if features.eligible else 0.0
    return CovidResult(score, score >= cutoff, features.terms, None, features.values)
