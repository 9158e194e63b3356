"""Helpers every ``misinfo`` command shares: the app from the Click context, domain errors as
one-line messages, the sources file, tables and the run summary. Imports no command module."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import click

from crawler.app import App, ConfigError
from crawler.resources.sources import Source, SourcesError, load_sources
from crawler.resources.store import open_app_store

__all__ = [
    "acting_user",
    "audit_entry_json",
    "echo_json",
    "format_table",
    "get_app",
    "handle_errors",
    "json_option",
    "load_app_sources",
    "opened_store",
    "print_run_summary",
    "user_option",
]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
user_option = click.option(
    "--user",
    help="Who acts, recorded in the audit log (an account's role decides what it may do). "
    "[env: MISINFO_USER; default: your login]",
)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn the domain errors users can cause into one-line ``ClickException`` messages."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from index.errors import QuerySyntaxError, SearchError, StoreUnavailable

        try:
            return func(*args, **kwargs)
        except (ConfigError, SourcesError) as exc:
            raise click.ClickException(str(exc)) from exc
        except QuerySyntaxError as exc:
            raise click.ClickException(
                f'bad query: {exc} (quote phrases with "...", escape special characters with \\)'
            ) from exc
        except StoreUnavailable as exc:
            raise click.ClickException(f"store unavailable: {exc}") from exc
        except SearchError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def get_app() -> App:
    return click.get_current_context().find_object(App)


def acting_user(user: str | None) -> str:
    """The ``--user`` given, else ``$MISINFO_USER``, else the login name."""
    return user or os.environ.get("MISINFO_USER") or getpass.getuser()


@contextmanager
def opened_store() -> Iterator[Any]:
    """The configured store of the command's app, closed afterwards."""
    store = open_app_store(get_app())
    try:
        yield store
    finally:
        store.close()


def audit_entry_json(entry: Any) -> dict[str, Any]:
    """An audit-log entry (``index.review.AuditEntry``) as the commands print it."""
    return {
        "at": entry.at,
        "user": entry.user,
        "action": entry.action,
        "note": entry.note,
        "before": entry.before,
        "after": entry.after,
    }


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def load_app_sources(app: App) -> list[Source]:
    return load_sources(app.config_path("sources.yaml"))


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def print_run_summary(records: list[Any]) -> None:
    rows = [
        [
            r.source,
            r.status,
            str(r.fetched),
            str(r.new),
            str(r.updated),
            str(r.unchanged),
            str(r.failed),
        ]
        for r in records
    ]
    click.echo(
        format_table(["SOURCE", "STATUS", "PAGES", "NEW", "UPDATED", "UNCHANGED", "ERRORS"], rows)
    )
    for record in records:
        for error in record.errors[:3]:
            click.echo(f"  {record.source}: {error}", err=True)
