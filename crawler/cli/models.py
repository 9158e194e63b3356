"""``misinfo train`` and ``misinfo evaluate``: thin commands over :mod:`analysis.claim_model`.

Registered in the ``misinfo`` group by ``crawler.cli``; the :class:`crawler.app.App` comes from
the Click context. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from analysis.claim_model import DEFAULT_CV_FOLDS, DEFAULT_SEED
from crawler.app import App
from crawler.training.claims_data import (
    LabelledPost,
    default_reintel_path,
    read_labelled_posts,
    read_reintel_csv,
)

__all__ = ["evaluate_command", "train_command"]

MODELS_DIR = Path(__file__).resolve().parents[2] / "analysis" / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "claim_classifier.joblib"


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _resolve_data(path: Path | None) -> Path:
    data = path or default_reintel_path()
    if not data.is_file():
        raise click.ClickException(
            f"training data not found: {data} (pass --data PATH or set $MISINFO_SHARED_DATA "
            "to the directory holding reintel/train.csv)"
        )
    return data


def sidecar_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


@click.command("train")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    help="ReINTEL-format CSV. [default: $MISINFO_SHARED_DATA/reintel/train.csv, else "
    "../shared/data/reintel/train.csv beside the repository]",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_MODEL_PATH,
    show_default=True,
    help="Where to write the model (joblib); the metrics sidecar goes next to it as .json.",
)
@click.option("--folds", type=click.IntRange(2, 20), default=DEFAULT_CV_FOLDS, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
def train_command(data: Path | None, output: Path, folds: int, seed: int) -> None:
    """Train the likely-false-post classifier and write it with its CV metrics.

    Reproducible: fixed seeds, user-grouped folds, repeated texts dropped first. Reports the
    K-fold ROC-AUC and the score on a group of users never used while building the recipe.
    """
    import joblib
    import sklearn

    from analysis.claim_training import run_training

    data = _resolve_data(data)
    posts, report = read_reintel_csv(data)
    _progress(
        f"read {report.rows} rows from {data}: {report.repaired} repaired, {report.skipped} skipped"
    )
    labels = [post.label for post in posts]
    if len(set(labels)) < 2:
        raise click.ClickException(f"{data}: needs posts of both labels (0 and 1) to train")
    run = run_training(
        [post.example() for post in posts], labels, seed=seed, folds=folds, progress=_progress
    )
    metadata = {
        "model": "claim_classifier",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_file": data.name,
        "data_sha256": _file_hash(data),
        "rows_read": report.rows,
        "rows_repaired": report.repaired,
        "rows_skipped": report.skipped,
        "sklearn_version": sklearn.__version__,
        "python": sys.version.split()[0],
        **run.metrics,
    }
    run.model.metadata = metadata
    output.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(run.model, output, compress=3)
    sidecar_path(output).write_text(
        json.dumps(metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    cv, held = run.metrics["cv"], run.metrics["holdout"]["test"]
    click.echo(
        f"{folds}-fold user-grouped CV ROC-AUC: {cv['roc_auc_mean']:.4f} ± {cv['roc_auc_std']:.4f} "
        f"(pooled {cv['roc_auc_pooled']:.4f}; text only {cv['roc_auc_text_only_mean']:.4f})"
    )
    click.echo(
        f"held-out users ROC-AUC: {_auc(held['roc_auc'])} "
        f"(text only {_auc(held['roc_auc_text_only'])}); F1 at 0.5: {held['f1']:.3f}"
    )
    click.echo(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB) and {sidecar_path(output)}")


def _auc(value: float | None) -> str:
    return "n/a (one class only)" if value is None else f"{value:.4f}"


def _format_metrics(title: str, metrics: dict[str, Any]) -> str:
    confusion = metrics["confusion"]
    auc = metrics["roc_auc"]
    lines = [
        title,
        f"  posts: {metrics['n']} ({metrics['positives']} positive)",
        f"  ROC-AUC: {_auc(auc)}",
        f"  at threshold {metrics['threshold']:.2f}: precision {metrics['precision']:.3f}  "
        f"recall {metrics['recall']:.3f}  F1 {metrics['f1']:.3f}",
        "  confusion matrix (rows = truth, columns = predicted):",
        "               pred 0  pred 1",
        f"    truth 0  {confusion['tn']:7d} {confusion['fp']:7d}",
        f"    truth 1  {confusion['fn']:7d} {confusion['tp']:7d}",
    ]
    if metrics.get("reliability"):
        lines += [
            f"  Brier score: {metrics['brier']:.4f} (base-rate guess: "
            f"{_base_rate_brier(metrics):.4f})",
            "  reliability (scores read as probabilities):",
            "    bin        predicted  observed  count",
        ]
        lines += [
            f"    {row['bin']:<9}  {row['predicted']:9.3f}  {row['observed']:8.3f}  {row['count']:5d}"
            for row in metrics["reliability"]
        ]
    return "\n".join(lines)


def _base_rate_brier(metrics: dict[str, Any]) -> float:
    rate = metrics["positives"] / max(metrics["n"], 1)
    return rate * (1 - rate)


def _claim_scores(posts: list[LabelledPost], model_path: Path | None) -> list[float]:
    from crawler.resources.claims import ResourceError, load_claim_classifier

    try:
        model = load_claim_classifier(model_path or DEFAULT_MODEL_PATH)
    except ResourceError as exc:
        raise click.ClickException(f"{exc} (run `misinfo train` first)") from exc
    return model.predict_proba([post.example() for post in posts]).tolist()


def _covid_scores(data: Path | None) -> tuple[list[int], list[float]]:
    """Covid detector scores on the held-out part of the Covid labelled set."""
    try:
        from analysis.covid import detect_covid
        from crawler.resources.analysis import (
            DEFAULT_COVID_MODEL_PATH,
            load_covid_lexicon,
            load_covid_model,
        )
        from crawler.training.covid_data import covid_texts_and_labels
    except ImportError as exc:
        raise click.ClickException(f"the Covid detector is not available: {exc}") from exc
    app = click.get_current_context().find_object(App) or App()
    data_dir = data or default_reintel_path().parents[1]
    if not data_dir.is_dir():
        raise click.ClickException(
            f"Covid data directory not found: {data_dir} (pass --data DIR, the shared data "
            "directory, or set $MISINFO_SHARED_DATA)"
        )
    configured = (app.settings.get("analysis") or {}).get("covid_model")
    model = load_covid_model(
        Path(configured).expanduser() if configured else DEFAULT_COVID_MODEL_PATH
    )
    lexicon = load_covid_lexicon(app)
    try:
        pairs, labels = covid_texts_and_labels(data_dir, part="test")
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the Covid labelled set: {exc}") from exc
    scores = [
        detect_covid(text, title, lexicon=lexicon, model=model, lang="vi").score
        for title, text in pairs
    ]
    return labels, scores


@click.command("evaluate")
@click.option("--task", type=click.Choice(["claim", "covid"]), default="claim", show_default=True)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="claim: labelled CSV (ReINTEL columns or text,label) or JSONL (text, label) "
    "[default: the ReINTEL training file]; covid: the shared data directory, scored on the "
    "held-out part of the Covid label set.",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Claim model to evaluate. [default: {DEFAULT_MODEL_PATH.name} in analysis/models]",
)
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option(
    "--cv",
    "cv_folds",
    type=click.IntRange(2, 20),
    help="Instead of scoring with the saved model, cross-validate the training recipe "
    "(K user-grouped folds) on the data.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate_command(
    task: str,
    data: Path | None,
    model_path: Path | None,
    threshold: float,
    cv_folds: int | None,
    as_json: bool,
) -> None:
    """Measure a detector on labelled data: ROC-AUC, precision/recall/F1, confusion matrix,
    and calibration (Brier score, reliability table)."""
    from analysis.claim_model import dedupe_examples
    from analysis.claim_training import binary_metrics, cross_validate

    if task == "covid":
        if cv_folds is not None:
            raise click.BadParameter("--cv is only for --task claim", param_hint="--cv")
        labels, scores = _covid_scores(data)
        metrics = binary_metrics(labels, scores, threshold)
        title = "covid detector on the held-out Covid labels"
    else:
        path = _resolve_data(data)
        posts, report = read_labelled_posts(path)
        _progress(f"read {len(posts)} labelled posts from {path} ({report.skipped} skipped)")
        if not posts:
            raise click.ClickException(f"{path}: no labelled posts (need text and label 0/1)")
        if cv_folds is not None:
            examples, labels, dropped = dedupe_examples(
                [post.example() for post in posts], [post.label for post in posts]
            )
            _progress(f"{dropped} repeated texts dropped; {cv_folds}-fold user-grouped CV")
            cv = cross_validate(examples, labels, k=cv_folds, progress=_progress)
            metrics = binary_metrics(cv.labels, cv.probabilities, threshold)
            metrics["roc_auc_folds"] = [round(value, 4) for value in cv.fold_auc]
            title = f"claim classifier, {cv_folds}-fold user-grouped cross-validation"
        else:
            scores = _claim_scores(posts, model_path)
            metrics = binary_metrics([post.label for post in posts], scores, threshold)
            title = f"claim classifier on {path.name}"
            _warn_if_training_data(path, model_path)
    if as_json:
        click.echo(json.dumps({"task": task, **metrics}, ensure_ascii=False, indent=2))
    else:
        click.echo(_format_metrics(title, metrics))


def _warn_if_training_data(path: Path, model_path: Path | None) -> None:
    sidecar = sidecar_path(model_path or DEFAULT_MODEL_PATH)
    try:
        trained_on = json.loads(sidecar.read_text(encoding="utf-8")).get("data_sha256")
    except (OSError, json.JSONDecodeError):
        return
    if trained_on == _file_hash(path):
        _progress(
            "warning: this is the model's training data, so these figures are optimistic; "
            "use --cv K for honest ones"
        )
