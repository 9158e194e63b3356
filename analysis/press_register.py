"""The press register and the flagged-sites list: who is licensed press, who was named by a
press report, looked up by host (a subdomain inherits its parent's entry).

Built from CSV rows the caller has read (``config/press_register.csv``,
``config/flagged_sites.csv``); this module does no I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Self, TypeVar
from urllib.parse import urlsplit

from analysis.text import normalize_text

__all__ = [
    "DEFAULT_SOCIAL_HOSTS",
    "PRESS_KINDS",
    "TRUSTED_KINDS",
    "FlaggedEntry",
    "FlaggedSites",
    "PressRegister",
    "RegisterEntry",
    "name_label",
    "normalize_host",
]

#: Hosts whose pages are social-network pages, never press agencies.
DEFAULT_SOCIAL_HOSTS = frozenset(
    {
        "facebook.com",
        "fb.com",
        "tiktok.com",
        "youtube.com",
        "zalo.me",
        "instagram.com",
        "x.com",
        "twitter.com",
        "threads.net",
        "lotus.vn",
        "gapo.vn",
    }
)

#: Register kinds that are licensed press.
PRESS_KINDS = frozenset({"newspaper", "magazine", "broadcaster"})
#: Register kinds whose newspaper-like look is legitimate.
TRUSTED_KINDS = PRESS_KINDS | {"government_portal"}

# -- register --------------------------------------------------------------------------------


def normalize_host(site_or_url: str) -> str:
    """Host of a site key or URL, lower case, without port, trailing dot or leading ``www.``.

    ``"https://WWW.TuoiTre.vn:443/a"`` -> ``"tuoitre.vn"``; ``"facebook.com/groups/x"`` ->
    ``"facebook.com"``.
    """
    value = (site_or_url or "").strip()
    if "://" not in value:
        value = "//" + value
    host = (urlsplit(value).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


_SECOND_LEVEL = frozenset(
    {"com", "net", "org", "gov", "edu", "info", "biz", "name", "pro", "health", "int", "ac", "co"}
)


def name_label(site: str, host: str, social: bool) -> str:
    """The label that names the site: ``tapchilamdep`` for ``www.tapchilamdep.com``,
    ``otofun`` for ``news.otofun.net``, ``baoabc`` for ``www.baoabc.com.vn``, and the page
    name for a social page (``facebook.com/tintuc24hnews`` -> ``tintuc24hnews``).
    """
    if social:
        path = site.split("://", 1)[-1].partition("/")[2]
        return path.split("/")[0].lower()
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def _parents(host: str) -> Iterable[str]:
    """``a.b.tuoitre.vn`` -> ``a.b.tuoitre.vn``, ``b.tuoitre.vn``, ``tuoitre.vn``, ``vn``."""
    labels = host.split(".")
    for start in range(len(labels)):
        yield ".".join(labels[start:])


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One row of ``config/press_register.csv``."""

    domain: str
    name: str
    kind: str
    note: str = ""

    @property
    def licensed(self) -> bool:
        return self.kind in PRESS_KINDS


_Entry = TypeVar("_Entry")  # an entry with a ``domain``


class _DomainTable(Generic[_Entry]):
    """Entries keyed by domain; a host matches its own entry or its nearest parent's."""

    def __init__(self, entries: Iterable[_Entry] = ()):
        self._by_domain = {normalize_host(entry.domain): entry for entry in entries}

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> Self:
        raise NotImplementedError

    @classmethod
    def from_csv_text(cls, text: str) -> Self:
        return cls.from_rows(csv.DictReader(io.StringIO(text)))

    def lookup(self, site_or_url: str) -> _Entry | None:
        """The entry for the host or its nearest listed parent domain, if any."""
        host = normalize_host(site_or_url)
        for candidate in _parents(host) if host else ():
            if candidate in self._by_domain:
                return self._by_domain[candidate]
        return None

    def __contains__(self, site_or_url: object) -> bool:
        return isinstance(site_or_url, str) and self.lookup(site_or_url) is not None

    def __len__(self) -> int:
        return len(self._by_domain)


class PressRegister(_DomainTable[RegisterEntry]):
    """Domains believed to be licensed press (and state portals), matched with subdomains.

    Not the official licence register: see ``config/press_register.md``. Build it from CSV rows
    the caller read (``from_rows``) or from the file's text (``from_csv_text``).
    """

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> PressRegister:
        return cls(
            RegisterEntry(
                domain=row["domain"],
                name=normalize_text(row.get("name") or row["domain"]),
                kind=(row.get("kind") or "newspaper").strip(),
                note=row.get("note") or "",
            )
            for row in rows
            if (row.get("domain") or "").strip()
        )


@dataclass(frozen=True, slots=True)
class FlaggedEntry:
    """One row of ``config/flagged_sites.csv``: a site a press report named, and the report."""

    domain: str
    reported: str
    report_url: str = ""


class FlaggedSites(_DomainTable[FlaggedEntry]):
    """Sites named by press reports as unlicensed or press-imitating (never licensed)."""

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> FlaggedSites:
        return cls(
            FlaggedEntry(
                domain=row["domain"],
                reported=row.get("reported") or row.get("what_was_reported") or "",
                report_url=row.get("report_url")
                or row.get("source_url_in_stored_pages_corpus")
                or "",
            )
            for row in rows
            if (row.get("domain") or "").strip()
        )
