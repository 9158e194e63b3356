"""A downloader middleware that keeps URL-driven fetches (citizen reports) off internal hosts.

A tip's URL comes from outside, so fetching it must not reach the machine itself or the
private network: every request (the tip, its redirects, robots.txt) must be http(s), and its
host must resolve only to public addresses, unless the host is one of the configured
sources' domains (``MM_SSRF_ALLOWED_DOMAINS``: the demo sites on 127.0.0.1 are sources).
A refused request is dropped with ``IgnoreRequest`` naming why, counted as
``mm/ssrf/refused``.

Limits: the check resolves the name itself, so a DNS answer that changes between this check
and the download (rebinding) is not caught; pages rendered in Chromium may load subresources
that are not checked. Both only matter for hosts that are not sources.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.extract.urls import in_domains

__all__ = ["SSRFGuardMiddleware", "UnsafeTarget", "check_target", "public_address"]

Resolver = Callable[[str], list[str]]


class UnsafeTarget(ValueError):
    """A URL the tip fetcher refuses to fetch; the message says why."""


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def public_address(address: str) -> bool:
    """Whether an IP address is globally routable (not loopback, private, link-local,
    reserved, multicast or unspecified; IPv4-mapped IPv6 is judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_target(url: str, allowed_domains: list[str], resolve: Resolver = _resolve) -> None:
    """Raise :class:`UnsafeTarget` unless ``url`` may be fetched (see the module docstring)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {url!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise UnsafeTarget(f"only http(s) URLs are fetched, not {url!r}")
    if in_domains(url, allowed_domains):
        return
    try:
        addresses = [host] if _is_ip(host) else resolve(host)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UnsafeTarget(f"cannot resolve {host}")
    for address in addresses:
        if not public_address(address):
            raise UnsafeTarget(
                f"{host} resolves to {address}, a private, loopback or reserved address: "
                "not fetched (only configured sources may be on such addresses)"
            )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SSRFGuardMiddleware:
    """Drops requests :func:`check_target` refuses (enabled by ``MM_SSRF_ENABLED``)."""

    def __init__(self, crawler: Crawler, allowed_domains: list[str]) -> None:
        self.crawler = crawler
        self.allowed_domains = allowed_domains

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        if not crawler.settings.getbool("MM_SSRF_ENABLED"):
            raise NotConfigured("MM_SSRF_ENABLED is off")
        return cls(crawler, crawler.settings.getlist("MM_SSRF_ALLOWED_DOMAINS"))

    def process_request(self, request: Request) -> None:
        try:
            check_target(request.url, self.allowed_domains)
        except UnsafeTarget as exc:
            self.crawler.stats.inc_value("mm/ssrf/refused")
            refused = list(self.crawler.stats.get_value("mm/ssrf/reasons") or [])
            self.crawler.stats.set_value("mm/ssrf/reasons", [*refused, str(exc)][-5:])
            raise IgnoreRequest(str(exc)) from exc
