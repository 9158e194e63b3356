"""Values from pages checked at the boundary, before anything is stored: which URLs a source
may write or fetch, and which dates are believable.

A page is hostile input. A permalink may name another site's article (whose document it
would overwrite), a ``javascript:`` URL, a loopback address; a date may be "year 1" or
"year 9999". Each check here is a pure function the spiders, the pipelines and the
browser guard share, so a rule is written once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

__all__ = [
    "EARLIEST_DATE",
    "LATEST_AHEAD",
    "WEB_SCHEMES",
    "HostPolicy",
    "is_web_url",
    "sane_date",
]

#: The only schemes that become documents or requests.
WEB_SCHEMES = ("http", "https")
#: Published dates before this day are not dates of the pages we watch (the web of
#: Vietnamese news starts in the late 1990s); a "year 1" date is a broken or hostile page.
EARLIEST_DATE = date(1990, 1, 1)
#: A date later than this past the fetch time is no publication date either (time zones
#: and clock skew stay well inside it).
LATEST_AHEAD = timedelta(days=1)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host (not ``javascript:``, ``data:``...)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def sane_date(value: datetime | None, *, now: datetime) -> datetime | None:
    """``value`` when it lies between :data:`EARLIEST_DATE` and ``now`` +
    :data:`LATEST_AHEAD`, else ``None`` (the caller notes what it dropped)."""
    if value is None:
        return None
    try:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at UTC+14 has no UTC instant
        return None
    if utc.date() < EARLIEST_DATE or utc > now.astimezone(UTC) + LATEST_AHEAD:
        return None
    return value


def _bare(host: str) -> str:
    return host.lower().rstrip(".").removeprefix("www.")


def _is_address(host: str) -> bool:
    """An IP address: it has no subdomains (``x.127.0.0.2`` is a name, not under it)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or address.is_multicast
    )


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The hosts (and ports) a source's crawl may write documents for and fetch from.

    A host matches a domain when it is the domain or a subdomain of it, ``www.`` aside
    (``www.x.vn`` and ``x.vn`` are one site). Ports: the default ones (80, 443) and those
    of the source's entry URLs; any port when ``any_port``. A private, loopback or
    link-local address (``127.0.0.3``, ``10.0.0.1``, ``localhost``) matches only when a
    domain names it exactly, so a page cannot point the crawl at the crawler's own network.
    """

    domains: tuple[str, ...]
    ports: frozenset[int] = frozenset(_DEFAULT_PORTS.values())
    any_port: bool = False

    @classmethod
    def for_source(
        cls, domains: Iterable[str], entry_urls: Iterable[str] = (), *, any_port: bool = False
    ) -> HostPolicy:
        """The policy of a source: its domains, plus the ports its entry URLs name."""
        ports = set(_DEFAULT_PORTS.values())
        for url in entry_urls:
            try:
                port = urlsplit(url).port
            except ValueError:
                continue
            if port is not None:
                ports.add(port)
        return cls(
            tuple(domain.lower().rstrip(".") for domain in domains if domain.strip()),
            frozenset(ports),
            any_port,
        )

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if not host:
            return False
        if _is_private(host):
            return any(host == domain for domain in self.domains)
        bare = _bare(host)
        return any(
            host == domain
            if _is_address(domain)
            else bare == _bare(domain) or bare.endswith("." + _bare(domain))
            for domain in self.domains
        )

    def owns(self, url: str) -> bool:
        """True when ``url`` is an http(s) URL on one of the hosts: a document the source
        may write (ports aside: one host serves one site)."""
        return is_web_url(url) and self.allows_host(urlsplit(url.strip()).hostname or "")

    def allows(self, url: str) -> bool:
        """True when the crawl (or its browser) may fetch ``url``: :meth:`owns` plus the
        port rule."""
        if not self.owns(url):
            return False
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
        return self.any_port or port in self.ports
