"""Helpers every ``misinfo`` command shares: the app from the Click context, domain errors as
one-line messages, the sources file, tables and the run summary. Imports no command module."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from crawler.app import App, ConfigError
from crawler.resources.sources import Source, SourcesError, load_sources

__all__ = ["format_table", "get_app", "handle_errors", "load_app_sources", "print_run_summary"]

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
