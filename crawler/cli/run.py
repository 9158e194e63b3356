"""``misinfo run``: the long-running service (scheduled crawls, web UI, metrics).

A thin command over :class:`crawler.service.scheduler.CrawlService`: it sets up logging, signals
(``SIGTERM``/``SIGINT`` stop gracefully, ``SIGHUP`` reloads the sources file), the web UI
(unless ``--no-ui``), and Prometheus ``/metrics``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import click

from crawler.app import App, ConfigError
from crawler.resources.sources import SourcesError
from crawler.service.locks import LockBusy

__all__ = ["run_command", "with_metrics"]

log = logging.getLogger("misinfo.scheduler")

_LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


@click.command("run")
@click.option("--no-ui", is_flag=True, help="Do not serve the web UI (crawl only).")
@click.option("--host", help="Address of the web UI and /metrics. [default: web.host or 127.0.0.1]")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port of the web UI. [default: web.port or 8080]"
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Port for /metrics when the web UI is off (0: none). [default: scheduler.metrics_port]",
)
def run_command(no_ui: bool, host: str | None, port: int | None, metrics_port: int | None) -> None:
    """Run every enabled source on its schedule until stopped (Ctrl-C or SIGTERM).

    \b
    Each crawl runs in a subprocess with a time limit (scheduler.run_timeout); a source is
    never crawled twice at once, also not by `misinfo crawl`. Edits to sources.yaml apply
    within seconds (or at once on SIGHUP); an invalid file is logged and ignored. Jobs and
    their next run times persist in the data directory (scheduler.db), run history in
    state.db, the service log in logs/scheduler.log. Serves the web UI with /metrics, or
    /metrics alone on --metrics-port with --no-ui.
    """
    from crawler.service.metrics import metrics_registry
    from crawler.service.scheduler import CrawlService, SchedulerSettings

    app: App = click.get_current_context().obj
    try:
        config = SchedulerSettings.from_settings(
            app.settings, where=str(app.config_path("settings.yaml"))
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    web = app.settings.get("web") or {}
    host = host or web.get("host") or "127.0.0.1"
    port = port if port is not None else int(web.get("port") or 8080)
    metrics_port = metrics_port if metrics_port is not None else config.metrics_port

    from crawler.service.evidence_jobs import EvidenceWorker

    try:  # captures of newly queued posts and due takedown checks, beside the crawls
        evidence = EvidenceWorker(app)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    log_file = _setup_logging(app.ensure_data_dir() / "logs" / "scheduler.log")
    service = CrawlService(app, config)
    try:
        service.start()
    except LockBusy as exc:
        raise click.ClickException(
            f"another `misinfo run` uses {app.data_dir} ({exc.holder.describe()}); stop it first"
        ) from exc
    except (SourcesError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc

    registry = metrics_registry(
        app.state_path, health_window=config.health_window, sources=lambda: list(service.sources)
    )
    stop_servers: list[Callable[[], None]] = []
    try:
        web_app = None if no_ui else _build_web_app(app)
        if web_app is not None:
            stop_servers.append(_serve_in_thread(with_metrics(web_app, registry), host, port))
            log.info("web UI on http://%s:%d/ (metrics at /metrics)", host, port)
        elif metrics_port:
            from prometheus_client import start_http_server

            server, thread = start_http_server(metrics_port, addr=host, registry=registry)
            stop_servers.append(lambda: (server.shutdown(), thread.join(5)))
            log.info("metrics on http://%s:%d/metrics", host, metrics_port)
    except BaseException:
        service.stop()
        raise

    evidence.start()
    _install_signal_handlers(service)
    try:
        service.serve_until_stopped()
    finally:
        evidence.stop()
        for stop in stop_servers:
            stop()
        logging.getLogger("misinfo").removeHandler(log_file)
        log_file.close()


def _setup_logging(path: Path) -> logging.Handler:
    """One line per run start and end on stderr and in the service log file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("misinfo")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    formatter = logging.Formatter(_LOG_FORMAT)
    if not any(getattr(h, "_misinfo_stderr", False) for h in logger.handlers):
        stderr = logging.StreamHandler()
        stderr.setFormatter(formatter)
        stderr._misinfo_stderr = True  # type: ignore[attr-defined]
        logger.addHandler(stderr)
    file_handler = RotatingFileHandler(
        path, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(formatter)
    logger.addHandler(file_handler)
    # APScheduler logs every job start at INFO and every start skipped because the previous
    # run still goes (a run longer than its interval) as a warning; our lines say more.
    aps = logging.getLogger("apscheduler")
    aps.setLevel(logging.WARNING)
    aps_scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkipBusyWarnings) for f in aps_scheduler.filters):
        aps_scheduler.addFilter(_SkipBusyWarnings())
    for handler in logger.handlers:
        if handler not in aps.handlers:
            aps.addHandler(handler)
    return file_handler


class _SkipBusyWarnings(logging.Filter):
    """Drops "skipped: maximum number of running instances reached" (``max_instances=1``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def _install_signal_handlers(service: Any) -> None:
    def stop(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        service.request_stop()

    def reload(_signum: int, _frame: object) -> None:
        log.info("received SIGHUP: reloading the sources file")
        service.request_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)


def _build_web_app(app: App) -> Any:
    """The web UI's ASGI app (imported here: Starlette is not needed by ``--no-ui``)."""
    from crawler.cli.web import build_web_app

    return build_web_app(app)


def with_metrics(web_app: Any, registry: Any) -> Any:
    """``web_app`` with Prometheus ``/metrics`` in front of it.

    In front, not a route inside: the UI sends anonymous requests to its login page, and a
    Prometheus scraper has no session. The metrics hold per-source counts only.
    """
    from prometheus_client import make_asgi_app

    metrics_app = make_asgi_app(registry=registry)

    async def dispatch(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            await metrics_app(scope, receive, send)
        else:
            await web_app(scope, receive, send)

    return dispatch


def _serve_in_thread(
    web_app: Any, host: str, port: int, *, startup_timeout: float = 30.0
) -> Callable[[], None]:
    """Run uvicorn in a thread (signals stay with the main loop); return its stopper."""
    import time

    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            web_app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="web-ui", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise click.ClickException(
                f"cannot serve the web UI on {host}:{port} (port in use? try --port or --no-ui)"
            )
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return stop
