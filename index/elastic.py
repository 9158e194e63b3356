"""The Elasticsearch store: the :class:`~index.store.Store` contract on a cluster.

For deployments that outgrow one machine, and for Kibana. Same query language, same
diacritics rules, same review semantics as the embedded SQLite store (one contract test
suite runs against both). The pieces:

* :mod:`index.elastic_client`: the client (works with 8.x and 9.x servers) and the error
  boundary (unreachable/overloaded -> ``StoreUnavailable``, everything else ``SearchError``);
* :mod:`index.elastic_schema`: versioned indices behind aliases, schema migrations;
* :mod:`index.elastic_dsl`: pure translation of documents and the query AST;
* :mod:`index.elastic_review`: review queues with ``if_seq_no``/``if_primary_term``.

Only core Elasticsearch features are used (standard analyzer, keyword fields, bulk, mget,
scroll, aggregations, aliases): no painless scripts, no ingest pipelines, no reindex API,
so the store also runs on the minimal integ-test distribution ``scripts/elasticsearch.sh``
starts.

Refresh policy: with ``refresh="wait_for"`` (the default) every write returns once it is
visible to searches, as in SQLite; bulk loaders that do not read back may pass
``refresh=False``. ``get``/``content_hashes`` are real-time either way.

Size: the ``Store`` contract's methods for Elasticsearch (the DSL, schema and review live in
:mod:`index.elastic_dsl`, :mod:`index.elastic_schema`, :mod:`index.elastic_review`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

from elasticsearch import NotFoundError, helpers

from index.clusters import DEFAULT_SETTINGS, Assignment, Clusterer, ClusterSettings
from index.documents import FACET_FIELDS, Document, refuse_site_changes
from index.elastic_cases import ElasticCases, ElasticCaseTransfer, register_documents
from index.elastic_client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_REQUEST_TIMEOUT,
    make_client,
    mapped_errors,
)
from index.elastic_dsl import (
    document_from_source,
    document_source,
    filters_dsl,
    hit_snippet,
    query_dsl,
    search_body,
    sort_dsl,
)
from index.elastic_evidence import ElasticEvidence
from index.elastic_review import ReviewIndex
from index.elastic_schema import (
    KINDS,
    IndexNames,
    MigrationReport,
    ensure_indices,
    load_schema,
    migrate_schema,
)
from index.elastic_spread import ElasticSpread
from index.errors import BulkIndexError, QuerySyntaxError, QueryTooExpensive, SearchError
from index.query import SEARCH_FACETS, fill_histogram, parse_query
from index.review import (
    AuditEntry,
    ReviewItem,
    review_items_for_documents,
    review_items_for_site,
    utcnow,
)
from index.store import Bucket, Hit, SearchRequest, SearchResponse, UpsertResult

__all__ = ["BULK_CHUNK", "ElasticsearchStore"]

#: Documents per bulk request.
BULK_CHUNK = 500
#: Bulk helper retries of 429-rejected documents, with exponential backoff from 1 s.
BULK_MAX_RETRIES = 3
BULK_INITIAL_BACKOFF = 1.0
#: Hits per scroll page in :meth:`ElasticsearchStore.scan`.
SCAN_PAGE = 500
#: Values per page of a composite aggregation in ``counts_by``.
COMPOSITE_PAGE = 1000
#: Seconds a search may run on the cluster (its ``timeout``) before it counts as too
#: expensive; the SQLite store's default is the same.
DEFAULT_TIME_LIMIT = 5.0

Refresh = bool | Literal["wait_for"]


def _bulk_reason(outcome: dict[str, Any]) -> str:
    """A rejection as "<status> <type>: <reason>" (:func:`index.spool.is_transient` reads it)."""
    error = outcome.get("error")
    if isinstance(error, dict):
        detail = f"{error.get('type')}: {error.get('reason')}"
    else:
        detail = str(error)
    return f"{outcome.get('status')} {detail}"


class ElasticsearchStore(ElasticSpread, ElasticCases, ElasticCaseTransfer):
    """The :class:`~index.store.Store` on an Elasticsearch cluster (8.x or 9.x), with
    near-duplicate clusters, travelling verdicts and watch alerts (:class:`ElasticSpread`).

    Indices are created on first use (so a crawler can start, and spool, while the cluster
    is down). ``index_prefix`` separates deployments and test runs sharing a cluster.
    """

    def __init__(
        self,
        url: str,
        *,
        index_prefix: str = "misinfo",
        api_key: str | tuple[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        refresh: Refresh = "wait_for",
        time_limit: float = DEFAULT_TIME_LIMIT,
        clusters: ClusterSettings | None = DEFAULT_SETTINGS,
    ) -> None:
        self.url = url
        self.time_limit = time_limit
        #: Near-duplicate clustering at write time (``None`` or disabled settings: off).
        self.clusterer = Clusterer(clusters) if clusters is not None and clusters.enabled else None
        self.names = IndexNames(index_prefix)
        self.refresh = refresh
        self.client = make_client(
            url,
            api_key=api_key,
            basic_auth=basic_auth,
            request_timeout=request_timeout,
            max_retries=max_retries,
        )
        # Review writes are rare human actions read back at once: refresh them immediately.
        self._review = ReviewIndex(self.client, self.names, bool(refresh))
        self._ready = False
        self._ready_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ElasticsearchStore({self.url!r}, index_prefix={self.names.prefix!r})"

    # -- indices ---------------------------------------------------------------------------

    def ensure_indices(self) -> dict[str, str]:
        """Create missing indices and aliases; map each alias to its concrete index."""
        with mapped_errors("creating indices"):
            created = ensure_indices(self.client, self.names)
        self._ready = True
        return created

    def _ensure(self) -> None:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self.ensure_indices()

    def migrate_schema(
        self, kind: str, body: dict[str, Any] | None = None, *, delete_old: bool = False
    ) -> MigrationReport:
        """Move ``kind`` ("documents", "sites", "review", "audit") to a new schema version.

        Documents are rebuilt through :func:`document_source`, so search copies and derived
        fields follow the new code; other kinds are copied as stored.
        """
        self._ensure()
        transform = None
        if kind == "documents":

            def transform(source: dict[str, Any]) -> dict[str, Any]:
                raw = (source.get("raw_dates") or {}).get("first_seen")
                return document_source(document_from_source(source), first_seen=raw)

        with mapped_errors(f"migrating {kind}"):
            return migrate_schema(
                self.client,
                self.names,
                kind,
                body or load_schema(kind),
                transform=transform,
                delete_old=delete_old,
            )

    def refresh_indices(self) -> None:
        """Make every write visible to searches now (for ``refresh=False`` stores)."""
        self._ensure()
        with mapped_errors("refresh"):
            self.client.indices.refresh(index=",".join(self._aliases()))

    def _aliases(self) -> list[str]:
        return [self.names.alias(kind) for kind in KINDS]

    @property
    def _documents(self) -> str:
        return self.names.alias("documents")

    @property
    def _sites(self) -> str:
        return self.names.alias("sites")

    def close(self) -> None:
        self.client.close()

    def drop(self) -> None:
        """Delete every index of this prefix and close (tests)."""
        with mapped_errors("drop"):
            self.client.options(ignore_status=404).indices.delete(
                index=self.names.pattern(), allow_no_indices=True, expand_wildcards="all"
            )
        self._ready = False
        self.close()

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, documents: Iterable[Document]) -> UpsertResult:
        """Insert or replace documents by id with the bulk API.

        As in SQLite: re-crawls keep ``first_seen`` and a review decision, and flagged
        documents enter their review queues. Rejected documents are never dropped silently:
        after writing the rest, :class:`BulkIndexError` lists each (id, "status type:
        reason"). An unreachable or overloaded cluster raises ``StoreUnavailable``.
        """
        self._ensure()
        result = UpsertResult()
        errors: list[tuple[str, str]] = []
        batch: dict[str, Document] = {}
        written: list[str] = []  # ids only: a bulk load of any size keeps no documents
        assignments: list[Assignment] = []
        for doc in documents:
            batch[doc.id] = doc
            if len(batch) >= BULK_CHUNK:
                assignments += self._upsert_batch(list(batch.values()), result, errors, written)
                batch = {}
        if batch:
            assignments += self._upsert_batch(list(batch.values()), result, errors, written)
        from index.spread import after_upsert

        after_upsert(self, written, assignments)
        if errors:
            raise BulkIndexError(
                f"{len(errors)} documents rejected by Elasticsearch "
                f"({result.created} created, {result.updated} updated); first: "
                f"{errors[0][0]}: {errors[0][1]}",
                errors,
            )
        return result

    def _upsert_batch(
        self,
        docs: list[Document],
        result: UpsertResult,
        errors: list[tuple[str, str]],
        written_ids: list[str],
    ) -> list[Assignment]:
        now = utcnow()
        with mapped_errors("upsert"):
            # Clustered first: each document's _source carries its cluster.
            assignments, sketches = self._cluster_batch(docs)
            clusters = {a.doc_id: a.cluster_id for a in assignments}
            stored = self.client.mget(
                index=self._documents,
                ids=[doc.id for doc in docs],
                source_includes=["review_status", "raw_dates.first_seen", "site"],
            )
            previous = {
                hit["_id"]: hit.get("_source") or {} for hit in stored["docs"] if hit.get("found")
            }
            moved = refuse_site_changes(
                docs, {doc_id: old.get("site") for doc_id, old in previous.items()}
            )
            if moved:
                result.refused += len(moved)
                docs = [doc for doc in docs if doc.id not in moved]
                if not docs:
                    return
            items = review_items_for_documents(docs, now)
            queued = set(self._review.existing([item.id for item in items]))
            fresh_targets = {item.target_id for item in items if item.id not in queued}
            actions = []
            for doc in docs:
                old = previous.get(doc.id)
                source = document_source(
                    doc, first_seen=((old or {}).get("raw_dates") or {}).get("first_seen")
                )
                if old and old.get("review_status", "none") != "none":
                    source["review_status"] = old["review_status"]
                if doc.id in fresh_targets and source["review_status"] == "none":
                    source["review_status"] = "open"
                if doc.id in clusters:
                    source["cluster_id"] = clusters[doc.id]
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": self._documents,
                        "_id": doc.id,
                        "_source": source,
                    }
                )
            written: set[str] = set()
            for ok, outcome in helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=BULK_CHUNK,
                raise_on_error=False,
                max_retries=BULK_MAX_RETRIES,
                initial_backoff=BULK_INITIAL_BACKOFF,
                refresh=self.refresh,
            ):
                outcome = outcome["index"]
                if not ok:
                    errors.append((str(outcome.get("_id")), _bulk_reason(outcome)))
                    continue
                written.add(outcome["_id"])
                if outcome.get("result") == "created":
                    result.created += 1
                else:
                    result.updated += 1
            self._review.enqueue([item for item in items if item.target_id in written])
            if sketches is not None:
                sketches.flush(written)
            written_ids += [doc.id for doc in docs if doc.id in written]
            # Subjects (index.subjects) of the documents written.
            register_documents(self, [doc for doc in docs if doc.id in written], now)
        return [a for a in assignments if a.doc_id in written]

    def upsert_site(self, profile: dict[str, Any]) -> None:
        """Store a site profile (replacing the previous one); a flagged site is queued."""
        if not profile.get("site"):
            raise SearchError("a site profile needs a 'site' key")
        self._ensure()
        now = utcnow()
        with mapped_errors("upsert_site"):
            old = self.client.options(ignore_status=404).get(
                index=self._sites, id=profile["site"], source_includes=["profile.review_status"]
            )
            stored = dict(profile)
            kept = ((old.body.get("_source") or {}).get("profile") or {}).get("review_status")
            if kept is not None and "review_status" not in profile:
                stored["review_status"] = kept
            score = profile.get("score")
            self.client.index(
                index=self._sites,
                id=profile["site"],
                document={
                    "site": profile["site"],
                    "score": None if score is None else float(score),
                    "flag": profile.get("flag") or None,
                    "updated_at": now.isoformat(timespec="seconds"),
                    "profile": stored,
                },
                refresh=self.refresh,
            )
            if items := review_items_for_site(profile, now):
                self._review.enqueue(items)

    # -- reads -----------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        self._ensure()
        with mapped_errors("get"):
            try:
                hit = self.client.get(index=self._documents, id=doc_id)
            except NotFoundError:
                return None
        return document_from_source(hit["_source"])

    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        self._ensure()
        found: dict[str, str] = {}
        with mapped_errors("content_hashes"):
            for start in range(0, len(ids), BULK_CHUNK):
                response = self.client.mget(
                    index=self._documents,
                    ids=ids[start : start + BULK_CHUNK],
                    source_includes=["content_hash"],
                )
                for hit in response["docs"]:
                    if hit.get("found"):
                        found[hit["_id"]] = (hit.get("_source") or {}).get("content_hash", "")
        return found

    def count(self) -> int:
        self._ensure()
        with mapped_errors("count"):
            return int(self.client.count(index=self._documents)["count"])

    def counts_by(self, field_name: str) -> dict[str, int]:
        """Documents per value of a facet field, most frequent first (every value)."""
        if field_name not in FACET_FIELDS:
            raise QuerySyntaxError(
                f"cannot count by {field_name!r} (fields: {', '.join(FACET_FIELDS)})"
            )
        self._ensure()
        counts: dict[str, int] = {}
        after: dict[str, Any] | None = None
        with mapped_errors("counts_by"):
            while True:
                composite: dict[str, Any] = {
                    "size": COMPOSITE_PAGE,
                    "sources": [{"key": {"terms": {"field": field_name}}}],
                }
                if after:
                    composite["after"] = after
                response = self.client.search(
                    index=self._documents, size=0, aggs={"values": {"composite": composite}}
                )
                agg = response["aggregations"]["values"]
                for bucket in agg["buckets"]:
                    counts[str(bucket["key"]["key"])] = bucket["doc_count"]
                after = agg.get("after_key")
                if not agg["buckets"] or after is None:
                    break
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def search_body(self, request: SearchRequest) -> dict[str, Any]:
        """The ``_search`` body :meth:`search` would send (for ``--dsl`` debugging)."""
        return search_body(parse_query(request.query), request)

    def search(self, request: SearchRequest) -> SearchResponse:
        node = parse_query(request.query)
        body = search_body(node, request)
        self._ensure()
        # The cluster stops collecting at ``timeout`` and says so (``timed_out``); the
        # request timeout is the backstop for a search that does not stop in time.
        body["timeout"] = f"{max(1, int(self.time_limit * 1000))}ms"
        client = self.client.options(request_timeout=self.time_limit * 2 + 5)
        with mapped_errors("search"):
            response = client.search(index=self._documents, **_search_kwargs(body))
        if response.body.get("timed_out"):
            raise QueryTooExpensive(
                f"query too expensive: it ran longer than {self.time_limit:g} s and was "
                "stopped; narrow it down (fewer terms, a date range or a filter)"
            )
        hits = []
        for hit in response["hits"]["hits"]:
            doc = document_from_source(hit["_source"])
            snippet = hit_snippet(hit, doc) if request.highlight else []
            hits.append(Hit(document=doc, score=float(hit.get("_score") or 0.0), snippet=snippet))
        sizes = self.cluster_sizes(hit.document.cluster_id or "" for hit in hits)
        for found in hits:
            found.cluster_size = sizes.get(found.document.cluster_id or "", 1)
        aggregations = response.body.get("aggregations") or {}
        facets: dict[str, list[Bucket]] = {}
        if request.facets:
            for name in SEARCH_FACETS:
                buckets = aggregations.get(f"facet_{name}", {}).get("buckets", [])
                facets[name] = [Bucket(str(b["key"]), int(b["doc_count"])) for b in buckets]
        histogram: list[Bucket] = []
        if request.histogram:
            counts = {
                b["key_as_string"]: int(b["doc_count"])
                for b in aggregations.get("histogram", {}).get("buckets", [])
            }
            histogram = [Bucket(k, n) for k, n in fill_histogram(counts, request.histogram)]
        total = int(response["hits"]["total"]["value"])
        return SearchResponse(total=total, hits=hits, facets=facets, histogram=histogram)

    def scan(self, request: SearchRequest) -> Iterator[Document]:
        """Every match in ``request.sort`` order, a scroll page at a time."""
        node = parse_query(request.query)
        query = query_dsl(node)
        filters = filters_dsl(request)
        if filters:
            query = {"bool": {"must": [query], "filter": filters}}
        self._ensure()
        hits = helpers.scan(
            self.client,
            index=self._documents,
            query={"query": query, "sort": sort_dsl(request.sort, node)},
            preserve_order=True,
            size=SCAN_PAGE,
            scroll="2m",
        )
        with mapped_errors("scan"):
            for hit in hits:
                yield document_from_source(hit["_source"])

    # -- site profiles ---------------------------------------------------------------------

    def get_site(self, site: str) -> dict[str, Any] | None:
        self._ensure()
        with mapped_errors("get_site"):
            try:
                hit = self.client.get(index=self._sites, id=site)
            except NotFoundError:
                return None
        return hit["_source"]["profile"]

    def list_sites(self) -> list[dict[str, Any]]:
        """Every profile, highest newspaper-style score first."""
        self._ensure()
        with mapped_errors("list_sites"):
            hits = helpers.scan(
                self.client,
                index=self._sites,
                query={
                    "query": {"match_all": {}},
                    "sort": [{"score": {"order": "desc", "missing": "_last"}}, {"site": "asc"}],
                },
                preserve_order=True,
                size=SCAN_PAGE,
            )
            return [hit["_source"]["profile"] for hit in hits]

    # -- review queues ---------------------------------------------------------------------

    def review_list(
        self, queue: str, *, status: str = "open", limit: int = 50, offset: int = 0
    ) -> list[ReviewItem]:
        self._ensure()
        with mapped_errors("review_list"):
            return self._review.list(queue, status=status, limit=limit, offset=offset)

    def review_counts(self) -> dict[str, dict[str, int]]:
        self._ensure()
        with mapped_errors("review_counts"):
            return self._review.counts()

    def review_get(self, item_id: str) -> ReviewItem:
        self._ensure()
        with mapped_errors("review_get"):
            return self._review.load(item_id)

    def review_claim(
        self,
        item_id: str,
        user: str,
        *,
        lease_seconds: int = 900,
        now: datetime | None = None,
    ) -> ReviewItem:
        self._ensure()
        with mapped_errors("review_claim"):
            return self._review.claim(item_id, user, lease_seconds, now or utcnow())

    def review_decide(
        self,
        item_id: str,
        user: str,
        verdict: str,
        note: str = "",
        *,
        expected_version: str | int,
        now: datetime | None = None,
        travel: bool = True,
    ) -> ReviewItem:
        """Record a verdict; a "false" one sends the rest of the document's cluster to the
        claim queue (:func:`index.spread.on_decided`) unless ``travel`` is off."""
        self._ensure()
        with mapped_errors("review_decide"):
            decided = self._review.decide(
                item_id, user, verdict, note, expected_version, now or utcnow()
            )
        if travel:
            from index.spread import on_decided

            on_decided(self, decided)
        return decided

    def review_reopen(
        self,
        item_id: str,
        user: str,
        note: str = "",
        *,
        expected_version: str | int,
        now: datetime | None = None,
    ) -> ReviewItem:
        self._ensure()
        with mapped_errors("review_reopen"):
            return self._review.reopen(item_id, user, note, expected_version, now or utcnow())

    def review_history(self, item_id: str) -> list[AuditEntry]:
        self._ensure()
        with mapped_errors("review_history"):
            return self._review.history(item_id)

    # -- evidence (index.evidence) ----------------------------------------------------------

    def evidence(self) -> ElasticEvidence:
        """Archived files, takedown checks and watches, in this store's cluster."""
        return ElasticEvidence(self.client, self.names, self.refresh, self._ensure)

    # -- migration hooks (optional, see index.store.ReviewTransfer) ------------------------

    def export_review_items(self) -> Iterator[ReviewItem]:
        """Every review item as stored, least recently changed first."""
        self._ensure()
        with mapped_errors("export_review_items"):
            yield from self._review.export_items()

    def export_audit(self) -> Iterator[AuditEntry]:
        """The whole audit log in append order."""
        self._ensure()
        with mapped_errors("export_audit"):
            yield from self._review.export_audit()

    def import_review_items(self, items: Iterable[ReviewItem]) -> int:
        """Write items as given (decisions, leases, timestamps kept; versions re-issued)."""
        self._ensure()
        with mapped_errors("import_review_items"):
            return self._review.import_items(items)

    def import_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append audit entries in order, skipping those already imported (reruns)."""
        self._ensure()
        with mapped_errors("import_audit"):
            return self._review.import_audit(entries)


def _search_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """A search body as keyword arguments of ``Elasticsearch.search``."""
    kwargs = dict(body)
    kwargs["from_"] = kwargs.pop("from")
    return kwargs
