"""Covid-19 detector: does a post *centre on* Covid-19, and which words say so?

Evidence comes from a weighted term lexicon (``config/lexicons/covid.yaml``, passed in as
data) matched on the folded matching form of the text (see
:func:`analysis.text.canonical_tokens`), so "cô vít", "c0vid" and text typed without
diacritics are found. Terms fall in three groups: *specific* (only Covid-19),
*context* (pandemic words that count only next to a specific term) and *distractors*
(dengue, measles, swine fever...). A handful of interpretable features (how much
specific evidence, whether it is in the title or lead, how evenly it spreads over the
text) are combined by a small logistic model: hand-set defaults, or coefficients
trained with :func:`train_covid_model`. A single "sau đại dịch Covid-19" in an economy
article gives some evidence but stays below the flag threshold.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Any

from analysis.text import CanonForms, canonical_forms, canonical_tokens, detect_language

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
    "train_covid_model",
]

#: Score at or above which a post is flagged as Covid-centred.
DEFAULT_COVID_THRESHOLD = 0.5
#: Tokens at the start of the body that count as the lead.
DEFAULT_LEAD_TOKENS = 60
#: Equal parts the body is cut into to measure how evenly Covid terms spread.
DEFAULT_SPREAD_PARTS = 4

_GROUPS = ("specific", "context", "distractors", "background", "unrelated")


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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CovidLexicon:
        """Build from the YAML structure ``{group: {term: weight}}``; errors name the term."""
        if not isinstance(data, Mapping):
            raise ValueError("covid lexicon: expected a mapping of groups")
        unknown = set(data) - set(_GROUPS)
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
                groups[group][phrase] = float(weight)
                labels.setdefault(phrase, str(term))
        return cls(
            groups["specific"],
            groups["context"],
            groups["distractors"],
            groups["background"],
            groups["unrelated"],
            labels,
        )

    def group_of(self, phrase: str) -> str:
        for group in _GROUPS:
            if phrase in getattr(self, group):
                return group
        raise KeyError(phrase)

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


def _find(lexicon: CovidLexicon, text: str, canon: CanonForms) -> list[_Hit]:
    forms = canon.forms
    joined = " ".join(forms)
    hits: list[_Hit] = []
    matches = list(lexicon.pattern.finditer(joined))
    if not matches:
        return hits
    # ends[k] is one past where token k ends in ``joined`` (= where token k + 1 starts)
    ends = list(accumulate(len(form) + 1 for form in forms))
    for match in matches:
        start, end = match.span()
        first = bisect_right(ends, start)
        last = bisect_left(ends, end + 1)
        if (ends[first - 1] if first else 0) != start or last >= len(ends) or ends[last] != end + 1:
            continue  # matched inside a merged token ("cam on"): not a term boundary
        group = lexicon.group_of(match.group())
        if group == "unrelated":
            continue
        begin, finish = canon.span(first, last)
        hits.append(_Hit(match.group(), group, first, text[begin:finish]))
    return hits


FEATURE_NAMES = (
    "specific",
    "context",
    "distractors",
    "background",
    "title",
    "lead",
    "spread",
    "density",
)


@dataclass(frozen=True)
class CovidFeatures:
    """The evidence a score is computed from, plus the matched surface forms."""

    values: dict[str, float]
    terms: list[str]
    distractor_terms: list[str]


def _mass(hits: list[_Hit], weights: Mapping[str, float]) -> float:
    counts = Counter(hit.phrase for hit in hits)
    return sum(weights[phrase] * math.log1p(n) for phrase, n in counts.items())


def covid_features(
    text: str,
    title: str = "",
    *,
    lexicon: CovidLexicon,
    lead_tokens: int = DEFAULT_LEAD_TOKENS,
    parts: int = DEFAULT_SPREAD_PARTS,
) -> CovidFeatures:
    """Match the lexicon on title and text and summarise the evidence as numbers."""
    body = canonical_forms(text)
    body_hits = _find(lexicon, text, body)
    title_hits = _find(lexicon, title, canonical_forms(title)) if title else []
    all_hits = title_hits + body_hits
    specific = [h for h in all_hits if h.group == "specific"]
    context = [h for h in all_hits if h.group == "context"]
    distractors = [h for h in all_hits if h.group == "distractors"]
    background = [h for h in all_hits if h.group == "background"]
    body_specific = [h for h in body_hits if h.group == "specific"]
    size = max(len(body.forms), 1)
    touched = {min(h.token_index * parts // size, parts - 1) for h in body_specific}
    values = {
        "specific": _mass(specific, lexicon.specific),
        "context": _mass(context, lexicon.context) if specific else 0.0,
        "distractors": _mass(distractors, lexicon.distractors),
        # a backdrop phrase with no other Covid word than the name is a passing mention
        "background": _mass(background, lexicon.background) / (1.0 + len(context)),
        "title": float(any(h.group == "specific" for h in title_hits)),
        "lead": float(any(h.token_index < lead_tokens for h in body_specific)),
        "spread": len(touched) / parts,
        "density": math.log1p(100.0 * len(body_specific) / size),
    }
    terms = list(dict.fromkeys(h.surface for h in all_hits if h.group in ("specific", "context")))
    if not specific:
        terms = []
    return CovidFeatures(values, terms, list(dict.fromkeys(h.surface for h in distractors)))


@dataclass(frozen=True)
class CovidModel:
    """Logistic combination of :data:`FEATURE_NAMES`: readable coefficients, tiny artefact."""

    coefficients: Mapping[str, float]
    intercept: float
    threshold: float = DEFAULT_COVID_THRESHOLD
    #: where the numbers came from (training set, date, held-out figures)
    info: Mapping[str, Any] = field(default_factory=dict)

    def score(self, values: Mapping[str, float]) -> float:
        z = self.intercept + sum(self.coefficients.get(n, 0.0) * values[n] for n in FEATURE_NAMES)
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
        return cls(coefficients, intercept, threshold, dict(data.get("info") or {}))

    def to_mapping(self) -> dict[str, Any]:
        return {
            "coefficients": dict(self.coefficients),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "info": dict(self.info),
        }


#: Hand-set weights used when no trained model is given: one specific mention in the
#: lead of a long article is not enough; the title, repetition or spread are.
DEFAULT_COVID_MODEL = CovidModel(
    coefficients={
        "specific": 0.9,
        "context": 0.3,
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
    """Score how much ``title``/``text`` centres on Covid-19 (0..1) and flag it.

    Text that is not Vietnamese (``lang`` if the caller knows it, else detected) is not
    scored: the result says so in ``reason`` instead of guessing from English words.
    """
    model = model or DEFAULT_COVID_MODEL
    cutoff = model.threshold if threshold is None else threshold
    language = lang or detect_language(f"{title}\n{text}")
    if language != "vi":
        return CovidResult(0.0, False, [], reason=f"language:{language}")
    features = covid_features(text, title, lexicon=lexicon)
    score = model.score(features.values) if features.values["specific"] > 0 else 0.0
    return CovidResult(score, score >= cutoff, features.terms, None, features.values)


def train_covid_model(
    examples: Sequence[tuple[str, str]],
    labels: Sequence[int],
    *,
    lexicon: CovidLexicon,
    regularisation: float = 1.0,
    info: Mapping[str, Any] | None = None,
) -> CovidModel:
    """Fit the logistic coefficients on ``(title, text)`` examples; deterministic.

    Only documents with some specific evidence are learnt from: the others score 0 by
    construction, so they would only teach the intercept about texts it never scores.
    """
    from sklearn.linear_model import LogisticRegression

    rows: list[list[float]] = []
    ys: list[int] = []
    for (title, text), label in zip(examples, labels, strict=True):
        values = covid_features(text, title, lexicon=lexicon).values
        if values["specific"] > 0:
            rows.append([values[name] for name in FEATURE_NAMES])
            ys.append(int(label))
    if len(set(ys)) < 2:
        raise ValueError("train_covid_model: need both labels among texts with Covid terms")
    fitted = LogisticRegression(C=regularisation, max_iter=1000).fit(rows, ys)
    coefficients = {
        name: round(float(c), 4) for name, c in zip(FEATURE_NAMES, fitted.coef_[0], strict=True)
    }
    return CovidModel(
        coefficients, round(float(fitted.intercept_[0]), 4), DEFAULT_COVID_THRESHOLD, info or {}
    )
