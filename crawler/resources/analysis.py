"""Load :class:`analysis.analyse.AnalysisResources` from configuration files, once per process.

The file edge for the analysis layer: the Covid lexicon comes from
``lexicons/covid.yaml`` (a user's config directory overrides the bundled one), the Covid
model from ``analysis/models/covid_model.json`` or the ``analysis.covid_model`` setting,
and the claim resources from :mod:`crawler.resources.claims`.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.analyse import AnalysisResources, Thresholds
from analysis.covid import CovidLexicon, CovidModel
from crawler.app import App, ConfigError
from crawler.resources.claims import load_claim_resources

__all__ = [
    "COVID_LEXICON_FILE",
    "DEFAULT_COVID_MODEL_PATH",
    "load_analysis_resources",
    "load_covid_model",
    "thresholds_from_settings",
]

COVID_LEXICON_FILE = "lexicons/covid.yaml"
DEFAULT_COVID_MODEL_PATH = (
    Path(__file__).resolve().parents[2] / "analysis" / "models" / "covid_model.json"
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
        claim_resources=load_claim_resources(app),
    )


def thresholds_from_settings(app: App) -> Thresholds:
    """Flag thresholds from ``settings.yaml`` (``analysis.covid_threshold``...)."""
    settings = app.settings.get("analysis") or {}
    values = {}
    for name in ("covid", "claim"):
        value = settings.get(f"{name}_threshold")
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ConfigError(
                f"{app.config_path('settings.yaml')}: field 'analysis.{name}_threshold': "
                "must be a number between 0 and 1"
            )
        values[name] = float(value)
    return Thresholds(**values)
