"""Probability calibration and how to check it: Platt scaling, Brier score, reliability table.

A score is calibrated when, among posts scored about p, about a fraction p are positive: then a
threshold of 0.5 means "more likely false than not", as an analyst reads it. Pure functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_RELIABILITY_BINS",
    "PlattScaling",
    "ReliabilityBin",
    "brier_score",
    "reliability_table",
]

#: Equal-width probability bins of the reliability table.
DEFAULT_RELIABILITY_BINS = 10
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class PlattScaling:
    """``sigmoid(slope * logit(p) + intercept)``: fitted on out-of-fold scores, two numbers."""

    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, probabilities: Sequence[float], labels: Sequence[int]) -> PlattScaling:
        from sklearn.linear_model import LogisticRegression

        x = _logit(np.asarray(probabilities)).reshape(-1, 1)
        y = np.asarray(labels, dtype=int)
        if len(set(y.tolist())) < 2:
            return cls()
        # a large C: two parameters on thousands of rows need no shrinkage towards 0.5
        model = LogisticRegression(C=1e4, max_iter=1000).fit(x, y)
        return cls(float(model.coef_[0][0]), float(model.intercept_[0]))

    def __call__(self, probabilities: np.ndarray) -> np.ndarray:
        z = self.slope * _logit(probabilities) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


def brier_score(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    """Mean squared error of the probabilities (0 is perfect; always saying the base rate
    scores ``rate * (1 - rate)``)."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2)) if len(y) else math.nan


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    predicted: float
    observed: float
    count: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "bin": f"{self.low:.1f}-{self.high:.1f}",
            "predicted": round(self.predicted, 4),
            "observed": round(self.observed, 4),
            "count": self.count,
        }


def reliability_table(
    labels: Sequence[int], probabilities: Sequence[float], bins: int = DEFAULT_RELIABILITY_BINS
) -> list[ReliabilityBin]:
    """Per equal-width bin of predicted probability: mean prediction, observed rate, count.

    Empty bins are left out; 1.0 falls in the last bin.
    """
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    index = np.minimum((p * bins).astype(int), bins - 1)
    table: list[ReliabilityBin] = []
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        if count:
            table.append(
                ReliabilityBin(
                    b / bins,
                    (b + 1) / bins,
                    float(p[members].mean()),
                    float(y[members].mean()),
                    count,
                )
            )
    return table
