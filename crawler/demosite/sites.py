"""Site definitions as data: the bundled ``sites.yaml`` plus an optional one beside the content.

A ``sites.yaml`` in the content directory overrides bundled entries field by field (matched
by ``host``) and may add new sites, so a new demo site needs no code. It may use the content
authors' field names (``licence``, ``editor``, ``content``) and describe the social group in a
top-level ``social:`` mapping; that mapping updates the bundled social site but keeps its host
(``mxh.localhost``), which crawler sources and tests rely on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crawler.demosite.model import Section, SiteDef

__all__ = [
    "BUNDLED_SITES",
    "SiteConfigError",
    "known_section_name",
    "load_sites",
    "site_from_mapping",
]

BUNDLED_SITES = Path(__file__).resolve().parent / "sites.yaml"

_KNOWN_SECTIONS = {
    "thoi-su": "Thời sự",
    "kinh-doanh": "Kinh doanh",
    "suc-khoe": "Sức khỏe",
    "giao-duc": "Giáo dục",
    "the-thao": "Thể thao",
    "phap-luat": "Pháp luật",
    "the-gioi": "Thế giới",
    "cong-nghe": "Công nghệ",
    "doi-song": "Đời sống",
    "giai-tri": "Giải trí",
    "xa-hoi": "Xã hội",
    "du-lich": "Du lịch",
    "van-hoa": "Văn hóa",
    "khoa-hoc": "Khoa học",
}
_FIELDS = {
    "host",
    "name",
    "kind",
    "tagline",
    "footer_lines",
    "editor_in_chief",
    "sections",
    "content_file",
    "byline_styles",
    "show_source_credit",
}


_ALIASES = {"licence": "footer_lines", "editor": "editor_in_chief", "content": "content_file"}
_KIND_ALIASES = {"group": "social", "newspaper": "news"}


class SiteConfigError(ValueError):
    """A site definition is malformed; the message names the file and the site."""


def known_section_name(slug: str) -> str:
    """Display name for a section slug that a site definition does not list."""
    return _KNOWN_SECTIONS.get(slug, slug.replace("-", " ").capitalize())


def _sections(raw: Any, where: str) -> tuple[Section, ...]:
    if raw is None:
        return ()
    if isinstance(raw, dict):
        return tuple(Section(str(slug), str(name)) for slug, name in raw.items())
    if isinstance(raw, list):
        out = []
        for item in raw:
            if isinstance(item, str):
                out.append(Section(item, known_section_name(item)))
            elif isinstance(item, dict) and "slug" in item:
                out.append(Section(str(item["slug"]), str(item.get("name") or item["slug"])))
            else:
                raise SiteConfigError(f"{where}: a section is a slug or {{slug, name}}: {item!r}")
        return tuple(out)
    raise SiteConfigError(f"{where}: sections must be a mapping slug -> name or a list")


def site_from_mapping(raw: dict[str, Any], where: str = "sites.yaml") -> SiteDef:
    """Build a :class:`SiteDef` from one YAML entry, rejecting unknown fields."""
    if not isinstance(raw, dict) or not raw.get("host") or not raw.get("name"):
        raise SiteConfigError(f"{where}: every site needs 'host' and 'name': {raw!r}")
    where = f"{where} [{raw['host']}]"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise SiteConfigError(f"{where}: unknown fields {sorted(unknown)}")
    kind = raw.get("kind", "news")
    if kind not in ("news", "social"):
        raise SiteConfigError(f"{where}: kind must be 'news' or 'social', not {kind!r}")
    return SiteDef(
        host=str(raw["host"]).lower(),
        name=str(raw["name"]),
        kind=kind,
        tagline=str(raw.get("tagline") or ""),
        footer_lines=tuple(str(line) for line in raw.get("footer_lines") or ()),
        editor_in_chief=raw.get("editor_in_chief") or None,
        sections=_sections(raw.get("sections"), where),
        content_file=str(raw.get("content_file") or ""),
        byline_styles=tuple(raw.get("byline_styles") or ("author",)),
        show_source_credit=bool(raw.get("show_source_credit", False)),
    )


def _canonical(entry: Any, path: Path) -> dict[str, Any]:
    """One entry with alias field names and kinds rewritten to the canonical ones."""
    if not isinstance(entry, dict) or "host" not in entry:
        raise SiteConfigError(f"{path}: every site needs a 'host': {entry!r}")
    out = {_ALIASES.get(key, key): value for key, value in entry.items()}
    if "kind" in out:
        out["kind"] = _KIND_ALIASES.get(out["kind"], out["kind"])
    return out


def _read_entries(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The site entries of a file, and its top-level ``social:`` mapping if any."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SiteConfigError(f"{path}: not valid YAML: {exc}") from exc
    entries = data.get("sites") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise SiteConfigError(f"{path}: expected a list of sites under 'sites:'")
    social = data.get("social") if isinstance(data, dict) else None
    return (
        [_canonical(entry, path) for entry in entries],
        _canonical(social, path) if social is not None else None,
    )


def load_sites(content_dir: Path | None = None) -> dict[str, SiteDef]:
    """All site definitions by host: bundled ones, overridden by ``content_dir/sites.yaml``."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in _read_entries(BUNDLED_SITES)[0]:
        merged[str(entry["host"]).lower()] = entry
    extra = content_dir / "sites.yaml" if content_dir is not None else None
    if extra is not None and extra.exists():
        entries, social = _read_entries(extra)
        for entry in entries:
            host = str(entry["host"]).lower()
            merged[host] = {**merged.get(host, {}), **entry}
        if social is not None:
            bundled = next((h for h, e in merged.items() if e.get("kind") == "social"), None)
            host = bundled or str(social["host"]).lower()
            merged[host] = {**merged.get(host, {}), **social, "host": host, "kind": "social"}
    where = str(extra) if extra is not None and extra.exists() else str(BUNDLED_SITES)
    return {host: site_from_mapping(entry, where) for host, entry in merged.items()}
