"""The ``evidence:`` section of ``settings.yaml`` as one typed value, checked once.

Every evidence component (the crawl's WARC extension, captures, takedown checks, bundles,
the ``misinfo run`` worker) reads it from here; a bad value is a :class:`ConfigError` naming
the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.app import App, ConfigError

__all__ = [
    "DEFAULT_REMOVED_PATTERNS",
    "EvidenceSettings",
    "crawl_evidence_settings",
]

#: Texts of "this content is gone" pages served with status 200 (Vietnamese sites and the
#: big social networks), matched case-insensitively against the page text.
DEFAULT_REMOVED_PATTERNS = (
    "nội dung không tồn tại",
    "nội dung này không còn",
    "bài viết không tồn tại",
    "bài viết đã bị xóa",
    "bài viết đã bị gỡ",
    "trang không tồn tại",
    "this content isn't available",
    "this content isn't available right now",
    "this page isn't available",
    "content not available",
    "page not found",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceSettings:
    #: WARC of crawled documents: "all", "flagged" (only flagged pages) or "off".
    warc: str = "all"
    #: A WARC file is closed and the next one started past this size.
    warc_max_bytes: int = 100 * 1024 * 1024
    #: ``misinfo run`` captures (screenshot, DOM, raw response) posts that entered a queue.
    capture_on_flag: bool = True
    #: Seconds between the service's looks for flagged posts without a capture.
    capture_interval: float = 60.0
    #: Seconds a capture may take (page load plus screenshot).
    capture_timeout: float = 30.0
    #: Seconds between two takedown checks of one confirmed or watched post.
    check_interval: float = 86_400.0
    #: Retries of a check that got no answer before it is recorded ``unreachable``.
    check_retries: int = 2
    #: Review verdicts that make a post "confirmed" (checked for takedown).
    check_verdicts: tuple[str, ...] = ("false", "misleading")
    removed_patterns: tuple[str, ...] = DEFAULT_REMOVED_PATTERNS
    #: PEM file of an Ed25519 private key; bundles are signed when set.
    signing_key: Path | None = None

    @classmethod
    def from_app(cls, app: App) -> EvidenceSettings:
        raw: Any = app.settings.get("evidence") or {}
        where = f"{app.config_path('settings.yaml')}: field 'evidence"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}': expected a mapping")
        defaults = cls()

        def number(name: str, kind: type, minimum: float) -> Any:
            value = raw.get(name, getattr(defaults, name))
            try:
                value = kind(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}.{name}': {value!r} is not a number") from exc
            if value < minimum:
                raise ConfigError(f"{where}.{name}': must be at least {minimum}")
            return value

        warc = raw.get("warc", defaults.warc)
        if warc is False:  # YAML reads a bare `off` as false
            warc = "off"
        if warc not in ("all", "flagged", "off"):
            raise ConfigError(f"{where}.warc': {warc!r} is not 'all', 'flagged' or 'off'")
        verdicts = raw.get("check_verdicts", list(defaults.check_verdicts))
        patterns = raw.get("removed_patterns", list(defaults.removed_patterns))
        for name, value in (("check_verdicts", verdicts), ("removed_patterns", patterns)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}.{name}': expected a list of strings (quote them)")
        key = str(raw.get("signing_key") or "").strip()
        signing_key = None
        if key:
            signing_key = Path(key).expanduser()
            if not signing_key.is_absolute() and app.config_dir is not None:
                signing_key = app.config_dir / signing_key
            if not signing_key.is_file():
                raise ConfigError(f"{where}.signing_key': {signing_key} does not exist")
        return cls(
            warc=warc,
            warc_max_bytes=number("warc_max_bytes", int, 1024 * 1024),
            capture_on_flag=bool(raw.get("capture_on_flag", defaults.capture_on_flag)),
            capture_interval=number("capture_interval", float, 1),
            capture_timeout=number("capture_timeout", float, 1),
            check_interval=number("check_interval", float, 1),
            check_retries=number("check_retries", int, 0),
            check_verdicts=tuple(verdicts),
            removed_patterns=tuple(p.lower() for p in patterns),
            signing_key=signing_key,
        )


def crawl_evidence_settings(app: App) -> dict[str, Any]:
    """The ``MM_WARC_*`` Scrapy settings of a crawl (see :mod:`crawler.evidence.warc`)."""
    config = EvidenceSettings.from_app(app)
    return {
        "MM_DATA_DIR": str(app.data_dir),
        "MM_WARC_ENABLED": config.warc != "off",
        "MM_WARC_MODE": config.warc,
        "MM_WARC_MAX_BYTES": config.warc_max_bytes,
    }
