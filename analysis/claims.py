"""Likely-false-claim score of a post, with the evidence behind it.

Three sources, each visible in the result:

* ``matches``: known false claims (``config/known_false_claims.jsonl``) that a sentence of the
  post repeats or paraphrases (:mod:`analysis.known_claims`);
* ``classifier``: P(unreliable) from the model trained on ReINTEL posts
  (:mod:`analysis.claim_model`), ``None`` when no model is loaded;
* ``signals``: sensational wording, calls to share, unnamed sources, capitals and "!!!",
  miracle-cure phrases (:mod:`analysis.signals`).

They combine as a noisy-OR, so each can only raise the score and the result stays in [0, 1]::

    score = 1 - (1 - m) * (1 - p)                  with a classifier
    score = 1 - (1 - m) * (1 - 0.35 * s)           without one

where ``m`` is the best match similarity (0 if none reaches the match threshold), ``p`` the
classifier's calibrated probability and ``s`` the signal strength. With a classifier and no
matched claim the score *is* the probability that the post is unreliable (calibrated on
ReINTEL, where 16% of posts are), so ``claim_threshold`` 0.5 means "more likely unreliable than
not"; the signals are not added on top, because the classifier reads the same wording (they
stay in the result as evidence). A known claim matched at similarity >= 0.5 flags the post on
its own; signals alone never do (at most 0.35). A flag must also carry evidence an analyst can
read: without a matched claim or a wording signal, only p >= 0.9 flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.claim_model import ClaimClassifier, ClaimExample
from analysis.known_claims import DEFAULT_MATCH_MIN_SIMILARITY, ClaimMatch, KnownClaimIndex
from analysis.signals import Signal, detect_signals, signal_strength
from analysis.text import normalize_text, segment_words

__all__ = [
    "DEFAULT_CLAIM_THRESHOLD",
    "DEFAULT_CLASSIFIER_ONLY_FLAG",
    "DEFAULT_CLASSIFIER_WEIGHT",
    "DEFAULT_MAX_MATCHES",
    "DEFAULT_SIGNAL_WEIGHT",
    "ClaimPost",
    "ClaimResources",
    "ClaimResult",
    "score_claim",
    "score_claims",
]

DEFAULT_CLAIM_THRESHOLD = 0.5
#: The classifier's calibrated probability enters the score whole (see the module docstring).
DEFAULT_CLASSIFIER_WEIGHT = 1.0
#: A post with neither a match nor a signal is flagged on the classifier alone only from
#: here: its reasons are n-gram weights an analyst cannot read.
DEFAULT_CLASSIFIER_ONLY_FLAG = 0.9
#: Weight of the wording signals when no classifier is loaded (they never flag alone).
DEFAULT_SIGNAL_WEIGHT = 0.35
DEFAULT_MAX_MATCHES = 5
DEFAULT_MAX_SIGNALS = 12


@dataclass
class ClaimResources:
    """What scoring needs, loaded once at the edge (``crawler.resources.claims``)."""

    known_claims: KnownClaimIndex | None = None
    classifier: ClaimClassifier | None = None


@dataclass
class ClaimResult:
    score: float
    flag: bool
    matches: list[ClaimMatch] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    classifier: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "flag": self.flag,
            "matches": [match.to_dict() for match in self.matches],
            "signals": [signal.to_dict() for signal in self.signals],
            "classifier": None if self.classifier is None else round(self.classifier, 4),
        }


def combine(match: float, classifier: float | None, signals: float) -> float:
    """Noisy-OR of the sources with the module's weights (see the module docstring)."""
    keep = 1.0 - match
    if classifier is not None:
        keep *= 1.0 - DEFAULT_CLASSIFIER_WEIGHT * classifier
    else:
        keep *= 1.0 - DEFAULT_SIGNAL_WEIGHT * signals
    return min(1.0, max(0.0, 1.0 - keep))


@dataclass(frozen=True)
class ClaimPost:
    """One post as the claim layer reads it (the fields of :func:`score_claim`)."""

    text: str
    title: str = ""
    engagement: dict[str, int] | None = None
    tokens: Sequence[str] | None = None
    timestamp: float | None = None
    #: The title's words as ``segment_words`` gives them, when the caller has them already.
    title_tokens: Sequence[str] | None = None


