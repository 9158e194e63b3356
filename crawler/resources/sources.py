"""The sources file (``sources.yaml``): what to crawl, how, and how often.

Validated on load with pydantic; every error names the file, the source and the field, in
one line, so a typo never becomes a traceback or a silently skipped source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.extract.rules import SiteRules, compile_selector

__all__ = ["ExtractRules", "Schedule", "Source", "SourcesError", "load_sources", "parse_interval"]

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class SourcesError(Exception):
    """The sources file is missing or invalid. ``str()`` is a one-line, user-facing message."""


def parse_interval(text: str) -> int:
    """``"30m"`` -> 1800 seconds. Raises ``ValueError`` with the accepted forms."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"interval {text!r} is not like '45s', '30m', '6h' or '1d'")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("interval must be positive")
    return seconds


class Schedule(BaseModel):
    """Either a cron expression (5 fields) or a fixed interval (``every: 30m``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str | None = None
    every_seconds: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            fields = value.split()
            if len(fields) != 5:
                raise ValueError(
                    f"cron {value!r} must have 5 fields (minute hour day month weekday), "
                    "or use 'every: 30m'"
                )
            return {"cron": value}
        if isinstance(value, dict) and set(value) == {"every"}:
            return {"every_seconds": parse_interval(str(value["every"]))}
        if isinstance(value, dict) and ("cron" in value or "every_seconds" in value):
            return value
        raise ValueError("expected a cron string like '*/30 * * * *' or a mapping 'every: 30m'")

    def describe(self) -> str:
        if self.cron:
            return self.cron
        seconds = self.every_seconds or 0
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"every {seconds // size}{unit}"
        return f"every {seconds}s"


class Selectors(BaseModel):
    """CSS selectors (parsel syntax, ``::text``/``::attr(x)`` allowed) for social posts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post: str
    text: str
    author: str | None = None
    time: str | None = None
    link: str | None = None
    likes: str | None = None
    comments: str | None = None
    shares: str | None = None


SelectorSpec = str | list[str]


class ExtractRules(BaseModel):
    """Per-site extraction rules: CSS (parsel syntax, ``::text``/``::attr(x)`` allowed) or
    XPath selectors, one or a list, for the fields the generic extractor gets wrong on a
    site. ``drop`` removes matching elements before anything is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: SelectorSpec | None = None
    lead: SelectorSpec | None = None
    body: SelectorSpec | None = None
    author: SelectorSpec | None = None
    published: SelectorSpec | None = None
    section: SelectorSpec | None = None
    drop: SelectorSpec | None = None

    @field_validator("*")
    @classmethod
    def _check_selectors(cls, value: SelectorSpec | None) -> SelectorSpec | None:
        for selector in [value] if isinstance(value, str) else value or []:
            compile_selector(selector)
        return value

    def compiled(self) -> SiteRules:
        return SiteRules.from_config(self.model_dump())


class Source(BaseModel):
    """One crawl source. Unknown keys are rejected so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["news", "social"] = "news"
    enabled: bool = True
    start_urls: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    render: bool = False
    schedule: Schedule = Field(default_factory=lambda: Schedule(every_seconds=3600))
    max_pages: int | None = Field(default=None, gt=0)
    #: Regex (searched in the URL) that marks article pages; other pages are only followed.
    article_pattern: str | None = None
    #: How many links deep to follow from start_urls looking for articles (pagination is free).
    follow_depth: int = Field(default=2, ge=0, le=10)
    description: str = ""
    selectors: Selectors | None = None
    scroll: int = Field(default=0, ge=0, le=200)
    load_more: str | None = None
    #: Per-site extraction rules (news sources), for what the generic extractor gets wrong.
    extract: ExtractRules | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits, '-' or '_' (e.g. 'vnexpress')")
        return value

    @field_validator("start_urls", "feeds", "sitemaps")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return urls

    @field_validator("article_pattern")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _check_entry_points(self) -> Source:
        if not (self.start_urls or self.feeds or self.sitemaps):
            raise ValueError("needs at least one of start_urls, feeds or sitemaps")
        if self.kind == "social" and self.selectors is None:
            raise ValueError("a social source needs 'selectors' (at least post and text)")
        return self

    @property
    def domains(self) -> list[str]:
        """``allowed_domains``, or the hosts of the entry URLs when none are given."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        hosts = {
            urlsplit(url).hostname or "" for url in [*self.start_urls, *self.feeds, *self.sitemaps]
        }
        return sorted(host for host in hosts if host)


def _format_location(loc: Iterable[Any]) -> str:
    parts = [str(part) for part in loc]
    return ".".join(parts) if parts else "(top level)"


def load_sources(path: Path) -> list[Source]:
    """Read and validate a sources file. Raises :class:`SourcesError` with a one-line message."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourcesError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SourcesError(
            f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if raw is None:
        return []
    entries = raw.get("sources") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise SourcesError(f"{path}: expected a top-level 'sources:' list")
    sources: list[Source] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        label = entry.get("name") if isinstance(entry, dict) else None
        where = f"source {label!r}" if label else f"source #{position}"
        if not isinstance(entry, dict):
            raise SourcesError(f"{path}: {where}: expected a mapping of keys")
        try:
            source = Source.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = _format_location(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            raise SourcesError(f"{path}: {where}: field '{field}': {message}") from exc
        if source.name in seen:
            raise SourcesError(f"{path}: {where}: field 'name': duplicate source name")
        seen.add(source.name)
        sources.append(source)
    return sources
