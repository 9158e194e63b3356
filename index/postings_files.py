"""The parts of the LSH postings that grow with the index, kept in files instead of memory.

:class:`~index.sketch_postings.Postings` keeps about a hundred keys and a 128-number
signature per stored document: 1.9 KB a document in memory, so a process that indexes a
long crawl grew with the index. Past a size, the big sorted tier of keys and the signatures
move here:

* :class:`SortedKeysFile`: (key, slot) records sorted by key, with the first key of every
  :data:`BLOCK` records and a one-hash Bloom filter (:data:`FILTER_BITS` bits a key) in
  memory. A lookup reads, for each key the filter lets through, the block or blocks its
  entries can be in (one ``pread`` per run of adjacent blocks); most of a new text's keys are
  held by no stored sketch, and the filter turns most of those reads away. A merge streams
  the old file and the new sorted keys into a new file, :data:`MERGE_CHUNK` records at a time.
* :class:`SignatureFile`: one fixed-size row per slot, read for the few candidates a text
  is compared with.

Both are anonymous temporary files (removed by the system when closed or when the process
ends) in the directory given, the store's own by default: they hold derived data, rebuilt
from the durable table by the next process. Reads go through ``pread``, not ``mmap``: pages of
a mapped file a process has read count in its RSS, and the point is to keep that flat.
"""

from __future__ import annotations

import os
import tempfile
from itertools import repeat
from typing import IO

import numpy as np

__all__ = [
    "BLOCK",
    "MERGE_CHUNK",
    "SignatureFile",
    "SortedKeysFile",
    "expand_ranges",
    "find_owned",
]

#: Records per block; the first key of each block stays in memory (8 bytes per block).
BLOCK = 128
#: Records of the old file read at a time while merging.
MERGE_CHUNK = 1 << 20
#: Bloom filter bits per key at least (one hash: about one absent key in nine gets through)
#: up to :data:`FILTER_MAX_BYTES`; past that, more absent keys get through as the index grows.
FILTER_BITS = 8
FILTER_MAX_BYTES = 1 << 24
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads the keys' bits
_RECORD = np.dtype([("key", "<i8"), ("slot", "<i4")])

_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_KEYS = np.zeros(0, dtype=np.int64)


def expand_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``starts[0] .. starts[0] + lengths[0] - 1``, then the next range, … as one array."""
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))


def find_owned(
    keys: np.ndarray,
    slots: np.ndarray,
    wanted: np.ndarray,
    owners: np.ndarray,
    max_per_key: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries of the sorted (``keys``, ``slots``) whose key is in ``wanted`` (sorted;
    ``owners[i]`` is the text of ``wanted[i]``): slots, keys and owner of each, at most the
    last ``max_per_key`` entries of a key (entries of a key are oldest first)."""
    if not len(keys) or not len(wanted):
        return _NO_SLOTS, _NO_KEYS, _NO_KEYS
    left = np.searchsorted(keys, wanted, side="left")
    present = keys[np.minimum(left, len(keys) - 1)] == wanted
    if not present.any():
        return _NO_SLOTS, _NO_KEYS, _NO_KEYS
    left = left[present]
    # Most keys are absent: search the ends only of those that are there.
    right = np.searchsorted(keys, wanted[present], side="right")
    left = np.maximum(left, right - max_per_key)
    lengths = right - left
    positions = expand_ranges(left, lengths)
    return slots[positions], keys[positions], np.repeat(owners[present], lengths)


