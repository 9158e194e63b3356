"""Rumour spread on top of the clusters: summaries, verdicts that travel, watch alerts.

A cluster (:mod:`index.clusters`) is one story seen in many places. This module turns its
members into what analysts read (:class:`ClusterSummary`: first post, sites and accounts,
reach, flags, review states; a timeline per site), and runs what a write sets off, for
every store (:func:`after_upsert`, called by the stores once a write is committed):

* **decisions travel with the rumour**: when a member of a cluster is decided "false", the
  other members (now: :func:`on_decided`; and later copies: :func:`after_upsert`) enter the
  claim queue with the decision and their similarity to the decided text in the evidence
  (``cluster_verdict``); :func:`decide_cluster` applies one verdict to every member, one
  audited decision per item;
* **watch queries** raise alerts for the new documents they match (:mod:`index.watches`).

The stores provide the few cluster reads this needs (:class:`SpreadStore`); everything else
goes through the :class:`~index.store.Store` contract, so both backends behave alike.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from analysis.near_duplicates import text_similarity
from index.clusters import Assignment, cluster_text
from index.documents import Document
from index.errors import ConflictError, LeaseError, NotFound, ReviewError
from index.review import (
    FLAG_QUEUES,
    ReviewItem,
    document_item,
    format_time,
    item_id,
    utcnow,
)
from index.store import SearchRequest, Store

__all__ = [
    "ClusterDecision",
    "ClusterMember",
    "ClusterSummary",
    "SpreadStore",
    "after_upsert",
    "cluster_summary",
    "decide_cluster",
    "false_decision",
    "list_clusters",
    "member_order",
    "member_time",
    "on_decided",
    "summarize",
]

log = logging.getLogger(__name__)

#: The verdict that sends a cluster's other members to the claim queue.
TRAVELLING_VERDICT = "false"
#: Post queues whose "false" decisions travel.
POST_QUEUES = tuple(dict.fromkeys(FLAG_QUEUES.values()))


@dataclass(slots=True)
class ClusterMember:
    """A document of a cluster and how it joined."""

    document: Document
    #: The member it was found a copy of ("jaccard" or "containment" similarity), or
    #: ``None`` for the one that started the cluster.
    matched_id: str | None = None
    how: str | None = None
    similarity: float | None = None

    @property
    def time(self) -> str | None:
        return member_time(self.document)


def member_time(doc: Document) -> str | None:
    """When a member appeared: its publication time, else when it was first seen."""
    return doc.published_at or doc.first_seen or doc.fetched_at


def member_order(member: ClusterMember) -> tuple[str, str]:
    """Sort key of members: by time (UTC), then id."""
    from index.query import to_utc_iso

    return (to_utc_iso(member.time) or "9999", member.document.id)


@dataclass(slots=True)
class ClusterSummary:
    """One cluster as analysts list it (``misinfo clusters``, the cluster page)."""

    cluster_id: str
    size: int
    first: ClusterMember
    last_seen: str | None
    sites: list[tuple[str, int]]
    accounts: list[tuple[str, int]]
    engagement: dict[str, int]
    flags: dict[str, int]
    review: dict[str, int]
    #: The "false" decision that travels with the cluster, if any (item id).
    decided_false: str | None = None

    def to_dict(self) -> dict[str, Any]:
        first = self.first.document
        return {
            "cluster_id": self.cluster_id,
            "size": self.size,
            "first_seen": {
                "id": first.id,
                "title": first.title,
                "site": first.site,
                "url": first.url,
                "time": self.first.time,
            },
            "last_seen": self.last_seen,
            "sites": [{"site": site, "documents": n} for site, n in self.sites],
            "accounts": [{"account": name, "documents": n} for name, n in self.accounts],
            "engagement": self.engagement,
            "flags": self.flags,
            "review": self.review,
            "decided_false": self.decided_false,
        }


def _account(doc: Document) -> str:
    """Who posted: the author (a social account or a byline), else the site."""
    return doc.author or doc.site


def summarize(cluster_id: str, members: Sequence[ClusterMember]) -> ClusterSummary:
    """The summary of a cluster from its members (any order)."""
    ordered = sorted(members, key=member_order)
    engagement: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    for member in ordered:
        for name, value in (member.document.engagement or {}).items():
            try:
                engagement[name] += int(value)
            except (TypeError, ValueError):
                continue
        flags.update(member.document.flags)
    return ClusterSummary(
        cluster_id=cluster_id,
        size=len(ordered),
        first=ordered[0],
        last_seen=ordered[-1].time,
        sites=Counter(m.document.site for m in ordered).most_common(),
        accounts=Counter(_account(m.document) for m in ordered).most_common(),
        engagement=dict(engagement),
        flags=dict(flags.most_common()),
        review=dict(Counter(m.document.review_status for m in ordered).most_common()),
    )


@runtime_checkable
class SpreadStore(Protocol):
    """Cluster reads both built-in stores provide besides the :class:`Store` contract."""

    def cluster_sizes(self, cluster_ids: Iterable[str]) -> dict[str, int]:
        """Members per cluster id (ids without a sketch are absent)."""
        ...

    def cluster_ids(
        self, *, since: str | None = None, flagged: bool = False, min_size: int = 2, limit: int = 50
    ) -> list[str]:
        """Clusters of at least ``min_size`` members, the most recently active first:
        active since ``since`` (a UTC ISO instant), with a flagged member (``flagged``)."""
        ...

    def cluster_members(self, cluster_id: str) -> list[ClusterMember]:
        """Every member (unordered); ``[]`` for an unknown cluster."""
        ...

    def cluster_activity(self, since: str) -> list[tuple[str, str]]:
        """``(cluster_id, UTC time)`` of every member that appeared since ``since``."""
        ...

    def review_enqueue(self, items: Sequence[ReviewItem], note: str = "") -> None:
        """Create new items (audited with ``note``), refresh open ones, leave decided ones."""
        ...


def cluster_summary(store: SpreadStore, cluster_id: str) -> ClusterSummary | None:
    members = store.cluster_members(cluster_id)
    if not members:
        return None
    summary = summarize(cluster_id, members)
    summary.decided_false = _decision_in(store, [m.document for m in members])
    return summary


def list_clusters(
    store: SpreadStore,
    *,
    since: str | None = None,
    flagged: bool = False,
    min_size: int = 2,
    limit: int = 50,
) -> list[ClusterSummary]:
    """Summaries of the clusters :meth:`SpreadStore.cluster_ids` selects, in its order."""
    found = []
    for cluster_id in store.cluster_ids(
        since=since, flagged=flagged, min_size=min_size, limit=limit
    ):
        summary = cluster_summary(store, cluster_id)
        if summary is not None:
            found.append(summary)
    return found


# -- decisions that travel ---------------------------------------------------------------------


@dataclass(slots=True)
class ClusterDecision:
    """What :func:`decide_cluster` did, per item."""

    decided: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def false_decision(store: Store, doc: Document) -> ReviewItem | None:
    """The document's post-queue item decided "false", if any."""
    if doc.review_status != TRAVELLING_VERDICT:
        return None
    for queue in POST_QUEUES:
        try:
            item = store.review_get(item_id(queue, doc.id))
        except NotFound:
            continue
        if item.status == "decided" and item.verdict == TRAVELLING_VERDICT:
            return item
    return None


