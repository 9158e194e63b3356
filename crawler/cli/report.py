"""``misinfo report``: the period report, counted from the audit log."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from crawler.cli.common import (
    get_app,
    handle_errors,
    opened_store,
)

__all__ = ["report_command"]


@click.command("report")
@click.option(
    "--from",
    "from_day",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day (Vietnam time), YYYY-MM-DD.",
)
@click.option(
    "--to", "to_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, included."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "json", "pdf"]),
    default="md",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (needed for pdf; default: standard output).",
)
@click.option("--base-url", help="The web UI's address: counts link to the rows behind them.")
@handle_errors
def report_command(
    from_day: datetime, to_day: datetime, fmt: str, output: Path | None, base_url: str | None
) -> None:
    """The period report: what was crawled, flagged, confirmed, sanctioned and answered,
    counted from the audit log, with charts (html, pdf)."""
    from index.report import build_report
    from index.report_render import report_html, report_markdown

    with opened_store() as store:
        report = build_report(store, from_day.date(), to_day.date())
    if fmt == "json":
        text = json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "md":
        text = report_markdown(report, base_url=base_url)
    else:
        text = report_html(report, base_url=base_url)
    if fmt == "pdf":
        if output is None:
            raise click.UsageError("--format pdf needs -o FILE")
        from crawler.service.report_pdf import html_to_pdf

        html_to_pdf(get_app(), text, output)
        click.echo(f"wrote {output}", err=True)
        return
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
