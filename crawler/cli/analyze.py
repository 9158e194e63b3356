"""``misinfo analyze``: run the analysis over JSON lines, streaming, one post per line.

Each input line ``{"id", "text", "title"?, "url"?, "published_at"?, "engagement"?}`` is
written back with an ``"analysis"`` object. Bad lines (not UTF-8, not JSON, a number too
long, nesting too deep, an unpaired surrogate, a missing ``id`` or ``text``, a line over
:data:`MAX_LINE_BYTES`) are reported with their line number and skipped; every good line
is written, whatever comes before or after it. A summary goes to stderr at the end.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
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

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_LINE_BYTES",
    "AnalyzeStats",
    "analyze_command",
    "analyze_lines",
    "read_lines",
]

#: Report progress every this many lines when stderr is a terminal.
PROGRESS_EVERY = 100
#: Posts analysed together (stage by stage); 1 writes each line as soon as it is read.
DEFAULT_BATCH_SIZE = 32
#: Longest input line read (a post of several MB fits); a longer one is skipped unread.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: A batch is analysed once its lines hold this many bytes, even with fewer posts: the
#: records are kept until written, so memory stays bounded with long posts too.
MAX_BATCH_BYTES = 16 * 1024 * 1024


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


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadLine(f"number {text[:20]!r} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise BadLine(f"{name} is not a JSON value")


def parse_post(line: str | bytes) -> tuple[dict[str, Any], PostInput]:
    """The record and the post of one input line; :class:`BadLine` says what is wrong."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadLine(
                f"not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})"
            ) from None
    try:
        record = json.loads(line, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    except RecursionError:
        raise BadLine("JSON nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits
        if isinstance(exc, BadLine):
            raise
        raise BadLine("a number has too many digits") from exc
    if not isinstance(record, dict):
        raise BadLine("expected a JSON object")
    doc_id = record.get("id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int) or doc_id == "":
        raise BadLine('"id" is missing or not a string or integer')
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
    try:  # the record is written back: every string in it must be UTF-8 encodable
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadLine(f"a string holds an unpaired surrogate ({exc.object[exc.start]!a})") from None
    except (RecursionError, ValueError):
        raise BadLine("JSON nested too deeply") from None
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


def read_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | None]:
    """The lines of ``stream`` as bytes; ``None`` stands for a line longer than
    ``max_bytes`` (its newline aside), which is skipped without being held in memory."""
    while line := stream.readline(max_bytes + 1):
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield line


ErrorReporter = Callable[[int, str], None]


def analyze_lines(
    lines: Iterable[str | bytes | None],
    resources: AnalysisResources,
    *,
    on_error: ErrorReporter | None = None,
    stats: AnalyzeStats | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[str]:
    """Yield one output JSON line per good input line; ``on_error(lineno, message)`` for bad ones.

    Lines are text or bytes (decoded here, one line at a time, so a bad byte costs only its
    line); ``None`` is a line too long to read (see :func:`read_lines`). Posts are analysed
    ``batch_size`` at a time (or :data:`MAX_BATCH_BYTES` of lines), stage by stage
    (``analyse_batch``: the same results, less CPU); each batch's lines come out once it is
    full or the input ends.
    """
    stats = stats if stats is not None else AnalyzeStats()
    report = on_error or (lambda lineno, message: None)
    batch: list[tuple[int, dict[str, Any], PostInput]] = []
    held = 0
    for lineno, line in enumerate(lines, start=1):
        if line is not None and not line.strip():
            continue
        stats.read += 1
        try:
            if line is None:
                raise BadLine(f"longer than {MAX_LINE_BYTES} bytes")
            record, post = parse_post(line)
        except BadLine as exc:
            stats.skipped += 1
            report(lineno, str(exc))
            continue
        batch.append((lineno, record, post))
        held += len(line)
        if len(batch) >= batch_size or held >= MAX_BATCH_BYTES:
            yield from _analyze_batch(batch, resources, stats, thresholds, report)
            batch, held = [], 0
    if batch:
        yield from _analyze_batch(batch, resources, stats, thresholds, report)


def _analyze_batch(
    batch: list[tuple[int, dict[str, Any], PostInput]],
    resources: AnalysisResources,
    stats: AnalyzeStats,
    thresholds: Thresholds,
    report: ErrorReporter,
) -> Iterator[str]:
    posts = [post for _, _, post in batch]
    try:
        analyses: list[Any] = analyse_batch(posts, resources, thresholds=thresholds)
    except Exception:
        # One post the analysis cannot take must not cost the batch: each alone.
        analyses = [_analyse_alone(post, resources, thresholds) for post in posts]
    for (lineno, record, _), analysis in zip(batch, analyses, strict=True):
        if isinstance(analysis, Exception):
            stats.skipped += 1
            report(lineno, f"analysis failed ({type(analysis).__name__})")
            continue
        result = analysis.to_dict(segmented=False)
        stats.flagged_covid += bool(result["covid"].get("flag"))
        stats.flagged_claim += bool(result["claim"].get("flag"))
        record["analysis"] = result
        stats.written += 1
        yield json.dumps(record, ensure_ascii=False)


def _analyse_alone(post: PostInput, resources: AnalysisResources, thresholds: Thresholds) -> Any:
    try:
        return analyse_batch([post], resources, thresholds=thresholds)[0]
    except Exception as exc:
        return exc


@click.command("analyze")
@click.option(
    "--input", "input_file", type=click.File("rb"), default="-", show_default=True,
    help="UTF-8 JSON lines with at least {\"id\", \"text\"}; - reads stdin.",
)  # fmt: skip
@click.option(
    "--output", "output_file", type=click.File("w", encoding="utf-8"), default="-", show_default=True,
    help="Where the lines go, each with an \"analysis\" object; - writes stdout.",
)  # fmt: skip
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, show_default=True,
    help="Posts analysed together (less CPU per post); 1 writes each line as soon as it is read.",
)  # fmt: skip
def analyze_command(input_file: IO[bytes], output_file: IO[str], batch_size: int) -> None:
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
            read_lines(input_file),
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
    except BrokenPipeError:
        return  # the reader went away (| head): stop quietly
    if progress:
        click.echo("", err=True)
    click.echo(stats.summary(), err=True)
