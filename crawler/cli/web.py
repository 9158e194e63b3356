"""``misinfo serve`` and ``misinfo users``: the web UI wired to the data directory.

:func:`build_web_app` is the one place that turns an :class:`~crawler.app.App` into the
Starlette app of :mod:`index.web` (store, accounts, signing key, run history, known-claims
file); ``misinfo demo`` and the scheduler service call :func:`serve_web` or
:func:`start_web`. The group in :mod:`crawler.cli.main` registers :data:`serve_command` and
:data:`users_group`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import click

from crawler.app import App, ConfigError
from crawler.resources.store import open_app_store

__all__ = [
    "SECRET_KEY_FILE",
    "WebServer",
    "build_web_app",
    "ensure_user",
    "known_claims_appender",
    "load_secret_key",
    "runs_provider",
    "serve_command",
    "serve_web",
    "serve_workers",
    "start_web",
    "users_group",
    "worker_app",
]

SECRET_KEY_FILE = "web_secret_key"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def load_secret_key(data_dir: Path) -> str:
    """The session-signing key, generated once into ``data_dir`` (mode 0600).

    Kept across restarts so analysts stay logged in; delete the file to log everyone out.
    """
    path = data_dir / SECRET_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise ConfigError(
                f"{path}: secret key too short; delete the file to regenerate it"
            ) from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def runs_provider(app: App):
    """``() -> recent runs as dicts``, read fresh on every status page view."""

    def provide() -> list[dict[str, Any]]:
        from crawler.service.history import RunHistory

        if not app.state_path.exists():
            return []
        return [record.to_dict() for record in RunHistory(app.state_path).list(limit=500)]

    return provide


def known_claims_appender(app: App):
    """``(claim text, source note) -> new id``: a claim confirmed in the UI joins the known
    false claims (``<data dir>/known_false_claims.confirmed.jsonl``, loaded beside the
    curated file)."""
    from crawler.resources.claims import add_confirmed_claim

    def append(text: str, source: str) -> str:
        try:
            return add_confirmed_claim(app, claim=text, source=source)
        except ConfigError as exc:
            raise ValueError(f"a known-claims file is broken, fix it first: {exc}") from exc

    return append


def tip_submitter(app: App):
    """The web UI's tip form: ``misinfo tips add`` in a subprocess (a fetch needs a fresh
    Scrapy reactor), see :func:`crawler.service.tips.tip_subprocess`."""
    from crawler.service.tips import tip_subprocess

    def submit(url, user, note, channel, reporter, received):
        return tip_subprocess(
            app, url, user=user, note=note, channel=channel, reporter=reporter, received=received
        )

    return submit


def build_web_app(app: App, **options: Any):
    """The web UI over ``app``'s store, accounts (``state.db``) and run history.

    ``options`` go to :func:`index.web.create_app` (e.g. ``https_only=True``).
    """
    from crawler.evidence.web import WebEvidenceActions
    from crawler.resources.subjects import register_lookup
    from index.web import UserStore, create_app

    app.ensure_data_dir()
    return create_app(
        store_factory=partial(open_app_store, app),
        users=UserStore(app.state_path),
        secret_key=load_secret_key(app.data_dir),
        runs_provider=runs_provider(app),
        known_claims_appender=known_claims_appender(app),
        evidence=WebEvidenceActions(app),
        subject_register=register_lookup(app),
        tip_submitter=tip_submitter(app),
        **options,
    )


def ensure_user(app: App, username: str, password: str, role: str = "analyst") -> None:
    """Create ``username`` or reset its password (the demo account)."""
    from index.web import UserExists, UserStore

    users = UserStore(app.state_path)
    try:
        users.add(username, password, role)
    except UserExists:
        users.set_password(username, password)


@dataclass
class WebServer:
    """A running UI server (uvicorn in a background thread)."""

    server: Any
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def wait(self) -> None:
        """Block until the server stops; Ctrl+C stops it."""
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            self.stop()


def start_web(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    demo_user: tuple[str, str] | None = None,
    startup_timeout: float = 30.0,
    **options: Any,
) -> WebServer:
    """Start the UI in a background thread and return once it accepts connections.

    ``port=0`` picks a free port (see ``WebServer.port``). ``demo_user=(name, password)``
    creates or resets that analyst account first.
    """
    import uvicorn

    if demo_user is not None:
        ensure_user(app, *demo_user)
    web_app = build_web_app(app, **options)
    config = uvicorn.Config(
        web_app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="misinfo-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise click.ClickException(f"cannot serve the web UI on {host}:{port} (port in use?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise click.ClickException(f"the web UI did not start within {startup_timeout:.0f}s")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
    return WebServer(server=server, thread=thread, host=host, port=bound)


def serve_web(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    ready_message: str | None = None,
    demo_user: tuple[str, str] | None = None,
    **options: Any,
) -> None:
    """Serve the UI until Ctrl+C (``misinfo serve``, ``misinfo demo``)."""
    running = start_web(app, host, port, demo_user=demo_user, **options)
    click.echo(ready_message or f"Web UI on {running.url} (Ctrl+C to stop)")
    _serving_notices(app, host, https_only=bool(options.get("https_only")))
    running.wait()


def _serving_notices(app: App, host: str, *, https_only: bool) -> None:
    """Warnings an operator needs once the UI is up: no TLS beyond loopback, no accounts."""
    from index.web import UserStore

    if host not in _LOOPBACK and not https_only:
        click.echo(
            "warning: serving beyond this machine without TLS; put it behind an HTTPS proxy "
            "and use --secure-cookies",
            err=True,
        )
    if not UserStore(app.state_path).list():
        click.echo(
            "No accounts yet: create one with `misinfo users add NAME --role admin`.", err=True
        )


def worker_app():
    """The UI app of one ``misinfo serve --workers N`` process (a uvicorn app factory).

    uvicorn starts worker processes from an import string, so the parent passes its
    configuration through the environment (:func:`serve_workers` sets it).
    """
    config = os.environ.get("MISINFO_CONFIG")
    app = App(
        config_dir=Path(config) if config else None,
        data_dir=Path(os.environ["MISINFO_DATA_DIR"]),
    )
    secure = os.environ.get("MISINFO_WEB_SECURE_COOKIES") == "1"
    return build_web_app(app, https_only=secure)


def serve_workers(app: App, host: str, port: int, workers: int, *, https_only: bool) -> None:
    """Serve the UI from ``workers`` processes sharing one socket (uvicorn's supervisor).

    Searches are CPU-bound Python and SQLite work: one process uses about one core, so
    several analysts searching at once queue behind each other. Sessions are signed
    cookies with the shared key file, so any worker serves any analyst. The login rate
    limit is per process.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    app.ensure_data_dir()
    open_app_store(app).close()  # fail here, in one line, on a broken store
    load_secret_key(app.data_dir)  # created once, before the workers race to read it
    os.environ["MISINFO_DATA_DIR"] = str(app.data_dir.resolve())
    if app.config_dir is not None:
        os.environ["MISINFO_CONFIG"] = str(app.config_dir.resolve())
    os.environ["MISINFO_WEB_SECURE_COOKIES"] = "1" if https_only else "0"
    config = uvicorn.Config(
        "crawler.cli.web:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
    try:
        sock = config.bind_socket()
    except SystemExit:
        message = f"cannot serve the web UI on {host}:{port} (port in use?)"
        raise click.ClickException(message) from None
    # uvicorn creates the socket without IPPROTO_TCP, so asyncio skips TCP_NODELAY on the
    # connections it accepts, and a response's second write waits for the client's delayed
    # ACK (~40 ms a page). Accepted sockets inherit the option from the listening one.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"Web UI on http://{shown}:{bound}/ with {workers} worker processes (Ctrl+C to stop)"
    )
    _serving_notices(app, host, https_only=https_only)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()


def _app() -> App:
    app = click.get_current_context().find_object(App)
    if app is None:
        raise click.UsageError("no application context: run this as `misinfo ...`")
    return app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark the session cookie Secure (when an HTTPS proxy is in front).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes; about one per core when many analysts search at once.",
)
def serve_command(host: str, port: int, secure_cookies: bool, workers: int) -> None:
    """Serve the analyst web UI: search, posts with evidence, review queues, sites, status.

    Log in with an account made by `misinfo users add`.
    """
    from index.errors import SearchError

    try:
        if workers > 1:
            serve_workers(_app(), host, port, workers, https_only=secure_cookies)
        else:
            serve_web(_app(), host, port, https_only=secure_cookies)
    except (ConfigError, SearchError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("users")
def users_group() -> None:
    """Web UI accounts (kept in the data directory's state.db)."""


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["analyst", "supervisor", "admin"]),
    default="analyst",
    show_default=True,
    help="admin may also reopen other analysts' decisions; supervisor and admin may record "
    "a sanction or close a case.",
)
def users_add_command(name: str, role: str) -> None:
    """Create account NAME. The password is read from stdin when it is not a terminal
    (`echo "$PW" | misinfo users add lan`), else prompted twice."""
    from index.web import UserError, UserStore

    app = _app()
    store = UserStore(app.state_path)
    try:
        user = store.add(name, _read_password(), role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.role} {user.username}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_list_command(as_json: bool) -> None:
    """List accounts and their roles."""
    from index.web import UserStore

    app = _app()
    users = UserStore(app.state_path).list() if app.state_path.exists() else []
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"username": u.username, "role": u.role, "created_at": u.created_at}
                    for u in users
                ]
            )
        )
        return
    for user in users:
        click.echo(f"{user.username}\t{user.role}\t{user.created_at}")
    if not users:
        click.echo("No accounts yet: misinfo users add NAME --role admin", err=True)
