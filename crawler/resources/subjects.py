"""What the press register says about a subject (for ``misinfo subjects`` and the web UI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crawler.app import App

__all__ = ["register_lookup"]


def register_lookup(app: App) -> Callable[[Any], dict[str, Any] | None]:
    """``subject -> press-register entry as a dict`` (``None`` when not listed), from the
    configured ``press_register.csv``; only websites are looked up."""
    from analysis.site_style import PressRegister

    register = PressRegister.from_csv_text(
        app.config_path("press_register.csv").read_text(encoding="utf-8")
    )

    def lookup(subject: Any) -> dict[str, Any] | None:
        if subject.kind != "website":
            return None
        entry = register.lookup(subject.id)
        if entry is None:
            return None
        return {
            "domain": entry.domain,
            "name": entry.name,
            "kind": entry.kind,
            "licensed": entry.licensed,
            "note": entry.note,
        }

    return lookup
