"""The application context the CLI builds once and hands to every command.

It resolves configuration files (a user's config directory overrides the bundled
``config/`` file by file) and names the paths of the data directory. It holds configuration
only: opening the store is :func:`crawler.resources.store.open_app_store`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from config import BUNDLED_DIR
from crawler.safe_yaml import YamlError, load_yaml_file

__all__ = ["SPOOL_FILE", "App", "ConfigError", "default_data_dir"]

#: The Elasticsearch outage spool's file name in the data directory.
SPOOL_FILE = "es-spool.db"


class ConfigError(Exception):
    """A configuration file is missing or invalid; the message names file and field."""


def default_data_dir() -> Path:
    """``$MISINFO_DATA_DIR``, else ``$XDG_DATA_HOME/misinfo-monitor`` (~/.local/share/...)."""
    if env := os.environ.get("MISINFO_DATA_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "misinfo-monitor"


@dataclass
class App:
    """Where configuration comes from and where data goes."""

    config_dir: Path | None = None
    data_dir: Path = field(default_factory=default_data_dir)

    def config_path(self, name: str) -> Path:
        """The user's ``name`` if their config directory has it, else the bundled one."""
        if self.config_dir is not None:
            candidate = self.config_dir / name
            if candidate.exists():
                return candidate
        return BUNDLED_DIR / name

    def load_yaml(self, name: str) -> Any:
        """A configuration file, read as :func:`crawler.safe_yaml.load_yaml_file` reads it
        (aliases bounded, UTF-8 only); every problem is one :class:`ConfigError` line."""
        path = self.config_path(name)
        try:
            return load_yaml_file(path)
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: file not found") from exc
        except YamlError as exc:
            raise ConfigError(str(exc)) from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {_one_line(exc)}") from exc

    @cached_property
    def settings(self) -> dict[str, Any]:
        """``settings.yaml`` (bundled defaults, overridden key by key by the user's file)."""
        with (BUNDLED_DIR / "settings.yaml").open(encoding="utf-8") as handle:
            merged: dict[str, Any] = yaml.safe_load(handle) or {}
        user_path = self.config_path("settings.yaml")
        if user_path != BUNDLED_DIR / "settings.yaml":
            user = self.load_yaml("settings.yaml") or {}
            if not isinstance(user, dict):
                raise ConfigError(f"{user_path}: expected a mapping at the top level")
            merged = _deep_merge(merged, user)
        return merged

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.db"

    @property
    def index_uri(self) -> str:
        """The configured store as a URI (``sqlite:///...`` or ``elasticsearch+http://...``)."""
        store = self.settings.get("store", "sqlite")
        if store == "sqlite":
            return f"sqlite:///{self.index_path.resolve()}"
        if store == "elasticsearch":
            return f"elasticsearch+{self.elasticsearch_url()}"
        raise ConfigError(
            f"{self.config_path('settings.yaml')}: field 'store': {store!r} is not 'sqlite' or 'elasticsearch'"
        )

    def elasticsearch_url(self) -> str:
        """The cluster URL from ``$MISINFO_ES_URL`` (``elasticsearch.url_env`` names it)."""
        env_name = self.settings.get("elasticsearch", {}).get("url_env", "MISINFO_ES_URL")
        url = os.environ.get(env_name)
        if not url:
            raise ConfigError(
                f"{self.config_path('settings.yaml')}: store is 'elasticsearch' but "
                f"${env_name} is not set (e.g. export {env_name}=http://127.0.0.1:9200)"
            )
        return url

    def elasticsearch_options(self) -> dict[str, Any]:
        """``ElasticsearchStore`` options from settings and the environment (credentials
        never in files): index prefix, API key or user/password, and the optional
        ``elasticsearch.request_timeout`` (seconds) and ``elasticsearch.max_retries``."""
        es = self.settings.get("elasticsearch", {})
        options: dict[str, Any] = {"index_prefix": es.get("index_prefix", "misinfo")}
        if api_key := os.environ.get("MISINFO_ES_API_KEY"):
            options["api_key"] = api_key
        elif user := os.environ.get("MISINFO_ES_USER"):
            options["basic_auth"] = (user, os.environ.get("MISINFO_ES_PASSWORD", ""))
        for name, kind in (("request_timeout", float), ("max_retries", int)):
            if es.get(name) is not None:
                try:
                    options[name] = kind(es[name])
                except (TypeError, ValueError) as exc:
                    raise ConfigError(
                        f"{self.config_path('settings.yaml')}: field 'elasticsearch.{name}': "
                        f"{es[name]!r} is not a number"
                    ) from exc
        return options

    def store_options(self) -> dict[str, Any]:
        """Options of the configured backend; Elasticsearch also gets ``spool_path`` (see
        :mod:`crawler.resources.store`): writes wait there while the cluster is away. Both
        get ``time_limit`` (seconds per search) when ``search.time_limit`` is set, and the
        cluster settings (``clusters:``) when they differ from the stores' defaults."""
        options = {**self.search_limits(), **self.cluster_options()}
        if self.settings.get("store", "sqlite") != "elasticsearch":
            return options
        return {**self.elasticsearch_options(), "spool_path": str(self.spool_path), **options}
    def search_limits(self) -> dict[str, Any]:
        """``{"time_limit": seconds}`` from ``search.time_limit``, or ``{}`` (the store's
        default); anything but a positive number of seconds up to an hour is an error."""
        value = (self.settings.get("search") or {}).get("time_limit")
        if value is None:
            return {}
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = float("nan")
        if not 0 < seconds <= 3600:
            raise ConfigError(
                f"{self.config_path('settings.yaml')}: field 'search.time_limit': {value!r} "
                "is not a number of seconds between 0 and 3600"
            )
        return {"time_limit": seconds}

    def cluster_settings(self):  # -> index.clusters.ClusterSettings (imported lazily)
        """``clusters:`` of ``settings.yaml`` (near-duplicate clustering)."""
        from index.clusters import ClusterSettings

        try:
            return ClusterSettings.from_mapping(self.settings.get("clusters"))
        except ValueError as exc:
            raise ConfigError(f"{self.config_path('settings.yaml')}: {exc}") from exc

    def cluster_options(self) -> dict[str, Any]:
        from index.clusters import DEFAULT_SETTINGS

        settings = self.cluster_settings()
        return {} if settings == DEFAULT_SETTINGS else {"clusters": settings}

    @property
    def spool_path(self) -> Path:
        """Where Elasticsearch writes wait while the cluster is away."""
        return self.data_dir / SPOOL_FILE

    @property
    def state_path(self) -> Path:
        """SQLite file for run history, users and scheduler jobs (whatever the store)."""
        return self.data_dir / "state.db"


def _one_line(exc: yaml.YAMLError) -> str:
    """A YAML error as one line: its problem and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