def _decision_in(store: Store, docs: Iterable[Document]) -> str | None:
    for doc in docs:
        item = false_decision(store, doc)
        if item is not None:
            return item.id
    return None


def _travelling_item(
    member: Document, decided_doc: Document, decision: ReviewItem, cluster_id: str, now: datetime
) -> ReviewItem:
    """The claim-queue item of ``member``, carrying the decision it inherits."""
    item = document_item(member, "claim", now)
    similarity, measure = text_similarity(cluster_text(member), cluster_text(decided_doc))
    evidence = dict(item.evidence) if isinstance(item.evidence, dict) else {}
    evidence["cluster_verdict"] = {
        "cluster_id": cluster_id,
        "decision": decision.id,
        "verdict": decision.verdict,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
        "note": decision.note,
        "document": decided_doc.id,
        "title": decided_doc.title,
        "url": decided_doc.url,
        "similarity": round(similarity, 3),
        "measure": measure,
    }
    item.evidence = evidence
    # Unscored copies rank by their reach and date like any post; a known-false rumour
    # deserves the top of the queue, so it ranks as if its claim score were 1.
    item.priority += 4.0 * (1.0 - item.score)
    return item


def _send_to_claim_queue(
    store: Any, members: Iterable[Document], decided_doc: Document, decision: ReviewItem
) -> int:
    now = utcnow()
    items = [
        _travelling_item(member, decided_doc, decision, member.cluster_id or "", now)
        for member in members
        if member.id != decided_doc.id
    ]
    if items:
        store.review_enqueue(
            items, note=f"copy of {decided_doc.id}, decided {decision.verdict} in {decision.id}"
        )
    return len(items)