def _runs(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (inclusive) of the runs of consecutive values in sorted ``numbers``."""
    breaks = np.flatnonzero(np.diff(numbers) != 1)
    starts = numbers[np.concatenate([[0], breaks + 1])]
    ends = numbers[np.concatenate([breaks, [len(numbers) - 1]])]
    return starts, ends


def _pread_many(fd: int, sizes: np.ndarray, offsets: np.ndarray) -> bytes:
    """The byte ranges (``sizes[i]`` at ``offsets[i]``) of the file ``fd``, concatenated."""
    sizes_list, offsets_list = sizes.tolist(), offsets.tolist()
    data = b"".join(map(os.pread, repeat(fd, len(sizes_list)), sizes_list, offsets_list))
    if len(data) == sum(sizes_list):
        return data
    parts = []  # a short read: regular files rarely give one, but may
    for size, offset in zip(sizes_list, offsets_list, strict=True):
        part = os.pread(fd, size, offset)
        while len(part) < size and (more := os.pread(fd, size - len(part), offset + len(part))):
            part += more
        if len(part) < size:
            raise OSError(f"the postings file ends before byte {offset + size}")
        parts.append(part)
    return b"".join(parts)


class _BloomFilter:
    """A one-hash Bloom filter of int64 keys: no false negatives, few false positives."""

    __slots__ = ("_bytes", "_shift")

    def __init__(self, capacity: int) -> None:
        bits = max(3, int(FILTER_BITS * capacity - 1).bit_length())  # a power of two
        bits = min(bits, FILTER_MAX_BYTES.bit_length() - 1 + 3)
        self._shift = np.uint64(64 - bits)
        self._bytes = np.zeros(1 << (bits - 3), dtype=np.uint8)

    def fits(self, capacity: int) -> bool:
        """Whether ``capacity`` keys get their bits a key here (or it is as big as it gets)."""
        bits = 8 * len(self._bytes)
        return bits >= FILTER_BITS * capacity or len(self._bytes) >= FILTER_MAX_BYTES

    @property
    def nbytes(self) -> int:
        return self._bytes.nbytes

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * _MIX) >> self._shift).astype(np.int64)

    def add(self, keys: np.ndarray) -> None:
        positions = np.sort(self._positions(keys))  # (np.unique hashes: far slower here)
        at = positions >> 3
        starts = np.flatnonzero(np.diff(at, prepend=-1))
        bits = np.left_shift(1, positions & 7).astype(np.uint8)
        self._bytes[at[starts]] |= np.bitwise_or.reduceat(bits, starts)

    def holds(self, keys: np.ndarray) -> np.ndarray:
        positions = self._positions(keys)
        return (self._bytes[positions >> 3] >> (positions & 7).astype(np.uint8)) & 1 == 1


class SortedKeysFile:
    """(key, slot) records sorted by key in a temporary file (see the module docstring)."""

    __slots__ = ("_count", "_directory", "_fences", "_file", "_filter")

    def __init__(self, directory: str | None) -> None:
        self._directory = directory
        self._file: IO[bytes] | None = None
        #: The first key of each block.
        self._fences = _NO_KEYS
        self._count = 0
        self._filter = _BloomFilter(0)

    def __len__(self) -> int:
        return self._count

    def nbytes(self) -> int:
        """Memory held (the file's size is not)."""
        return self._fences.nbytes + self._filter.nbytes

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _read(self, start: int, count: int) -> np.ndarray:
        assert self._file is not None
        size = _RECORD.itemsize
        data = _pread_many(self._file.fileno(), np.array([count * size]), np.array([start * size]))
        return np.frombuffer(data, dtype=_RECORD)

    def merge(self, keys: np.ndarray, slots: np.ndarray, alive: np.ndarray) -> None:
        """Add (``keys``, ``slots``) and drop entries of dead slots: the old file and the new
        keys are merged into a new file, a chunk at a time (equal keys: old entries first)."""
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        live = alive[slots]
        keys, slots = keys[live], slots[live]
        target = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 (kept open: becomes self._file)
        fences: list[np.ndarray] = []
        written = 0
        # The filter is rebuilt when the keys outgrow it, else the new keys are added to it
        # (dead entries' keys stay in it: a few more absent keys get through).
        rebuild = not self._filter.fits(self._count + len(keys))
        bloom = _BloomFilter(self._count + len(keys)) if rebuild else self._filter

        def write(chunk_keys: np.ndarray, chunk_slots: np.ndarray) -> None:
            nonlocal written
            if not len(chunk_keys):
                return
            records = np.empty(len(chunk_keys), dtype=_RECORD)
            records["key"] = chunk_keys
            records["slot"] = chunk_slots
            target.write(records.tobytes())
            if rebuild:
                bloom.add(chunk_keys)
            fences.append(chunk_keys[(-written) % BLOCK :: BLOCK])
            written += len(chunk_keys)

        try:
            taken = 0
            for start in range(0, self._count, MERGE_CHUNK):
                records = self._read(start, min(MERGE_CHUNK, self._count - start))
                old_keys, old_slots = records["key"], records["slot"]
                # New keys equal to the chunk's last wait: the next chunk may hold more old ones.
                until = int(np.searchsorted(keys, old_keys[-1], side="left"))
                new_keys, new_slots = keys[taken:until], slots[taken:until]
                taken = until
                kept = alive[old_slots]
                old_keys, old_slots = old_keys[kept], old_slots[kept]
                at = np.searchsorted(old_keys, new_keys, side="right")
                write(np.insert(old_keys, at, new_keys), np.insert(old_slots, at, new_slots))
            write(keys[taken:], slots[taken:])
            target.flush()
            if not rebuild:
                bloom.add(keys)
        except BaseException:
            target.close()
            raise
        self.close()
        self._file = target
        self._fences = np.concatenate(fences) if fences else _NO_KEYS
        self._count = written
        self._filter = bloom

    def find_owned(
        self, wanted: np.ndarray, owners: np.ndarray, max_per_key: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`find_owned` over the file: reads the blocks ``wanted``'s keys can be in."""
        if not self._count or not len(wanted):
            return _NO_SLOTS, _NO_KEYS, _NO_KEYS
        maybe = self._filter.holds(wanted)
        wanted, owners = wanted[maybe], owners[maybe]
        # A key's entries end in the last block starting at or before it, and may start in
        # the block before the first one starting at it.
        last = np.searchsorted(self._fences, wanted, side="right") - 1
        first = np.searchsorted(self._fences, wanted, side="left") - 1
        first = np.maximum(first, last - (max_per_key + BLOCK - 1) // BLOCK)
        first = np.maximum(first, 0)
        keep = last >= 0
        if not keep.any():
            return _NO_SLOTS, _NO_KEYS, _NO_KEYS
        first, last = first[keep], last[keep]
        blocks = np.sort(expand_ranges(first, last - first + 1))  # (np.unique hashes: slower here)
        starts, ends = _runs(blocks[np.diff(blocks, prepend=-1) != 0])
        assert self._file is not None
        size = _RECORD.itemsize
        ends = np.minimum((ends + 1) * BLOCK, self._count)
        # Ascending blocks: the records read are still sorted by key.
        data = _pread_many(
            self._file.fileno(), (ends - starts * BLOCK) * size, starts * BLOCK * size
        )
        records = np.frombuffer(data, dtype=_RECORD)
        return find_owned(records["key"], records["slot"], wanted, owners, max_per_key)


class SignatureFile:
    """One ``width``-number signature row per slot, in a temporary file."""

    __slots__ = ("_file", "_width")

    def __init__(self, width: int, directory: str | None) -> None:
        self._width = width
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by close())

    @property
    def _row_bytes(self) -> int:
        return 4 * self._width

    def close(self) -> None:
        self._file.close()

    def write(self, first_slot: int, rows: np.ndarray) -> None:
        """Store ``rows`` for slots ``first_slot``, ``first_slot + 1``, …"""
        data = np.ascontiguousarray(rows, dtype="<u4").tobytes()
        os.pwrite(self._file.fileno(), data, first_slot * self._row_bytes)

    def read(self, slots: np.ndarray) -> np.ndarray:
        """The rows of ``slots`` (sorted, unique), one ``pread`` per run of adjacent slots."""
        if not len(slots):
            return np.zeros((0, self._width), dtype=np.uint32)
        starts, ends = _runs(np.asarray(slots, dtype=np.int64))
        row = self._row_bytes
        data = _pread_many(self._file.fileno(), (ends - starts + 1) * row, starts * row)
        return np.frombuffer(data, dtype="<u4").reshape(-1, self._width).astype(np.uint32)
