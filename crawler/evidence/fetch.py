"""Fetching a document's URL again, under the crawl's rules (captures and takedown checks).

A capture or a check fetches a URL taken from the store, which came from a crawled page: it
must not become a way to reach arbitrary (internal) addresses. :class:`UrlPolicy` holds the
rules: only ``http``/``https``, only the source's hosts (``allowed_domains`` or the hosts of
its entry URLs), at every redirect hop. Other hosts (a page's images on a CDN, in the
browser) are allowed only when every address they resolve to is public.

:func:`fetch` resolves the host itself, checks the address and connects to that very
address (``Host`` header and TLS SNI keep the name), so DNS cannot be changed between the
check and the connection. ``*.localhost`` resolves to loopback, as in the crawler.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from crawler.evidence.warc import Exchange
from crawler.extract.urls import in_domains
from crawler.resolver import is_loopback_name

__all__ = ["FetchError", "UrlPolicy", "UrlRefused", "fetch", "resolve"]

MAX_REDIRECTS = 5
MAX_BYTES = 5 * 1024 * 1024


class FetchError(Exception):
    """The URL could not be fetched (network error, timeout, too large)."""


class UrlRefused(FetchError):
    """The URL is outside what captures and checks may fetch; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    """Addresses of ``host`` (``*.localhost``: loopback, as the crawler resolves it)."""
    if is_loopback_name(host):
        return ["127.0.0.1"]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What a capture or check of one source's document may fetch."""

    domains: tuple[str, ...]

    def check(self, url: str) -> None:
        """Raise :class:`UrlRefused` unless ``url`` is http(s) on one of the source's hosts."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UrlRefused(f"only http(s) URLs are fetched, not {parts.scheme or 'no'} scheme")
        if not parts.hostname:
            raise UrlRefused(f"no host in {url!r}")
        if not in_domains(url, list(self.domains)):
            raise UrlRefused(
                f"{parts.hostname} is not a host of the document's source "
                f"({', '.join(self.domains) or 'none'})"
            )

    def allows_resource(self, url: str) -> bool:
        """May the browser load ``url`` while rendering a page? The source's hosts, and any
        other http(s) host whose addresses are all public (never loopback, private,
        link-local: cloud metadata, the monitor's own services)."""
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return True
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        if in_domains(url, list(self.domains)):
            return True
        try:
            addresses = resolve(parts.hostname, parts.port or 443)
        except FetchError:
            return False
        return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)


def _pinned(url: str) -> tuple[str, str, str]:
    """``url`` with its host replaced by a resolved address; the Host header; the SNI name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(host, port)[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header, host


def fetch(
    url: str,
    policy: UrlPolicy,
    *,
    user_agent: str,
    timeout: float = 20.0,
    client: httpx.Client | None = None,
) -> tuple[Exchange, list[str]]:
    """GET ``url`` following up to :data:`MAX_REDIRECTS` redirects, each hop checked by
    ``policy``. Returns the final exchange (status, headers, body, time, address) and the
    URLs visited before it."""
    own = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=False, verify=True)
    visited: list[str] = []
    try:
        for _ in range(MAX_REDIRECTS + 1):
            policy.check(url)
            target, host_header, sni = _pinned(url)
            request_headers = {
                "Host": host_header,
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                "Accept-Language": "vi,en;q=0.5",
            }
            fetched_at = datetime.now(UTC)
            try:
                with client.stream(
                    "GET", target, headers=request_headers, extensions={"sni_hostname": sni}
                ) as response:
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_BYTES:
                            raise FetchError(f"{url}: larger than {MAX_BYTES} bytes")
                    address = target
            except httpx.HTTPError as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
            exchange = Exchange(
                url=url,
                status=response.status_code,
                response_headers=list(response.headers.multi_items()),
                body=bytes(body),
                fetched_at=fetched_at,
                request_headers=list(request_headers.items()),
                ip_address=urlsplit(address).hostname,
                protocol=response.http_version,
                reason=response.reason_phrase,
            )
            location = response.headers.get("location")
            if response.is_redirect and location:
                visited.append(url)
                url = urljoin(url, location)
                continue
            return exchange, visited
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {visited[0]}")
    finally:
        if own:
            client.close()