def on_decided(store: Any, item: ReviewItem) -> int:
    """After ``item`` was decided: if "false", send the other members of its document's
    cluster to the claim queue (returns how many were sent)."""
    if item.queue not in POST_QUEUES or item.verdict != TRAVELLING_VERDICT:
        return 0
    if not isinstance(store, SpreadStore):
        return 0
    doc = store.get(item.target_id)
    if doc is None or not doc.cluster_id:
        return 0
    members = [m.document for m in store.cluster_members(doc.cluster_id)]
    return _send_to_claim_queue(store, members, doc, item)


def after_upsert(store: Any, doc_ids: Sequence[str], assignments: Sequence[Assignment]) -> None:
    """What a committed write of the documents ``doc_ids`` sets off: copies joining a cluster
    decided "false" go to the claim queue; watch queries raise alerts for them."""
    if not doc_ids or not isinstance(store, SpreadStore):
        return
    try:
        _copies_of_decided(store, assignments)
    except (ReviewError, NotFound) as exc:  # never fail a crawl's write over the queue
        log.warning("copies of decided rumours not queued: %s", exc)
    from index.watches import check_watches

    check_watches(store, doc_ids)


def _copies_of_decided(store: Any, assignments: Sequence[Assignment]) -> None:
    joined: dict[str, list[str]] = {}
    for assignment in assignments:
        if assignment.how in ("jaccard", "containment"):
            joined.setdefault(assignment.cluster_id, []).append(assignment.doc_id)
        for merged in assignment.merged:
            joined.setdefault(assignment.cluster_id, []).append(f"cluster:{merged}")
    if not joined:
        return
    query = " OR ".join(f'cluster:"{cluster_id}"' for cluster_id in joined)
    response = store.search(
        SearchRequest(
            query=f"review_status:{TRAVELLING_VERDICT} AND ({query})",
            limit=len(joined) * 5,
            highlight=False,
        )
    )
    decided: dict[str, tuple[Document, ReviewItem]] = {}
    for hit in response.hits:
        doc = hit.document
        if doc.cluster_id in decided:
            continue
        item = false_decision(store, doc)
        if item is not None:
            decided[doc.cluster_id] = (doc, item)
    for cluster_id, (doc, item) in decided.items():
        members = [m.document for m in store.cluster_members(cluster_id)]
        newcomers = set(joined[cluster_id])
        merged = {entry.split(":", 1)[1] for entry in newcomers if entry.startswith("cluster:")}
        if merged:  # a whole cluster joined: every member is new to the decision
            chosen = [m for m in members if m.review_status in ("none", "open")]
        else:
            chosen = [m for m in members if m.id in newcomers]
        _send_to_claim_queue(store, chosen, doc, item)


def decide_cluster(
    store: Any,
    cluster_id: str,
    user: str,
    verdict: str,
    note: str,
    *,
    queue: str = "claim",
    now: datetime | None = None,
) -> ClusterDecision:
    """Apply ``verdict`` to every member of the cluster in ``queue``, one audited decision
    per item (members not in the queue enter it first). Items already decided keep their
    verdict; items another analyst holds a live lease on are skipped and reported."""
    if not isinstance(store, SpreadStore):
        raise ReviewError("this store has no clusters")
    members = [m.document for m in store.cluster_members(cluster_id)]
    if not members:
        raise NotFound(f"no cluster {cluster_id!r}")
    now = now or utcnow()
    store.review_enqueue(
        [document_item(doc, queue, now) for doc in members],
        note=f"cluster {cluster_id}: verdict applied to the whole cluster by {user}",
    )
    outcome = ClusterDecision()
    stamp = format_time(now)
    for doc in members:
        item = store.review_get(item_id(queue, doc.id))
        if item.status == "decided":
            outcome.already.append(item.id)
            continue
        try:
            decided = store.review_decide(
                item.id,
                user,
                verdict,
                f"{note} [applied to cluster {cluster_id} at {stamp}]".strip(),
                expected_version=item.version,
                now=now,
                travel=False,  # every member is being decided here anyway
            )
        except (LeaseError, ConflictError) as exc:  # another analyst holds or changed it
            outcome.skipped.append((item.id, str(exc)))
            continue
        outcome.decided.append(decided.id)
    return outcome
