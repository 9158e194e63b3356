"""The in-memory side of the LSH state: which stored sketches hold a given key.

The durable LSH state is one row per document (signature, sentence fingerprints, cluster).
Looking a new text's ~100 keys up in an SQL table of a hundred keys per document scanned
hundreds of posting rows per text at 10,000 documents, and more as the corpus grew (common
syllable pairs make common band keys). Here the postings are sorted numpy arrays, in three
tiers so that adding a sketch never re-sorts everything:

* ``_new``: the keys of the last few sketches, unsorted, in a preallocated buffer;
* ``_recent``: a sorted array the buffer is merged into every :data:`BUFFER_KEYS` keys;
* ``_base``: the big sorted tier ``_recent`` is merged into once it reaches
  :data:`RECENT_SHARE` of it (or :data:`RECENT_MAX` keys).

A lookup is a binary search of the text's keys in both sorted tiers plus a scan of the
buffer. Per slot the postings hold the signature, shingle count, number of sentence
fingerprints and the document's rowid; a re-sketched document gets a new slot and its old
one is marked dead.

Given a ``spill_directory``, the parts that grow with the index leave memory once they pass
``memory_keys`` keys / ``memory_slots`` sketches: ``_base`` becomes a
:class:`~index.postings_files.SortedKeysFile` and the signatures a
:class:`~index.postings_files.SignatureFile`, so a process indexing a long crawl keeps about
30 bytes a document (plus a Bloom filter of at most 16 MiB) in memory instead of 1.9 KB.
The cost: a lookup reads a block of the file per key the filter lets through (from the page
cache while the index fits there) and a merge rewrites the file.

It is derived data: :class:`~index.sqlite_clusters.SqliteSketchIndex` fills it from the
table on first use and follows the table's ``seq`` column afterwards, so sketches written by
other processes are picked up before each batch is clustered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.postings_files import SignatureFile, SortedKeysFile, expand_ranges, find_owned

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
#: With a spill directory: ``_base`` moves to a file past this many keys (12 bytes each) …
MEMORY_KEYS = 1_000_000
#: … and the signatures past this many sketches (4 bytes per permutation each).
MEMORY_SLOTS = 10_000


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
    """Keys sorted, with the slot of each, in memory."""

    __slots__ = ("keys", "slots")

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.slots = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.keys)

    def nbytes(self) -> int:
        return self.keys.nbytes + self.slots.nbytes

    def close(self) -> None:
        pass

    def merge(self, keys: np.ndarray, slots: np.ndarray, alive: np.ndarray) -> None:
        """Add (``keys``, ``slots``) and drop entries of dead slots."""
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        at = np.searchsorted(self.keys, keys, side="right")
        merged_keys = np.insert(self.keys, at, keys)
        merged_slots = np.insert(self.slots, at, slots)
        live = alive[merged_slots]
        self.keys, self.slots = merged_keys[live], merged_slots[live]

    def find_owned(
        self, wanted: np.ndarray, owners: np.ndarray, max_per_key: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entries whose key is in ``wanted`` (sorted; ``owners[i]`` is the text of
        ``wanted[i]``): slots, keys and owner of each (see :func:`find_owned`)."""
        return find_owned(self.keys, self.slots, wanted, owners, max_per_key)


