"""Near-duplicate clusters at index time: the rule that puts a document into a cluster.

Every document stored goes through :meth:`Clusterer.assign` before it is written: its text
(title and body) is sketched (:mod:`analysis.near_duplicates`), the sketch's LSH band keys
and sentence fingerprints are looked up in a :class:`SketchIndex` (the LSH state, kept
beside the store: tables in the SQLite file, an index of the Elasticsearch cluster), the
candidates are verified, and the document

* joins the cluster of its most similar verified match: estimated Jaccard at least
  ``threshold``, or, for a text at most half as long as the other, its shingles contained
  in the other's at least ``containment`` (checked exactly on both texts);
* merges the clusters when it matches members of several (a copy bridging two edits of
  one rumour), keeping the cluster of its best match;
* or starts a cluster of its own.

Incremental: nothing is rebuilt when a document arrives; a re-crawl whose text did not
change keeps its cluster. The order of arrival decides ties, so ``misinfo clusters rebuild``
replays documents in ``first_seen`` order and gets what the crawls got.

A cluster id is a hash of the founding document's id and text: it stays when members join
or leave, and a document that changes and leaves starts a cluster with a new id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from analysis.near_duplicates import (
    DEFAULT_CONTAINMENT,
    DEFAULT_MIN_WORDS,
    DEFAULT_NUM_PERM,
    DEFAULT_ROWS,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    Sketch,
    SketchParams,
    containment,
    shingle_hashes,
    sketch,
    words,
)
from index.documents import Document
from index.sketch_postings import Postings

__all__ = [
    "DEFAULT_SETTINGS",
    "Assignment",
    "CandidateSet",
    "ClusterSettings",
    "Clusterer",
    "MemorySketchIndex",
    "SketchEntry",
    "SketchIndex",
    "cluster_text",
    "new_cluster_id",
    "postings_candidates",
    "sketch_ahead",
    "sketch_texts",
    "text_hash",
]

#: Similarity a document needs with a member of a second cluster to merge the two: a
#: bridge between two clusters must be closer than a mere match (shared boilerplate, such
#: as one site's framing sentences, would otherwise chain stories together).
DEFAULT_MERGE = 0.3
#: Candidates verified per document at most (best first: most shared keys).
MAX_CANDIDATES = 2000
#: Texts fetched to check containment, per document at most.
MAX_CONTAINMENT_CHECKS = 20
#: A candidate found only by sentence fingerprints needs at least this many in common (one
#: shared fingerprint is often a common phrase; a quoted sentence brings its two).
MIN_SHARED_FINGERPRINTS = 2
#: A pair is checked for containment only when the shorter text shares at least this share
#: of its sentence fingerprints with the longer one.
MIN_SHARED_SENTENCES = 0.25
#: Shingles the shorter text needs for containment to count: a short post made of common
#: phrases is found inside many long articles.
MIN_CONTAINED_SHINGLES = 25


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """``clusters:`` in ``settings.yaml`` (see the README)."""

    enabled: bool = True
    threshold: float = DEFAULT_THRESHOLD
    containment: float = DEFAULT_CONTAINMENT
    merge: float = DEFAULT_MERGE
    params: SketchParams = field(default_factory=SketchParams)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> ClusterSettings:
        """From the ``clusters`` mapping of the settings; ``ValueError`` names a bad key."""
        values = dict(values or {})
        try:
            settings = cls(
                enabled=bool(values.get("enabled", True)),
                threshold=float(values.get("threshold", DEFAULT_THRESHOLD)),
                containment=float(values.get("containment", DEFAULT_CONTAINMENT)),
                merge=float(values.get("merge", DEFAULT_MERGE)),
                params=SketchParams(
                    num_perm=int(values.get("num_perm", DEFAULT_NUM_PERM)),
                    rows=int(values.get("band_rows", DEFAULT_ROWS)),
                    seed=int(values.get("seed", DEFAULT_SEED)),
                    min_words=int(values.get("min_words", DEFAULT_MIN_WORDS)),
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"clusters: {exc}") from exc
        for name in ("threshold", "containment", "merge"):
            value = getattr(settings, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"clusters.{name}: {value} is not in (0, 1]")
        return settings

    def fingerprint(self) -> str:
        """What stored sketches depend on; a change means ``misinfo clusters rebuild``."""
        return self.params.fingerprint() + f":min_words={self.params.min_words}"


DEFAULT_SETTINGS = ClusterSettings()


def cluster_text(doc: Document) -> str:
    """What is compared: the title and the text (a copy often changes only the title)."""
    return f"{doc.title}\n{doc.text}" if doc.title else doc.text


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def new_cluster_id(doc_id: str, hashed_text: str) -> str:
    """The id of a cluster founded by ``doc_id`` with this text."""
    return hashlib.sha256(f"{doc_id}:{hashed_text}".encode()).hexdigest()[:16]


@dataclass(slots=True)
class SketchEntry:
    """What the LSH state keeps per document."""

    doc_id: str
    cluster_id: str
    text_hash: str
    size: int
    signature: np.ndarray
    keys: np.ndarray
    #: The member it was found a copy of, how alike ("jaccard" or "containment"), and the
    #: similarity; ``None`` for the founder of a cluster.
    matched_id: str | None = None
    how: str | None = None
    similarity: float | None = None


@dataclass(slots=True)
class CandidateSet:
    """Stored sketches sharing keys with the one being placed, as parallel arrays.

    ``refs`` are the index's own handles (document ids, slots...); :meth:`SketchIndex.describe`
    names the few that turn out to match.
    """

    refs: list[Any]
    #: Shingle counts.
    sizes: np.ndarray
    #: One signature per row.
    signatures: np.ndarray
    #: Band keys shared with the sketch being placed.
    bands: np.ndarray
    #: Sentence fingerprints shared with it.
    fingerprints: np.ndarray
    #: Sentence fingerprints each candidate has in all.
    fingerprint_counts: np.ndarray

    def __len__(self) -> int:
        return len(self.refs)

    @classmethod
    def empty(cls, num_perm: int) -> CandidateSet:
        none = np.zeros(0, dtype=np.int32)
        return cls([], none, np.zeros((0, num_perm), dtype=np.uint32), none, none, none)


@dataclass(slots=True)
class Assignment:
    """Where a document went, and why."""

    doc_id: str
    cluster_id: str
    #: "new" (founded a cluster), "jaccard" or "containment" (joined), "unchanged" (text
    #: as stored: kept its cluster), "short" (too short to compare: a cluster of its own).
    how: str
    matched_id: str | None = None
    similarity: float | None = None
    #: Clusters merged into ``cluster_id`` because this document matched them too.
    merged: list[str] = field(default_factory=list)


class SketchIndex(Protocol):
    """The LSH state beside a store: sketches by document, searchable by key.

    Writes of one :meth:`Clusterer.assign` call are visible to its later lookups.
    """

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``{doc_id: (text_hash, cluster_id)}`` for the documents that have a sketch."""
        ...

    def candidates(
        self, keys: np.ndarray, *, exclude: str, limit: int, min_fingerprints: int
    ) -> CandidateSet:
        """Sketches sharing a band key, or at least ``min_fingerprints`` sentence
        fingerprints, with ``keys`` (with the counts of each), at most ``limit`` of them
        (most shared keys first), the document ``exclude`` left out."""
        ...

    def describe(self, refs: Sequence[Any]) -> dict[Any, tuple[str, str]]:
        """``{ref: (doc_id, cluster_id)}`` for candidates of this call."""
        ...

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The compared text (:func:`cluster_text`) of stored documents."""
        ...

    def save(self, entry: SketchEntry) -> None:
        """Store or replace the document's sketch."""
        ...

    def relabel(self, clusters: Sequence[str], target: str) -> list[str]:
        """Move every member of ``clusters`` to ``target``; return the moved doc ids."""
        ...


