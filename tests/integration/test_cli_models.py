"""``misinfo train`` / ``misinfo evaluate`` on tiny generated data, the ReINTEL loader, and the
committed model's recorded figures. The full cross-validation on the shared data is ``slow``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.training.claims_data import (
    default_reintel_path,
    read_labelled_posts,
    read_reintel_csv,
)

HEADER = [
    "id",
    "user_name",
    "post_message",
    "timestamp_post",
    "num_like_post",
    "num_comment_post",
    "num_share_post",
    "label",
]
RUMOURS = ["uống tỏi", "xông lá sả", "súc nước muối", "uống chanh nóng", "ăn gừng sống"]
NEWS = ["lịch tiêm chủng", "kết quả xét nghiệm", "tình hình giao thông", "giá xăng", "thời tiết"]


def write_tiny_reintel(path: Path) -> None:
    """16 users x 6 posts, half unreliable, plus one repeated text and one spilled row."""
    rows: list[list[str]] = []
    for user in range(16):
        for post in range(6):
            n = user * 6 + post
            if post % 2:
                text = f"KHẨN CẤP!!! {RUMOURS[n % 5]} chữa khỏi virus, chia sẻ ngay số {n}"
                counts = [str(3 + n), "40", "200"]
                label = "1"
            else:
                text = f"UBND phường {n} thông báo {NEWS[n % 5]} cho người dân tuần này."
                counts = [str(100 + n), "5", "unknown"]
                label = "0"
            rows.append(
                [str(n), f"user{user}", text, str(1_585_000_000 + 3600 * n), *counts, label]
            )
    rows.append(["900", "user3", rows[0][2], "1585000000", "1", "1", "1", "0"])
    # unquoted message with commas: the text spills into the count columns
    rows.append(
        ["901", "user4", "Tin nhanh", " giá vàng tăng", " chứng khoán giảm", "1585000000", "7", "0"]
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    write_tiny_reintel(path)
    return path


def test_reader_repairs_spilled_rows_and_keeps_missing_counts_missing(tiny_csv):
    posts, report = read_reintel_csv(tiny_csv)
    assert report.rows == 98 and report.repaired == 1 and report.skipped == 0
    spilled = next(p for p in posts if p.id == "901")
    assert spilled.text == "Tin nhanh, giá vàng tăng, chứng khoán giảm"
    assert spilled.timestamp == 1585000000 and spilled.engagement == {"likes": 7}
    first = next(p for p in posts if p.id == "0")
    assert first.engagement == {"likes": 100, "comments": 5}  # "unknown" shares: missing
    assert first.example().group == "user0"


def test_reader_reads_jsonl_and_simple_csv(tmp_path):
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text(
        json.dumps({"text": "Tin đồn", "label": 1, "engagement": {"likes": 3}}, ensure_ascii=False)
        + "\nnot json\n"
        + json.dumps({"text": "Không nhãn"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    posts, report = read_labelled_posts(jsonl)
    assert [(p.text, p.label, p.engagement) for p in posts] == [("Tin đồn", 1, {"likes": 3})]
    assert report.skipped == 2
    simple = tmp_path / "posts.csv"
    simple.write_text("text,label\nMột,0\nHai,1\nBa,x\n", encoding="utf-8")
    posts, report = read_labelled_posts(simple)
    assert [(p.text, p.label) for p in posts] == [("Một", 0), ("Hai", 1)]
    assert report.skipped == 1


def test_train_then_evaluate(tiny_csv, tmp_path):
    runner = CliRunner()
    model = tmp_path / "models" / "claim_classifier.joblib"
    base = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(
        main, [*base, "train", "--data", str(tiny_csv), "--output", str(model), "--folds", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "user-grouped CV ROC-AUC" in result.stdout
    assert "held-out users ROC-AUC" in result.stdout
    sidecar = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["duplicates_dropped"] == 1 and sidecar["rows_repaired"] == 1
    assert len(sidecar["data_sha256"]) == 64 and sidecar["sklearn_version"]
    assert 0.5 < sidecar["cv"]["roc_auc_mean"] <= 1.0
    assert sidecar["holdout"]["users"] >= 1

    result = runner.invoke(
        main,
        [
            *base,
            "evaluate",
            "--data",
            str(tiny_csv),
            "--model",
            str(model),
            "--threshold",
            "0.4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["task"] == "claim" and metrics["threshold"] == 0.4
    assert metrics["n"] == 98 and set(metrics["confusion"]) == {"tn", "fp", "fn", "tp"}
    assert metrics["roc_auc"] > 0.9
    assert 0.0 <= metrics["brier"] <= 1.0
    assert sum(row["count"] for row in metrics["reliability"]) == 98
    assert "training data" in result.stderr  # evaluating on the training file warns

    result = runner.invoke(
        main, [*base, "evaluate", "--data", str(tiny_csv), "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert "ROC-AUC" in result.stdout and "confusion matrix" in result.stdout
    assert "Brier score" in result.stdout and "predicted  observed  count" in result.stdout


def test_evaluate_cross_validation(tiny_csv, tmp_path):
    result = CliRunner().invoke(
        main,
        ["--data-dir", str(tmp_path), "evaluate", "--data", str(tiny_csv), "--cv", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert len(metrics["roc_auc_folds"]) == 2
    assert metrics["n"] == 97  # the repeated text is dropped before splitting


def test_missing_data_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "train", "--data", str(tmp_path / "nope.csv")]
    )
    assert result.exit_code != 0
    assert "training data not found" in result.output and "--data" in result.output


def test_missing_model_is_a_clear_error(tiny_csv, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "--data-dir",
            str(tmp_path),
            "evaluate",
            "--data",
            str(tiny_csv),
            "--model",
            str(tmp_path / "m.joblib"),
        ],
    )
    assert result.exit_code != 0 and "misinfo train" in result.output


def test_commands_have_help():
    for name in ("train", "evaluate"):
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


MODEL = Path(__file__).resolve().parents[2] / "analysis" / "models" / "claim_classifier.joblib"


def test_committed_model_loads_and_records_its_figures():
    from crawler.resources.claims import load_claim_classifier

    sidecar = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["cv"]["grouped_by"] == "user" and sidecar["cv"]["folds"] == 5
    assert sidecar["cv"]["roc_auc_mean"] >= 0.92
    assert MODEL.stat().st_size < 20_000_000
    model = load_claim_classifier(MODEL)
    from analysis.claim_model import ClaimExample

    rumour = ClaimExample("KHẨN CẤP!!! Chia sẻ ngay: uống nước muối ấm chữa khỏi virus corona 100%")
    news = ClaimExample(
        "Sáng nay, Bộ Y tế ghi nhận 12 ca mắc mới, đều là người nhập cảnh đã được cách ly."
    )
    low, high = model.predict_proba([news, rumour])
    assert 0.0 <= low < high <= 1.0


@pytest.mark.slow
@pytest.mark.skipif(not default_reintel_path().is_file(), reason="shared ReINTEL data not present")
def test_full_cross_validation_reaches_target():
    from analysis.claim_model import dedupe_examples
    from analysis.claim_training import cross_validate

    posts, _ = read_reintel_csv(default_reintel_path())
    examples, labels, _ = dedupe_examples([p.example() for p in posts], [p.label for p in posts])
    cv = cross_validate(examples, labels, k=5)
    assert cv.mean_auc >= 0.92


@pytest.mark.slow
@pytest.mark.skipif(not default_reintel_path().is_file(), reason="shared data not present")
def test_evaluate_covid_task_on_shared_data(tmp_path):
    pytest.importorskip("crawler.training.covid_data")
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "evaluate", "--task", "covid", "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["task"] == "covid" and metrics["n"] > 100 and metrics["roc_auc"] > 0.8
