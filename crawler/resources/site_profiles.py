"""Newspaper-style site profiles: the press register and flagged-sites list from configuration,
and the profile of a site recomputed from all its stored pages.

Called by the crawl's store pipeline for the sites a run touched and by
:func:`crawler.resources.store.flush_spool` for sites whose documents waited in the spool.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from analysis.site_style import FlaggedSites, PressRegister, site_profile_from_pages
from crawler.app import App
from index.store import SearchRequest, Store

__all__ = ["load_site_style_resources", "refresh_site_profiles"]


@lru_cache(maxsize=4)
def load_site_style_resources(config_dir: str | None) -> tuple[PressRegister, FlaggedSites | None]:
    """The press register and the flagged-sites list (if any), read once per process."""
    app = App(config_dir=Path(config_dir) if config_dir else None)
    register = PressRegister.from_csv_text(
        app.config_path("press_register.csv").read_text(encoding="utf-8")
    )
    flagged_path = app.config_path("flagged_sites.csv")
    flagged = (
        FlaggedSites.from_csv_text(flagged_path.read_text(encoding="utf-8"))
        if flagged_path.exists()
        else None
    )
    return register, flagged


def refresh_site_profiles(store: Store, sites: list[str], *, config_dir: str | None = None) -> None:
    """Recompute the newspaper-style profile of each site from all its stored pages."""
    register, flagged = load_site_style_resources(config_dir)
    app = App(config_dir=Path(config_dir) if config_dir else None)
    threshold = float((app.settings.get("analysis") or {}).get("site_threshold", 0.5))
    for site in sites:
        # Streamed: a site's pages are read once, never all held in memory.
        pages = (
            doc.analysis["page_signals"]
            for doc in store.scan(SearchRequest(filters={"site": [site]}))
            if doc.analysis.get("page_signals")
        )
        profile = site_profile_from_pages(
            pages, site=site, register=register, flagged=flagged, threshold=threshold
        )
        if profile["pages"]:
            store.upsert_site(profile)
