"""Score an extraction against a page's ground truth (the real-page set's conventions).

Shared by ``bench/extract.py`` and the real-page tests so both measure the same thing:
title exact after NFC and whitespace normalisation, every author found (and, strictly, no
one else), date equal to the minute (and to the day), section exact, lead contained in the body, body token F1 (NFC,
lower-case, whitespace tokens) and clutter phrases found in the body.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "FieldScores",
    "Truth",
    "body_f1",
    "load_truths",
    "normalise",
    "read_negatives",
    "read_page",
    "score_page",
]


def normalise(text: str) -> str:
    """NFC with runs of whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _tokens(text: str) -> list[str]:
    return normalise(text).lower().split()


def body_f1(extracted: str, truth: str) -> float:
    """Bag-of-tokens F1 of ``extracted`` against ``truth``."""
    got, want = Counter(_tokens(extracted)), Counter(_tokens(truth))
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision = common / sum(got.values())
    recall = common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True, slots=True)
class Truth:
    """One page's ground truth (``truth/<id>.json``)."""

    id: str
    site: str
    url: str
    title: str
    authors: tuple[str, ...]
    published: datetime | None
    section: str
    lead: str
    body: str
    clutter: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        published = data.get("published")
        return cls(
            id=data["id"],
            site=data.get("site") or data["id"].rsplit("-", 1)[0],
            url=data["url"],
            title=data.get("title", ""),
            authors=tuple(data.get("authors") or ()),
            published=datetime.fromisoformat(published) if published else None,
            section=data.get("section", ""),
            lead=data.get("lead", ""),
            body=data.get("body", ""),
            clutter=tuple(data.get("clutter_phrases") or ()),
        )


def _read(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")


def _page_path(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.html", f"{stem}.html.gz"):
        if (folder / name).exists():
            return folder / name
    return None


def read_page(root: Path, page_id: str) -> str:
    """The HTML of ``pages/<id>.html`` (or ``.html.gz``) under ``root``."""
    path = _page_path(root / "pages", page_id)
    if path is None:
        raise FileNotFoundError(root / "pages" / f"{page_id}.html")
    return _read(path)


def read_negatives(root: Path) -> dict[str, str]:
    """The non-article pages under ``root/negatives`` (``.html`` or ``.html.gz``), by name."""
    pages = {}
    for path in sorted((root / "negatives").glob("*.html*")):
        pages[path.name.split(".")[0]] = _read(path)
    return pages


def load_truths(root: Path) -> list[Truth]:
    """Every ``truth/<id>.json`` under ``root`` that has its page (``pages/<id>.html[.gz]``)."""
    truths = []
    for path in sorted((root / "truth").glob("*.json")):
        if path.name.startswith("_") or _page_path(root / "pages", path.stem) is None:
            continue
        truths.append(Truth.from_json(json.loads(path.read_text(encoding="utf-8"))))
    return truths


def _names(names: list[str] | tuple[str, ...]) -> set[str]:
    return {normalise(name).casefold() for name in names}


@dataclass(slots=True)
class FieldScores:
    """How one extraction of one page scores, field by field."""

    title: bool
    #: Every credited person found (the README's "each author found")...
    authors: bool
    #: ...and nobody else (no publisher, no site name): the strict reading.
    authors_exact: bool
    date: bool
    day: bool
    section: bool
    lead: bool
    f1: float
    clutter: list[str] = field(default_factory=list)


def score_page(
    truth: Truth,
    *,
    title: str,
    authors: list[str],
    published: datetime | None,
    section: str,
    text: str,
) -> FieldScores:
    body = normalise(text)
    date_right = (
        published is not None
        and truth.published is not None
        and published.tzinfo is not None
        and published.replace(second=0, microsecond=0)
        == truth.published.replace(second=0, microsecond=0)
    )
    found = _names(authors)
    return FieldScores(
        title=normalise(title) == normalise(truth.title),
        authors=_names(truth.authors) <= found,
        authors_exact=_names(truth.authors) == found,
        date=date_right,
        day=published is not None
        and truth.published is not None
        and published.astimezone(truth.published.tzinfo).date() == truth.published.date(),
        section=normalise(section).casefold() == normalise(truth.section).casefold(),
        lead=bool(truth.lead) and normalise(truth.lead) in body,
        f1=body_f1(text, truth.body),
        clutter=[phrase for phrase in truth.clutter if normalise(phrase) in body],
    )