@dataclass(slots=True)
class _Match:
    doc_id: str
    cluster_id: str
    similarity: float
    how: str
    size: int


class Clusterer:
    """Assigns documents to clusters against a :class:`SketchIndex` (see the module doc)."""

    def __init__(self, settings: ClusterSettings = DEFAULT_SETTINGS) -> None:
        self.settings = settings

    def sketch(self, doc: Document) -> Sketch:
        return sketch(cluster_text(doc), self.settings.params)

    def assign(
        self,
        docs: Iterable[Document],
        index: SketchIndex,
        *,
        force: bool = False,
        sketches: Sequence[Sketch] | None = None,
    ) -> list[Assignment]:
        """Place each document in turn (each sees the ones before it); ``force`` re-places
        documents whose text is unchanged too (a rebuild); ``sketches`` are the documents'
        sketches when they were drawn already (:func:`sketch_ahead`)."""
        docs = list(docs)
        known = {} if force else index.stored([doc.id for doc in docs])
        drawn = sketches if sketches is not None else [None] * len(docs)
        return [
            self._assign_one(doc, index, known, given)
            for doc, given in zip(docs, drawn, strict=True)
        ]

    def _assign_one(
        self,
        doc: Document,
        index: SketchIndex,
        known: dict[str, tuple[str, str]],
        given: Sketch | None,
    ) -> Assignment:
        text = cluster_text(doc)
        hashed = text_hash(text)
        stored = known.get(doc.id)
        if stored is not None and stored[0] == hashed:
            return Assignment(doc.id, stored[1], "unchanged")
        drawn = given if given is not None else sketch(text, self.settings.params)
        founded = new_cluster_id(doc.id, hashed)
        if drawn.empty:
            index.save(SketchEntry(doc.id, founded, hashed, 0, drawn.signature, drawn.keys))
            return Assignment(doc.id, founded, "short")
        matches = self._matches(doc.id, drawn, index)
        if not matches:
            index.save(
                SketchEntry(doc.id, founded, hashed, drawn.size, drawn.signature, drawn.keys)
            )
            return Assignment(doc.id, founded, "new")
        best = max(matches, key=lambda match: (match.similarity, match.size))
        target = best.cluster_id
        others = sorted(
            {m.cluster_id for m in matches if m.similarity >= self.settings.merge} - {target}
        )
        if others:
            index.relabel(others, target)
        index.save(
            SketchEntry(
                doc.id,
                target,
                hashed,
                drawn.size,
                drawn.signature,
                drawn.keys,
                matched_id=best.doc_id,
                how=best.how,
                similarity=round(best.similarity, 4),
            )
        )
        return Assignment(
            doc.id,
            target,
            best.how,
            matched_id=best.doc_id,
            similarity=round(best.similarity, 4),
            merged=others,
        )

    def _matches(self, doc_id: str, drawn: Sketch, index: SketchIndex) -> list[_Match]:
        found = index.candidates(
            drawn.keys,
            exclude=doc_id,
            limit=MAX_CANDIDATES,
            min_fingerprints=MIN_SHARED_FINGERPRINTS,
        )
        if not len(found):
            return []
        jaccard = np.count_nonzero(found.signatures == drawn.signature, axis=1) / len(
            drawn.signature
        )
        alike = np.flatnonzero(jaccard >= self.settings.threshold)
        # Containment: a text at most half as long as the other, both long enough, sharing
        # quoted sentences (MIN_SHARED_* constants); checked exactly on the texts.
        own_fingerprints = int(np.count_nonzero(drawn.keys & 1))
        shorter = np.minimum(found.sizes, drawn.size)
        fewer = np.where(found.sizes >= drawn.size, own_fingerprints, found.fingerprint_counts)
        quoting = np.flatnonzero(
            (jaccard < self.settings.threshold)
            & (found.fingerprints >= MIN_SHARED_FINGERPRINTS)
            & (shorter * 2 <= np.maximum(found.sizes, drawn.size))
            & (shorter >= MIN_CONTAINED_SHINGLES)
            & (found.fingerprints >= MIN_SHARED_SENTENCES * fewer)
        )
        quoting = quoting[np.argsort(-found.fingerprints[quoting], kind="stable")]
        quoting = quoting[:MAX_CONTAINMENT_CHECKS]
        chosen = [*alike.tolist(), *quoting.tolist()]
        if not chosen:
            return []
        names = index.describe([found.refs[i] for i in chosen])
        best_by_cluster: dict[str, _Match] = {}
        for i in alike.tolist():
            doc, cluster = names[found.refs[i]]
            _keep_best(
                best_by_cluster,
                _Match(doc, cluster, float(jaccard[i]), "jaccard", int(found.sizes[i])),
            )
        pending = [i for i in quoting.tolist() if names[found.refs[i]][1] not in best_by_cluster]
        if pending:
            texts = index.texts([names[found.refs[i]][0] for i in pending])
            for i in pending:
                doc, cluster = names[found.refs[i]]
                other = texts.get(doc)
                if other is None or cluster in best_by_cluster:
                    continue
                theirs = shingle_hashes(words(other))
                if drawn.size <= found.sizes[i]:
                    contained = containment(drawn.shingles, theirs)
                else:
                    contained = containment(theirs, drawn.shingles)
                if contained >= self.settings.containment:
                    _keep_best(
                        best_by_cluster,
                        _Match(doc, cluster, contained, "containment", int(found.sizes[i])),
                    )
        return list(best_by_cluster.values())


