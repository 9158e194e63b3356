"""What the likely-false-post classifier reads from a post: two text views and its metadata.

Pure functions (no I/O). The text views are chosen to survive real posts the model has never
seen: words as underthesea segments them (Vietnamese meaning lives in multi-syllable words,
"khẩu_trang", "tin_đồn"), and character n-grams of the *folded* text (no diacritics, lower
case), which still match when a post is typed without accents, in teencode or with words the
training data never had. Metadata (engagement counts, posting time) is used when known and is
``NaN`` when not: the models treat a missing value as missing, never as zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from analysis.text import fold_diacritics, letter_counts, normalize_text, segment_words

__all__ = [
    "DEFAULT_EPOCH",
    "ENGAGEMENT_KEYS",
    "METADATA_NAMES",
    "ClaimExample",
    "folded_view",
    "has_engagement",
    "metadata_features",
    "model_text",
    "with_tokens",
    "word_view",
]

#: Engagement keys read from a post's ``engagement`` dict (crawler items use these names).
ENGAGEMENT_KEYS = ("likes", "comments", "shares")
#: Origin of the "days since" posting-date feature (the pandemic's first Vietnamese posts).
DEFAULT_EPOCH = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
_VN_OFFSET = timedelta(hours=7)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_DAY = 86_400.0

#: Column names of :func:`metadata_features`, in order (the model's sidecar lists them).
METADATA_NAMES = (
    "log_likes",
    "log_comments",
    "log_shares",
    "hour_vn",
    "log_length",
    "capitals_ratio",
    "exclamations_per_100_chars",
    "urls",
    "hashtags",
    "days_since_2020",
    "log_comments_minus_log_likes",
    "log_shares_minus_log_likes",
)


@dataclass(frozen=True, slots=True)
class ClaimExample:
    """One post as the classifier sees it; ``engagement`` keys are :data:`ENGAGEMENT_KEYS`.

    ``tokens`` are the post's words as :func:`analysis.text.segment_words` gives them for the
    normalised text (the analysis pipeline has them already); ``None`` means "segment here".
    """

    text: str
    engagement: dict[str, int] | None = None
    timestamp: float | None = None
    group: str = ""
    tokens: tuple[str, ...] | None = None


def model_text(text: str, *, normalized: bool = False) -> str:
    """Normalised, lower-cased text with URLs as one ``<url>`` token (as in the training data)."""
    return _URL.sub(" <URL> ", text if normalized else normalize_text(text)).lower()


def word_view(example: ClaimExample, *, normalized: bool = False) -> str:
    """The post as lower-cased segmented words joined by spaces ("khẩu_trang y_tế ...")."""
    tokens = example.tokens
    if tokens is None:
        text = example.text if normalized else normalize_text(example.text)
        tokens = tuple(segment_words(text))
    return " ".join(tokens).lower()


def with_tokens(examples: Sequence[ClaimExample]) -> list[ClaimExample]:
    """The examples with their words segmented once (training reads each view many times)."""
    return [
        e
        if e.tokens is not None
        else replace(e, tokens=tuple(segment_words(normalize_text(e.text))))
        for e in examples
    ]


def folded_view(example: ClaimExample, *, normalized: bool = False) -> str:
    """:func:`model_text` without diacritics: what character n-grams are counted on."""
    return fold_diacritics(model_text(example.text, normalized=normalized))


def has_engagement(example: ClaimExample) -> bool:
    return any((example.engagement or {}).get(key) is not None for key in ENGAGEMENT_KEYS)


def _log_count(engagement: dict[str, int], key: str) -> float:
    value = engagement.get(key)
    return math.log1p(value) if value is not None and value >= 0 else math.nan


def metadata_features(example: ClaimExample, *, latest: float | None = None) -> list[float]:
    """:data:`METADATA_NAMES` of one post; unknown values are ``NaN``.

    ``latest`` is the last posting time the model was trained on: a later post's date says
    nothing the model learnt (its trees would put it with the last weeks of training), so it
    is missing rather than extrapolated.
    """
    engagement = example.engagement or {}
    likes, comments, shares = (_log_count(engagement, key) for key in ENGAGEMENT_KEYS)
    hour = days = math.nan
    timestamp = example.timestamp
    if timestamp is not None and timestamp > 0:
        local = datetime.fromtimestamp(timestamp, UTC) + _VN_OFFSET
        hour = local.hour + local.minute / 60
        if latest is None or timestamp <= latest:
            days = (timestamp - DEFAULT_EPOCH) / _DAY
    text = example.text
    letters, upper = letter_counts(text)
    return [
        likes,
        comments,
        shares,
        hour,
        math.log1p(len(text)),
        upper / letters if letters else 0.0,
        100 * text.count("!") / (len(text) + 1),
        float(len(_URL.findall(text)) + text.count("<URL>")),
        float(text.count("#")),
        days,
        comments - likes,  # NaN when either is unknown
        shares - likes,
    ]


def metadata_rows(
    examples: Sequence[ClaimExample], *, latest: float | None = None
) -> list[list[float]]:
    return [metadata_features(example, latest=latest) for example in examples]
