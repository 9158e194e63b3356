"""The trained likely-false-post classifier: recipe, calibrated probability, cross-validation.

Pure computation (no file or network I/O): the edge (``crawler/training``, ``crawler/cli_models``)
reads the labelled data and saves the fitted :class:`ClaimClassifier` with joblib. Everything
goes through scikit-learn's public API (``transform``, ``decision_function``,
``predict_proba``), so a library upgrade cannot silently change what a saved model computes.

Recipe (chosen by user-grouped cross-validation on the ReINTEL users outside the held-out
ones; figures in ``analysis/models/README.md``):

* text views (:mod:`analysis.claim_features`): segmented words (1-2 grams, binary TF-IDF) and
  ``char_wb`` 2-5 grams of the folded text (no diacritics);
* base models: a logistic regression on the words, an NB-SVM-style logistic regression
  (features scaled by naive Bayes log-count ratios) on words + folded characters, and a
  histogram gradient boosting model on the metadata (engagement, posting time, surface
  statistics), which treats an unknown value as missing;
* a stacker fitted on inner user-grouped out-of-fold scores: the mean of a logistic
  regression over the three scores and a gradient boosting model over the two text scores
  plus the metadata; posts without engagement counts go through a second stacker (logistic
  regression) over the two text scores, so missing metadata is neutral instead of "zero
  likes";
* Platt scaling of each stacker, fitted on its own user-grouped out-of-fold outputs, so the
  probability is calibrated (about p of the posts scored p are unreliable, at ReINTEL's
  base rate).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from analysis.calibration import PlattScaling, brier_score, reliability_table
from analysis.claim_features import (
    METADATA_NAMES,
    ClaimExample,
    folded_view,
    has_engagement,
    metadata_rows,
    with_tokens,
    word_view,
)
from analysis.text import fold_diacritics

__all__ = [
    "DEFAULT_CV_FOLDS",
    "DEFAULT_SEED",
    "ClaimClassifier",
    "ClaimExample",
    "CrossValidation",
    "binary_metrics",
    "cross_validate",
    "dedupe_examples",
    "grouped_folds",
    "holdout_split",
    "run_training",
    "train_claim_classifier",
]

DEFAULT_SEED = 13
DEFAULT_CV_FOLDS = 5
DEFAULT_INNER_FOLDS = 5
DEFAULT_WORD_NGRAMS = (1, 2)
DEFAULT_CHAR_NGRAMS = (2, 5)
DEFAULT_CHAR_MAX_FEATURES = 200_000
#: Inverse regularisation of the word model and of the NB-SVM (chosen by grouped CV).
DEFAULT_WORD_C = 10.0
DEFAULT_NB_C = 3.0
#: Small, strongly regularised trees: a dozen metadata columns, a few thousand posts.
DEFAULT_GBM_PARAMS = {
    "max_iter": 300,
    "learning_rate": 0.03,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 30,
    "l2_regularization": 1.0,
}
_CLIP = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def _text_key(text: str) -> str:
    """Duplicate key: folded text with punctuation and spacing removed."""
    folded = re.sub(r"\W+", " ", fold_diacritics(text)).strip()
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()


def dedupe_examples(
    examples: Sequence[ClaimExample], labels: Sequence[int]
) -> tuple[list[ClaimExample], list[int], int]:
    """Keep the first of texts that repeat (after folding), so no copy leaks across folds.

    Returns the kept examples, their labels and how many were dropped.
    """
    seen: set[str] = set()
    kept: list[ClaimExample] = []
    kept_labels: list[int] = []
    for example, label in zip(examples, labels, strict=True):
        key = _text_key(example.text)
        if key in seen:
            continue
        seen.add(key)
        kept.append(example)
        kept_labels.append(int(label))
    return kept, kept_labels, len(examples) - len(kept)


def _vectorizers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(
        ngram_range=DEFAULT_WORD_NGRAMS,
        binary=True,
        sublinear_tf=True,
        min_df=2,
        max_df=0.9,
        token_pattern=r"\S+",  # the view is already segmented: "khẩu_trang", "f0", "<url>"
        lowercase=False,
        dtype=np.float32,
    )
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=DEFAULT_CHAR_NGRAMS,
        sublinear_tf=True,
        min_df=2,
        max_features=DEFAULT_CHAR_MAX_FEATURES,
        lowercase=False,
        dtype=np.float32,
    )
    return words, chars


@dataclass
class _Views:
    """The two fitted TF-IDF views."""

    words: object
    chars: object

    @classmethod
    def fit(cls, examples: Sequence[ClaimExample]) -> _Views:
        words, chars = _vectorizers()
        words.fit([word_view(e) for e in examples])
        chars.fit([folded_view(e) for e in examples])
        return cls(words, chars)

    def transform(
        self, examples: Sequence[ClaimExample], *, normalized: bool = False
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        x_words = self.words.transform([word_view(e, normalized=normalized) for e in examples])
        x_chars = self.chars.transform([folded_view(e, normalized=normalized) for e in examples])
        return x_words.tocsr(), sparse.hstack([x_words, x_chars]).tocsr()


def _nb_ratio(matrix: sparse.csr_matrix, y: np.ndarray) -> np.ndarray:
    present = (matrix > 0).astype(np.float64)
    pos = 1.0 + np.asarray(present[y == 1].sum(axis=0)).ravel()
    neg = 1.0 + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.log((pos / pos.sum()) / (neg / neg.sum()))


@dataclass
class _BaseModels:
    """The three base models fitted on one training set."""

    words: object
    nb_ratio: np.ndarray
    nb: object
    gbm: object

    @classmethod
    def fit(cls, x_words, x_both, x_meta: np.ndarray, y: np.ndarray, seed: int) -> _BaseModels:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        def linear(c: float):
            return LogisticRegression(
                C=c, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=seed
            )

        # OpenMP on a shared 2-core box thrashes; one thread is faster
        with threadpool_limits(1):
            words = linear(DEFAULT_WORD_C).fit(x_words, y)
            ratio = _nb_ratio(x_both, y)
            nb = linear(DEFAULT_NB_C).fit(sparse.csr_matrix(x_both.multiply(ratio)), y)
            gbm = HistGradientBoostingClassifier(**DEFAULT_GBM_PARAMS, random_state=seed)
            gbm.fit(_binnable(x_meta), y)
        return cls(words, ratio, nb, gbm)

    def text_scores(self, x_words, x_both) -> np.ndarray:
        return np.column_stack(
            [
                self.words.decision_function(x_words),
                self.nb.decision_function(sparse.csr_matrix(x_both.multiply(self.nb_ratio))),
            ]
        )

    def meta_scores(self, x_meta: np.ndarray) -> np.ndarray:
        with threadpool_limits(1):
            return _logit(self.gbm.predict_proba(x_meta)[:, 1])


def grouped_folds(
    labels: Sequence[int], groups: Sequence[str], k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K folds that never split a group (a user) between train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, list(groups)))


@dataclass
class _Stacker:
    """Second level over the base scores, then Platt scaling fitted out of fold.

    A logistic regression over the scores; with metadata, also gradient boosting over the two
    text scores and the metadata columns (it learns interactions the linear stacker cannot,
    e.g. a share count that means more for some wordings), the two probabilities averaged.
    """

    linear: object
    trees: object | None
    platt: PlattScaling

    @staticmethod
    def fit_parts(scores: np.ndarray, meta: np.ndarray | None, y: np.ndarray, seed: int):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        linear = LogisticRegression(C=1.0, max_iter=1000).fit(scores, y)
        if meta is None:
            return linear, None
        with threadpool_limits(1):
            trees = HistGradientBoostingClassifier(**DEFAULT_GBM_PARAMS, random_state=seed)
            trees.fit(np.column_stack([scores[:, :2], _binnable(meta)]), y)
        return linear, trees

    @staticmethod
    def blend(linear, trees, scores: np.ndarray, meta: np.ndarray | None) -> np.ndarray:
        p = linear.predict_proba(scores)[:, 1]
        if trees is None or meta is None:
            return p
        with threadpool_limits(1):
            q = trees.predict_proba(np.column_stack([scores[:, :2], meta]))[:, 1]
        return (p + q) / 2

    @classmethod
    def fit(
        cls,
        scores: np.ndarray,
        meta: np.ndarray | None,
        y: np.ndarray,
        groups: Sequence[str],
        k: int,
        seed: int,
    ) -> _Stacker:
        # the stacker's own out-of-fold outputs (grouped by user) are what Platt scaling
        # learns from, so it corrects the optimism of scoring the rows it was fitted on
        outputs = np.zeros(len(y))
        for train_idx, test_idx in grouped_folds(y, groups, k, seed + 2):
            part_meta = None if meta is None else meta[train_idx]
            linear, trees = cls.fit_parts(scores[train_idx], part_meta, y[train_idx], seed)
            test_meta = None if meta is None else meta[test_idx]
            outputs[test_idx] = cls.blend(linear, trees, scores[test_idx], test_meta)
        linear, trees = cls.fit_parts(scores, meta, y, seed)
        return cls(linear, trees, PlattScaling.fit(outputs, y))

    def proba(self, scores: np.ndarray, meta: np.ndarray | None = None) -> np.ndarray:
        return self.platt(self.blend(self.linear, self.trees, scores, meta))


def _binnable(x_meta: np.ndarray) -> np.ndarray:
    """scikit-learn cannot bin a column missing everywhere: make such a column constant."""
    return np.where(np.isnan(x_meta).all(axis=0), 0.0, x_meta)


@dataclass
class ClaimClassifier:
    """Fitted likely-false-post classifier; :meth:`predict_proba` gives P(unreliable)."""

    views: _Views
    base: _BaseModels
    stacker_full: _Stacker
    stacker_text: _Stacker
    #: last posting time seen in training (later dates are unknown to the metadata model)
    latest: float | None = None
    metadata: dict = field(default_factory=dict)

    def predict_proba(
        self, examples: Sequence[ClaimExample], *, normalized: bool = False
    ) -> np.ndarray:
        """Calibrated probability that each post is unreliable (label 1).

        ``normalized`` says the texts already went through :func:`analysis.text.normalize_text`
        (as in :func:`analysis.claims.score_claims`), so it is not run again. Scoring a batch
        costs far less per post than one post at a time (scikit-learn's per-call overhead).
        """
        if not examples:
            return np.zeros(0)
        x_words, x_both = self.views.transform(examples, normalized=normalized)
        text = self.base.text_scores(x_words, x_both)
        result = self.stacker_text.proba(text)
        with_meta = np.array([has_engagement(example) for example in examples])
        if with_meta.any():
            chosen = [e for e, m in zip(examples, with_meta, strict=True) if m]
            x_meta = np.array(metadata_rows(chosen, latest=self.latest), dtype=float)
            full = np.column_stack([text[with_meta], self.base.meta_scores(x_meta)])
            result[with_meta] = self.stacker_full.proba(full, x_meta)
        return result

    def predict_one(self, example: ClaimExample, *, normalized: bool = False) -> float:
        return float(self.predict_proba([example], normalized=normalized)[0])


def train_claim_classifier(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    inner_folds: int = DEFAULT_INNER_FOLDS,
) -> ClaimClassifier:
    """Fit the whole recipe; the stackers learn from inner user-grouped out-of-fold scores."""
    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs both reliable (0) and unreliable (1) examples")
    examples = with_tokens(examples)
    times = [e.timestamp for e in examples if e.timestamp is not None and e.timestamp > 0]
    latest = max(times) if times else None
    views = _Views.fit(examples)
    x_words, x_both = views.transform(examples)
    x_meta = np.array(metadata_rows(examples, latest=latest), dtype=float)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    k = max(2, min(inner_folds, int(min(np.bincount(y))), len(set(groups))))
    inner = np.zeros((len(y), 3))
    for train_idx, test_idx in grouped_folds(y, groups, k, seed):
        fold = _BaseModels.fit(
            x_words[train_idx], x_both[train_idx], x_meta[train_idx], y[train_idx], seed
        )
        inner[test_idx, :2] = fold.text_scores(x_words[test_idx], x_both[test_idx])
        inner[test_idx, 2] = fold.meta_scores(x_meta[test_idx])
    base = _BaseModels.fit(x_words, x_both, x_meta, y, seed)
    # the full stacker serves posts with engagement counts, so it learns from those (all
    # posts when too few have counts to learn from)
    rows = np.array([has_engagement(e) for e in examples])
    if rows.sum() < 2 * k or len(set(y[rows].tolist())) < 2:
        rows = np.ones(len(y), dtype=bool)
    full_groups = [g for g, keep in zip(groups, rows, strict=True) if keep]
    stacker_full = _Stacker.fit(inner[rows], x_meta[rows], y[rows], full_groups, k, seed)
    stacker_text = _Stacker.fit(inner[:, :2], None, y, groups, k, seed)
    return ClaimClassifier(views, base, stacker_full, stacker_text, latest)


@dataclass
class CrossValidation:
    """Out-of-fold probabilities and per-fold ROC-AUC of the recipe."""

    probabilities: np.ndarray
    labels: np.ndarray
    fold_auc: list[float]
    fold_auc_text_only: list[float]

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.fold_auc))

    @property
    def std_auc(self) -> float:
        return float(np.std(self.fold_auc))

    @property
    def pooled_auc(self) -> float:
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(self.labels, self.probabilities))


def cross_validate(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    k: int = DEFAULT_CV_FOLDS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> CrossValidation:
    """K-fold cross-validation grouped by ``example.group`` (the user)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=int)
    examples = with_tokens(examples)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    oof = np.zeros(len(y))
    fold_auc: list[float] = []
    fold_auc_text: list[float] = []
    for fold, (train_idx, test_idx) in enumerate(grouped_folds(y, groups, k, seed), start=1):
        model = train_claim_classifier([examples[i] for i in train_idx], y[train_idx], seed=seed)
        test = [examples[i] for i in test_idx]
        oof[test_idx] = model.predict_proba(test)
        text_only = text_only_proba(model, test)
        if len(set(y[test_idx].tolist())) == 2:
            fold_auc.append(float(roc_auc_score(y[test_idx], oof[test_idx])))
            fold_auc_text.append(float(roc_auc_score(y[test_idx], text_only)))
        if progress:
            last = f"{fold_auc[-1]:.4f}" if fold_auc else "n/a"
            progress(f"fold {fold}/{k}: {len(test_idx)} posts, ROC-AUC {last}")
    return CrossValidation(oof, y, fold_auc, fold_auc_text)


