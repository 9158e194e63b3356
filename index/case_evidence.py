"""What both backends build the same way for cases and tips: evidence snapshots, the tips
queue item, subject counts from per-document rows. Pure functions (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from index.documents import Document
from index.evidence import EvidenceFile
from index.review import ReviewItem, document_item, item_id
from index.subjects import CONFIRMED_VERDICTS, WEBSITE, Subject, account_key, registrable_domain

__all__ = [
    "SubjectCounter",
    "apply_profiles",
    "document_snapshot",
    "site_snapshot",
    "sort_subjects",
    "split_item_ref",
    "tip_review_item",
]


def split_item_ref(ref: str) -> tuple[str | None, str]:
    """``"claim:abc"`` -> ``("claim", "abc")``; a bare document id -> ``(None, id)``."""
    queue, sep, rest = ref.partition(":")
    if sep and queue in ("covid", "claim", "site", "tips"):
        return queue, rest
    return None, ref


def document_snapshot(
    doc: Document, items: Iterable[ReviewItem], captures: Iterable[EvidenceFile] = ()
) -> dict[str, Any]:
    """A linked document as the case keeps it: what it said, why it was flagged, verdicts,
    and the archived evidence (WARC records, screenshots, DOM) of it when the case linked it."""
    reviews = [
        {
            "review_item": item.id,
            "queue": item.queue,
            "status": item.status,
            "verdict": item.verdict,
            "decided_by": item.decided_by,
            "decided_at": item.decided_at,
            "note": item.note,
        }
        for item in items
    ]
    confirmed = [r for r in reviews if r["verdict"] in CONFIRMED_VERDICTS]
    return {
        "doc_id": doc.id,
        "kind": "document",
        "url": doc.url,
        "title": doc.title,
        "site": doc.site,
        "published_at": doc.published_at,
        "fetched_at": doc.fetched_at,
        "content_hash": doc.content_hash,
        "flags": list(doc.flags),
        "scores": dict(doc.scores),
        "verdict": confirmed[0]["verdict"] if confirmed else None,
        "reviews": reviews,
        "evidence": {
            name: doc.analysis.get(name) for name in ("covid", "claim") if doc.analysis.get(name)
        },
        "captures": [
            {
                "kind": capture.kind,
                "sha256": capture.sha256,
                "captured_at": capture.captured_at,
                "url": capture.url,
            }
            for capture in captures
        ],
    }


def site_snapshot(
    site: str, profile: Mapping[str, Any] | None, item: ReviewItem | None
) -> dict[str, Any]:
    """A confirmed (or flagged) newspaper-style site linked to a case."""
    profile = profile or {}
    return {
        "doc_id": item_id("site", site),
        "kind": "site",
        "url": f"https://{site}/",
        "title": site,
        "site": site,
        "score": profile.get("score"),
        "verdict": item.verdict if item else None,
        "reviews": [
            {
                "review_item": item.id,
                "queue": "site",
                "status": item.status,
                "verdict": item.verdict,
                "decided_by": item.decided_by,
                "decided_at": item.decided_at,
                "note": item.note,
            }
        ]
        if item
        else [],
        "evidence": {"site_style": list(profile.get("evidence") or [])},
        "captures": [],
    }


def tip_review_item(doc: Document, tips: list[dict[str, Any]], now: datetime) -> ReviewItem:
    """The ``tips`` queue item of a reported document, every report on it attached."""
    item = document_item(doc, "tips", now)
    item.score = max(float(doc.scores.get("claim", 0.0)), float(doc.scores.get("covid", 0.0)))
    item.evidence = {
        "tips": tips,
        "flags": list(doc.flags),
        "covid": doc.analysis.get("covid"),
        "claim": doc.analysis.get("claim"),
    }
    return item


class SubjectCounter:
    """Documents, flagged and confirmed items per subject from per-document rows.

    Websites add up per host (a website spans its hosts); accounts per post URL.
    """

    def __init__(self) -> None:
        self.documents: dict[str, int] = {}
        self.flagged: dict[str, int] = {}
        self.confirmed: dict[str, int] = {}

    @staticmethod
    def key(site: str, url: str, kind: str) -> str:
        return account_key(url) if kind == "social" else registrable_domain(site)

    def add(self, table: dict[str, int], key: str, n: int = 1) -> None:
        if key:
            table[key] = table.get(key, 0) + n

    def fill(self, subjects: Iterable[Subject], cases: Mapping[str, int]) -> None:
        for subject in subjects:
            subject.documents = self.documents.get(subject.id, 0)
            subject.flagged = self.flagged.get(subject.id, 0)
            subject.confirmed = self.confirmed.get(subject.id, 0)
            subject.cases = int(cases.get(subject.id, 0))


def apply_profiles(subjects: Iterable[Subject], profiles: Mapping[str, Mapping[str, Any]]) -> None:
    """The newspaper-style score of a subject: its highest-scoring host profile."""
    for subject in subjects:
        hosts = subject.sites if subject.kind == WEBSITE else [subject.id, *subject.sites]
        best: Mapping[str, Any] | None = None
        for host in hosts:
            profile = profiles.get(host)
            if profile and (
                best is None or float(profile.get("score") or 0) > float(best.get("score") or 0)
            ):
                best = profile
        if best is not None:
            subject.style_score = float(best.get("score") or 0.0)
            subject.style_flag = bool(best.get("flag"))
            subject.style_evidence = [str(line) for line in best.get("evidence") or []]


def sort_subjects(subjects: list[Subject], *, flagged: bool) -> list[Subject]:
    if flagged:
        subjects = [s for s in subjects if s.flagged or s.confirmed or s.style_flag or s.cases]
    subjects.sort(
        key=lambda s: (-s.confirmed, -s.flagged, -(s.style_score or 0.0), -s.documents, s.id)
    )
    return subjects
