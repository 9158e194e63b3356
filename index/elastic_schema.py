"""Index layout of the Elasticsearch store: versioned indices behind aliases.

Each kind of record (``documents``, ``sites``, ``review``, ``audit``, ``subjects``, ``cases``,
``tips``) lives in an index named
``<prefix>-<kind>-v<version>`` reached through the alias ``<prefix>-<kind>``; the store only
ever talks to aliases. Settings and mappings are JSON files in ``config/elasticsearch/``
(``_meta.schema_version`` is the version).

A schema change ships as an edited JSON file with a higher ``schema_version``;
:func:`migrate_schema` creates the new index, copies every record into it client-side
(``helpers.scan`` + bulk: the integ-test distribution has no reindex module, and a
``transform`` may recompute derived fields), then moves the alias in one atomic
``_aliases`` call, so readers see either the old or the new index, never a half-copied one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers

from config import BUNDLED_DIR
from index.errors import BulkIndexError

__all__ = [
    "KINDS",
    "SCHEMA_DIR",
    "IndexNames",
    "MigrationReport",
    "current_index",
    "ensure_indices",
    "load_schema",
    "migrate_schema",
    "schema_version",
]

KINDS = (
    "documents",
    "sites",
    "review",
    "audit",
    "evidence",
    "checks",
    "watches",
    "subjects",
    "cases",
    "tips",
    "sketches",
    "watch_queries",
    "alerts",
)
SCHEMA_DIR = BUNDLED_DIR / "elasticsearch"
_PREFIX = re.compile(r"[a-z0-9][a-z0-9_\-]{0,200}")


def load_schema(kind: str, schema_dir: Path = SCHEMA_DIR) -> dict[str, Any]:
    """``{"settings": ..., "mappings": ...}`` for ``kind`` from its JSON file."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r} (known: {', '.join(KINDS)})")
    return json.loads((schema_dir / f"{kind}.json").read_text(encoding="utf-8"))


def schema_version(body: dict[str, Any]) -> int:
    return int(body["mappings"]["_meta"]["schema_version"])


@dataclass(frozen=True, slots=True)
class IndexNames:
    """Alias and concrete index names for one prefix (one store)."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(
                f"index prefix {self.prefix!r} must be lower-case letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def index(self, kind: str, version: int) -> str:
        return f"{self.prefix}-{kind}-v{version}"

    def pattern(self) -> str:
        """Every concrete index of this prefix (for ``drop``)."""
        return ",".join(f"{self.prefix}-{kind}-v*" for kind in KINDS)


def current_index(client: Elasticsearch, alias: str) -> str | None:
    """The concrete index behind ``alias`` (``None`` if the alias does not exist)."""
    try:
        found = client.indices.get_alias(name=alias)
    except NotFoundError:
        return None
    names = sorted(found.body)
    return names[-1] if names else None


def ensure_indices(
    client: Elasticsearch, names: IndexNames, schema_dir: Path = SCHEMA_DIR
) -> dict[str, str]:
    """Create every missing index with its alias (in one call each); map alias -> index.

    The creations run concurrently (the master batches them into fewer cluster-state
    updates, which roughly halves the time for a fresh prefix). Safe to run from several
    processes at once: losing a creation race is fine.
    """

    def ensure(kind: str) -> tuple[str, str]:
        alias = names.alias(kind)
        existing = current_index(client, alias)
        if existing is None:
            body = load_schema(kind, schema_dir)
            index = names.index(kind, schema_version(body))
            try:
                client.indices.create(
                    index=index,
                    settings=body["settings"],
                    mappings=body["mappings"],
                    aliases={alias: {"is_write_index": True}},
                )
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise  # another process won the race: fine; anything else is not
            existing = current_index(client, alias) or index
        return alias, existing

    with ThreadPoolExecutor(max_workers=len(KINDS)) as pool:
        return dict(pool.map(ensure, KINDS))


@dataclass(frozen=True, slots=True)
class MigrationReport:
    alias: str
    old_index: str | None
    new_index: str
    copied: int


def migrate_schema(
    client: Elasticsearch,
    names: IndexNames,
    kind: str,
    body: dict[str, Any] | None = None,
    *,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    delete_old: bool = False,
    chunk_size: int = 500,
) -> MigrationReport:
    """Move ``kind`` to the schema ``body`` (default: its JSON file) behind the same alias.

    Creates ``<prefix>-<kind>-v<N>`` (N = the body's ``schema_version``), copies every
    record (``transform`` may rewrite each ``_source``), refreshes, then switches the alias
    atomically. Writes made to the old index during the copy are not carried over: stop
    writers (or spool them, see :mod:`index.spool`) while migrating. Nothing happens when
    the alias already points at version N.
    """
    body = body or load_schema(kind)
    alias = names.alias(kind)
    new_index = names.index(kind, schema_version(body))
    old_index = current_index(client, alias)
    if old_index == new_index:
        return MigrationReport(alias, old_index, new_index, 0)
    client.indices.create(index=new_index, settings=body["settings"], mappings=body["mappings"])
    copied = 0
    if old_index is not None:
        actions = (
            {
                "_op_type": "index",
                "_index": new_index,
                "_id": hit["_id"],
                "_source": transform(hit["_source"]) if transform else hit["_source"],
            }
            for hit in helpers.scan(client, index=old_index, query={"query": {"match_all": {}}})
        )
        errors: list[tuple[str, str]] = []
        for ok, item in helpers.streaming_bulk(
            client, actions, chunk_size=chunk_size, raise_on_error=False, max_retries=3
        ):
            result = item["index"]
            if ok:
                copied += 1
            else:
                errors.append((str(result.get("_id")), str(result.get("error"))))
        if errors:
            raise BulkIndexError(
                f"{len(errors)} records failed to copy from {old_index} to {new_index}; "
                f"the alias still points at {old_index}",
                errors,
            )
    client.indices.refresh(index=new_index)
    actions_: list[dict[str, Any]] = [
        {"add": {"index": new_index, "alias": alias, "is_write_index": True}}
    ]
    if old_index is not None:
        actions_.insert(0, {"remove": {"index": old_index, "alias": alias}})
    client.indices.update_aliases(actions=actions_)
    if delete_old and old_index is not None:
        client.indices.delete(index=old_index)
    return MigrationReport(alias, old_index, new_index, copied)
