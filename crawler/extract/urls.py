"""URL normalisation: one canonical form per page, so one document per page."""

from __future__ import annotations

import re
from functools import lru_cache
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
    """Absolute URL without fragment, tracking or session parameters, host lower-cased;
    ``""`` for what is no URL (``http://[::1``, a port out of range): a bad link on a page
    costs that link, never the page."""
    if not base and not url.strip():
        return ""
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return ""
    url = url.strip()
    return _canonical_cached(url) if len(url) <= _CACHED_LENGTH else _canonical_absolute(url)


def _canonical_absolute(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme in ("http", "https") and not host:
        return ""
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
    # Trailing blanks are no part of an address (browsers drop them): stable ids.
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), "")).rstrip()


#: A site's menus and related-article links come back on page after page: their canonical
#: forms are kept (addresses up to this length, so a hostile page cannot fill the cache).
_CACHED_LENGTH = 2_048
_canonical_cached = lru_cache(maxsize=16_384)(_canonical_absolute)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def site_of(url: str) -> str:
    """The site a page belongs to: its host without a leading ``www.``."""
    return host_of(url).removeprefix("www.")


def in_domains(url: str, domains: list[str]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one."""
    host = host_of(url)
    return any(host == domain or host.endswith("." + domain) for domain in domains)
