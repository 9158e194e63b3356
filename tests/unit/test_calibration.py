"""Calibration helpers and the claim classifier's metadata features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.calibration import PlattScaling, brier_score, reliability_table
from analysis.claim_features import METADATA_NAMES, ClaimExample, metadata_features


def test_platt_scaling_repairs_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.05, 0.95, 4000)
    labels = (rng.uniform(size=truth.size) < truth).astype(int)
    # overconfident: the log-odds doubled
    overconfident = 1 / (1 + np.exp(-2 * np.log(truth / (1 - truth))))
    platt = PlattScaling.fit(overconfident, labels)
    assert 0.4 < platt.slope < 0.6
    assert brier_score(labels, platt(overconfident)) < brier_score(labels, overconfident)
    # order is kept, so ROC-AUC is unchanged
    assert (np.argsort(platt(overconfident)) == np.argsort(overconfident)).all()


def test_platt_scaling_of_one_class_is_identity() -> None:
    platt = PlattScaling.fit([0.2, 0.7], [1, 1])
    assert platt(np.array([0.2, 0.7])) == pytest.approx([0.2, 0.7])


def test_reliability_table_bins_and_counts() -> None:
    labels = [0, 0, 1, 1, 1, 0]
    scores = [0.05, 0.15, 0.12, 0.95, 1.0, 0.55]
    table = reliability_table(labels, scores)
    assert [row.count for row in table] == [1, 2, 1, 2]
    assert sum(row.count for row in table) == len(labels)
    last = table[-1]
    assert (last.low, last.high, last.observed) == (0.9, 1.0, 1.0)
    assert last.predicted == pytest.approx(0.975)
    assert table[1].to_dict() == {"bin": "0.1-0.2", "predicted": 0.135, "observed": 0.5, "count": 2}


def test_brier_score_bounds() -> None:
    assert brier_score([0, 1], [0.0, 1.0]) == 0.0
    assert brier_score([0, 1], [1.0, 0.0]) == 1.0
    assert brier_score([0, 0, 0, 1], [0.25] * 4) == pytest.approx(0.1875)


def test_metadata_is_missing_when_unknown_never_zero() -> None:
    row = metadata_features(ClaimExample("Tin nhanh"))
    assert len(row) == len(METADATA_NAMES)
    values = dict(zip(METADATA_NAMES, row, strict=True))
    for name in ("log_likes", "log_comments", "log_shares", "hour_vn", "days_since_2020"):
        assert math.isnan(values[name])
    partial = dict(
        zip(METADATA_NAMES, metadata_features(ClaimExample("x", {"likes": 9})), strict=True)
    )
    assert partial["log_likes"] == pytest.approx(math.log(10))
    assert math.isnan(partial["log_comments_minus_log_likes"])


def test_posting_date_after_the_training_window_is_unknown() -> None:
    march_2020 = 1_584_000_000.0
    inside = dict(
        zip(METADATA_NAMES, metadata_features(ClaimExample("x", None, march_2020)), strict=True)
    )
    assert 70 < inside["days_since_2020"] < 80
    later = metadata_features(ClaimExample("x", None, 1_700_000_000.0), latest=1_600_000_000.0)
    values = dict(zip(METADATA_NAMES, later, strict=True))
    assert math.isnan(values["days_since_2020"]) and not math.isnan(values["hour_vn"])
