"""DNS resolver that knows ``*.localhost`` is loopback (RFC 6761).

Browsers resolve ``anything.localhost`` to 127.0.0.1 by themselves; glibc does not. The demo
sites are virtual hosts named ``*.localhost`` on one local port, so the crawler resolves
them the way a browser would and everything else as Scrapy always does.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

__all__ = ["LocalhostAwareResolver", "is_loopback_name"]


def is_loopback_name(name: str) -> bool:
    name = name.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


class LocalhostAwareResolver(CachingThreadedResolver):
    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if is_loopback_name(name):
            return defer.succeed("127.0.0.1")
        return super().getHostByName(name, timeout)
