"""The word model of the Covid detector: weights of folded word n-grams, learnt from labels.

It reads the post's *matching form* (:func:`analysis.text.canonical_forms`: folded, lower
case, teencode resolved), so a post typed without diacritics or in teencode has the same words
as one typed properly. Unigrams and bigrams present in the post (each counted once) are
weighted and summed, scaled by one over the square root of how many known n-grams the post has
(a binary, l2-normalised bag of words). The weights are plain numbers in the model's JSON, so
scoring needs no library and reads no library internals. Pure functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_NGRAM_C",
    "DEFAULT_NGRAM_MIN_DF",
    "WordModel",
    "fit_word_model",
    "ngrams",
]

#: Documents an n-gram must appear in to get a weight (rarer ones are noise and size).
DEFAULT_NGRAM_MIN_DF = 5
#: Inverse regularisation of the logistic regression (chosen by grouped CV on the train part).
DEFAULT_NGRAM_C = 3.0
#: Decimals kept per weight in the JSON (the score moves by far less than its threshold step).
DEFAULT_WEIGHT_DECIMALS = 4


def ngrams(forms: Sequence[str]) -> set[str]:
    """Distinct unigrams and bigrams ("cach ly", "ly 14") of the matching-form tokens."""
    grams = set(forms)
    grams.update(f"{a} {b}" for a, b in itertools.pairwise(forms))
    return grams


@dataclass(frozen=True)
class WordModel:
    """``intercept + sum(weights[g] for g in known) / sqrt(len(known))``: a log-odds score."""

    weights: Mapping[str, float]
    intercept: float = 0.0
    info: Mapping[str, Any] = field(default_factory=dict)

    def known(self, grams: Iterable[str]) -> set[str]:
        # one C-level set intersection, not a look-up per n-gram in Python
        return self.weights.keys() & (grams if isinstance(grams, set) else set(grams))

    def decision(self, grams: Iterable[str]) -> float:
        known = self.known(grams)
        if not known:
            return self.intercept
        # fsum: the same sum, bit for bit, whatever the set's order
        total = math.fsum(map(self.weights.__getitem__, known))
        return self.intercept + total / math.sqrt(len(known))

    def to_mapping(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "weights": dict(self.weights), "info": dict(self.info)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WordModel:
        try:
            weights = {str(k): float(v) for k, v in data["weights"].items()}
            intercept = float(data.get("intercept", 0.0))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(
                f"covid word model: needs 'weights' (n-gram -> number): {exc}"
            ) from exc
        return cls(weights, intercept, dict(data.get("info") or {}))


def _matrix(docs: Sequence[set[str]], vocabulary: Mapping[str, int]):
    """Binary bag of known n-grams, each row scaled to unit length (as :meth:`decision`)."""
    import numpy as np
    from scipy import sparse

    rows, cols, values = [], [], []
    for row, grams in enumerate(docs):
        known = [vocabulary[g] for g in grams if g in vocabulary]
        if not known:
            continue
        scale = 1.0 / math.sqrt(len(known))
        rows += [row] * len(known)
        cols += known
        values += [scale] * len(known)
    return sparse.csr_matrix(
        (np.array(values), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
        shape=(len(docs), len(vocabulary)),
    )


def fit_word_model(
    docs: Sequence[set[str]],
    labels: Sequence[int],
    *,
    min_df: int = DEFAULT_NGRAM_MIN_DF,
    c: float = DEFAULT_NGRAM_C,
) -> WordModel:
    """Fit the weights on ``docs`` (each the :func:`ngrams` of one document); deterministic."""
    from collections import Counter

    from sklearn.linear_model import LogisticRegression

    counts = Counter(g for grams in docs for g in grams)
    vocabulary = {g: i for i, g in enumerate(sorted(g for g, n in counts.items() if n >= min_df))}
    if len(set(labels)) < 2:
        raise ValueError("covid word model: needs both labels")
    if not vocabulary:  # too few documents for any n-gram to be frequent: no word evidence
        return WordModel({}, 0.0, {"ngrams": "1-2", "min_df": min_df, "C": c})
    fitted = LogisticRegression(C=c, solver="liblinear", max_iter=2000).fit(
        _matrix(docs, vocabulary), list(labels)
    )
    coef = fitted.coef_[0]
    # every known n-gram keeps its weight, even ~0: it still counts in the post's length
    weights = {g: round(float(coef[i]), DEFAULT_WEIGHT_DECIMALS) for g, i in vocabulary.items()}
    return WordModel(
        weights,
        round(float(fitted.intercept_[0]), DEFAULT_WEIGHT_DECIMALS),
        {"ngrams": "1-2", "min_df": min_df, "C": c},
    )
