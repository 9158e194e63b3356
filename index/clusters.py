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
    is_fingerprint,
    sketch,
)
from index.documents import Document

__all__ = [
    "DEFAULT_SETTINGS",
    "Assignment",
    "Candidate",
    "ClusterSettings",
    "Clusterer",
    "MemorySketchIndex",
    "SketchEntry",
    "SketchIndex",
    "cluster_text",
    "new_cluster_id",
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
#: A pair is checked for containment only when the shorter text shares at least this share
#: of its sentence fingerprints with the longer one.
MIN_SHARED_SENTENCES = 0.25


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
    keys: tuple[int, ...]
    #: The member it was found a copy of, how alike ("jaccard" or "containment"), and the
    #: similarity; ``None`` for the founder of a cluster.
    matched_id: str | None = None
    how: str | None = None
    similarity: float | None = None


@dataclass(slots=True)
class Candidate:
    """A stored document sharing keys with the sketch being placed."""

    doc_id: str
    cluster_id: str
    size: int
    signature: np.ndarray
    bands: int = 0
    sentences: int = 0
    sentence_keys: int = 0


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

    def candidates(self, keys: Sequence[int], *, exclude: str, limit: int) -> list[Candidate]:
        """Documents sharing any of ``keys`` (with the count of shared bands and sentence
        fingerprints), most shared keys first, ``exclude`` left out."""
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
    candidate: Candidate
    similarity: float
    how: str


class Clusterer:
    """Assigns documents to clusters against a :class:`SketchIndex` (see the module doc)."""

    def __init__(self, settings: ClusterSettings = DEFAULT_SETTINGS) -> None:
        self.settings = settings

    def sketch(self, doc: Document) -> Sketch:
        return sketch(cluster_text(doc), self.settings.params)

    def assign(
        self, docs: Iterable[Document], index: SketchIndex, *, force: bool = False
    ) -> list[Assignment]:
        """Place each document in turn (each sees the ones before it); ``force`` re-places
        documents whose text is unchanged too (a rebuild)."""
        docs = list(docs)
        known = {} if force else index.stored([doc.id for doc in docs])
        return [self._assign_one(doc, index, known) for doc in docs]

    def _assign_one(
        self, doc: Document, index: SketchIndex, known: dict[str, tuple[str, str]]
    ) -> Assignment:
        text = cluster_text(doc)
        hashed = text_hash(text)
        stored = known.get(doc.id)
        if stored is not None and stored[0] == hashed:
            return Assignment(doc.id, stored[1], "unchanged")
        drawn = sketch(text, self.settings.params)
        founded = new_cluster_id(doc.id, hashed)
        if drawn.empty:
            index.save(SketchEntry(doc.id, founded, hashed, 0, drawn.signature, ()))
            return Assignment(doc.id, founded, "short")
        matches = self._matches(doc.id, text, drawn, index)
        if not matches:
            index.save(
                SketchEntry(doc.id, founded, hashed, drawn.size, drawn.signature, drawn.keys)
            )
            return Assignment(doc.id, founded, "new")
        best = max(matches, key=lambda match: (match.similarity, match.candidate.size))
        target = best.candidate.cluster_id
        others = sorted(
            {m.candidate.cluster_id for m in matches if m.similarity >= self.settings.merge}
            - {target}
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
                matched_id=best.candidate.doc_id,
                how=best.how,
                similarity=round(best.similarity, 4),
            )
        )
        return Assignment(
            doc.id,
            target,
            best.how,
            matched_id=best.candidate.doc_id,
            similarity=round(best.similarity, 4),
            merged=others,
        )

    def _matches(self, doc_id: str, text: str, drawn: Sketch, index: SketchIndex) -> list[_Match]:
        candidates = index.candidates(drawn.keys, exclude=doc_id, limit=MAX_CANDIDATES)
        if not candidates:
            return []
        threshold = self.settings.threshold
        own_sentences = sum(1 for key in drawn.keys if is_fingerprint(key))
        best_by_cluster: dict[str, _Match] = {}
        to_check: list[Candidate] = []
        signatures = np.stack([candidate.signature for candidate in candidates])
        equal = np.count_nonzero(signatures == drawn.signature, axis=1) / len(drawn.signature)
        for candidate, jaccard in zip(candidates, equal.tolist(), strict=True):
            if jaccard >= threshold:
                _keep_best(best_by_cluster, _Match(candidate, jaccard, "jaccard"))
            elif candidate.sentences and _lopsided(drawn.size, candidate.size):
                fewer = own_sentences if drawn.size <= candidate.size else candidate.sentence_keys
                if candidate.sentences >= max(1.0, MIN_SHARED_SENTENCES * fewer):
                    to_check.append(candidate)
        to_check = [c for c in to_check if c.cluster_id not in best_by_cluster]
        if to_check:
            to_check.sort(key=lambda c: -c.sentences)
            to_check = to_check[:MAX_CONTAINMENT_CHECKS]
            texts = index.texts([candidate.doc_id for candidate in to_check])
            for candidate in to_check:
                other = texts.get(candidate.doc_id)
                if other is None or candidate.cluster_id in best_by_cluster:
                    continue
                short, long = (text, other) if drawn.size <= candidate.size else (other, text)
                contained = containment(short, long)
                if contained >= self.settings.containment:
                    _keep_best(best_by_cluster, _Match(candidate, contained, "containment"))
        return list(best_by_cluster.values())


