"""``misinfo sites``: newspaper-style ("báo hóa") site profiles, highest score first.

A thin command over the store's site profiles (``Store.list_sites``), which the crawl
pipeline computes with :func:`analysis.site_style.site_profile_from_pages`. The group in
:mod:`crawler.cli.main` registers :data:`sites_command`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from crawler.app import App, ConfigError
from crawler.resources.store import open_app_store

__all__ = ["format_sites_table", "sites_command"]

#: Longest evidence phrase shown in the table (``--evidence`` prints them whole).
EVIDENCE_WIDTH = 90


def _profiles(app: App) -> list[dict[str, Any]]:
    """Stored site profiles, highest score first (an absent SQLite index means none yet)."""
    if app.settings.get("store", "sqlite") == "sqlite" and not app.index_path.exists():
        return []
    store = open_app_store(app)
    try:
        profiles = store.list_sites()
    finally:
        store.close()
    return sorted(profiles, key=lambda p: (-float(p.get("score") or 0.0), str(p.get("site", ""))))


def _short(text: str, width: int = EVIDENCE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_sites_table(profiles: list[dict[str, Any]], *, evidence: bool = False) -> str:
    """A text table: site, score, flag, pages and the first evidence phrase (or all of them)."""
    headers = ["SITE", "SCORE", "FLAG", "PAGES", "EVIDENCE"]
    rows: list[list[str]] = []
    for profile in profiles:
        lines = [str(line) for line in profile.get("evidence") or []]
        rows.append(
            [
                str(profile.get("site", "")),
                f"{float(profile.get('score') or 0.0):.2f}",
                "yes" if profile.get("flag") else "",
                str(profile.get("pages", "")),
                _short(lines[0]) if lines and not evidence else "",
            ]
        )
        if evidence:
            rows.extend(["", "", "", "", f"- {line}"] for line in lines)
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]]
        ).rstrip()
        for row in [headers, *rows]
    )


@click.command("sites")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of site profiles.")
@click.option(
    "--flagged", "only_flagged", is_flag=True, help="Only sites flagged as newspaper-style."
)
@click.option("--evidence", is_flag=True, help="Print every evidence phrase under each site.")
def sites_command(as_json: bool, only_flagged: bool, evidence: bool) -> None:
    """Newspaper-style ("báo hóa") site scores with their evidence, highest score first.

    A site is flagged when it presents itself as a newspaper (name "Báo ...", "Tòa soạn",
    "Tổng biên tập", reporters' bylines, no source credits) without being licensed press.
    Profiles are computed during `misinfo crawl`.
    """
    app = click.get_current_context().find_object(App)
    if app is None:
        raise click.UsageError("no application context: run this as `misinfo sites`")
    from index.errors import SearchError

    try:
        profiles = _profiles(app)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except SearchError as exc:
        raise click.ClickException(f"cannot read site profiles: {exc}") from exc
    if only_flagged:
        profiles = [profile for profile in profiles if profile.get("flag")]
    if as_json:
        click.echo(json.dumps(profiles, ensure_ascii=False, indent=2))
        return
    if not profiles:
        click.echo(
            "No site profiles yet: run `misinfo crawl` (or `misinfo demo`) first."
            if not only_flagged
            else "No flagged sites.",
            err=True,
        )
        return
    click.echo(format_sites_table(profiles, evidence=evidence))
