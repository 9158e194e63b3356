"""Load :class:`analysis.analyse.AnalysisResources` from configuration files, once per process.

The file edge for the analysis layer: the Covid lexicon comes from
``lexicons/covid.yaml`` (a user's config directory overrides the bundled one), the Covid
model from ``analysis/models/covid_model.json`` or the ``analysis.covid_model`` setting,
and the claim resources from ``crawler.claim_resources`` when that part is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.analyse import AnalysisResources
from analysis.covid import CovidLexicon, CovidModel
from crawler.app import App, ConfigError

__all__ = [
    "COVID_LEXICON_FILE",
    "DEFAULT_COVID_MODEL_PATH",
    "load_analysis_resources",
    "load_covid_model",
]

COVID_LEXICON_FILE = "lexicons/covid.yaml"
DEFAULT_COVID_MODEL_PATH = (
    Path(__file__).resolve().parents[1] / "analysis" / "models" / "covid_model.json"
)


def load_covid_lexicon(app: App) -> CovidLexicon:
    data = app.load_yaml(COVID_LEXICON_FILE)
    try:
        return CovidLexicon.from_mapping(data or {})
    except ValueError as exc:
        raise ConfigError(f"{app.config_path(COVID_LEXICON_FILE)}: {exc}") from exc


def load_covid_model(path: Path) -> CovidModel:
    """The trained coefficients (JSON); a broken file is a configuration error naming it."""
    try:
        return CovidModel.from_mapping(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: Covid model file not found") from exc
    except (json.JSONDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a valid Covid model: {exc}") from exc


def load_analysis_resources(app: App) -> AnalysisResources:
    settings = app.settings.get("analysis") or {}
    configured = settings.get("covid_model")
    model_path = Path(configured).expanduser() if configured else DEFAULT_COVID_MODEL_PATH
    return AnalysisResources(
        covid_lexicon=load_covid_lexicon(app),
        covid_model=load_covid_model(model_path),
        claim_resources=_load_claim_resources(app),
    )


def _load_claim_resources(app: App) -> object | None:
    try:
        from crawler.claim_resources import load_claim_resources
    except ModuleNotFoundError as exc:
        # the claim layer (analysis.claims, crawler.claim_resources) is optional here
        if exc.name not in ("crawler.claim_resources", "analysis.claims"):
            raise
        return None
    return load_claim_resources(app)
