"""Export formats shared by ``misinfo export`` and the web UI's export link.

Both stream from ``Store.scan``: memory stays flat for any result size. CSV cells that a
spreadsheet would run as a formula (crawled text is hostile) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from index.documents import Document

__all__ = ["EXPORT_COLUMNS", "csv_chunks", "csv_row", "jsonl_line"]

EXPORT_COLUMNS = (
    "id",
    "url",
    "title",
    "author",
    "source",
    "site",
    "kind",
    "section",
    "published_at",
    "first_seen",
    "flags",
    "covid_score",
    "claim_score",
    "review_status",
    "text",
)
#: A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_CHARS = 64_000


def _cell(value: Any) -> str:
    if isinstance(value, list):
        value = ";".join(map(str, value))
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(document: Document) -> list[str]:
    values = document.to_dict()
    values["covid_score"] = document.scores.get("covid")
    values["claim_score"] = document.scores.get("claim")
    return [_cell(values.get(name)) for name in EXPORT_COLUMNS]


def csv_chunks(documents: Iterable[Document]) -> Iterator[str]:
    """The header and rows as CSV text, in chunks of about 64 kB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for document in documents:
        writer.writerow(csv_row(document))
        if buffer.tell() > _CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_line(document: Document) -> str:
    """One JSON line with every field but the segmented text (derived, and large)."""
    data = document.to_dict()
    data.pop("segmented", None)
    return json.dumps(data, ensure_ascii=False) + "\n"