class Postings:
    """Key -> slot postings plus per-slot sketch data (see the module docstring)."""

    def __init__(
        self,
        num_perm: int,
        *,
        spill_directory: str | Path | None = None,
        memory_keys: int | None = None,
        memory_slots: int | None = None,
    ) -> None:
        self.num_perm = num_perm
        self.count = 0
        self._spill = None if spill_directory is None else str(spill_directory)
        self._memory_keys = MEMORY_KEYS if memory_keys is None else memory_keys
        self._memory_slots = MEMORY_SLOTS if memory_slots is None else memory_slots
        self._signatures = np.zeros((1024, num_perm), dtype=np.uint32)
        self._signature_file: SignatureFile | None = None
        self.sizes = np.zeros(1024, dtype=np.int32)
        self.fingerprint_counts = np.zeros(1024, dtype=np.int32)
        self.rowids = np.zeros(1024, dtype=np.int64)
        self.alive = np.zeros(1024, dtype=bool)
        #: Slot of each rowid (-1: none); rowids are the store's, dense from 0 or 1.
        self._slot_of_rowid = np.full(1024, -1, dtype=np.int32)
        self._live = 0
        self._base: _Sorted | SortedKeysFile = _Sorted()
        self._recent = _Sorted()
        self._new_keys = np.zeros(BUFFER_KEYS, dtype=np.int64)
        self._new_slots = np.zeros(BUFFER_KEYS, dtype=np.int32)
        self._new = 0
        #: The highest ``seq`` of the table this copy has seen.
        self.seq = 0

    def __len__(self) -> int:
        return self._live

    def close(self) -> None:
        """Remove the spill files (also removed when the object is collected)."""
        self._base.close()
        if self._signature_file is not None:
            self._signature_file.close()

    def nbytes(self) -> int:
        """Memory held (the benchmark reports it); spill files are not counted."""
        arrays = (
            self._signatures,
            self.sizes,
            self.fingerprint_counts,
            self.rowids,
            self.alive,
            self._slot_of_rowid,
            self._recent.keys,
            self._recent.slots,
            self._new_keys,
            self._new_slots,
        )
        return sum(array.nbytes for array in arrays) + self._base.nbytes()

    def spilled_bytes(self) -> int:
        """Bytes of postings kept in files instead of memory."""
        keys = len(self._base) * 12 if isinstance(self._base, SortedKeysFile) else 0
        signatures = self.count * self.num_perm * 4 if self._signature_file is not None else 0
        return keys + signatures

    def signatures_of(self, slots: np.ndarray) -> np.ndarray:
        """Signatures of ``slots`` (sorted, unique), one row each."""
        if self._signature_file is not None:
            return self._signature_file.read(slots)
        return self._signatures[slots]

    def slot_of(self, rowid: int) -> int | None:
        """The live slot of the document at ``rowid``, if it has one."""
        if 0 <= rowid < len(self._slot_of_rowid) and (slot := self._slot_of_rowid[rowid]) >= 0:
            return int(slot)
        return None

    def _grow(self, needed: int) -> None:
        size = len(self.sizes)
        while size < needed:
            size *= 2
        if self._signature_file is None:
            signatures = np.zeros((size, self.num_perm), dtype=np.uint32)
            signatures[: len(self._signatures)] = self._signatures
            self._signatures = signatures
        for name in ("sizes", "fingerprint_counts", "rowids", "alive"):
            array = getattr(self, name)
            grown = np.zeros(size, dtype=array.dtype)
            grown[: len(array)] = array
            setattr(self, name, grown)

    def _claim_slots(self, rowids: Sequence[int]) -> np.ndarray:
        """New slots for ``rowids``, their old slots marked dead (a rowid given twice keeps
        the later)."""
        at = np.asarray(rowids, dtype=np.int64)
        if at.min() < 0:
            raise ValueError("rowids are never negative")
        top = int(at.max())
        if top >= len(self._slot_of_rowid):
            grown = np.full(max(2 * len(self._slot_of_rowid), top + 1), -1, dtype=np.int32)
            grown[: len(self._slot_of_rowid)] = self._slot_of_rowid
            self._slot_of_rowid = grown
        if len(at) == 1:
            distinct, latest = at, np.zeros(1, dtype=np.int64)
        else:
            distinct, from_end = np.unique(at[::-1], return_index=True)
            latest = len(at) - 1 - from_end
        old = self._slot_of_rowid[distinct]
        old = old[old >= 0]
        self.alive[old] = False
        self._live -= len(old)
        if self.count + len(at) > len(self.sizes):
            self._grow(self.count + len(at))
        slots = np.arange(self.count, self.count + len(at), dtype=np.int32)
        self.count += len(at)
        self.rowids[slots] = at
        self.alive[slots[latest]] = True
        self._slot_of_rowid[distinct] = slots[latest]
        self._live += len(distinct)
        return slots

    def _store_signatures(self, first_slot: int, rows: np.ndarray) -> None:
        spill = self._spill is not None and self.count > self._memory_slots
        if spill and self._signature_file is None:
            self._signature_file = SignatureFile(self.num_perm, self._spill)
            self._signature_file.write(0, self._signatures[:first_slot])
            self._signatures = np.zeros((0, self.num_perm), dtype=np.uint32)
        if self._signature_file is not None:
            self._signature_file.write(first_slot, rows)
        else:
            self._signatures[first_slot : first_slot + len(rows)] = rows

    def add(
        self, rowid: int, signature: np.ndarray, size: int, keys: np.ndarray, fingerprints: int
    ) -> None:
        """Index the sketch of the document at ``rowid`` (replacing an older one)."""
        slot = int(self._claim_slots([rowid])[0])
        row = signature if len(signature) else np.zeros(self.num_perm, dtype=np.uint32)
        self._store_signatures(slot, np.asarray(row, dtype=np.uint32).reshape(1, -1))
        self.sizes[slot] = size
        self.fingerprint_counts[slot] = fingerprints
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
        slots = self._claim_slots(rowids)
        self._store_signatures(int(slots[0]), signatures)
        self.sizes[slots] = sizes
        self.fingerprint_counts[slots] = fingerprints
        all_keys = np.concatenate(keys) if keys else _NO_KEYS
        owners = np.repeat(slots, [len(k) for k in keys])
        self._recent.merge(all_keys, owners, self.alive)
        self._settle()

    def remove(self, rowid: int) -> None:
        slot = self.slot_of(rowid)
        if slot is not None:
            self._slot_of_rowid[rowid] = -1
            self.alive[slot] = False
            self._live -= 1

    def _flush(self) -> None:
        if self._new:
            self._recent.merge(
                self._new_keys[: self._new].copy(), self._new_slots[: self._new].copy(), self.alive
            )
            self._new = 0
        self._settle()

    def _settle(self) -> None:
        """Merge ``_recent`` into ``_base`` when it has grown enough, moving ``_base`` to a
        file once it passes ``memory_keys``."""
        if len(self._recent) < min(RECENT_SHARE * len(self._base), RECENT_MAX):
            return
        if (
            self._spill is not None
            and isinstance(self._base, _Sorted)
            and len(self._base) + len(self._recent) > self._memory_keys
        ):
            spilled = SortedKeysFile(self._spill)
            spilled.merge(self._base.keys, self._base.slots, self.alive)
            self._base = spilled
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
            slots, found, whose = tier.find_owned(wanted, owners, MAX_POSTINGS_PER_KEY)
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
                positions = expand_ranges(left[hits], lengths)
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
        found = self.lookup_batch([wanted], exclude_rowids=[exclude_rowid])
        return Lookup(found.slots, found.bands, found.fingerprints)


_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_KEYS = np.zeros(0, dtype=np.int64)
_NO_PAIRS = BatchLookup(_NO_KEYS, _NO_SLOTS, _NO_SLOTS, _NO_SLOTS)
