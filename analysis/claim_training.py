"""Cross-validation, held-out check and the training run of the claim classifier.

Pure computation (no file I/O): ``misinfo train`` and ``misinfo evaluate`` call these and write
the results. Every split is grouped by user (``ClaimExample.group``), so no user's posts are on
both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.calibration import brier_score, reliability_table
from analysis.claim_features import METADATA_NAMES, ClaimExample, with_tokens
from analysis.claim_model import (
    DEFAULT_CV_FOLDS,
    DEFAULT_SEED,
    ClaimClassifier,
    dedupe_examples,
    grouped_folds,
    text_only_proba,
    train_claim_classifier,
)

__all__ = [
    "DEFAULT_HOLDOUT_FRACTION",
    "CrossValidation",
    "TrainingRun",
    "binary_metrics",
    "cross_validate",
    "holdout_split",
    "run_training",
]


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