def text_only_proba(model: ClaimClassifier, examples: Sequence[ClaimExample]) -> np.ndarray:
    """What the model says when the engagement counts are hidden (the no-metadata path)."""
    stripped = [ClaimExample(e.text, None, e.timestamp, e.group, e.tokens) for e in examples]
    return model.predict_proba(stripped)


def holdout_split(
    labels: Sequence[int], groups: Sequence[str], *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split off about ``fraction`` of the users (stratified) as never-seen test data."""
    k = max(2, round(1 / fraction))
    train_idx, test_idx = grouped_folds(labels, groups, k, seed + 1)[0]
    return train_idx, test_idx


def binary_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict:
    """ROC-AUC, precision, recall, F1, the confusion matrix at ``threshold``, and calibration
    (Brier score, reliability table) of the scores read as probabilities."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    predicted = (s >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, average="binary", zero_division=0
    )
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "threshold": threshold,
        "roc_auc": float(roc_auc_score(y, s)) if len(set(y.tolist())) == 2 else None,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "brier": round(brier_score(y, s), 4),
        "reliability": [row.to_dict() for row in reliability_table(y, s)],
    }


DEFAULT_HOLDOUT_FRACTION = 0.15


@dataclass
class TrainingRun:
    """The fitted model plus the figures that justify it (written to the metrics sidecar)."""

    model: ClaimClassifier
    metrics: dict


