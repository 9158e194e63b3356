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

Size: the clustering rule and the batch placement that applies it (candidate lookup,
verification, merges in arrival order) read as one algorithm; the sketches themselves are
:mod:`analysis.near_duplicates`, the stored state :mod:`index.sqlite_clusters` and
:mod:`index.elastic_clusters`.
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
    shared_count,
    shingle_hashes,
    sketch,
    words,
)
from index.documents import Document
from index.sketch_cache import SketchCache
from index.sketch_postings import Postings

__all__ = [
    "DEFAULT_SETTINGS",
    "Assignment",
    "CandidatePairs",
    "ClusterSettings",
    "Clusterer",
    "MemorySketchIndex",
    "SketchEntry",
    "SketchIndex",
    "cluster_text",
    "cluster_text_of",
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
#: Texts fetched to check containment, per document at most.
MAX_CONTAINMENT_CHECKS = 20
#: Estimated Jaccard this far above the threshold is taken as is; from EXACT_BELOW under
#: it to EXACT_ABOVE over it, the exact Jaccard of the two texts decides (128 permutations
#: estimate a Jaccard of 0.2 to within about 0.035, one standard deviation).
EXACT_ABOVE = 0.08
EXACT_BELOW = 0.07
#: Exact Jaccard checks per document at most (closest estimates first).
MAX_EXACT_CHECKS = 20
#: A candidate found only by sentence fingerprints needs at least this many in common (one
#: shared fingerprint is often a common phrase; a quoted sentence brings its two).
MIN_SHARED_FINGERPRINTS = 2
#: A pair is checked for containment only when the shorter text shares at least this share
#: of its sentence fingerprints with the longer one.
MIN_SHARED_SENTENCES = 0.25
#: Shingles the shorter text needs for containment to count: a short post made of common
#: phrases is found inside many long articles.
MIN_CONTAINED_SHINGLES = 25
#: Stored candidates verified per document at most, those sharing most keys first: a copy of
#: a rumour copied thousands of times needs a few of its members to join it, and comparing it
#: with all of them made one new document cost time and memory in proportion to the cluster.
MAX_CANDIDATES = 256
#: Documents of a batch looked up together (bounds the lookup's temporary arrays).
LOOKUP_CHUNK = 64


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
    return cluster_text_of(doc.title, doc.text)


def cluster_text_of(title: str, text: str) -> str:
    """:func:`cluster_text` of a post that is not a :class:`Document` yet."""
    return f"{title}\n{text}" if title else text


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
class CandidatePairs:
    """Stored sketches sharing keys with the sketches of a batch, as parallel arrays.

    Pair ``p`` says that stored sketch ``ref[p]`` shares ``bands[p]`` band keys and
    ``fingerprints[p]`` sentence fingerprints with the ``query[p]``-th sketch of the batch.
    Per stored sketch (rows of ``refs``): its handle in the index (document id, slot...),
    shingle count, signature and number of fingerprints. :meth:`SketchIndex.describe` names
    the few that turn out to match.
    """

    query: np.ndarray
    ref: np.ndarray
    bands: np.ndarray
    fingerprints: np.ndarray
    refs: list[Any]
    sizes: np.ndarray
    signatures: np.ndarray
    fingerprint_counts: np.ndarray

    def __len__(self) -> int:
        return len(self.query)

    @classmethod
    def empty(cls, num_perm: int) -> CandidatePairs:
        none = np.zeros(0, dtype=np.int32)
        return cls(none, none, none, none, [], none, np.zeros((0, num_perm), dtype=np.uint32), none)


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

    :meth:`Clusterer.assign` reads it for a whole batch first, then saves the batch.
    """

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``{doc_id: (text_hash, cluster_id)}`` for the documents that have a sketch."""
        ...

    def candidates(
        self, keys: Sequence[np.ndarray], *, exclude: Sequence[str], min_fingerprints: int
    ) -> CandidatePairs:
        """For each key array of a batch, the stored sketches sharing a band key or at
        least ``min_fingerprints`` sentence fingerprints with it (the document ``exclude[i]``
        left out of the ``i``-th)."""
        ...

    def describe(self, refs: Sequence[Any]) -> dict[Any, tuple[str, str]]:
        """``{ref: (doc_id, cluster_id)}`` for stored sketches of :meth:`candidates`."""
        ...

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The compared text (:func:`cluster_text`) of stored documents."""
        ...

    def save(self, entries: Sequence[SketchEntry]) -> None:
        """Store or replace the sketches of a batch."""
        ...

    def relabel(self, clusters: Sequence[str], target: str) -> list[str]:
        """Move every stored member of ``clusters`` to ``target``; return their doc ids."""
        ...


@dataclass(slots=True)
class _Match:
    cluster_id: str
    doc_id: str
    similarity: float
    how: str
    size: int


class _Clusters:
    """Cluster ids as a batch goes: merges made so far point old ids at new ones."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, cluster_id: str) -> str:
        root = cluster_id
        while root in self.parent:
            root = self.parent[root]
        while cluster_id != root:  # path compression
            self.parent[cluster_id], cluster_id = root, self.parent[cluster_id]
        return root

    def merge(self, others: Iterable[str], target: str) -> None:
        for other in others:
            if other != target:
                self.parent[other] = target


def _equal_share(
    left: np.ndarray, left_rows: np.ndarray, right: np.ndarray, right_rows: np.ndarray
) -> np.ndarray:
    """Share of equal values in each row pair ``left[left_rows[i]]``, ``right[right_rows[i]]``
    (estimated Jaccard), gathered a chunk at a time: the pairs' rows never exist all at once."""
    out = np.zeros(len(left_rows), dtype=np.float64)
    if not len(left_rows):
        return out
    width = left.shape[1]
    for start in range(0, len(left_rows), _PAIR_CHUNK):
        stop = start + _PAIR_CHUNK
        out[start:stop] = np.count_nonzero(
            left[left_rows[start:stop]] == right[right_rows[start:stop]], axis=1
        )
    return out / width


#: Pairs compared per numpy step (bounds the temporary arrays).
_PAIR_CHUNK = 16_384
#: A batch's own keys shared by more of its documents than this are skipped when pairing
#: them with each other (a key that common is a common phrase, not a copy).
_MAX_GROUP = 64


class Clusterer:
    """Assigns documents to clusters against a :class:`SketchIndex` (see the module doc).

    A batch is placed in one pass: its sketches are looked up together (stored candidates
    for all of them, then candidates among the batch itself), every candidate pair is
    verified at once, and only then are the documents placed in order, each seeing those
    before it.
    """

    def __init__(
        self, settings: ClusterSettings = DEFAULT_SETTINGS, recent: SketchCache | None = None
    ) -> None:
        self.settings = settings
        #: Sketches drawn lately, by text hash: drawn ahead by a crawl's workers
        #: (:meth:`remember`), or of documents placed lately (:mod:`index.sketch_cache`).
        self.recent = recent if recent is not None else SketchCache()

    def remember(self, hashed: str, drawn: Sketch, params: SketchParams) -> bool:
        """Keep ``drawn``, the sketch of the text whose :func:`text_hash` is ``hashed``,
        for when that text is placed; ignored (``False``) if drawn with other params."""
        if params != self.settings.params:
            return False
        self.recent.put(hashed, drawn)
        return True

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
        results: list[Assignment | None] = [None] * len(docs)
        places: list[_Place] = []
        for position, doc in enumerate(docs):
            text = cluster_text(doc)
            hashed = text_hash(text)
            stored = known.get(doc.id)
            if stored is not None and stored[0] == hashed:
                results[position] = Assignment(doc.id, stored[1], "unchanged")
                continue
            drawn = sketches[position] if sketches is not None else None
            if drawn is None:
                drawn = self.recent.get(hashed)
            if drawn is None:
                drawn = sketch(text, self.settings.params)
            places.append(_Place(position, doc, text, hashed, drawn))
        entries = self._place(places, index)
        index.save(entries)
        for place in places:
            results[place.position] = place.assignment
            if not place.sketch.empty:  # a copy arriving soon is checked against it
                self.recent.put(place.hashed, place.sketch)
        return [result for result in results if result is not None]

    def _place(self, places: list[_Place], index: SketchIndex) -> list[SketchEntry]:
        clusters = _Clusters()
        compared = [place for place in places if not place.sketch.empty]
        stored = index.candidates(
            [place.sketch.keys for place in compared],
            exclude=[place.doc.id for place in compared],
            min_fingerprints=MIN_SHARED_FINGERPRINTS,
        )
        stored_matches = self._verify_stored(compared, stored, index)
        batch_matches = self._verify_batch(compared)
        entries = []
        order = {id(place): number for number, place in enumerate(compared)}
        for place in places:
            founded = new_cluster_id(place.doc.id, place.hashed)
            drawn = place.sketch
            if drawn.empty:
                place.assignment = Assignment(place.doc.id, founded, "short")
                entries.append(
                    SketchEntry(place.doc.id, founded, place.hashed, 0, drawn.signature, drawn.keys)
                )
                continue
            number = order[id(place)]
            best_by_cluster: dict[str, _Match] = {}
            for match in stored_matches.get(number, ()):
                _keep_best(best_by_cluster, match, clusters)
            for earlier, similarity, how in batch_matches.get(number, ()):
                assigned = compared[earlier].assignment
                if assigned is None:  # pragma: no cover - earlier ones are placed first
                    continue
                _keep_best(
                    best_by_cluster,
                    _Match(
                        assigned.cluster_id,
                        compared[earlier].doc.id,
                        similarity,
                        how,
                        compared[earlier].sketch.size,
                    ),
                    clusters,
                )
            if not best_by_cluster:
                place.assignment = Assignment(place.doc.id, founded, "new")
                entries.append(
                    SketchEntry(
                        place.doc.id, founded, place.hashed, drawn.size, drawn.signature, drawn.keys
                    )
                )
                continue
            matches = list(best_by_cluster.values())
            best = max(matches, key=lambda match: (match.similarity, match.size))
            target = best.cluster_id
            others = sorted(
                {m.cluster_id for m in matches if m.similarity >= self.settings.merge} - {target}
            )
            if others:
                index.relabel(others, target)
                clusters.merge(others, target)
            similarity = round(best.similarity, 4)
            place.assignment = Assignment(
                place.doc.id, target, best.how, best.doc_id, similarity, others
            )
            entries.append(
                SketchEntry(
                    place.doc.id,
                    target,
                    place.hashed,
                    drawn.size,
                    drawn.signature,
                    drawn.keys,
                    matched_id=best.doc_id,
                    how=best.how,
                    similarity=similarity,
                )
            )
        # Merges late in the batch may have moved clusters that earlier documents joined.
        for entry in entries:
            entry.cluster_id = clusters.find(entry.cluster_id)
        for place in places:
            if place.assignment is not None:
                place.assignment.cluster_id = clusters.find(place.assignment.cluster_id)
        return entries

    def _shingles(self, text: str) -> np.ndarray:
        """The shingle hashes of a stored text, from its recent sketch when there is one."""
        drawn = self.recent.get(text_hash(text))
        if drawn is not None and not drawn.empty:
            return drawn.shingles
        return shingle_hashes(words(text))

    def _exact_match(
        self, mine: np.ndarray, theirs: np.ndarray, near: bool, containable: bool
    ) -> tuple[float, str] | None:
        """The exact test of a pair: Jaccard for an estimate near the threshold, containment
        of the shorter text for a lopsided pair sharing sentences."""
        if not len(mine) or not len(theirs):
            return None
        shared = shared_count(mine, theirs)
        if near:
            jaccard = shared / (len(mine) + len(theirs) - shared)
            if jaccard >= self.settings.threshold:
                return jaccard, "jaccard"
        if containable:
            contained = shared / min(len(mine), len(theirs))
            if contained >= self.settings.containment:
                return contained, "containment"
        return None

    def _containable(
        self, sizes: np.ndarray, other: np.ndarray, shared: np.ndarray, fewer: np.ndarray
    ) -> np.ndarray:
        """Pairs worth an exact containment check (see MIN_* constants)."""
        shorter = np.minimum(sizes, other)
        return (
            (shared >= MIN_SHARED_FINGERPRINTS)
            & (shorter * 2 <= np.maximum(sizes, other))
            & (shorter >= MIN_CONTAINED_SHINGLES)
            & (shared >= MIN_SHARED_SENTENCES * fewer)
        )

    def _verify_stored(
        self, compared: list[_Place], found: CandidatePairs, index: SketchIndex
    ) -> dict[int, list[_Match]]:
        """Matches with stored sketches, per position in ``compared``."""
        if not len(found):
            return {}
        threshold = self.settings.threshold
        own_sizes = np.array([place.sketch.size for place in compared], dtype=np.int64)
        own_prints = np.array(
            [int(np.count_nonzero(place.sketch.keys & 1)) for place in compared], dtype=np.int64
        )
        pair_own = own_sizes[found.query]
        pair_other = found.sizes[found.ref].astype(np.int64)
        # Jaccard >= t needs the smaller set to be at least t of the larger one.
        sized = np.minimum(pair_own, pair_other) >= threshold * np.maximum(pair_own, pair_other)
        jaccard = np.zeros(len(found), dtype=np.float64)
        checked = np.flatnonzero(sized & (found.bands > 0))
        if len(checked):
            signatures = np.stack([place.sketch.signature for place in compared])
            jaccard[checked] = _equal_share(
                found.signatures, found.ref[checked], signatures, found.query[checked]
            )
        # Clear cases by the estimate; near the threshold (where the estimate's spread is),
        # the exact Jaccard of the two texts decides.
        sure = jaccard >= threshold + EXACT_ABOVE
        near = np.flatnonzero(~sure & (jaccard >= threshold - EXACT_BELOW))
        if len(near):
            ranked = near[np.lexsort((-jaccard[near], found.query[near]))]
            near = ranked[_per_query_rank(found.query[ranked]) < MAX_EXACT_CHECKS]
        fewer = np.where(
            pair_other >= pair_own, own_prints[found.query], found.fingerprint_counts[found.ref]
        )
        containable = self._containable(pair_own, pair_other, found.fingerprints, fewer)
        quoting = np.flatnonzero(~sure & containable)
        # At most MAX_CONTAINMENT_CHECKS per document, those sharing most sentences first.
        if len(quoting):
            ranked = quoting[np.lexsort((-found.fingerprints[quoting], found.query[quoting]))]
            quoting = ranked[_per_query_rank(found.query[ranked]) < MAX_CONTAINMENT_CHECKS]
        checked_texts = np.union1d(near, quoting)
        chosen = np.union1d(np.flatnonzero(sure), checked_texts)
        if not len(chosen):
            return {}
        names = index.describe(sorted({found.refs[r] for r in found.ref[chosen].tolist()}))
        matches: dict[int, list[_Match]] = {}
        for pair in np.flatnonzero(sure).tolist():
            doc_id, cluster_id = names[found.refs[found.ref[pair]]]
            matches.setdefault(int(found.query[pair]), []).append(
                _Match(cluster_id, doc_id, float(jaccard[pair]), "jaccard", int(pair_other[pair]))
            )
        if len(checked_texts):
            wanted = sorted({names[found.refs[r]][0] for r in found.ref[checked_texts].tolist()})
            texts = index.texts(wanted)
            shingles = {doc_id: self._shingles(text) for doc_id, text in texts.items()}
            near_set = set(near.tolist())
            for pair in checked_texts.tolist():
                doc_id, cluster_id = names[found.refs[found.ref[pair]]]
                theirs = shingles.get(doc_id)
                if theirs is None:
                    continue
                place = compared[int(found.query[pair])]
                match = self._exact_match(
                    place.sketch.shingles, theirs, pair in near_set, bool(containable[pair])
                )
                if match is not None:
                    similarity, how = match
                    matches.setdefault(int(found.query[pair]), []).append(
                        _Match(cluster_id, doc_id, similarity, how, int(pair_other[pair]))
                    )
        return matches

    def _verify_batch(self, compared: list[_Place]) -> dict[int, list[tuple[int, float, str]]]:
        """Matches of each document with the documents before it in the batch:
        ``{later: [(earlier, similarity, how), ...]}``."""
        if len(compared) < 2:
            return {}
        keys = np.concatenate([place.sketch.keys for place in compared])
        owners = np.repeat(np.arange(len(compared)), [len(place.sketch.keys) for place in compared])
        order = np.lexsort((owners, keys))
        keys, owners = keys[order], owners[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        shared_groups = np.flatnonzero((ends - starts >= 2) & (ends - starts <= _MAX_GROUP))
        if not len(shared_groups):
            return {}
        later_parts, earlier_parts, kind_parts = [], [], []
        for group in shared_groups.tolist():
            members = owners[starts[group] : ends[group]]
            first, second = np.triu_indices(len(members), k=1)
            later_parts.append(members[second])
            earlier_parts.append(members[first])
            kind_parts.append(np.full(len(first), keys[starts[group]] & 1))
        later = np.concatenate(later_parts)
        earlier = np.concatenate(earlier_parts)
        kinds = np.concatenate(kind_parts)
        code = later.astype(np.int64) * len(compared) + earlier
        unique, inverse = np.unique(code, return_inverse=True)
        prints = np.bincount(inverse, weights=kinds).astype(np.int64)
        bands = np.bincount(inverse).astype(np.int64) - prints
        later, earlier = unique // len(compared), unique % len(compared)
        sizes = np.array([place.sketch.size for place in compared], dtype=np.int64)
        signatures = np.stack([place.sketch.signature for place in compared])
        threshold = self.settings.threshold
        a, b = sizes[later], sizes[earlier]
        jaccard = np.zeros(len(unique), dtype=np.float64)
        checked = np.flatnonzero((bands > 0) & (np.minimum(a, b) >= threshold * np.maximum(a, b)))
        if len(checked):
            jaccard[checked] = _equal_share(
                signatures, later[checked], signatures, earlier[checked]
            )
        own_prints = np.array(
            [int(np.count_nonzero(place.sketch.keys & 1)) for place in compared], dtype=np.int64
        )
        fewer = np.where(a <= b, own_prints[later], own_prints[earlier])
        sure = jaccard >= threshold + EXACT_ABOVE
        near = ~sure & (jaccard >= threshold - EXACT_BELOW)
        containable = self._containable(a, b, prints, fewer)
        matches: dict[int, list[tuple[int, float, str]]] = {}
        for pair in np.flatnonzero(sure).tolist():
            matches.setdefault(int(later[pair]), []).append(
                (int(earlier[pair]), float(jaccard[pair]), "jaccard")
            )
        for pair in np.flatnonzero(near | (~sure & containable)).tolist():
            first, second = compared[int(later[pair])], compared[int(earlier[pair])]
            match = self._exact_match(
                first.sketch.shingles,
                second.sketch.shingles,
                bool(near[pair]),
                bool(containable[pair]),
            )
            if match is not None:
                matches.setdefault(int(later[pair]), []).append((int(earlier[pair]), *match))
        return matches


@dataclass(slots=True)
class _Place:
    """A document being placed in this batch."""

    position: int
    doc: Document
    text: str
    hashed: str
    sketch: Sketch
    assignment: Assignment | None = None


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


def _per_query_rank(queries: np.ndarray) -> np.ndarray:
    """Position of each entry among the entries of its query (``queries`` sorted)."""
    return np.arange(len(queries)) - np.searchsorted(queries, queries, side="left")


def _keep_best(best: dict[str, _Match], match: _Match, clusters: _Clusters) -> None:
    match.cluster_id = clusters.find(match.cluster_id)
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
        self, keys: Sequence[np.ndarray], *, exclude: Sequence[str], min_fingerprints: int
    ) -> CandidatePairs:
        return postings_candidates(
            self.postings,
            keys,
            exclude_rowids=[self._rowid_of.get(doc_id, -1) for doc_id in exclude],
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

    def save(self, entries: Sequence[SketchEntry]) -> None:
        for entry in entries:
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
    keys: Sequence[np.ndarray],
    *,
    exclude_rowids: Sequence[int],
    min_fingerprints: int,
) -> CandidatePairs:
    """:meth:`SketchIndex.candidates` over in-memory :class:`Postings` (refs are slots): at
    most :data:`MAX_CANDIDATES` per text, those sharing most keys."""
    parts = []
    for start in range(0, len(keys), LOOKUP_CHUNK):
        found = postings.lookup_batch(
            keys[start : start + LOOKUP_CHUNK],
            exclude_rowids=exclude_rowids[start : start + LOOKUP_CHUNK],
        )
        keep = np.flatnonzero((found.bands > 0) | (found.fingerprints >= min_fingerprints))
        shared = found.bands[keep] + found.fingerprints[keep]
        ranked = keep[np.lexsort((-shared, found.query[keep]))]
        # Back in the lookup's order (text, then oldest sketch first), as before the cap.
        ranked = np.sort(ranked[_per_query_rank(found.query[ranked]) < MAX_CANDIDATES])
        parts.append(
            (
                found.query[ranked] + start,
                found.slots[ranked],
                found.bands[ranked],
                found.fingerprints[ranked],
            )
        )
    if not parts or not sum(len(part[0]) for part in parts):
        return CandidatePairs.empty(postings.num_perm)
    query, slots, bands, fingerprints = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    unique, ref = np.unique(slots, return_inverse=True)
    return CandidatePairs(
        query,
        ref.astype(np.int64),
        bands,
        fingerprints,
        unique.tolist(),
        postings.sizes[unique],
        postings.signatures_of(unique),
        postings.fingerprint_counts[unique],
    )
