"""Delivering watch alerts to the webhook of ``settings.yaml`` (``alerts.webhook_url``).

The store records alerts when documents are stored (:mod:`index.watches`); this module,
at the edge, POSTs each pending alert's JSON payload to the webhook and records the
outcome on the alert. A delivery run tries an alert up to ``alerts.retries`` times with
exponential backoff (network errors, 429 and 5xx answers; any other 4xx is not retried),
stops at the first alert it cannot deliver (the receiver is probably down: the rest wait
for the next run), and gives an alert up after :data:`index.watches.MAX_ATTEMPTS` runs.

Runs happen after each batch a crawl stores (in a background thread, so a slow receiver
never stalls the crawl) and at its end (:class:`AlertDelivery`), every minute in the
``misinfo run`` service, and on ``misinfo alerts --send``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from crawler.resources.store import open_app_store
from index.review import format_time, utcnow

__all__ = [
    "AlertDelivery",
    "DeliveryReport",
    "WebhookSettings",
    "deliver_alerts",
]

log = logging.getLogger(__name__)

WEBHOOK_ENV = "MISINFO_ALERT_WEBHOOK"
#: Alerts read per delivery run.
RUN_LIMIT = 500
_RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """``alerts:`` of ``settings.yaml``; ``url`` empty means "do not deliver"."""

    url: str = ""
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> WebhookSettings:
        """From the whole settings mapping; ``$MISINFO_ALERT_WEBHOOK`` overrides the URL.
        ``ValueError`` names a bad field."""
        alerts = settings.get("alerts") or {}
        url = os.environ.get(WEBHOOK_ENV) or str(alerts.get("webhook_url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"alerts.webhook_url: {url!r} is not an http(s) URL")
        try:
            made = cls(
                url=url,
                timeout=float(alerts.get("timeout", 5.0)),
                retries=int(alerts.get("retries", 3)),
                backoff=float(alerts.get("backoff", 0.5)),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"alerts: {exc}") from exc
        if made.retries < 1 or made.timeout <= 0 or made.backoff < 0:
            raise ValueError("alerts: retries must be at least 1, timeout positive, backoff >= 0")
        return made


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _post(
    client: httpx.Client,
    settings: WebhookSettings,
    payload: dict[str, Any],
    sleep: Callable[[float], None],
) -> str | None:
    """POST ``payload``; ``None`` when the receiver took it, else the last error."""
    error = "not sent"
    for attempt in range(settings.retries):
        if attempt:
            sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            response = client.post(settings.url, json=payload, timeout=settings.timeout)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            continue
        if response.is_success:
            return None
        error = f"HTTP {response.status_code} from the webhook"
        if response.status_code not in _RETRIED_STATUSES:
            return error
    return error


def deliver_alerts(
    store: Any,
    settings: WebhookSettings,
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    limit: int = RUN_LIMIT,
) -> DeliveryReport:
    """One delivery run over the store's pending alerts, oldest first."""
    report = DeliveryReport()
    if not settings.url:
        return report
    pending = store.alerts_list(pending=True, limit=limit)
    if not pending:
        return report
    own_client = client is None
    client = client or httpx.Client(headers={"user-agent": "misinfo-monitor alerts"})
    try:
        for alert in pending:
            error = _post(client, settings, alert.payload, sleep)
            if error is None:
                store.alerts_mark([alert.id], delivered_at=format_time(utcnow()), error=None)
                report.delivered += 1
                continue
            store.alerts_mark([alert.id], delivered_at=None, error=error)
            report.failed += 1
            report.errors.append(f"{alert.id}: {error}")
            log.warning("alert %s not delivered to the webhook: %s", alert.id, error)
            break  # the receiver is down or refusing: the rest wait for the next run
    finally:
        if own_client:
            client.close()
    return report


class AlertDelivery:
    """A crawl's deliveries: a background run after each stored batch, a last one at the
    end. Nothing happens without a webhook URL."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_app(cls, app: Any) -> AlertDelivery:
        from crawler.app import ConfigError

        try:
            return cls(WebhookSettings.from_settings(app.settings))
        except ValueError as exc:
            raise ConfigError(f"{app.config_path('settings.yaml')}: {exc}") from exc

    def after_write(self, store: Any) -> None:
        if not self.settings.url:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return  # the running delivery will see these alerts too, or the next one
            self._thread = threading.Thread(
                target=self._run, args=(store,), name="alert-delivery", daemon=True
            )
            self._thread.start()

    def _run(self, store: Any) -> None:
        try:
            deliver_alerts(store, self.settings)
        except Exception:  # never let a delivery problem end the crawl
            log.exception("alert delivery failed")

    def close(self, store: Any) -> None:
        """Wait for a running delivery, then deliver what is left."""
        if not self.settings.url:
            return
        thread = self._thread
        if thread is not None:
            thread.join()
        self._run(store)


class PeriodicDelivery:
    """The ``misinfo run`` service's delivery runs: at most one every ``every`` seconds,
    each in a thread of its own with its own store (alerts a crawl could not deliver, or
    raised by another machine's crawl, go out within a minute or so)."""

    def __init__(
        self, app: Any, every: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.every = every
        self.clock = clock
        self.settings = AlertDelivery.from_app(app).settings
        self._last = float("-inf")
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        if not self.settings.url or self.clock() - self._last < self.every:
            return
        if self._thread is not None and self._thread.is_alive():
            return
        self._last = self.clock()
        self._thread = threading.Thread(target=self._run, name="alert-delivery", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            store = open_app_store(self.app)
            try:
                deliver_alerts(store, self.settings)
            finally:
                store.close()
        except Exception:
            log.exception("alert delivery failed")
