"""The claims files and model: what :func:`analysis.claims.score_claim` needs, and where
analysts' confirmed claims go.

The file edge for the claim layer. Known claims come from ``known_false_claims.jsonl``
(the user's config directory overrides the bundled file) plus the claims analysts confirmed in
review (CLI or web UI), appended to ``<data dir>/known_false_claims.confirmed.jsonl`` so a
confirmation never writes into the installed package and works without a config directory.
The classifier comes from ``analysis/models/claim_classifier.joblib`` or the
``analysis.claim_model`` setting. A missing model is not an error: scoring then runs on known
claims and signals alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import warnings
from datetime import UTC, datetime
from pathlib import Path

from analysis.claim_model import ClaimClassifier
from analysis.claims import ClaimResources
from analysis.known_claims import (
    KnownClaimError,
    KnownClaimIndex,
    append_known_claim,
    parse_known_claim,
)
from analysis.text import fold_diacritics
from crawler.app import App, ConfigError

__all__ = [
    "CONFIRMED_CLAIMS_FILE",
    "DEFAULT_CLAIM_MODEL_PATH",
    "KNOWN_CLAIMS_FILE",
    "ResourceError",
    "add_confirmed_claim",
    "confirmed_claims_path",
    "load_claim_classifier",
    "load_claim_resources",
    "load_known_claims",
]

KNOWN_CLAIMS_FILE = "known_false_claims.jsonl"
CONFIRMED_CLAIMS_FILE = "known_false_claims.confirmed.jsonl"
_append_lock = threading.Lock()
DEFAULT_CLAIM_MODEL_PATH = (
    Path(__file__).resolve().parents[2] / "analysis" / "models" / "claim_classifier.joblib"
)


class ResourceError(Exception):
    """A model file is missing or cannot be loaded; the message names the file."""


def load_known_claims(path: Path) -> list[dict]:
    """Read and validate every line of a known-claims JSONL file (errors name file and line)."""
    records: list[dict] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_known_claim(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
        except KnownClaimError as exc:
            raise ConfigError(f"{path}:{number}: {exc}") from exc
    return records


def load_claim_classifier(path: Path) -> ClaimClassifier:
    """Load a classifier written by ``misinfo train``."""
    import joblib
    import sklearn

    if not path.is_file():
        raise ResourceError(f"{path}: claim model not found")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = joblib.load(path)
    except Exception as exc:  # joblib/pickle raise many kinds; all mean "unusable file"
        raise ResourceError(f"{path}: cannot load claim model: {exc}") from exc
    if not isinstance(model, ClaimClassifier):
        raise ResourceError(f"{path}: not a claim classifier ({type(model).__name__})")
    trained_with = model.metadata.get("sklearn_version")
    if caught and trained_with and trained_with != sklearn.__version__:
        warnings.warn(
            f"{path}: trained with scikit-learn {trained_with}, running {sklearn.__version__}; "
            "retrain with `misinfo train` if scores look off",
            stacklevel=2,
        )
    # the cached character view is checked against scikit-learn's own transform now, on
    # probe texts (it warns and falls back to the library's path if they differ)
    model.checked_char_view([], normalized=False)
    return model


def load_claim_resources(app: App) -> ClaimResources:
    """Known-claim index plus the classifier (``None`` when no model file exists).

    Known claims are the curated file plus the claims analysts confirmed in review
    (``<data dir>/known_false_claims.confirmed.jsonl``, see :func:`add_confirmed_claim`).
    """
    records = load_known_claims(app.config_path(KNOWN_CLAIMS_FILE))
    confirmed = confirmed_claims_path(app)
    if confirmed.exists():
        records += load_known_claims(confirmed)
    settings = app.settings.get("analysis") or {}
    configured = settings.get("claim_model")
    model_path = Path(configured).expanduser() if configured else DEFAULT_CLAIM_MODEL_PATH
    try:
        classifier = load_claim_classifier(model_path)
    except ResourceError:
        if configured:  # the user asked for this file: say so rather than run without it
            raise
        classifier = None
    try:
        index = KnownClaimIndex.from_records(records)
    except KnownClaimError as exc:  # e.g. a confirmed claim reusing a curated id
        raise ConfigError(
            f"{app.config_path(KNOWN_CLAIMS_FILE)} (+ confirmed claims): {exc}"
        ) from exc
    return ClaimResources(known_claims=index, classifier=classifier)


def confirmed_claims_path(app: App) -> Path:
    return app.data_dir / CONFIRMED_CLAIMS_FILE


def _claim_id(claim: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold_diacritics(claim)).strip("-")[:48].strip("-")
    digest = hashlib.sha1(claim.encode("utf-8")).hexdigest()[:6]
    return f"confirmed-{slug or 'claim'}-{digest}"


def add_confirmed_claim(app: App, *, claim: str, source: str, note: str = "") -> str:
    """Validate and append one confirmed claim; returns its id.

    Raises ``analysis.known_claims.KnownClaimError`` (a ``ValueError``) for an invalid record
    or a claim already known, and ``ConfigError`` when an existing claims file is broken.
    """
    path = confirmed_claims_path(app)
    with _append_lock:
        existing = [known.id for known in load_known_claims(app.config_path(KNOWN_CLAIMS_FILE))]
        if path.exists():
            existing += [known.id for known in load_known_claims(path)]
        record = {
            "id": _claim_id(claim),
            "claim": claim,
            "verdict": "false",
            "source": f"{source}: {note}" if note else source,
            "date": datetime.now(UTC).date().isoformat(),
            "aliases": [],
            "keywords": [],
        }
        line = append_known_claim(record, existing)
        app.ensure_data_dir()
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
    return record["id"]
