"""URL normalisation: one canonical form per page, so one document per page."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["canonical_url", "host_of", "in_domains", "site_of"]

#: Query parameters that only track the visitor; dropping them never changes the page.
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|zarsrc|zarsrcv|_ga|_gl|mc_cid|mc_eid|igshid|ref_src|"
    r"yclid|spm|ito|cmpid|rss|from|src)$",
    re.IGNORECASE,
)
_SESSION = re.compile(r"^(sid|sessionid|session_id|phpsessid|jsessionid|aspsessionid\w*)$", re.I)


def canonical_url(url: str, *, base: str | None = None) -> str:
    """Absolute URL without fragment, tracking or session parameters, host lower-cased."""
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else f"{host}:{port}"
    )
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(key) and not _SESSION.match(key)
    ]
    path = re.sub(r";jsessionid=[^/?#]*", "", parts.path, flags=re.I) or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def site_of(url: str) -> str:
    """The site a page belongs to: its host without a leading ``www.``."""
    return host_of(url).removeprefix("www.")


def in_domains(url: str, domains: list[str]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one."""
    host = host_of(url)
    return any(host == domain or host.endswith("." + domain) for domain in domains)
