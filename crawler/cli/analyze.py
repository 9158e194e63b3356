"""``misinfo analyze``: run the analysis over JSON lines, streaming, one post per line.

Each input line ``{"id", "text", "title"?, "url"?, "published_at"?, "engagement"?}`` is
written back with an ``"analysis"`` object. Bad lines are reported (with their line
number) and skipped; the run goes on. A summary goes to stderr at the end.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import click

from analysis.analyse import (
    DEFAULT_THRESHOLDS,
    AnalysisResources,
    PostInput,
    Thresholds,
    analyse_batch,
)

__all__ = ["DEFAULT_BATCH_SIZE", "AnalyzeStats", "analyze_command", "analyze_lines"]

#: Report progress every this many lines when stderr is a terminal.
PROGRESS_EVERY = 100
#: Posts analysed together (stage by stage); 1 writes each line as soon as it is read.
DEFAULT_BATCH_SIZE = 32


@dataclass
class AnalyzeStats:
    read: int = 0
    written: int = 0
    skipped: int = 0
    flagged_covid: int = 0
    flagged_claim: int = 0

    def summary(self) -> str:
        return (
            f"{self.read} lines read, {self.written} written, {self.skipped} skipped; "
            f"flagged: {self.flagged_covid} covid, {self.flagged_claim} claim"
        )


class BadLine(ValueError):
    """A line that is not a post; the message says what is wrong."""


def parse_post(line: str) -> tuple[dict[str, Any], PostInput]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise BadLine("expected a JSON object")
    text = record.get("text")
    if not isinstance(text, str):
        raise BadLine('"text" is missing or not a string')
    fields: dict[str, Any] = {}
    for name in ("title", "url", "published_at"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise BadLine(f'"{name}" must be a string')
        fields[name] = value
    engagement = record.get("engagement")
    if engagement is not None and not _is_counts(engagement):
        raise BadLine('"engagement" must map names to integers')
    post = PostInput(
        text=text,
        title=fields["title"] or "",
        url=fields["url"] or "",
        published_at=fields["published_at"],
        engagement=engagement,
    )
    return record, post


def _is_counts(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    )


def analyze_lines(
    lines: Iterable[str],
    resources: AnalysisResources,
    *,
    on_error: Any = None,
    stats: AnalyzeStats | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[str]:
    """Yield one output JSON line per good input line; ``on_error(lineno, message)`` for bad ones.

    Posts are analysed ``batch_size`` at a time, stage by stage (``analyse_batch``: the same
    results, less CPU); each batch's lines come out once it is full or the input ends.
    """
    stats = stats if stats is not None else AnalyzeStats()
    batch: list[tuple[dict[str, Any], PostInput]] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        stats.read += 1
        try:
            batch.append(parse_post(line))
        except BadLine as exc:
            stats.skipped += 1
            if on_error is not None:
                on_error(lineno, str(exc))
            continue
        if len(batch) >= batch_size:
            yield from _analyze_batch(batch, resources, stats, thresholds)
            batch = []
    if batch:
        yield from _analyze_batch(batch, resources, stats, thresholds)


def _analyze_batch(
    batch: list[tuple[dict[str, Any], PostInput]],
    resources: AnalysisResources,
    stats: AnalyzeStats,
    thresholds: Thresholds,
) -> Iterator[str]:
    posts = [post for _, post in batch]
    analyses = analyse_batch(posts, resources, thresholds=thresholds)
    for (record, _), analysis in zip(batch, analyses, strict=True):
        result = analysis.to_dict(segmented=False)
        stats.flagged_covid += bool(result["covid"].get("flag"))
        stats.flagged_claim += bool(result["claim"].get("flag"))
        record["analysis"] = result
        stats.written += 1
        yield json.dumps(record, ensure_ascii=False)


@click.command("analyze")
@click.option(
    "--input", "input_file", type=click.File("r", encoding="utf-8"), default="-", show_default=True,
    help="JSON lines with at least {\"id\", \"text\"}; - reads stdin.",
)  # fmt: skip
@click.option(
    "--output", "output_file", type=click.File("w", encoding="utf-8"), default="-", show_default=True,
    help="Where the lines go, each with an \"analysis\" object; - writes stdout.",
)  # fmt: skip
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, show_default=True,
    help="Posts analysed together (less CPU per post); 1 writes each line as soon as it is read.",
)  # fmt: skip
def analyze_command(input_file: IO[str], output_file: IO[str], batch_size: int) -> None:
    """Analyse posts (language, entities, Covid, likely-false claims) from JSON lines."""
    from crawler.app import App, ConfigError
    from crawler.resources.analysis import load_analysis_resources, thresholds_from_settings

    app = click.get_current_context().obj
    if not isinstance(app, App):
        app = App()
    try:
        resources = load_analysis_resources(app)
        thresholds = thresholds_from_settings(app)
    except ConfigError as exc:
        raise click.ClickException(
            f"{exc}\nHint: fix or remove that file in your config directory."
        ) from exc

    stats = AnalyzeStats()
    progress = sys.stderr.isatty()
    started = time.monotonic()

    def report(lineno: int, message: str) -> None:
        click.echo(f"line {lineno}: skipped: {message}", err=True)

    try:
        for out_line in analyze_lines(
            input_file,
            resources,
            on_error=report,
            stats=stats,
            thresholds=thresholds,
            batch_size=batch_size,
        ):
            output_file.write(out_line + "\n")
            if progress and stats.written % PROGRESS_EVERY == 0:
                rate = stats.written / max(time.monotonic() - started, 1e-9)
                click.echo(f"\r{stats.written} posts, {rate:.0f}/s", err=True, nl=False)
    except UnicodeDecodeError as exc:
        raise click.ClickException(
            f"input is not UTF-8 (after {stats.read} lines): {exc.reason}\n"
            "Hint: convert it first, e.g. iconv -t utf-8."
        ) from exc
    except BrokenPipeError:
        return  # the reader went away (| head): stop quietly
    if progress:
        click.echo("", err=True)
    click.echo(stats.summary(), err=True)
