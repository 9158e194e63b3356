"""Clusters, travelling verdicts and watch alerts on the Elasticsearch store.

:class:`ElasticSpread` is a mixin of :class:`~index.elastic.ElasticsearchStore`: clustering a
batch before it is written (:meth:`ElasticSpread._cluster_batch`, the ``sketches`` index of
:mod:`index.elastic_clusters`), the cluster reads of :class:`~index.spread.SpreadStore`
(aggregations on the ``sketches`` index, which carries each member's cluster, time and flag),
``review_enqueue``, the rebuild, and the watch and alert storage of
:class:`~index.watches.WatchStore` (``watch_queries`` and ``alerts`` indices). Only core features
are used (terms/max aggregations, bulk, scroll), as in the rest of the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from elasticsearch import NotFoundError, helpers

from index.clusters import Assignment, Clusterer, sketch_ahead
from index.documents import Document
from index.elastic_client import mapped_errors
from index.elastic_clusters import STATE_ID, ElasticSketchIndex
from index.elastic_dsl import document_from_source
from index.elastic_rewrite import rewrite_documents
from index.errors import NotFound, SearchError
from index.review import ReviewItem
from index.spread import ClusterMember
from index.watches import MAX_ATTEMPTS, Alert, Watch

__all__ = ["ElasticSpread"]

_MAX_MEMBERS = 10_000
_TERMS_PAGE = 10_000


class ElasticSpread:
    """Mixin: see the module docstring. Needs ``client``, ``names``, ``refresh``,
    ``clusterer``, ``_review``, ``_ensure`` and ``refresh_indices`` from the store."""

    # -- clustering a batch ------------------------------------------------------------------

    def _cluster_batch(
        self, docs: list[Document], *, force: bool = False, sketches: list[Any] | None = None
    ) -> tuple[list[Assignment], ElasticSketchIndex | None]:
        clusterer: Clusterer | None = self.clusterer  # type: ignore[attr-defined]
        if clusterer is None:
            return [], None
        index = ElasticSketchIndex(
            self.client,  # type: ignore[attr-defined]
            self.names,  # type: ignore[attr-defined]
            docs,
            num_perm=clusterer.settings.params.num_perm,
            refresh=self.refresh,  # type: ignore[attr-defined]
        )
        assignments = clusterer.assign(docs, index, force=force, sketches=sketches)
        for assignment in assignments:  # a merge later in the batch may move earlier ones
            entry = index.pending.get(assignment.doc_id)
            if entry is not None:
                assignment.cluster_id = entry.cluster_id
        return assignments, index

    def make_visible(self) -> None:
        """Refresh the documents and sketches when writes skip refreshing (crawls), so a
        watch query sees the batch just written."""
        if not self.refresh:  # type: ignore[attr-defined]
            with mapped_errors("refresh"):
                self.client.indices.refresh(  # type: ignore[attr-defined]
                    index=f"{self._alias('documents')},{self._alias('sketches')}"
                )

    def _alias(self, kind: str) -> str:
        return self.names.alias(kind)  # type: ignore[attr-defined]

    # -- clusters ----------------------------------------------------------------------------

    def cluster_sizes(self, cluster_ids: Iterable[str]) -> dict[str, int]:
        ids = sorted({cid for cid in cluster_ids if cid})
        if not ids:
            return {}
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("cluster_sizes"):
            response = self.client.search(  # type: ignore[attr-defined]
                index=self._alias("sketches"),
                size=0,
                query={"terms": {"cluster_id": ids}},
                aggs={"sizes": {"terms": {"field": "cluster_id", "size": len(ids)}}},
            )
        return {
            bucket["key"]: bucket["doc_count"]
            for bucket in response["aggregations"]["sizes"]["buckets"]
        }

    def cluster_ids(
        self,
        *,
        since: str | None = None,
        flagged: bool = False,
        min_size: int = 2,
        limit: int = 50,
    ) -> list[str]:
        self._ensure()  # type: ignore[attr-defined]
        filters: list[dict[str, Any]] = [{"exists": {"field": "cluster_id"}}]
        if since:
            filters.append({"range": {"seen_at": {"gte": since}}})
        if flagged:
            filters.append({"term": {"flagged": True}})
        filtered = since is not None or flagged
        with mapped_errors("cluster_ids"):
            response = self.client.search(  # type: ignore[attr-defined]
                index=self._alias("sketches"),
                size=0,
                query={"bool": {"filter": filters}},
                aggs={
                    "clusters": {
                        "terms": {
                            "field": "cluster_id",
                            "size": _TERMS_PAGE if filtered else limit,
                            "min_doc_count": 1 if filtered else max(1, min_size),
                            "order": [{"last": "desc"}, {"_count": "desc"}],
                        },
                        "aggs": {"last": {"max": {"field": "seen_at"}}},
                    }
                },
            )
        ordered = [b["key"] for b in response["aggregations"]["clusters"]["buckets"]]
        if not filtered:
            return ordered
        # The buckets counted the filtered members only: keep clusters big enough in all.
        chosen: list[str] = []
        for start in range(0, len(ordered), 500):
            page = ordered[start : start + 500]
            sizes = self.cluster_sizes(page)
            chosen += [cid for cid in page if sizes.get(cid, 0) >= min_size]
            if len(chosen) >= limit:
                break
        return chosen[:limit]

    def cluster_members(self, cluster_id: str) -> list[ClusterMember]:
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("cluster_members"):
            sketches = self.client.search(  # type: ignore[attr-defined]
                index=self._alias("sketches"),
                size=_MAX_MEMBERS,
                query={"term": {"cluster_id": cluster_id}},
                source_includes=["matched_id", "how", "similarity"],
            )
            joined = {hit["_id"]: hit["_source"] for hit in sketches["hits"]["hits"]}
            if not joined:
                return []
            found = self.client.mget(index=self._alias("documents"), ids=sorted(joined))  # type: ignore[attr-defined]
        members = []
        for hit in found["docs"]:
            if not hit.get("found"):
                continue
            how = joined[hit["_id"]]
            members.append(
                ClusterMember(
                    document_from_source(hit["_source"]),
                    how.get("matched_id"),
                    how.get("how"),
                    how.get("similarity"),
                )
            )
        return members

    def cluster_activity(self, since: str) -> list[tuple[str, str]]:
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("cluster_activity"):
            return [
                (hit["_source"]["cluster_id"], hit["_source"]["seen_at"])
                for hit in helpers.scan(
                    self.client,  # type: ignore[attr-defined]
                    index=self._alias("sketches"),
                    query={
                        "query": {"range": {"seen_at": {"gte": since}}},
                        "_source": ["cluster_id", "seen_at"],
                    },
                )
            ]

    def clusters_stale(self) -> bool:
        clusterer = self.clusterer  # type: ignore[attr-defined]
        if clusterer is None:
            return False
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("clusters_stale"):
            state = self.client.options(ignore_status=404).get(  # type: ignore[attr-defined]
                index=self._alias("sketches"), id=STATE_ID
            )
            built = (state.body.get("_source") or {}).get("state")
            if built is None:
                documents = self.client.count(index=self._alias("documents"))["count"]  # type: ignore[attr-defined]
                return bool(documents)
        return built != clusterer.settings.fingerprint()

    def _write_state(self) -> None:
        self.client.index(  # type: ignore[attr-defined]
            index=self._alias("sketches"),
            id=STATE_ID,
            document={"state": self.clusterer.settings.fingerprint()},  # type: ignore[attr-defined]
            refresh=True,
        )

    def rebuild_clusters(
        self,
        *,
        batch_size: int = 500,
        workers: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Drop the sketches index and cluster every document again, oldest first seen
        first, one bulk write per batch."""
        clusterer = self.clusterer  # type: ignore[attr-defined]
        if clusterer is None:
            raise SearchError("clustering is disabled (settings: clusters.enabled)")
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("rebuild_clusters"):
            from index.elastic_schema import current_index

            sketches = current_index(self.client, self._alias("sketches"))  # type: ignore[attr-defined]
            if sketches:
                self.client.indices.delete(index=sketches)  # type: ignore[attr-defined]
            self._ready = False  # type: ignore[attr-defined]
            self._ensure()  # type: ignore[attr-defined]
            self.client.indices.refresh(index=self._alias("documents"))  # type: ignore[attr-defined]
            done = 0
            for docs, drawn in sketch_ahead(
                self._stored_batches(batch_size), clusterer.settings, workers
            ):
                assignments, index = self._cluster_batch(docs, force=True, sketches=drawn)
                rewrite_documents(
                    self.client,  # type: ignore[attr-defined]
                    self._alias("documents"),
                    {a.doc_id: {"cluster_id": a.cluster_id} for a in assignments},
                )
                index.flush({doc.id for doc in docs})
                # The next batch must find this one's sketches.
                self.client.indices.refresh(index=self._alias("sketches"))  # type: ignore[attr-defined]
                done += len(docs)
                if progress is not None:
                    progress(done)
            self._write_state()
            self.client.indices.refresh(index=self._alias("documents"))  # type: ignore[attr-defined]
        return done

    def _stored_batches(self, batch_size: int) -> Iterator[list[Document]]:
        batch: list[Document] = []
        for hit in helpers.scan(
            self.client,  # type: ignore[attr-defined]
            index=self._alias("documents"),
            query={"query": {"match_all": {}}, "sort": [{"first_seen": "asc"}, {"id": "asc"}]},
            preserve_order=True,
            size=batch_size,
        ):
            batch.append(document_from_source(hit["_source"]))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    # -- review ------------------------------------------------------------------------------

    def review_enqueue(self, items: Sequence[ReviewItem], note: str = "") -> None:
        if not items:
            return
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("review_enqueue"):
            created = self._review.enqueue(list(items), note)  # type: ignore[attr-defined]
            targets = sorted({item.target_id for item in items if item.id in created})
            if not targets:
                return
            found = self.client.mget(  # type: ignore[attr-defined]
                index=self._alias("documents"), ids=targets, source_includes=["review_status"]
            )
            fresh = [
                hit["_id"]
                for hit in found["docs"]
                if hit.get("found") and hit["_source"].get("review_status", "none") == "none"
            ]
            rewrite_documents(
                self.client,  # type: ignore[attr-defined]
                self._alias("documents"),
                {doc_id: {"review_status": "open"} for doc_id in fresh},
                refresh=True,
            )

    # -- watches and alerts ------------------------------------------------------------------

    def watch_save(self, watch: Watch) -> None:
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("watch_save"):
            self.client.index(  # type: ignore[attr-defined]
                index=self._alias("watch_queries"),
                id=watch.id,
                document=watch.to_dict(),
                refresh=True,
            )

    def watch_list(self) -> list[Watch]:
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("watch_list"):
            response = self.client.search(  # type: ignore[attr-defined]
                index=self._alias("watch_queries"),
                size=1000,
                sort=[{"created_at": "asc"}, {"id": "asc"}],
            )
        return [Watch(**hit["_source"]) for hit in response["hits"]["hits"]]

    def watch_delete(self, watch_id: str) -> None:
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("watch_delete"):
            try:
                self.client.delete(index=self._alias("watch_queries"), id=watch_id, refresh=True)  # type: ignore[attr-defined]
            except NotFoundError as exc:
                raise NotFound(f"no watch {watch_id!r}") from exc

    def alerts_add(self, alerts: Sequence[Alert]) -> list[Alert]:
        if not alerts:
            return []
        self._ensure()  # type: ignore[attr-defined]
        by_id = {alert.id: alert for alert in alerts}
        base = time.time_ns()
        actions = [
            {
                "_op_type": "create",
                "_index": self._alias("alerts"),
                "_id": alert.id,
                "_source": {**alert.to_dict(), "seq": base + number},
            }
            for number, alert in enumerate(by_id.values())
        ]
        added = []
        with mapped_errors("alerts_add"):
            for ok, outcome in helpers.streaming_bulk(
                self.client,
                actions,
                raise_on_error=False,
                refresh=True,  # type: ignore[attr-defined]
            ):
                result = outcome["create"]
                if ok:
                    added.append(by_id[result["_id"]])
                elif result.get("status") != 409:  # 409: this watch alerted on it before
                    raise SearchError(f"could not record alert {result.get('_id')}: {result}")
        return added

    def alerts_list(
        self, *, limit: int = 50, offset: int = 0, pending: bool = False
    ) -> list[Alert]:
        self._ensure()  # type: ignore[attr-defined]
        if pending:
            query: dict[str, Any] = {
                "bool": {
                    "must_not": [{"exists": {"field": "delivered_at"}}],
                    "filter": [{"range": {"attempts": {"lt": MAX_ATTEMPTS}}}],
                }
            }
            sort = [{"seq": "asc"}]
        else:
            query, sort = {"match_all": {}}, [{"seq": "desc"}]
        with mapped_errors("alerts_list"):
            response = self.client.search(  # type: ignore[attr-defined]
                index=self._alias("alerts"), query=query, sort=sort, from_=offset, size=limit
            )
        alerts = []
        for hit in response["hits"]["hits"]:
            source = dict(hit["_source"])
            source.pop("seq", None)
            alerts.append(Alert(**source))
        return alerts

    def alerts_mark(
        self, alert_ids: Sequence[str], *, delivered_at: str | None, error: str | None
    ) -> None:
        if not alert_ids:
            return
        self._ensure()  # type: ignore[attr-defined]
        with mapped_errors("alerts_mark"):
            found = self.client.mget(  # type: ignore[attr-defined]
                index=self._alias("alerts"), ids=list(alert_ids), source_includes=["attempts"]
            )
            actions = [
                {
                    "_op_type": "update",
                    "_index": self._alias("alerts"),
                    "_id": hit["_id"],
                    "doc": {
                        "attempts": int(hit["_source"].get("attempts") or 0) + 1,
                        "delivered_at": delivered_at,
                        "last_error": error,
                    },
                }
                for hit in found["docs"]
                if hit.get("found")
            ]
            for _ok, _outcome in helpers.streaming_bulk(
                self.client,
                actions,
                raise_on_error=True,
                refresh=True,  # type: ignore[attr-defined]
            ):
                pass
