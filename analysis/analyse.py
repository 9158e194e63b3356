"""The one entry point the crawler pipeline calls: a post in, every analysis out.

Normalises once, tokenises once (title and body) and hands the same tokens to named-entity
recognition and to the claim scorer, so a post costs little more than its tokenisation.
Posts that are not Vietnamese are marked (``lang``) and not scored by the detectors,
which say why in ``reason`` instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from analysis.covid import DEFAULT_COVID_THRESHOLD, CovidLexicon, CovidModel, detect_covid
from analysis.text import (
    Entity,
    detect_language,
    extract_entities,
    normalize_text,
    sentences_of_tokens,
    tokenize_words,
)

__all__ = [
    "DEFAULT_NER_MAX_TOKENS",
    "DEFAULT_NER_SENTENCES",
    "DEFAULT_THRESHOLDS",
    "Analysis",
    "AnalysisResources",
    "PostInput",
    "Thresholds",
    "analyse",
]

#: Body sentences (after the title) that named-entity recognition reads.
DEFAULT_NER_SENTENCES = 1
#: Upper bound on the tokens NER reads per post (title first): per token NER costs several
#: times tokenisation, and a title plus lead sentence names the main actors and places.
DEFAULT_NER_MAX_TOKENS = 30
DEFAULT_CLAIM_THRESHOLD = 0.5


@dataclass
class PostInput:
    text: str
    title: str = ""
    url: str = ""
    published_at: str | None = None
    engagement: dict[str, int] | None = None


@dataclass
class AnalysisResources:
    """Everything loaded from files once per process (see ``crawler.resources``)."""

    covid_lexicon: CovidLexicon
    covid_model: CovidModel | None = None
    #: ``analysis.claims.ClaimResources`` (known-claims index + classifier), may be None
    claim_resources: object | None = None


@dataclass(frozen=True)
class Thresholds:
    covid: float = DEFAULT_COVID_THRESHOLD
    claim: float = DEFAULT_CLAIM_THRESHOLD


DEFAULT_THRESHOLDS = Thresholds()


@dataclass
class Analysis:
    lang: str
    entities: list[Entity]
    covid: dict[str, Any]
    claim: dict[str, Any]
    tokens: list[str] = field(default_factory=list)

    @property
    def segmented(self) -> str:
        return " ".join(self.tokens)

    def to_dict(self, *, segmented: bool = True) -> dict[str, Any]:
        """The result as JSON-ready data; ``segmented=False`` leaves out the segmented text
        (``misinfo analyze`` writes no segmentation, so it need not be joined)."""
        out = {
            "lang": self.lang,
            "entities": [entity.to_dict() for entity in self.entities],
            "covid": self.covid,
            "claim": self.claim,
        }
        if segmented:
            out["segmented"] = self.segmented
        return out


def _lead_tokens(title_tokens: list[str], body_tokens: list[str]) -> list[str]:
    # the lead sentences lie within the first DEFAULT_NER_MAX_TOKENS body tokens, since the
    # result is cut there: no need to cut the whole body into sentences
    head = body_tokens[:DEFAULT_NER_MAX_TOKENS]
    lead = [t for sentence in sentences_of_tokens(head)[:DEFAULT_NER_SENTENCES] for t in sentence]
    # the title is its own sentence even without a full stop
    title = (
        [*title_tokens, "."]
        if title_tokens and title_tokens[-1] not in (".", "!", "?")
        else title_tokens
    )
    return (title + lead)[:DEFAULT_NER_MAX_TOKENS]


def _empty_claim(reason: str) -> dict[str, Any]:
    return {
        "score": 0.0,
        "flag": False,
        "matches": [],
        "signals": [],
        "classifier": None,
        "reason": reason,
    }


def _claim_scorer() -> Callable[..., Any] | None:
    """``analysis.claims.score_claim`` if that module is installed: the one guarded import."""
    try:
        from analysis.claims import score_claim
    except ModuleNotFoundError as exc:
        if exc.name != "analysis.claims":
            raise
        return None
    return score_claim


def _score_claim(
    post: PostInput,
    title: str,
    text: str,
    tokens: list[str],
    resources: AnalysisResources,
    threshold: float,
) -> dict[str, Any]:
    score_claim = _claim_scorer()
    if score_claim is None:
        return _empty_claim("claims module not available")
    return score_claim(
        text=text,
        title=title,
        engagement=post.engagement,
        resources=resources.claim_resources,
        tokens=tokens,
        threshold=threshold,
        timestamp=_timestamp(post.published_at),
        normalized=True,  # analyse() normalised both already
    ).to_dict()


def _timestamp(published_at: str | None) -> float | None:
    """Unix seconds of an ISO 8601 date (naive means UTC); None when absent or unreadable."""
    if not published_at:
        return None
    try:
        moment = datetime.fromisoformat(published_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def analyse(
    post: PostInput,
    resources: AnalysisResources,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Analysis:
    """Language, entities, Covid score and claim score of one post, each with its evidence."""
    title = normalize_text(post.title)
    text = normalize_text(post.text)
    lang = detect_language(f"{title}\n{text}")
    title_words = tokenize_words(title)
    body_words = tokenize_words(text)
    body_tokens = [word.replace(" ", "_") for word in body_words]
    tokens = [word.replace(" ", "_") for word in title_words] + body_tokens
    if lang != "vi":
        reason = f"language:{lang}"
        covid = {"score": 0.0, "flag": False, "terms": [], "reason": reason}
        return Analysis(lang, [], covid, _empty_claim(reason), tokens)
    entities = extract_entities(_lead_tokens(title_words, body_words))
    covid = detect_covid(
        text,
        title,
        lexicon=resources.covid_lexicon,
        model=resources.covid_model,
        threshold=thresholds.covid,
        lang=lang,
    ).to_dict()
    # the claim scorer wants the body's tokens (it reads the title separately)
    claim = _score_claim(post, title, text, body_tokens, resources, thresholds.claim)
    return Analysis(lang, entities, covid, claim, tokens)
