"""Training the Covid detector's model on labelled ``(title, text)`` documents.

Pure computation; ``crawler/training/covid_data.py`` reads the labelled set and writes the
model. :func:`train_covid_model` is the public entry point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.covid import (
    DEFAULT_COVID_THRESHOLD,
    FEATURE_NAMES,
    CovidLexicon,
    CovidModel,
    covid_features,
)
from analysis.covid_model import fit_word_model, ngrams
from analysis.text import canonical_forms

__all__ = ["DEFAULT_COVID_FOLDS", "train_covid_model"]

#: Folds of the grouped cross-validation that gives the word model's out-of-fold scores.
DEFAULT_COVID_FOLDS = 5


def train_covid_model(
    examples: Sequence[tuple[str, str]],
    labels: Sequence[int],
    *,
    lexicon: CovidLexicon,
    groups: Sequence[str] | None = None,
    regularisation: float = 1.0,
    info: Mapping[str, Any] | None = None,
    use_words: bool = True,
) -> CovidModel:
    """Fit the word model and the logistic coefficients on ``(title, text)`` examples.

    The combination learns from the word model's *out-of-fold* scores (folds never split a
    group: a ReINTEL user), so it weighs that score as it behaves on unseen posts. Only
    documents the detector may flag are learnt from (the others score 0 by construction).
    Deterministic.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    y = [int(label) for label in labels]
    if len(set(y)) < 2:
        raise ValueError("train_covid_model: need both labels")
    group_of = list(groups) if groups is not None else [str(i) for i in range(len(y))]
    grams = [
        ngrams(canonical_forms(text).forms)
        | (ngrams(canonical_forms(title).forms) if title else set())
        for title, text in examples
    ]
    words_oof = [0.0] * len(y)
    words = None
    if use_words:
        k = max(2, min(DEFAULT_COVID_FOLDS, min(y.count(0), y.count(1)), len(set(group_of))))
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0)
        for train_idx, test_idx in splitter.split(grams, y, group_of):
            fold = fit_word_model([grams[i] for i in train_idx], [y[i] for i in train_idx])
            for i in test_idx:
                words_oof[i] = fold.decision(grams[i])
        words = fit_word_model(grams, y)
    rows: list[list[float]] = []
    ys: list[int] = []
    for (title, text), label, oof in zip(examples, y, words_oof, strict=True):
        features = covid_features(text, title, lexicon=lexicon)
        if features.eligible:
            values = {**features.values, "words": oof}
            rows.append([values[name] for name in FEATURE_NAMES])
            ys.append(label)
    if len(set(ys)) < 2:
        raise ValueError("train_covid_model: need both labels among texts with Covid terms")
    fitted = LogisticRegression(C=regularisation, max_iter=1000).fit(rows, ys)
    coefficients = {
        name: round(float(c), 4) for name, c in zip(FEATURE_NAMES, fitted.coef_[0], strict=True)
    }
    return CovidModel(
        coefficients,
        round(float(fitted.intercept_[0]), 4),
        DEFAULT_COVID_THRESHOLD,
        info or {},
        words,
    )