def score_claim(
    *,
    text: str,
    title: str = "",
    engagement: dict[str, int] | None = None,
    resources: ClaimResources | None,
    tokens: Sequence[str] | None = None,
    threshold: float = DEFAULT_CLAIM_THRESHOLD,
    timestamp: float | None = None,
    min_similarity: float = DEFAULT_MATCH_MIN_SIMILARITY,
    normalized: bool = False,
) -> ClaimResult:
    """Score how likely ``title`` + ``text`` spreads a false claim, with the evidence.

    ``tokens`` are the word tokens of the normalised ``text`` (``analysis.text.segment_words``);
    they are computed here when not given. ``engagement`` uses the keys ``likes``,
    ``comments``, ``shares``; missing counts are neutral. ``timestamp`` (Unix seconds) is the
    posting time, if known. ``normalized`` says ``text`` and ``title`` already went through
    :func:`analysis.text.normalize_text` (as :func:`analysis.analyse.analyse` does), which is
    then not repeated.
    """
    post = ClaimPost(text, title, engagement, tokens, timestamp)
    return score_claims(
        [post],
        resources=resources,
        threshold=threshold,
        min_similarity=min_similarity,
        normalized=normalized,
    )[0]


def score_claims(
    posts: Sequence[ClaimPost],
    *,
    resources: ClaimResources | None,
    threshold: float = DEFAULT_CLAIM_THRESHOLD,
    min_similarity: float = DEFAULT_MATCH_MIN_SIMILARITY,
    normalized: bool = False,
) -> list[ClaimResult]:
    """:func:`score_claim` of each post, one source at a time over all of them.

    The results are those of scoring each post alone; running the known-claims matcher,
    the signals and the classifier each over the whole batch keeps each one's tables in the
    CPU caches (see :func:`analysis.analyse.analyse_batch`).
    """
    if not normalized:
        posts = [
            ClaimPost(
                normalize_text(p.text),
                normalize_text(p.title),
                p.engagement,
                p.tokens,
                p.timestamp,
                p.title_tokens,
            )
            for p in posts
        ]
    resources = resources or ClaimResources()
    index = resources.known_claims
    matches: list[list[ClaimMatch]] = []
    for post in posts:
        if index is not None and len(index) and (post.text or post.title):
            found = index.match_text(
                post.text,
                post.title,
                list(post.tokens) if post.tokens is not None else None,
                min_similarity=min_similarity,
                tokenize=segment_words,
            )
            matches.append(found[:DEFAULT_MAX_MATCHES])
        else:
            matches.append([])
    full_texts = [f"{p.title}\n{p.text}".strip() if p.title else p.text for p in posts]
    signals = [detect_signals(full_text) for full_text in full_texts]
    probabilities: list[float | None] = [None] * len(posts)
    if resources.classifier is not None:
        rows = [row for row, full_text in enumerate(full_texts) if full_text]
        examples = [
            ClaimExample(
                text=full_texts[row],
                engagement=posts[row].engagement,
                timestamp=posts[row].timestamp,
                tokens=_classifier_tokens(posts[row]),
            )
            for row in rows
        ]
        # one call for the batch: scikit-learn's per-call overhead is paid once
        for row, probability in zip(
            rows, resources.classifier.predict_proba(examples, normalized=True), strict=True
        ):
            probabilities[row] = float(probability)
    return [
        _result(found, signal_list, probability, threshold)
        for found, signal_list, probability in zip(matches, signals, probabilities, strict=True)
    ]


def _classifier_tokens(post: ClaimPost) -> tuple[str, ...] | None:
    """The words of title + text when the caller gave the text's (the title is short)."""
    if post.tokens is None:
        return None
    if post.title_tokens is not None:
        return tuple(post.title_tokens) + tuple(post.tokens)
    title = tuple(segment_words(post.title)) if post.title else ()
    return title + tuple(post.tokens)


def _result(
    matches: list[ClaimMatch], signals: list[Signal], probability: float | None, threshold: float
) -> ClaimResult:
    best = matches[0].similarity if matches else 0.0
    score = combine(best, probability, signal_strength(signals))
    # A flag must carry evidence an analyst can read (a matched claim, a wording signal);
    # the classifier's probability alone only ranks, unless it is near certain.
    readable = bool(matches or signals) or (
        probability is not None and probability >= DEFAULT_CLASSIFIER_ONLY_FLAG
    )
    return ClaimResult(
        score=score,
        flag=score >= threshold and readable,
        matches=matches,
        signals=signals[:DEFAULT_MAX_SIGNALS],
        classifier=probability,
    )
