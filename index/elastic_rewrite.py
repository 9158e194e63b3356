"""Changing a few fields of stored documents on Elasticsearch without losing their search copies.

The documents index keeps its search copies (``title_x``, ``text_f``...) out of ``_source``
(``config/elasticsearch/documents.json``), so a partial ``update`` - which re-indexes the
stored ``_source`` - would drop them, and the document would no longer match words typed
with or without diacritics. Here each document is read, changed, and written again through
:func:`~index.elastic_dsl.document_source`, which recomputes every copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from elasticsearch import Elasticsearch, helpers

from index.elastic_dsl import document_from_source, document_source
from index.errors import BulkIndexError

__all__ = ["rewrite_documents"]

_CHUNK = 500


def rewrite_documents(
    client: Elasticsearch,
    alias: str,
    changes: Mapping[str, Mapping[str, Any]],
    *,
    refresh: Any = False,
) -> int:
    """Set ``changes[doc_id]`` (Document field -> value) on each stored document; ids not
    stored are skipped. Each write is conditional on the version read, retried once on a
    conflict (a second conflict raises :class:`BulkIndexError`). Returns the number
    rewritten."""
    written = 0
    ids = list(changes)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for _attempt in range(2):
            found = client.mget(index=alias, ids=chunk)
            actions = []
            for hit in found["docs"]:
                if not hit.get("found"):
                    continue
                stored = hit["_source"]
                doc = document_from_source(stored)
                for name, value in changes[hit["_id"]].items():
                    setattr(doc, name, value)
                first_seen = (stored.get("raw_dates") or {}).get("first_seen")
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": hit["_index"],
                        "_id": hit["_id"],
                        "_source": document_source(doc, first_seen=first_seen),
                        "if_seq_no": hit["_seq_no"],
                        "if_primary_term": hit["_primary_term"],
                    }
                )
            conflicts, errors = [], []
            for ok, outcome in helpers.streaming_bulk(
                client, actions, raise_on_error=False, max_retries=3, refresh=refresh
            ):
                result = outcome["index"]
                if ok:
                    written += 1
                elif result.get("status") == 409:
                    conflicts.append(result["_id"])
                else:
                    errors.append((str(result.get("_id")), str(result.get("error"))))
            if errors:
                raise BulkIndexError(f"{len(errors)} documents not rewritten", errors)
            if not conflicts:
                break
            chunk = conflicts  # someone wrote them meanwhile: read again, once
        else:
            raise BulkIndexError(
                f"{len(conflicts)} documents changed twice while being rewritten",
                [(doc_id, "version conflict") for doc_id in conflicts],
            )
    return written
