"""The Elasticsearch client for :mod:`index.elastic`, and the error boundary.

Two jobs, both at the edge between this project and ``elasticsearch``/``elastic_transport``:

* :func:`make_client` builds an ``Elasticsearch`` client that works against 8.x and 9.x
  servers. The v9 Python client sends ``Accept: application/vnd.elasticsearch+json;
  compatible-with=9``, which an 8.x server rejects (the only test distribution on Maven
  Central is 8.19, see ``scripts/elasticsearch.sh``). :class:`PlainJsonTransport` sends plain
  ``application/json`` instead: every server answers that in its own, current format, and
  the APIs used here (bulk, mget, search, scroll, aliases, aggregations) read the same in
  8.x and 9.x.
* :func:`mapped_errors` turns transport and API failures into :mod:`index.errors`, raised
  ``from`` the original (as httpx's ``map_httpcore_exceptions`` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import elastic_transport
from elastic_transport.client_utils import DEFAULT
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import BulkIndexError as HelperBulkIndexError

from index.errors import QuerySyntaxError, SearchError, StoreUnavailable

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_REQUEST_TIMEOUT",
    "PlainJsonTransport",
    "make_client",
    "mapped_errors",
]

DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
#: HTTP statuses the client retries on another attempt (with backoff).
RETRY_ON_STATUS = (429, 502, 503, 504)
#: Statuses that mean "the cluster is there but cannot serve now": callers may retry later.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})

_COMPAT_MIMETYPE = re.compile(
    r"application/vnd\.elasticsearch\+([a-z0-9\-]+)(?:\s*;\s*compatible-with=\d+)?"
)


def plain_mimetype(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=9`` -> ``application/json``."""
    return _COMPAT_MIMETYPE.sub(r"application/\1", value)


class PlainJsonTransport(elastic_transport.Transport):
    """A transport that drops REST-compatibility media types (see the module docstring)."""

    def perform_request(  # type: ignore[override]
        self, method: str, target: str, *, headers: Any = DEFAULT, **kwargs: Any
    ) -> elastic_transport.TransportApiResponse:
        if isinstance(headers, Mapping):
            headers = {
                key: plain_mimetype(value) if isinstance(value, str) else value
                for key, value in headers.items()
            }
        return super().perform_request(method, target, headers=headers, **kwargs)


def make_client(
    url: str,
    *,
    api_key: str | tuple[str, str] | None = None,
    basic_auth: tuple[str, str] | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> Elasticsearch:
    """A client for ``url`` that retries timeouts and overload statuses with backoff."""
    return Elasticsearch(
        url,
        api_key=api_key,
        basic_auth=basic_auth,
        request_timeout=request_timeout,
        max_retries=max_retries,
        retry_on_timeout=True,
        retry_on_status=RETRY_ON_STATUS,
        transport_class=PlainJsonTransport,
    )


def _api_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        cause = causes[0] if causes else error
        return f"{cause.get('type', error.get('type'))}: {cause.get('reason', error.get('reason'))}"
    return str(exc.message)


@contextmanager
def mapped_errors(what: str) -> Iterator[None]:
    """Translate client failures during ``what`` into the index error tree.

    Unreachable cluster, timeouts and overload (429/5xx) become :class:`StoreUnavailable`
    (callers such as :class:`index.spool.SpoolingStore` keep the data and retry later); a
    rejected query (400 parsing errors) becomes :class:`QuerySyntaxError`; anything else a
    :class:`SearchError`. Our own :class:`SearchError` subclasses pass through untouched.
    """
    try:
        yield
    except SearchError:
        raise
    except ApiError as exc:
        reason = _api_reason(exc)
        status = exc.meta.status
        if status in UNAVAILABLE_STATUSES:
            raise StoreUnavailable(
                f"Elasticsearch cannot serve {what} now ({status} {reason})"
            ) from exc
        if status == 400 and ("parse" in reason or "query" in reason):
            raise QuerySyntaxError(f"Elasticsearch rejected the query: {reason}") from exc
        raise SearchError(f"Elasticsearch error during {what}: {status} {reason}") from exc
    except elastic_transport.TransportError as exc:
        # ConnectionError, ConnectionTimeout, TLS errors: the cluster is not reachable.
        raise StoreUnavailable(f"Elasticsearch unreachable during {what}: {exc}") from exc
    except HelperBulkIndexError as exc:  # only when a helper is asked to raise
        raise SearchError(f"bulk write failed during {what}: {exc}") from exc
