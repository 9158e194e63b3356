"""The one entry point the crawler pipeline calls: a post in, every analysis out.

Normalises once, tokenises once (title and body) and hands the same tokens to named-entity
recognition and to the claim scorer, so a post costs little more than its tokenisation.
Posts that are not Vietnamese are marked (``lang``) and not scored by the detectors,
which say why in ``reason`` instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from analysis.claims import ClaimPost, score_claims
from analysis.covid import DEFAULT_COVID_THRESHOLD, CovidLexicon, CovidModel, detect_covid
from analysis.limits import (
    DEFAULT_MAX_ANALYSED_CHARS,
    DEFAULT_MAX_TITLE_CHARS,
    analysed_part,
    pieces,
)
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
    "PostLike",
    "Thresholds",
    "analyse",
    "analyse_batch",
]

#: Body sentences (after the title) that named-entity recognition reads.
DEFAULT_NER_SENTENCES = 1
#: Upper bound on the tokens NER reads per post (title first): per token NER costs several
#: times tokenisation, and a title plus lead sentence names the main actors and places.
DEFAULT_NER_MAX_TOKENS = 30
DEFAULT_CLAIM_THRESHOLD = 0.5


class PostLike(Protocol):
    """What the analysis reads of a post: the crawler's items and stored documents have these
    fields (``index.documents.Post``), and so does :class:`PostInput`."""

    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def published_at(self) -> str | None: ...
    @property
    def engagement(self) -> dict[str, int] | None: ...


@dataclass
class PostInput:
    """A post given to the analysis on its own (``misinfo analyze``'s JSON lines)."""

    text: str
    title: str = ""
    url: str = ""
    published_at: str | None = None
    engagement: dict[str, int] | None = None


@dataclass
class AnalysisResources:
    """Everything loaded from files once per process (see ``crawler.resources.analysis``)."""

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
    #: ``{"analysed_chars", "text_chars"}`` when only the start of a long text was analysed
    #: (:mod:`analysis.limits`); the rest is kept by the caller, not analysed.
    truncated: dict[str, int] | None = None

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
        if self.truncated:
            out["truncated"] = self.truncated
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


def _score_claims(
    posts: Sequence[PostLike],
    titles: Sequence[str],
    texts: Sequence[str],
    tokens: Sequence[list[str]],
    resources: AnalysisResources,
    threshold: float,
    title_tokens: Sequence[list[str]] | None = None,
) -> list[dict[str, Any]]:
    # the title's words too, so the classifier does not segment the title a second time
    titled = title_tokens if title_tokens is not None else [None] * len(posts)
    claim_posts = [
        ClaimPost(text, title, post.engagement, body, _timestamp(post.published_at), head)
        for post, title, text, body, head in zip(posts, titles, texts, tokens, titled, strict=True)
    ]
    results = score_claims(
        claim_posts,
        resources=resources.claim_resources,
        threshold=threshold,
        normalized=True,  # analyse_batch() normalised both already
    )
    return [result.to_dict() for result in results]


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
    post: PostLike,
    resources: AnalysisResources,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    max_chars: int = DEFAULT_MAX_ANALYSED_CHARS,
) -> Analysis:
    """Language, entities, Covid score and claim score of one post, each with its evidence."""
    return analyse_batch([post], resources, thresholds=thresholds, max_chars=max_chars)[0]


def analyse_batch(
    posts: Sequence[PostLike],
    resources: AnalysisResources,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    max_chars: int = DEFAULT_MAX_ANALYSED_CHARS,
) -> list[Analysis]:
    """:func:`analyse` of each post, one stage at a time over the whole batch.

    Only the first ``max_chars`` characters of a text are analysed (cut at a boundary, see
    :mod:`analysis.limits`), so one post's cost is bounded whatever its length; the result
    of a longer one says so (``truncated``).

    Each post's analysis is the one it gets alone. Running a stage (tokeniser, NER taggers,
    Covid matcher, claim index, classifier) over every post before the next stage keeps that
    stage's models and tables in the CPU caches; post after post, each stage found them
    evicted by the others (about a third of the analysis cost on ReINTEL posts).
    """
    titles = [
        normalize_text(analysed_part(post.title or "", DEFAULT_MAX_TITLE_CHARS)) for post in posts
    ]
    heads = [analysed_part(post.text or "", max_chars) for post in posts]
    texts = [normalize_text(head) for head in heads]
    truncated = [
        {"analysed_chars": len(head), "text_chars": len(post.text)}
        if len(head) < len(post.text or "")
        else None
        for post, head in zip(posts, heads, strict=True)
    ]
    langs = [detect_language(f"{title}\n{text}") for title, text in zip(titles, texts, strict=True)]
    title_words = [tokenize_words(title) for title in titles]
    body_words = [_tokenize_in_pieces(text) for text in texts]
    body_tokens = [[word.replace(" ", "_") for word in words] for words in body_words]
    tokens = [
        [word.replace(" ", "_") for word in words] + body
        for words, body in zip(title_words, body_tokens, strict=True)
    ]
    scored = [index for index, lang in enumerate(langs) if lang == "vi"]
    entities = {i: extract_entities(_lead_tokens(title_words[i], body_words[i])) for i in scored}
    covid = {
        i: detect_covid(
            texts[i],
            titles[i],
            lexicon=resources.covid_lexicon,
            model=resources.covid_model,
            threshold=thresholds.covid,
            lang=langs[i],
        ).to_dict()
        for i in scored
    }
    # the claim scorer wants the body's tokens (it reads the title separately)
    claims = _score_claims(
        [posts[i] for i in scored],
        [titles[i] for i in scored],
        [texts[i] for i in scored],
        [body_tokens[i] for i in scored],
        resources,
        thresholds.claim,
        [tokens[i][: len(title_words[i])] for i in scored],
    )
    claim_of = dict(zip(scored, claims, strict=True))
    results: list[Analysis] = []
    for index, lang in enumerate(langs):
        if lang != "vi":
            reason = f"language:{lang}"
            skipped = {"score": 0.0, "flag": False, "terms": [], "reason": reason}
            results.append(
                Analysis(
                    lang,
                    [],
                    skipped,
                    _empty_claim(reason),
                    tokens[index],
                    truncated=truncated[index],
                )
            )
            continue
        analysis = Analysis(
            lang,
            entities[index],
            covid[index],
            claim_of[index],
            tokens[index],
            truncated=truncated[index],
        )
        results.append(analysis)
    return results


def _tokenize_in_pieces(text: str) -> list[str]:
    """:func:`tokenize_words` of ``text``, a bounded piece at a time (the segmenter's memory
    grows with its input); a text that fits in one piece is segmented as before."""
    return [word for piece in pieces(text) for word in tokenize_words(piece)]
