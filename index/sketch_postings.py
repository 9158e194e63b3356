"""The in-memory side of the LSH state: which stored sketches hold a given key.

The durable LSH state is one row per document (signature, sentence fingerprints, cluster).
Looking a new text's ~100 keys up in an SQL table of a hundred keys per document scanned
hundreds of posting rows per text at 10,000 documents, and more as the corpus grew (common
syllable pairs make common band keys). Here the postings are numpy arrays, in three tiers
so that adding a sketch never re-sorts everything:

* ``_new``: the keys of the last few sketches, unsorted, in a preallocated buffer;
* ``_recent``: a sorted array the buffer is merged into every :data:`BUFFER_KEYS` keys;
* ``_base``: the big sorted array ``_recent`` is merged into once it reaches
  :data:`RECENT_SHARE` of it.

A lookup is a binary search of the text's keys in both sorted tiers plus a scan of the
buffer. Per slot the arrays hold the signature, shingle count, number of sentence
fingerprints and the document's rowid; a re-sketched document gets a new slot and its old
one is marked dead.

It is derived data: :class:`~index.sqlite_clusters.SqliteSketchIndex` fills it from the
table on first use and follows the table's ``seq`` column afterwards, so sketches written by
other processes are picked up before each batch is clustered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BatchLookup", "Lookup", "Postings"]

#: Keys collected unsorted before they are merged into the sorted tiers.
BUFFER_KEYS = 8192
#: ``_recent`` is merged into ``_base`` when it reaches this share of it, or
#: :data:`RECENT_MAX` keys: merging the buffer into ``_recent`` copies it, so it stays small.
RECENT_SHARE = 0.125
RECENT_MAX = 1_000_000
#: Entries read per key and tier at most, the newest: a key held by thousands of sketches
#: (a sentence every page of a site prints, a rumour copied thousands of times) finds its
#: latest holders, which is enough to join their cluster, at a bounded cost.
MAX_POSTINGS_PER_KEY = 1024


@dataclass(slots=True)
class Lookup:
    """Slots sharing keys with a text, with how many band keys and fingerprints they share."""

    slots: np.ndarray
    bands: np.ndarray
    fingerprints: np.ndarray


@dataclass(slots=True)
class BatchLookup:
    """:class:`Lookup` for several texts: pair ``p`` is text ``query[p]`` and ``slots[p]``."""

    query: np.ndarray
    slots: np.ndarray
    bands: np.ndarray
    fingerprints: np.ndarray


class _Sorted:
    """Keys sorted, with the slot of each."""

    __slots__ = ("keys", "slots")

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.slots = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.keys)

    def merge(self, keys: np.ndarray, slots: np.ndarray, alive: np.ndarray) -> None:
        """Add (``keys``, ``slots``) and drop entries of dead slots."""
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        at = np.searchsorted(self.keys, keys, side="right")
        merged_keys = np.insert(self.keys, at, keys)
        merged_slots = np.insert(self.slots, at, slots)
        live = alive[merged_slots]
        self.keys, self.slots = merged_keys[live], merged_slots[live]

    def find(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slots and keys of the entries whose key is in ``wanted`` (sorted, unique)."""
        slots, keys, _ = self.find_owned(wanted, np.zeros(len(wanted), dtype=np.int64))
        return slots, keys

    def find_owned(
        self, wanted: np.ndarray, owners: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`find` for keys of several texts (``wanted`` sorted; ``owners[i]`` is the
        text of ``wanted[i]``): slots, keys and owner of every entry found."""
        if not len(self.keys) or not len(wanted):
            return _NO_SLOTS, _NO_KEYS, _NO_KEYS
        left = np.searchsorted(self.keys, wanted, side="left")
        present = self.keys[np.minimum(left, len(self.keys) - 1)] == wanted
        if not present.any():
            return _NO_SLOTS, _NO_KEYS, _NO_KEYS
        left = left[present]
        # Most keys are absent: search the ends only of those that are there.
        right = np.searchsorted(self.keys, wanted[present], side="right")
        left = np.maximum(left, right - MAX_POSTINGS_PER_KEY)  # entries of a key: oldest first
        lengths = right - left
        positions = np.repeat(left - np.cumsum(lengths) + lengths, lengths) + np.arange(
            int(lengths.sum())
        )
        return self.slots[positions], self.keys[positions], np.repeat(owners[present], lengths)


class Postings:
    """Key -> slot postings plus per-slot sketch data (see the module docstring)."""

    def __init__(self, num_perm: int) -> None:
        self.num_perm = num_perm
        self.count = 0
        self.signatures = np.zeros((1024, num_perm), dtype=np.uint32)
        self.sizes = np.zeros(1024, dtype=np.int32)
        self.fingerprint_counts = np.zeros(1024, dtype=np.int32)
        self.rowids = np.zeros(1024, dtype=np.int64)
        self.alive = np.zeros(1024, dtype=bool)
        self.slot_of: dict[int, int] = {}
        self._base = _Sorted()
        self._recent = _Sorted()
        self._new_keys = np.zeros(BUFFER_KEYS, dtype=np.int64)
        self._new_slots = np.zeros(BUFFER_KEYS, dtype=np.int32)
        self._new = 0
        #: The highest ``seq`` of the table this copy has seen.
        self.seq = 0

    def __len__(self) -> int:
        return len(self.slot_of)

    def nbytes(self) -> int:
        """Memory held (the benchmark reports it); the rowid map at ~100 bytes an entry."""
        arrays = (
            self.signatures,
            self.sizes,
            self.fingerprint_counts,
            self.rowids,
            self.alive,
            self._base.keys,
            self._base.slots,
            self._recent.keys,
            self._recent.slots,
            self._new_keys,
            self._new_slots,
        )
        return sum(array.nbytes for array in arrays) + 100 * len(self.slot_of)

    def _grow(self) -> None:
        size = len(self.sizes) * 2
        signatures = np.zeros((size, self.num_perm), dtype=np.uint32)
        signatures[: len(self.signatures)] = self.signatures
        self.signatures = signatures
        for name in ("sizes", "fingerprint_counts", "rowids", "alive"):
            array = getattr(self, name)
            grown = np.zeros(size, dtype=array.dtype)
            grown[: len(array)] = array
            setattr(self, name, grown)

    def add(
        self, rowid: int, signature: np.ndarray, size: int, keys: np.ndarray, fingerprints: int
    ) -> None:
        """Index the sketch of the document at ``rowid`` (replacing an older one)."""
        old = self.slot_of.get(rowid)
        if old is not None:
            self.alive[old] = False
        if self.count == len(self.sizes):
            self._grow()
        slot = self.count
        self.count += 1
        if len(signature):
            self.signatures[slot] = signature
        self.sizes[slot] = size
        self.fingerprint_counts[slot] = fingerprints
        self.rowids[slot] = rowid
        self.alive[slot] = True
        self.slot_of[rowid] = slot
        if self._new + len(keys) > BUFFER_KEYS:
            self._flush()
        if len(keys) > BUFFER_KEYS:  # a text with very many sentences
            self._recent.merge(keys, np.full(len(keys), slot, dtype=np.int32), self.alive)
            return
        self._new_keys[self._new : self._new + len(keys)] = keys
        self._new_slots[self._new : self._new + len(keys)] = slot
        self._new += len(keys)

    def add_many(
        self,
        rowids: list[int],
        signatures: np.ndarray,
        sizes: list[int],
        keys: list[np.ndarray],
        fingerprints: list[int],
    ) -> None:
        """:meth:`add` for many sketches at once (loading a store's state): their keys are
        merged into the sorted tiers in one step instead of passing through the buffer."""
        if not rowids:
            return
        for rowid in rowids:
            old = self.slot_of.get(rowid)
            if old is not None:
                self.alive[old] = False
        while self.count + len(rowids) > len(self.sizes):
            self._grow()
        slots = np.arange(self.count, self.count + len(rowids), dtype=np.int32)
        self.count += len(rowids)
        self.signatures[slots] = signatures
        self.sizes[slots] = sizes
        self.fingerprint_counts[slots] = fingerprints
        self.rowids[slots] = rowids
        self.alive[slots] = True
        self.slot_of.update(zip(rowids, slots.tolist(), strict=True))
        all_keys = np.concatenate(keys) if keys else _NO_KEYS
        owners = np.repeat(slots, [len(k) for k in keys])
        self._recent.merge(all_keys, owners, self.alive)
        if len(self._recent) >= min(RECENT_SHARE * len(self._base), RECENT_MAX):
            self._base.merge(self._recent.keys, self._recent.slots, self.alive)
            self._recent = _Sorted()

    def remove(self, rowid: int) -> None:
        slot = self.slot_of.pop(rowid, None)
        if slot is not None:
            self.alive[slot] = False

    def _flush(self) -> None:
        if self._new:
            self._recent.merge(
                self._new_keys[: self._new].copy(), self._new_slots[: self._new].copy(), self.alive
            )
            self._new = 0
        if len(self._recent) >= min(RECENT_SHARE * len(self._base), RECENT_MAX):
            self._base.merge(self._recent.keys, self._recent.slots, self.alive)
            self._recent = _Sorted()

    def lookup_batch(
        self, keys: Sequence[np.ndarray], *, exclude_rowids: Sequence[int]
    ) -> BatchLookup:
        """Live slots sharing keys with each of several texts (``exclude_rowids[i]``: the
        document the ``i``-th text belongs to, left out of its results)."""
        if not keys:
            return _NO_PAIRS
        owners = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
        wanted = np.concatenate([np.asarray(k, dtype=np.int64) for k in keys])
        order = np.argsort(wanted, kind="stable")
        wanted, owners = wanted[order], owners[order]
        slot_parts, key_parts, owner_parts = [], [], []
        for tier in (self._base, self._recent):
            slots, found, whose = tier.find_owned(wanted, owners)
            slot_parts.append(slots)
            key_parts.append(found)
            owner_parts.append(whose)
        if self._new:
            new_keys = self._new_keys[: self._new]
            new_slots = self._new_slots[: self._new]
            left = np.searchsorted(wanted, new_keys, side="left")
            right = np.searchsorted(wanted, new_keys, side="right")
            lengths = right - left
            hits = np.flatnonzero(lengths)
            if len(hits):
                lengths = lengths[hits]
                positions = np.repeat(left[hits] - np.cumsum(lengths) + lengths, lengths)
                positions = positions + np.arange(int(lengths.sum()))
                slot_parts.append(np.repeat(new_slots[hits], lengths))
                key_parts.append(np.repeat(new_keys[hits], lengths))
                owner_parts.append(owners[positions])
        slots = np.concatenate(slot_parts)
        if not len(slots):
            return _NO_PAIRS
        kinds = np.concatenate(key_parts) & 1
        whose = np.concatenate(owner_parts)
        excluded = np.asarray(exclude_rowids, dtype=np.int64)[whose]
        live = self.alive[slots] & (self.rowids[slots] != excluded)
        slots, kinds, whose = slots[live], kinds[live], whose[live]
        if not len(slots):
            return _NO_PAIRS
        code = whose.astype(np.int64) * max(self.count, 1) + slots
        unique, inverse = np.unique(code, return_inverse=True)
        fingerprints = np.bincount(inverse, weights=kinds, minlength=len(unique)).astype(np.int32)
        shared = np.bincount(inverse, minlength=len(unique)).astype(np.int32)
        return BatchLookup(
            unique // max(self.count, 1),
            (unique % max(self.count, 1)).astype(np.int32),
            shared - fingerprints,
            fingerprints,
        )

    def lookup(self, keys: Sequence[int] | np.ndarray, *, exclude_rowid: int = -1) -> Lookup:
        """Live slots sharing any of ``keys`` (band keys even, fingerprints odd)."""
        wanted = np.unique(np.asarray(keys, dtype=np.int64))
        if not len(wanted):
            return _NOTHING
        base_slots, base_keys = self._base.find(wanted)
        recent_slots, recent_keys = self._recent.find(wanted)
        parts_slots, parts_keys = [base_slots, recent_slots], [base_keys, recent_keys]
        if self._new:
            new_keys = self._new_keys[: self._new]
            at = np.minimum(np.searchsorted(wanted, new_keys), len(wanted) - 1)
            hit = wanted[at] == new_keys
            parts_slots.append(self._new_slots[: self._new][hit])
            parts_keys.append(new_keys[hit])
        slots = np.concatenate(parts_slots)
        if not len(slots):
            return _NOTHING
        kinds = np.concatenate(parts_keys) & 1
        live = self.alive[slots] & (self.rowids[slots] != exclude_rowid)
        slots, kinds = slots[live], kinds[live]
        if not len(slots):
            return _NOTHING
        unique, inverse = np.unique(slots, return_inverse=True)
        fingerprints = np.bincount(inverse, weights=kinds, minlength=len(unique)).astype(np.int32)
        shared = np.bincount(inverse, minlength=len(unique)).astype(np.int32)
        return Lookup(unique, shared - fingerprints, fingerprints)


_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_KEYS = np.zeros(0, dtype=np.int64)
_NOTHING = Lookup(_NO_SLOTS, _NO_SLOTS, _NO_SLOTS)
_NO_PAIRS = BatchLookup(_NO_KEYS, _NO_SLOTS, _NO_SLOTS, _NO_SLOTS)
