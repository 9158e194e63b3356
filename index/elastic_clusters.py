"""Near-duplicate clusters on Elasticsearch: the LSH state in the ``sketches`` index.

One record per document (id = the document id) holds its signature, its LSH band keys and
sentence fingerprints (``keys``, a ``long`` field), its cluster and how it joined. Finding
a new text's candidates is one query: a ``should`` of one ``term`` per key, so the score is
the number of keys shared and the best candidates come first. Several crawler machines
writing to one cluster share this state (a record is visible one refresh after it is
written; two copies written at the same moment on two machines may start two clusters).

:class:`ElasticSketchIndex` is the :class:`~index.clusters.SketchIndex` of one upsert
batch: the batch is clustered before its documents are written (their ``_source`` carries
the ``cluster_id``), so the batch's own sketches and texts wait in memory (``pending``)
and are written with :meth:`ElasticSketchIndex.flush` after the documents.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch, helpers

from index.clusters import CandidatePairs, SketchEntry, cluster_text, cluster_text_of
from index.documents import Document
from index.elastic_rewrite import rewrite_documents
from index.elastic_schema import IndexNames
from index.errors import BulkIndexError, SearchError
from index.query import to_utc_iso
from index.spread import member_time

__all__ = ["STATE_ID", "ElasticSketchIndex", "signature_of", "sketch_source"]

#: The record holding the settings fingerprint the sketches were built with.
STATE_ID = "~state"
_MGET_CHUNK = 500
#: Candidates read per document (best first: most keys shared).
MAX_HITS = 200
#: Documents per ``msearch`` request (a 512 MiB test node refused 500 at once).
MSEARCH_CHUNK = 50


def signature_of(source: dict[str, Any]) -> np.ndarray:
    raw = source.get("signature")
    if not raw:
        return np.zeros(0, dtype=np.uint32)
    return np.frombuffer(base64.b64decode(raw), dtype="<u4")


def sketch_source(entry: SketchEntry, doc: Document | None) -> dict[str, Any]:
    """The ``sketches`` record of ``entry`` (``doc`` gives ``seen_at`` and ``flagged``)."""
    signature = entry.signature.astype("<u4", copy=False).tobytes()
    return {
        "doc_id": entry.doc_id,
        "cluster_id": entry.cluster_id,
        "text_hash": entry.text_hash,
        "size": entry.size,
        "signature": base64.b64encode(signature).decode("ascii") if signature else None,
        "keys": entry.keys.tolist(),
        "fingerprints": int(np.count_nonzero(entry.keys & 1)),
        "matched_id": entry.matched_id,
        "how": entry.how,
        "similarity": entry.similarity,
        "seen_at": to_utc_iso(member_time(doc)) if doc is not None else None,
        "flagged": bool(doc.flags) if doc is not None else False,
    }


class ElasticSketchIndex:
    """The LSH state for one batch of documents about to be written (module docstring)."""

    def __init__(
        self,
        client: Elasticsearch,
        names: IndexNames,
        docs: Sequence[Document],
        *,
        num_perm: int,
        refresh: bool | str = False,
    ) -> None:
        self.client = client
        self.alias = names.alias("sketches")
        self.documents_alias = names.alias("documents")
        self.num_perm = num_perm
        self.refresh = refresh
        self.docs = {doc.id: doc for doc in docs}
        #: Sketches of this batch, written by :meth:`flush` (the clusterer pairs the batch's
        #: documents with each other itself).
        self.pending: dict[str, SketchEntry] = {}
        self._described: dict[str, tuple[str, str]] = {}
        #: Cluster moves made by this batch (old cluster -> new), for the pending records.
        self._moves: dict[str, str] = {}

    # -- reads -------------------------------------------------------------------------------

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        ids = list(dict.fromkeys(doc_ids))
        for start in range(0, len(ids), _MGET_CHUNK):
            response = self.client.mget(
                index=self.alias,
                ids=ids[start : start + _MGET_CHUNK],
                source_includes=["text_hash", "cluster_id"],
            )
            for hit in response["docs"]:
                if hit.get("found"):
                    source = hit["_source"]
                    found[hit["_id"]] = (source["text_hash"], source["cluster_id"])
        return found

    def candidates(
        self, keys: Sequence[np.ndarray], *, exclude: Sequence[str], min_fingerprints: int
    ) -> CandidatePairs:
        """``msearch`` requests of :data:`MSEARCH_CHUNK` documents: a ``should`` of one named
        ``term`` per key each, so the score counts the keys shared (best candidates first)
        and ``matched_queries`` names them, without reading the candidates' keys back."""
        asked = [number for number, wanted in enumerate(keys) if len(wanted)]
        responses: list[dict[str, Any]] = []
        for start in range(0, len(asked), MSEARCH_CHUNK):
            searches: list[dict[str, Any]] = []
            for number in asked[start : start + MSEARCH_CHUNK]:
                searches.append({"index": self.alias})
                searches.append(
                    {
                        "query": {
                            "bool": {
                                "should": [
                                    {
                                        "constant_score": {
                                            "filter": {"term": {"keys": key}},
                                            "_name": str(key),
                                        }
                                    }
                                    for key in keys[number].tolist()
                                ],
                                "minimum_should_match": 1,
                                "must_not": [{"ids": {"values": [exclude[number], STATE_ID]}}],
                            }
                        },
                        "size": MAX_HITS,
                        "_source": ["doc_id", "cluster_id", "size", "signature", "fingerprints"],
                    }
                )
            responses += self.client.msearch(searches=searches)["responses"]
        rows_by_ref: dict[str, int] = {}
        refs: list[str] = []
        sizes, signatures, counts = [], [], []
        query, ref, bands, prints = [], [], [], []
        for number, response in zip(asked, responses, strict=True):
            if "error" in response:
                raise SearchError(f"sketch lookup failed: {response['error']}")
            for hit in response["hits"]["hits"]:
                source = hit["_source"]
                shared = [int(name) for name in hit.get("matched_queries") or ()]
                shared_prints = sum(key & 1 for key in shared)
                shared_bands = len(shared) - shared_prints
                if not (shared_bands or shared_prints >= min_fingerprints):
                    continue
                signature = signature_of(source)
                if not len(signature):
                    continue
                doc_id = source["doc_id"]
                row = rows_by_ref.get(doc_id)
                if row is None:
                    row = rows_by_ref[doc_id] = len(refs)
                    refs.append(doc_id)
                    sizes.append(source["size"])
                    signatures.append(signature)
                    counts.append(source.get("fingerprints") or 0)
                    self._described[doc_id] = (doc_id, source["cluster_id"])
                query.append(number)
                ref.append(row)
                bands.append(shared_bands)
                prints.append(shared_prints)
        if not refs:
            return CandidatePairs.empty(self.num_perm)
        return CandidatePairs(
            np.array(query, dtype=np.int64),
            np.array(ref, dtype=np.int64),
            np.array(bands, dtype=np.int32),
            np.array(prints, dtype=np.int32),
            refs,
            np.array(sizes, dtype=np.int32),
            np.stack(signatures),
            np.array(counts, dtype=np.int32),
        )

    def describe(self, refs: Sequence[Any]) -> dict[Any, tuple[str, str]]:
        return {
            ref: (self._described[ref][0], self._moved(self._described[ref][1])) for ref in refs
        }

    def _moved(self, cluster_id: str) -> str:
        while cluster_id in self._moves:
            cluster_id = self._moves[cluster_id]
        return cluster_id

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        texts = {
            doc_id: cluster_text(self.docs[doc_id]) for doc_id in doc_ids if doc_id in self.docs
        }
        rest = [doc_id for doc_id in doc_ids if doc_id not in texts]
        if rest:
            response = self.client.mget(
                index=self.documents_alias, ids=rest, source_includes=["title", "text"]
            )
            for hit in response["docs"]:
                if hit.get("found"):
                    source = hit["_source"]
                    title, text = source.get("title") or "", source.get("text") or ""
                    texts[hit["_id"]] = cluster_text_of(title, text)
        return texts

    # -- writes ------------------------------------------------------------------------------

    def save(self, entries: Sequence[SketchEntry]) -> None:
        for entry in entries:
            self.pending[entry.doc_id] = entry

    def relabel(self, clusters: Sequence[str], target: str) -> list[str]:
        moving = set(clusters)
        for old in moving:
            self._moves[old] = target
        stored = [
            hit["_id"]
            for hit in helpers.scan(
                self.client,
                index=self.alias,
                query={"query": {"terms": {"cluster_id": sorted(moving)}}, "_source": False},
            )
        ]
        actions = [
            {
                "_op_type": "update",
                "_index": self.alias,
                "_id": doc_id,
                "doc": {"cluster_id": target},
            }
            for doc_id in stored
        ]
        _bulk(self.client, actions, refresh=self.refresh, what="moving cluster members")
        # Documents are rewritten whole: a partial update would drop their search copies.
        rewrite_documents(
            self.client,
            self.documents_alias,
            {doc_id: {"cluster_id": target} for doc_id in stored},
            refresh=self.refresh,
        )
        return stored

    def flush(self, written: set[str]) -> None:
        """Write the batch's sketches of the documents that were written."""
        actions = [
            {
                "_op_type": "index",
                "_index": self.alias,
                "_id": entry.doc_id,
                "_source": sketch_source(entry, self.docs.get(entry.doc_id)),
            }
            for entry in self.pending.values()
            if entry.doc_id in written
        ]
        _bulk(self.client, actions, refresh=self.refresh, what="writing sketches")
        self.pending.clear()


def _bulk(client: Elasticsearch, actions: list[dict[str, Any]], *, refresh: Any, what: str) -> None:
    if not actions:
        return
    errors = []
    for ok, outcome in helpers.streaming_bulk(
        client, actions, raise_on_error=False, max_retries=3, refresh=refresh
    ):
        if not ok:
            result = next(iter(outcome.values()))
            errors.append((str(result.get("_id")), str(result.get("error"))))
    if errors:
        raise BulkIndexError(f"{len(errors)} records failed while {what}", errors)