def _lopsided(first: int, second: int) -> bool:
    """One text has at most half the shingles of the other: Jaccard cannot see the copy."""
    return min(first, second) * 2 <= max(first, second)


def _keep_best(best: dict[str, _Match], match: _Match) -> None:
    current = best.get(match.candidate.cluster_id)
    if current is None or match.similarity > current.similarity:
        best[match.candidate.cluster_id] = match


class MemorySketchIndex:
    """A :class:`SketchIndex` in dictionaries (tests, the benchmark's in-memory figure)."""

    def __init__(self) -> None:
        self.entries: dict[str, SketchEntry] = {}
        self.texts_by_id: dict[str, str] = {}
        self.postings: dict[int, set[str]] = {}

    def add_text(self, doc_id: str, text: str) -> None:
        self.texts_by_id[doc_id] = text

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {
            doc_id: (entry.text_hash, entry.cluster_id)
            for doc_id in doc_ids
            if (entry := self.entries.get(doc_id)) is not None
        }

    def candidates(self, keys: Sequence[int], *, exclude: str, limit: int) -> list[Candidate]:
        shared: dict[str, list[int]] = {}
        for key in keys:
            for doc_id in self.postings.get(key, ()):
                if doc_id != exclude:
                    counts = shared.setdefault(doc_id, [0, 0])
                    counts[is_fingerprint(key)] += 1
        ranked = sorted(shared.items(), key=lambda item: -sum(item[1]))[:limit]
        found = []
        for doc_id, (bands, sentences) in ranked:
            entry = self.entries[doc_id]
            found.append(
                Candidate(
                    doc_id,
                    entry.cluster_id,
                    entry.size,
                    entry.signature,
                    bands=bands,
                    sentences=sentences,
                    sentence_keys=sum(1 for key in entry.keys if is_fingerprint(key)),
                )
            )
        return found

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {doc_id: self.texts_by_id[doc_id] for doc_id in doc_ids if doc_id in self.texts_by_id}

    def save(self, entry: SketchEntry) -> None:
        old = self.entries.get(entry.doc_id)
        if old is not None:
            for key in old.keys:
                self.postings.get(key, set()).discard(entry.doc_id)
        self.entries[entry.doc_id] = entry
        for key in entry.keys:
            self.postings.setdefault(key, set()).add(entry.doc_id)

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
