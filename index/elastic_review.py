"""Review queues on Elasticsearch: items, compare-and-swap writes, the append-only audit.

The rules are :mod:`index.review`'s (pure). An item is one document in the ``review`` alias
with id ``<queue>:<target>``; its opaque ``version`` is ``"<seq_no>:<primary_term>"``, and
every write of a read item goes through ``if_seq_no``/``if_primary_term``, so two analysts
acting on the same item cannot both win: the loser gets
:class:`~index.errors.ConflictError`. New items are written with ``op_type=create`` (one per
queue and target, whoever enqueues first). Audit entries are only ever *created* in the
``audit`` alias, ordered by ``seq``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, fields, replace
from typing import Any

from elasticsearch import ConflictError as EsConflictError
from elasticsearch import Elasticsearch, NotFoundError, helpers

from index.elastic_rewrite import rewrite_documents
from index.elastic_schema import IndexNames
from index.errors import ConflictError, NotFound, ReviewError
from index.review import (
    QUEUES,
    AuditEntry,
    ReviewItem,
    claim_item,
    decide_item,
    reopen_item,
    review_status_of,
)

__all__ = [
    "ReviewIndex",
    "item_from_hit",
    "item_source",
    "parse_version",
    "version_token",
]

_ITEM_FIELDS = tuple(f.name for f in fields(ReviewItem) if f.name != "version")
#: What a re-crawl refreshes on an open item (never a decision).
_REFRESHED = ("title", "excerpt", "url", "score", "evidence", "priority")
_MAX_HISTORY = 10_000


def version_token(seq_no: int, primary_term: int) -> str:
    return f"{seq_no}:{primary_term}"


def parse_version(token: str | int) -> tuple[int, int]:
    """``(seq_no, primary_term)`` from a version token; ``ConflictError`` if it is not one."""
    try:
        seq_no, primary_term = str(token).split(":")
        return int(seq_no), int(primary_term)
    except ValueError as exc:
        raise ConflictError(f"{token!r} is not a version of this store; reload the item") from exc


def item_source(item: ReviewItem) -> dict[str, Any]:
    """The stored form of ``item`` (``evidence`` wrapped: it may be any JSON value)."""
    source = {name: getattr(item, name) for name in _ITEM_FIELDS}
    source["evidence"] = {"value": item.evidence}
    return source


def item_from_hit(hit: dict[str, Any]) -> ReviewItem:
    source = dict(hit["_source"])
    source["evidence"] = (source.get("evidence") or {}).get("value")
    return ReviewItem(**source, version=version_token(hit["_seq_no"], hit["_primary_term"]))


class _Sequence:
    """Strictly increasing nanosecond stamps (the audit order within one writer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


_SEQUENCE = _Sequence()


class ReviewIndex:
    """Review operations for one store (its client, index names and refresh policy)."""

    def __init__(self, client: Elasticsearch, names: IndexNames, refresh: bool | str) -> None:
        self.client = client
        self.names = names
        self.refresh = refresh

    @property
    def alias(self) -> str:
        return self.names.alias("review")

    # -- reads -------------------------------------------------------------------------------

    def get(self, item_id: str) -> ReviewItem | None:
        try:
            hit = self.client.get(index=self.alias, id=item_id)
        except NotFoundError:
            return None
        return item_from_hit(hit.body)

    def load(self, item_id: str) -> ReviewItem:
        item = self.get(item_id)
        if item is None:
            raise NotFound(f"no review item {item_id!r}")
        return item

    def existing(self, item_ids: list[str]) -> dict[str, ReviewItem]:
        if not item_ids:
            return {}
        response = self.client.mget(index=self.alias, ids=item_ids)
        return {doc["_id"]: item_from_hit(doc) for doc in response["docs"] if doc.get("found")}

    def list(self, queue: str, *, status: str, limit: int, offset: int) -> list[ReviewItem]:
        """Open items highest priority first; decided ones most recently decided first."""
        if queue not in QUEUES:
            raise ReviewError(f"unknown review queue {queue!r} (known: {', '.join(QUEUES)})")
        filters: list[dict[str, Any]] = [{"term": {"queue": queue}}]
        if status == "open":
            filters.append({"term": {"status": "open"}})
            sort: list[Any] = [{"priority": "desc"}, {"id": "asc"}]
        elif status == "decided":
            filters.append({"term": {"status": "decided"}})
            sort = [{"decided_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
        elif status == "all":
            sort = [{"status": "desc"}, {"priority": "desc"}, {"id": "asc"}]
        else:
            raise ReviewError(f"unknown review status {status!r} (known: open, decided, all)")
        response = self.client.search(
            index=self.alias,
            query={"bool": {"filter": filters}},
            sort=sort,
            from_=offset,
            size=limit,
            seq_no_primary_term=True,
        )
        return [item_from_hit(hit) for hit in response["hits"]["hits"]]

    def counts(self) -> dict[str, dict[str, int]]:
        result = {queue: {"open": 0, "decided": 0} for queue in QUEUES}
        response = self.client.search(
            index=self.alias,
            size=0,
            aggs={
                "queues": {
                    "terms": {"field": "queue", "size": 100},
                    "aggs": {"statuses": {"terms": {"field": "status", "size": 10}}},
                }
            },
        )
        for queue in response["aggregations"]["queues"]["buckets"]:
            for status in queue["statuses"]["buckets"]:
                result.setdefault(queue["key"], {})[status["key"]] = status["doc_count"]
        return result

    def history(self, item_id: str) -> list[AuditEntry]:
        self.load(item_id)
        response = self.client.search(
            index=self.names.alias("audit"),
            query={"term": {"item_id": item_id}},
            sort=[{"seq": "asc"}],
            size=_MAX_HISTORY,
        )
        entries = []
        for hit in response["hits"]["hits"]:
            source = dict(hit["_source"])
            source.pop("seq", None)
            entries.append(AuditEntry(**source))
        return entries

    # -- writes ------------------------------------------------------------------------------

    def _audit_action(
        self, item: ReviewItem, user: str, action: str, note: str, before: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "_op_type": "create",
            "_index": self.names.alias("audit"),
            "_source": {
                "item_id": item.id,
                "seq": _SEQUENCE.next(),
                "at": item.updated_at,
                "user": user,
                "action": action,
                "note": note,
                "before": before,
                "after": item.state(),
            },
        }

    def _append_audit(self, actions: list[dict[str, Any]]) -> None:
        if not actions:
            return
        failed = [
            item
            for ok, item in helpers.streaming_bulk(
                self.client, actions, raise_on_error=False, max_retries=3, refresh=self.refresh
            )
            if not ok
        ]
        if failed:
            raise ReviewError(f"could not append {len(failed)} audit entries: {failed[0]}")

    def enqueue(self, items: list[ReviewItem], note: str = "") -> set[str]:
        """Create missing items, refresh open ones; return the ids created by this call."""
        if not items:
            return set()
        items = list({item.id: item for item in items}.values())
        known = self.existing([item.id for item in items])
        actions: list[dict[str, Any]] = []
        for item in items:
            current = known.get(item.id)
            if current is None:
                actions.append(
                    {
                        "_op_type": "create",
                        "_index": self.alias,
                        "_id": item.id,
                        "_source": item_source(item),
                    }
                )
            elif current.status == "open":
                refreshed = replace(current, **{name: getattr(item, name) for name in _REFRESHED})
                if item_source(refreshed) == item_source(current):
                    continue
                seq_no, primary_term = parse_version(current.version)
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": self.alias,
                        "_id": item.id,
                        "_source": item_source(refreshed),
                        "if_seq_no": seq_no,
                        "if_primary_term": primary_term,
                    }
                )
        created: set[str] = set()
        by_id = {item.id: item for item in items}
        for ok, result in helpers.streaming_bulk(
            self.client, actions, raise_on_error=False, max_retries=3, refresh=self.refresh
        ):
            op, outcome = next(iter(result.items()))
            # A 409 means another writer created or changed the item first: that is fine.
            if ok and op == "create":
                created.add(outcome["_id"])
            elif not ok and outcome.get("status") != 409:
                raise ReviewError(f"could not enqueue review item {outcome.get('_id')}: {outcome}")
        self._append_audit(
            [
                self._audit_action(by_id[item_id], "system", "enqueue", note, None)
                for item_id in sorted(created)
            ]
        )
        return created

    def save(self, before: ReviewItem, after: ReviewItem, action: str, note: str) -> ReviewItem:
        """Compare-and-swap ``after`` over ``before``, audit it, follow on the target."""
        seq_no, primary_term = parse_version(before.version)
        try:
            response = self.client.index(
                index=self.alias,
                id=after.id,
                document=item_source(after),
                if_seq_no=seq_no,
                if_primary_term=primary_term,
                refresh=self.refresh,
            )
        except EsConflictError as exc:
            current = self.load(before.id)
            raise ConflictError(
                f"review item {before.id} changed meanwhile: {current.updated_by} "
                f"at {current.updated_at}"
            ) from exc
        after = replace(
            after, version=version_token(response["_seq_no"], response["_primary_term"])
        )
        self._append_audit(
            [self._audit_action(after, after.updated_by, action, note, before.state())]
        )
        self._follow(after)
        return after

    def _follow(self, item: ReviewItem) -> None:
        """The target's ``review_status`` follows its most recently changed item."""
        status = review_status_of(item)
        if item.queue != "site":
            # Rewritten whole: a partial update would drop the search copies the documents
            # index keeps out of _source (index/elastic_rewrite.py). A deleted target is
            # skipped: the item and its history remain.
            rewrite_documents(
                self.client,
                self.names.alias("documents"),
                {item.target_id: {"review_status": status}},
                refresh=self.refresh,
            )
            return
        index, doc = self.names.alias("sites"), {"profile": {"review_status": status}}
        # A deleted target is fine: the item and its history remain.
        with contextlib.suppress(NotFoundError):
            self.client.update(
                index=index, id=item.target_id, doc=doc, refresh=self.refresh, retry_on_conflict=3
            )

    def claim(self, item_id: str, user: str, lease_seconds: int, now: Any) -> ReviewItem:
        item = self.load(item_id)
        claimed = claim_item(item, user, lease_seconds=lease_seconds, now=now)
        return self.save(item, claimed, "claim", f"lease until {claimed.lease_until}")

    def decide(
        self,
        item_id: str,
        user: str,
        verdict: str,
        note: str,
        expected_version: str | int,
        now: Any,
    ) -> ReviewItem:
        item = self.load(item_id)
        decided = decide_item(item, user, verdict, note, expected_version=expected_version, now=now)
        return self.save(item, decided, "decide", note)

    def reopen(
        self, item_id: str, user: str, note: str, expected_version: str | int, now: Any
    ) -> ReviewItem:
        item = self.load(item_id)
        reopened = reopen_item(item, user, note, expected_version=expected_version, now=now)
        return self.save(item, reopened, "reopen", note)

    # -- migration hooks (see index.store.ReviewTransfer) -----------------------------------

    def export_items(self) -> Iterator[ReviewItem]:
        """Every item (version = its ``seq_no:primary_term``), least recently changed first."""
        for hit in helpers.scan(
            self.client,
            index=self.alias,
            query={
                "query": {"match_all": {}},
                "sort": [{"updated_at": "asc"}, {"id": "asc"}],
                "seq_no_primary_term": True,
            },
            preserve_order=True,
        ):
            yield item_from_hit(hit)

    def export_audit(self) -> Iterator[AuditEntry]:
        """Every audit entry in append (``seq``) order."""
        for hit in helpers.scan(
            self.client,
            index=self.names.alias("audit"),
            query={"query": {"match_all": {}}, "sort": [{"seq": "asc"}]},
            preserve_order=True,
        ):
            source = dict(hit["_source"])
            source.pop("seq", None)
            yield AuditEntry(**source)

    def import_items(self, items: Iterable[ReviewItem]) -> int:
        """Write items as given (replacing same-id items), then let their targets follow.

        Versions are re-issued by the cluster; a target that does not exist (yet) is fine:
        documents written later carry their own ``review_status``.
        """
        given = list(items)
        actions = [
            {
                "_op_type": "index",
                "_index": self.alias,
                "_id": item.id,
                "_source": item_source(item),
            }
            for item in given
        ]
        written = 0
        for ok, result in helpers.streaming_bulk(
            self.client, actions, raise_on_error=False, max_retries=3, refresh=self.refresh
        ):
            if not ok:
                raise ReviewError(f"could not import review item: {result}")
            written += 1
        # Documents are rewritten whole (index/elastic_rewrite.py), the last item of each
        # target deciding its status; site profiles take a partial update.
        statuses = {
            item.target_id: {"review_status": review_status_of(item)}
            for item in given
            if item.queue != "site"
        }
        rewrite_documents(
            self.client, self.names.alias("documents"), statuses, refresh=self.refresh
        )
        follow = [
            {
                "_op_type": "update",
                "_index": self.names.alias("sites"),
                "_id": item.target_id,
                "doc": {"profile": {"review_status": review_status_of(item)}},
                "retry_on_conflict": 3,
            }
            for item in given
            if item.queue == "site"
        ]
        for ok, result in helpers.streaming_bulk(
            self.client, follow, raise_on_error=False, max_retries=3, refresh=self.refresh
        ):
            outcome = result.get("update", {})
            if not ok and outcome.get("status") != 404:
                raise ReviewError(f"could not set the review status of {outcome.get('_id')}")
        return written

    def import_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append entries in order, skipping those an earlier import wrote.

        The k-th entry given for an item gets the id ``import:<item>:<k>`` and is created
        only if absent, so reruns append just what is new. ``seq`` is the entry's position
        in the stream: imported history sorts before anything written natively here (whose
        ``seq`` is a nanosecond clock). Returns the number appended.
        """
        positions: dict[str, int] = {}

        def actions() -> Iterator[dict[str, Any]]:
            for seq, entry in enumerate(entries, start=1):
                positions[entry.item_id] = position = positions.get(entry.item_id, 0) + 1
                yield {
                    "_op_type": "create",
                    "_index": self.names.alias("audit"),
                    "_id": f"import:{entry.item_id}:{position}",
                    "_source": {**asdict(entry), "seq": seq},
                }

        written = 0
        for ok, result in helpers.streaming_bulk(
            self.client, actions(), raise_on_error=False, max_retries=3, refresh=self.refresh
        ):
            outcome = result.get("create", {})
            if ok:
                written += 1
            elif outcome.get("status") != 409:
                raise ReviewError(f"could not import audit entry {outcome.get('_id')}: {outcome}")
        return written