def sketch_texts(texts: list[str], params: SketchParams) -> list[Sketch]:
    """:func:`~analysis.near_duplicates.sketch` of each text (run in worker processes)."""
    return [sketch(text, params) for text in texts]


def sketch_ahead(
    batches: Iterable[list[Document]], settings: ClusterSettings, workers: int
) -> Iterator[tuple[list[Document], list[Sketch] | None]]:
    """Each batch with its sketches, drawn by ``workers`` processes one batch ahead while
    the caller places the previous one (``workers`` 0: no sketches, ``assign`` draws them).

    Sketching is half the work of clustering and needs nothing but the text, so a rebuild
    on a machine with a spare core runs it beside the placing, which is sequential.
    """
    if workers <= 0:
        for batch in batches:
            yield batch, None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        queued: list[tuple[list[Document], Any]] = []
        for batch in batches:
            texts = [cluster_text(doc) for doc in batch]
            step = max(1, -(-len(texts) // workers))
            futures = [
                pool.submit(sketch_texts, texts[start : start + step], settings.params)
                for start in range(0, len(texts), step)
            ]
            queued.append((batch, futures))
            if len(queued) > 1:
                done, futures_done = queued.pop(0)
                yield done, [item for future in futures_done for item in future.result()]
        for done, futures_done in queued:
            yield done, [item for future in futures_done for item in future.result()]


def _lopsided(first: int, second: int) -> bool:
    """One text has at most half the shingles of the other: Jaccard cannot see the copy."""
    return min(first, second) * 2 <= max(first, second)


def _keep_best(best: dict[str, _Match], match: _Match) -> None:
    current = best.get(match.cluster_id)
    if current is None or match.similarity > current.similarity:
        best[match.cluster_id] = match


class MemorySketchIndex:
    """A :class:`SketchIndex` in memory (tests, the evaluation script)."""

    def __init__(self, num_perm: int = DEFAULT_NUM_PERM) -> None:
        self.entries: dict[str, SketchEntry] = {}
        self.texts_by_id: dict[str, str] = {}
        self.postings = Postings(num_perm)
        self.num_perm = num_perm
        self._ids: list[str] = []
        self._rowid_of: dict[str, int] = {}

    def add_text(self, doc_id: str, text: str) -> None:
        self.texts_by_id[doc_id] = text

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {
            doc_id: (entry.text_hash, entry.cluster_id)
            for doc_id in doc_ids
            if (entry := self.entries.get(doc_id)) is not None
        }

    def candidates(
        self, keys: np.ndarray, *, exclude: str, limit: int, min_fingerprints: int
    ) -> CandidateSet:
        return postings_candidates(
            self.postings,
            keys,
            exclude_rowid=self._rowid_of.get(exclude, -1),
            limit=limit,
            min_fingerprints=min_fingerprints,
        )

    def describe(self, refs: Sequence[Any]) -> dict[Any, tuple[str, str]]:
        names = {}
        for slot in refs:
            doc_id = self._ids[int(self.postings.rowids[slot])]
            names[slot] = (doc_id, self.entries[doc_id].cluster_id)
        return names

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {
            doc_id: self.texts_by_id[doc_id] for doc_id in doc_ids if doc_id in self.texts_by_id
        }

    def save(self, entry: SketchEntry) -> None:
        rowid = self._rowid_of.get(entry.doc_id)
        if rowid is None:
            rowid = self._rowid_of[entry.doc_id] = len(self._ids)
            self._ids.append(entry.doc_id)
        self.entries[entry.doc_id] = entry
        fingerprints = int(np.count_nonzero(entry.keys & 1))
        self.postings.add(rowid, entry.signature, entry.size, entry.keys, fingerprints)

    def relabel(self, clusters: Sequence[str], target: str) -> list[str]:
        moving = set(clusters)
        moved = []
        for entry in self.entries.values():
            if entry.cluster_id in moving:
                entry.cluster_id = target
                moved.append(entry.doc_id)
        return moved

    def members(self) -> Iterator[tuple[str, str]]:
        for doc_id, entry in self.entries.items():
            yield doc_id, entry.cluster_id


def postings_candidates(
    postings: Postings,
    keys: np.ndarray,
    *,
    exclude_rowid: int,
    limit: int,
    min_fingerprints: int,
) -> CandidateSet:
    """:meth:`SketchIndex.candidates` over in-memory :class:`Postings` (refs are slots)."""
    found = postings.lookup(keys, exclude_rowid=exclude_rowid)
    keep = (found.bands > 0) | (found.fingerprints >= min_fingerprints)
    slots, bands, fingerprints = found.slots[keep], found.bands[keep], found.fingerprints[keep]
    if len(slots) > limit:
        order = np.argsort(-(bands + fingerprints), kind="stable")[:limit]
        slots, bands, fingerprints = slots[order], bands[order], fingerprints[order]
    if not len(slots):
        return CandidateSet.empty(postings.num_perm)
    return CandidateSet(
        slots.tolist(),
        postings.sizes[slots],
        postings.signatures[slots],
        bands,
        fingerprints,
        postings.fingerprint_counts[slots],
    )
