"""What a worker does to a batch: extract fetched pages, analyse posts.

Jobs and outcomes are plain picklable dataclasses: they cross to a worker process and back
(:mod:`crawler.processing.pool`) or stay in the crawl process (``crawl.workers: 1``), and
the functions here are the same either way. Each job's failure is its own: one page that
raises costs that page, not its batch.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from analysis.analyse import AnalysisResources, PostInput, Thresholds, analyse_batch
from analysis.near_duplicates import Sketch, SketchParams, sketch
from analysis.site_style import page_signals
from crawler.app import App
from crawler.extract.article import ExtractedPage, extract_page
from crawler.extract.rules import RULE_FIELDS, SiteRules
from crawler.resources.analysis import load_analysis_resources
from index.clusters import cluster_text_of, text_hash

__all__ = [
    "AnalysedPost",
    "AnalysisContext",
    "DrawnSketch",
    "Outcome",
    "PageContext",
    "PageJob",
    "PageResult",
    "PostJob",
    "analyse_posts",
    "analysis_resources",
    "extract_pages",
    "prepare",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """One job's result, or why it has none (``error``: one line)."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class PageContext:
    """What extraction needs from a source; the same for every page of a crawl."""

    kind: str = "news"
    article_pattern: str | None = None
    #: ``extract:`` rules of ``sources.yaml`` as (field, selectors) pairs; compiled in the
    #: worker (compiled XPath objects do not pickle).
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(
        cls, kind: str, article_pattern: str | None, rules: dict[str, Any] | None
    ) -> PageContext:
        pairs = []
        for name in RULE_FIELDS:
            value = (rules or {}).get(name)
            selectors = (value,) if isinstance(value, str) else tuple(value or ())
            if selectors:
                pairs.append((name, selectors))
        return cls(kind=kind, article_pattern=article_pattern, rules=tuple(pairs))


@dataclass(frozen=True, slots=True)
class PageJob:
    """One fetched HTML page to extract."""

    url: str
    html: str
    fetched_at: datetime
    context: PageContext


@dataclass(slots=True)
class PageResult:
    """The extracted page and, for an article with text, its newspaper-style signals."""

    page: ExtractedPage
    signals: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PostJob:
    """The fields of a post the analysis reads (``analysis.analyse.PostLike``)."""

    text: str
    title: str = ""
    url: str = ""
    published_at: str | None = None
    engagement: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """Which configuration the analysis loads (``MM_CONFIG_DIR``) and its thresholds;
    ``sketch_params``: also draw each post's near-duplicate sketch with these (the store
    clusters what it writes)."""

    config_dir: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    sketch_params: SketchParams | None = None


@dataclass(frozen=True, slots=True)
class DrawnSketch:
    """The near-duplicate sketch of a post's title and text
    (:func:`index.clusters.cluster_text_of`), the hash of that text and the params it was
    drawn with: what :meth:`index.clusters.Clusterer.remember` takes."""

    text_hash: str
    params: SketchParams
    sketch: Sketch


@dataclass(frozen=True, slots=True)
class AnalysedPost:
    """A post's analysis (``AnalysisResult.to_dict()``) and, when asked for, its sketch,
    so the store's clusterer need not draw it again in the crawl process."""

    analysis: dict[str, Any]
    drawn: DrawnSketch | None = None


def _error(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


@lru_cache(maxsize=16)
def _compiled_rules(rules: tuple[tuple[str, tuple[str, ...]], ...]) -> SiteRules | None:
    return (
        SiteRules.from_config({name: list(selectors) for name, selectors in rules})
        if rules
        else None
    )


@lru_cache(maxsize=16)
def _compiled_pattern(pattern: str | None) -> Any:
    import re

    return re.compile(pattern) if pattern else None


def extract_one(job: PageJob) -> PageResult:
    """Extract ``job``'s page; an article with text also gets its page signals, from the
    same HTML (``analysis.site_style.page_signals``)."""
    context = job.context
    page = extract_page(
        job.html,
        job.url,
        fetched_at=job.fetched_at,
        article_pattern=_compiled_pattern(context.article_pattern),
        rules=_compiled_rules(context.rules),
    )
    signals = None
    if page.is_article and page.text:
        signals = page_signals(job.html, job.url, kind=context.kind).to_dict()
    return PageResult(page, signals)


def extract_pages(jobs: Sequence[PageJob]) -> list[Outcome[PageResult]]:
    """:func:`extract_one` of each job; a page that raises fails alone."""
    outcomes: list[Outcome[PageResult]] = []
    for job in jobs:
        try:
            outcomes.append(Outcome(extract_one(job)))
        except (
            Exception
        ) as exc:  # hostile HTML can break any parser: that page fails, not the batch
            outcomes.append(Outcome(error=f"extraction failed: {_error(exc)}"))
    return outcomes


@lru_cache(maxsize=4)
def analysis_resources(config_dir: str | None) -> AnalysisResources:
    """Lexicons, known claims and models, loaded once per process and config directory."""
    return load_analysis_resources(App(config_dir=Path(config_dir) if config_dir else None))


def analyse_posts(context: AnalysisContext, jobs: Sequence[PostJob]) -> list[Outcome[AnalysedPost]]:
    """``analysis.analyse.analyse_batch`` over ``jobs`` (each stage over the whole batch);
    when the batch raises, each post alone, so only the post that breaks fails."""
    resources = analysis_resources(context.config_dir)
    posts = [_post(job) for job in jobs]
    try:
        results = analyse_batch(posts, resources, thresholds=context.thresholds)
    except Exception as exc:
        if len(posts) == 1:
            return [Outcome(error=f"analysis failed: {_error(exc)}")]
    else:
        return [
            _analysed(context, job, result.to_dict())
            for job, result in zip(jobs, results, strict=True)
        ]
    outcomes: list[Outcome[AnalysedPost]] = []
    for job, post in zip(jobs, posts, strict=True):
        try:
            (result,) = analyse_batch([post], resources, thresholds=context.thresholds)
            outcomes.append(_analysed(context, job, result.to_dict()))
        except Exception as exc:
            outcomes.append(Outcome(error=f"analysis failed: {_error(exc)}"))
    return outcomes


def _analysed(
    context: AnalysisContext, job: PostJob, analysis: dict[str, Any]
) -> Outcome[AnalysedPost]:
    if context.sketch_params is None:
        return Outcome(AnalysedPost(analysis))
    text = cluster_text_of(job.title, job.text)
    try:
        drawn = sketch(text, context.sketch_params)
    except Exception:  # the store draws it again, and reports what breaks
        return Outcome(AnalysedPost(analysis))
    return Outcome(
        AnalysedPost(analysis, DrawnSketch(text_hash(text), context.sketch_params, drawn))
    )


def _post(job: PostJob) -> PostInput:
    return PostInput(
        text=job.text,
        title=job.title,
        url=job.url,
        published_at=job.published_at,
        engagement=job.engagement,
    )


def prepare(config_dir: str | None, analysis: bool = True) -> None:
    """Load what the first batch would (models, lexicons): a worker's start-up, not a page's."""
    if analysis:
        analysis_resources(config_dir)