def run_training(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    folds: int = DEFAULT_CV_FOLDS,
    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION,
    progress: Callable[[str], None] | None = None,
) -> TrainingRun:
    """Dedupe, check on never-seen users, cross-validate, then fit on everything.

    1. Repeated texts are dropped (first copy kept) so no copy sits on both sides of a split.
    2. About ``holdout_fraction`` of the users are set aside; the recipe (fixed in advance,
       never tuned on them) is cross-validated on the rest and then fitted on the rest and
       scored on the held-out users: the "data it has never seen" figure.
    3. ``folds``-fold user-grouped cross-validation on all users gives the headline figure.
    4. The shipped model is fitted on all users.
    """
    say = progress or (lambda _message: None)
    examples, labels, dropped = dedupe_examples(examples, labels)
    examples = with_tokens(examples)
    y = np.asarray(labels, dtype=int)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    say(f"{len(examples)} posts after dropping {dropped} repeated texts; {int(y.sum())} unreliable")

    dev_idx, held_idx = holdout_split(y, groups, fraction=holdout_fraction, seed=seed)
    dev = [examples[i] for i in dev_idx]
    held = [examples[i] for i in held_idx]
    say(f"held-out users: {len({groups[i] for i in held_idx})} ({len(held_idx)} posts)")
    dev_cv = cross_validate(dev, y[dev_idx], k=folds, seed=seed, progress=say)
    dev_model = train_claim_classifier(dev, y[dev_idx], seed=seed)
    held_scores = dev_model.predict_proba(held)
    held_metrics = binary_metrics(y[held_idx], held_scores, 0.5)
    held_metrics["roc_auc_text_only"] = binary_metrics(
        y[held_idx], text_only_proba(dev_model, held), 0.5
    )["roc_auc"]
    say(f"held-out users ROC-AUC {held_metrics['roc_auc']:.4f}")

    say(f"{folds}-fold user-grouped cross-validation on all posts")
    full_cv = cross_validate(examples, y, k=folds, seed=seed, progress=say)
    say(f"CV ROC-AUC {full_cv.mean_auc:.4f} ± {full_cv.std_auc:.4f}; fitting the final model")
    model = train_claim_classifier(examples, y, seed=seed)
    metrics = {
        "posts": len(examples),
        "unreliable": int(y.sum()),
        "duplicates_dropped": dropped,
        "seed": seed,
        "metadata_features": list(METADATA_NAMES),
        "cv": _cv_summary(full_cv, folds),
        "cv_at_0.5": binary_metrics(full_cv.labels, full_cv.probabilities, 0.5),
        "holdout": {
            "fraction_of_users": holdout_fraction,
            "users": len({groups[i] for i in held_idx}),
            "dev_cv": _cv_summary(dev_cv, folds),
            "test": held_metrics,
        },
    }
    model.metadata = dict(metrics)
    return TrainingRun(model, metrics)


def _cv_summary(cv: CrossValidation, folds: int) -> dict:
    return {
        "folds": folds,
        "grouped_by": "user",
        "roc_auc_mean": round(cv.mean_auc, 4),
        "roc_auc_std": round(cv.std_auc, 4),
        "roc_auc_pooled": round(cv.pooled_auc, 4),
        "roc_auc_folds": [round(value, 4) for value in cv.fold_auc],
        "roc_auc_text_only_mean": round(float(np.mean(cv.fold_auc_text_only)), 4),
        "brier": round(brier_score(cv.labels, cv.probabilities), 4),
    }
