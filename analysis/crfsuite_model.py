"""The attribute names a CRFsuite model file knows, read from its bytes.

A CRF tagger scores a token by the weights of the attributes (feature strings) it knows and
skips the others; in underthesea's models most strings a template builds for ordinary text
(word bigrams, rare words) are unknown. Handing the tagger only known strings gives the
same tags for about half the tagging cost (see :mod:`analysis.crf_features`).

Layout (CRFsuite ``crf1d`` model, little-endian): a header with the offset of the attribute
dictionary, a "CQDB" chunk whose backward array points at one record per attribute id:
``int32 id, uint32 size, size bytes of UTF-8 name ending in NUL``.
"""

from __future__ import annotations

import struct

__all__ = ["model_attributes"]

_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_CQDB = struct.Struct("<4sIIIII")
_RECORD = struct.Struct("<iI")
_OFFSET = struct.Struct("<I")


def model_attributes(data: bytes) -> frozenset[str]:
    """Every attribute name in a CRFsuite model (the bytes of its ``.bin`` file).

    Raises ``ValueError`` when ``data`` is not such a model, or the dictionary does not hold
    as many names as the header says: a partial set would silently drop known features.
    """
    try:
        magic, _size, kind, _version, _features, _labels, count, *offsets = _HEADER.unpack_from(
            data, 0
        )
        if magic != b"lCRF" or kind != b"FOMC":
            raise ValueError("not a CRFsuite model (magic bytes)")
        base = offsets[2]  # features, labels, attributes, label refs, attribute refs
        chunk, _chunk_size, _flag, _order, names, backward = _CQDB.unpack_from(data, base)
        if chunk != b"CQDB":
            raise ValueError("attribute dictionary is not a CQDB chunk")
        found: dict[int, str] = {}
        for position in range(names):
            (record,) = _OFFSET.unpack_from(data, base + backward + 4 * position)
            if not record:
                continue
            ident, size = _RECORD.unpack_from(data, base + record)
            start = base + record + _RECORD.size
            if size < 1 or start + size > len(data) or data[start + size - 1] != 0:
                raise ValueError(f"attribute record {position} is malformed")
            found[ident] = data[start : start + size - 1].decode("utf-8")
    except struct.error as exc:
        raise ValueError(f"CRFsuite model is truncated: {exc}") from exc
    if len(found) != count or set(found) != set(range(count)):
        raise ValueError(f"attribute dictionary holds {len(found)} names, header says {count}")
    return frozenset(found.values())
