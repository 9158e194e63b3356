"""Review queues: the shared model and its rules, for every store backend.

Flagged posts enter the ``covid`` and ``claim`` queues (document flags "covid", "claim"),
flagged sites the ``site`` queue (a site profile with a truthy ``flag``, e.g.
"site_style").

The review step. :func:`review_items_for_documents` and :func:`review_items_for_site` say which
items a written document or site profile brings; every backend's ``Store.upsert`` /
``Store.upsert_site`` enqueues them in the same write (one SQLite transaction; in Elasticsearch
right after the bulk request, for the documents it accepted), so a flagged post is never stored
without its queue item. Once per (queue, target): re-crawls refresh an open item's title,
excerpt, score and priority but never reset a decision, and an item stays when a later crawl
drops the flag.

Life of an item::

    open ──claim (lease)──► open, leased to a user ──decide──► decided ──reopen──► open

* ``claim`` takes a lease (default 15 minutes); claiming an item leased by someone else
  raises :class:`~index.errors.LeaseError`; the holder may claim again to extend it.
* ``decide`` needs the ``expected_version`` the analyst saw; if the item changed since, it
  raises :class:`~index.errors.ConflictError` naming who changed it. Deciding an item someone
  else holds a live lease on raises ``LeaseError``; deciding without a claim is allowed
  (the version check keeps it safe).
* Every change (enqueue, claim, decide, reopen) appends an :class:`AuditEntry` with the
  state before and after.
* The document's ``review_status`` follows its most recently changed item: "open" while
  queued, then the verdict ("false", "misleading", ...); it is "none" for documents that
  never entered a queue.

The transition functions here are pure (no I/O): a backend reads the item, applies one of
them and writes the result back with a compare-and-swap on ``version``, which is an opaque
token (an int in SQLite, "seq_no:primary_term" in Elasticsearch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from index.documents import Document
from index.errors import ConflictError, LeaseError, ReviewError

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "FLAG_QUEUES",
    "POST_VERDICTS",
    "QUEUES",
    "SITE_VERDICTS",
    "VERDICTS",
    "AuditEntry",
    "ReviewItem",
    "claim_item",
    "decide_item",
    "document_item",
    "format_time",
    "item_id",
    "reopen_item",
    "review_items_for_documents",
    "review_items_for_site",
    "review_priority",
    "review_status_of",
    "site_item",
]

QUEUES = ("covid", "claim", "site", "tips")
POST_VERDICTS = ("false", "misleading", "true", "unverifiable", "not_relevant")
SITE_VERDICTS = ("confirmed", "not_confirmed")
VERDICTS: dict[str, tuple[str, ...]] = {
    "covid": POST_VERDICTS,
    "claim": POST_VERDICTS,
    "site": SITE_VERDICTS,
    # Citizen reports (index.cases): the reported page, judged like a flagged post.
    "tips": POST_VERDICTS,
}
#: Document flag -> queue it sends the document to.
FLAG_QUEUES = {"covid": "covid", "claim": "claim"}
DEFAULT_LEASE_SECONDS = 900
#: Priority weights (see :func:`review_priority`).
SCORE_WEIGHT = 4.0
RECENCY_SECONDS = 86_400.0
EXCERPT_CHARS = 500
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(slots=True, kw_only=True)
class ReviewItem:
    """One post or site waiting for (or carrying) an analyst's verdict."""

    id: str
    queue: str
    #: Document id for post queues, site name for the site queue.
    target_id: str
    status: str = "open"
    priority: float = 0.0
    title: str = ""
    #: Start of the post text (or the site's evidence summary): enough to judge, and for a
    #: "false" claim verdict, to offer adding the claim to the known claims.
    excerpt: str = ""
    url: str = ""
    site: str = ""
    score: float = 0.0
    #: Why it was flagged (the analysis or profile evidence), JSON-compatible.
    evidence: Any = None
    verdict: str | None = None
    note: str = ""
    decided_by: str | None = None
    decided_at: str | None = None
    lease_user: str | None = None
    lease_until: str | None = None
    #: Opaque optimistic-concurrency token: pass it back as ``expected_version``.
    version: str | int = 0
    created_at: str = ""
    updated_at: str = ""
    updated_by: str = ""

    def leased_to(self, now: datetime) -> str | None:
        """Who holds a live lease at ``now`` (``None`` when free or expired)."""
        if self.lease_user and self.lease_until and parse_time(self.lease_until) > now:
            return self.lease_user
        return None

    def state(self) -> dict[str, Any]:
        """The fields a review action changes (what the audit log records)."""
        return {
            "status": self.status,
            "verdict": self.verdict,
            "note": self.note,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "lease_user": self.lease_user,
            "lease_until": self.lease_until,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class AuditEntry:
    """One appended line of an item's history."""

    item_id: str
    at: str
    user: str
    action: str
    note: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = field(default=None)


# -- pure helpers ----------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def item_id(queue: str, target_id: str) -> str:
    """Stable item id: one item per (queue, document or site)."""
    return f"{queue}:{target_id}"


def review_priority(score: float, reach: int, published_at: str | None) -> float:
    """Queue order (higher first): ``4*score + log10(1 + reach) + days since 2020``.

    Time-invariant, like a "hot" ranking: a post one day newer gains 1, as much as ten times
    the reach or 0.25 more score, so the stored value never needs recomputing. Items without
    a date rank as if published at the epoch (oldest).
    """
    recency = 0.0
    if published_at:
        try:
            moment = parse_time(published_at)
            recency = (moment - _EPOCH).total_seconds() / RECENCY_SECONDS
        except ValueError:
            recency = 0.0
    return SCORE_WEIGHT * float(score) + math.log10(1 + max(0, int(reach))) + recency


def review_status_of(item: ReviewItem) -> str:
    """The ``review_status`` a document gets from its item."""
    return item.verdict if item.status == "decided" and item.verdict else "open"


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text.rfind(" ", 0, EXCERPT_CHARS)
    return text[: cut if cut > EXCERPT_CHARS - 50 else EXCERPT_CHARS] + "…"


def document_item(document: Document, queue: str, now: datetime) -> ReviewItem:
    """A new item for a flagged document (``version`` is set by the backend)."""
    score = float(document.scores.get(queue, 0.0))
    reach = sum(int(value) for value in document.engagement.values() if value)
    stamp = format_time(now)
    return ReviewItem(
        id=item_id(queue, document.id),
        queue=queue,
        target_id=document.id,
        priority=review_priority(score, reach, document.published_at or document.fetched_at),
        title=document.title,
        excerpt=_excerpt(document.text),
        url=document.url,
        site=document.site,
        score=score,
        evidence=document.analysis.get(queue),
        created_at=stamp,
        updated_at=stamp,
        updated_by="system",
    )


def review_items_for_documents(documents: Iterable[Document], now: datetime) -> list[ReviewItem]:
    """The review step for written documents: one item per flag with a queue
    (:data:`FLAG_QUEUES`), a flag listed twice counted once."""
    return [
        document_item(doc, FLAG_QUEUES[flag], now)
        for doc in documents
        for flag in dict.fromkeys(doc.flags)
        if flag in FLAG_QUEUES
    ]


def review_items_for_site(profile: dict[str, Any], now: datetime) -> list[ReviewItem]:
    """The review step for a written site profile: one ``site`` item when it is flagged."""
    return [site_item(profile, now)] if profile.get("flag") else []


def site_item(profile: dict[str, Any], now: datetime) -> ReviewItem:
    """A new ``site`` queue item for a flagged site profile."""
    score = float(profile.get("score") or 0.0)
    stamp = format_time(now)
    evidence = profile.get("evidence") or []
    summary = "; ".join(str(entry) for entry in evidence)
    return ReviewItem(
        id=item_id("site", profile["site"]),
        queue="site",
        target_id=profile["site"],
        priority=review_priority(score, int(profile.get("pages") or 0), stamp),
        title=profile["site"],
        excerpt=_excerpt(summary),
        url=str(profile.get("url") or f"https://{profile['site']}/"),
        site=profile["site"],
        score=score,
        evidence=evidence,
        created_at=stamp,
        updated_at=stamp,
        updated_by="system",
    )


def _check_version(item: ReviewItem, expected_version: str | int) -> None:
    if str(expected_version) != str(item.version):
        raise ConflictError(
            f"review item {item.id} changed since you read it: {item.updated_by} "
            f"did it at {item.updated_at} (status {item.status}"
            + (f", verdict {item.verdict}" if item.verdict else "")
            + "); reload and try again"
        )


def _check_lease(item: ReviewItem, user: str, now: datetime) -> None:
    holder = item.leased_to(now)
    if holder is not None and holder != user:
        raise LeaseError(f"review item {item.id} is claimed by {holder} until {item.lease_until}")


def claim_item(
    item: ReviewItem, user: str, *, lease_seconds: int = DEFAULT_LEASE_SECONDS, now: datetime
) -> ReviewItem:
    """``item`` leased to ``user`` for ``lease_seconds`` (re-claiming extends the lease)."""
    if item.status != "open":
        raise ReviewError(f"review item {item.id} is already decided ({item.verdict}); reopen it")
    if lease_seconds <= 0:
        raise ReviewError("lease_seconds must be positive")
    _check_lease(item, user, now)
    return replace(
        item,
        lease_user=user,
        lease_until=format_time(now + timedelta(seconds=lease_seconds)),
        updated_at=format_time(now),
        updated_by=user,
    )


def decide_item(
    item: ReviewItem,
    user: str,
    verdict: str,
    note: str,
    *,
    expected_version: str | int,
    now: datetime,
) -> ReviewItem:
    """``item`` decided by ``user``; checks version, lease, state and verdict."""
    allowed = VERDICTS[item.queue]
    if verdict not in allowed:
        raise ReviewError(
            f"{verdict!r} is not a verdict for the {item.queue} queue "
            f"(allowed: {', '.join(allowed)})"
        )
    _check_version(item, expected_version)
    if item.status != "open":
        raise ReviewError(f"review item {item.id} is already decided ({item.verdict}); reopen it")
    _check_lease(item, user, now)
    stamp = format_time(now)
    return replace(
        item,
        status="decided",
        verdict=verdict,
        note=note,
        decided_by=user,
        decided_at=stamp,
        lease_user=None,
        lease_until=None,
        updated_at=stamp,
        updated_by=user,
    )


def reopen_item(
    item: ReviewItem, user: str, note: str, *, expected_version: str | int, now: datetime
) -> ReviewItem:
    """A decided ``item`` back in its queue, verdict cleared (the history keeps it)."""
    _check_version(item, expected_version)
    if item.status != "decided":
        raise ReviewError(f"review item {item.id} is not decided, nothing to reopen")
    return replace(
        item,
        status="open",
        verdict=None,
        note=note,
        decided_by=None,
        decided_at=None,
        lease_user=None,
        lease_until=None,
        updated_at=format_time(now),
        updated_by=user,
    )
