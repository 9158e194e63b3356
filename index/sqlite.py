"""The embedded default store: one SQLite file with FTS5 full-text search.

One class owns the connections (as Datasette's ``Database`` does): every write goes
through a single write connection inside a transaction; searches and reads use a separate
read-only connection (WAL mode lets them run while a crawl writes) under a time limit,
so a pathological query cannot hang the web UI. A search finds its matches once, into a
temp table on the read connection, and reads its page of hits from that set
(:class:`~index.sqlite_sql.StagedSQL`); facets and histogram count the set in memory
(:mod:`index.sqlite_docvalues`), all in one read transaction. SQL comes from the pure builders in
:mod:`index.sqlite_sql`; the schema from the named migrations in :mod:`index.sqlite_schema`;
review queues from :mod:`index.sqlite_review`. ``sqlite3`` errors are mapped to
:mod:`index.errors` here, at the boundary.

Size: the ``Store`` contract's methods for SQLite, each a thin transaction around SQL from
the builders; splitting the class would split one connection's lifecycle.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np

from analysis.folding import fold_diacritics
from index import sqlite_clusters, sqlite_review
from index.clusters import (
    DEFAULT_SETTINGS,
    Assignment,
    Clusterer,
    ClusterSettings,
    sketch_ahead,
)
from index.documents import FACET_FIELDS, Document, refuse_site_changes
from index.errors import (
    NotFound,
    QuerySyntaxError,
    QueryTooExpensive,
    SearchError,
    StoreUnavailable,
)
from index.query import (
    bucket_start,
    fill_histogram,
    highlight_terms,
    make_snippet,
    parse_query,
    to_utc_and_local_day,
    to_utc_iso,
)
from index.review import AuditEntry, ReviewItem, utcnow
from index.sketch_postings import Postings
from index.sqlite_cases import SqliteCases, SqliteCaseTransfer, register_documents
from index.sqlite_docvalues import DocValues, log_changes, trim_change_log
from index.sqlite_evidence import SqliteEvidence
from index.sqlite_schema import migrate
from index.sqlite_spread import SqliteSpread
from index.sqlite_sql import (
    CLEAR_MATCHED,
    CREATE_MATCHED,
    DOCUMENT_COLUMNS,
    JSON_COLUMNS,
    MATCHED_TABLE,
    SearchSQL,
    document_from_row,
    quote_identifier,
    search_sql,
)
from index.store import Bucket, Hit, SearchRequest, SearchResponse, UpsertResult

__all__ = ["DEFAULT_BUSY_TIMEOUT", "DEFAULT_TIME_LIMIT", "SqliteStore"]

#: Seconds a read query may run before it is interrupted.
DEFAULT_TIME_LIMIT = 5.0
#: SQLite virtual-machine steps between two looks at the clock. Few steps can be slow ones
#: (an FTS5 rank over many phrases is one step per row), so the clock is read often.
PROGRESS_STEPS = 1000
#: Milliseconds a writer waits for a lock held by another process.
DEFAULT_BUSY_TIMEOUT = 10_000
#: Documents per executemany batch (all batches of one upsert share one transaction).
BATCH_SIZE = 1000
#: Page cache per connection, in KiB (the default 2 MiB makes large FTS writes slow).
CACHE_KIB = 65_536
#: Bytes of the database file memory-mapped per connection: reading a documents row then
#: costs no copy into the page cache.
MMAP_BYTES = 1 << 30
#: WAL pages written before a commit copies them back into the database file (SQLite's
#: default is 1000). Bulk indexing rewrites the same FTS5 and index pages in every batch;
#: checkpointing every 64 MiB instead of every 4 MiB copies each of them back far fewer
#: times (commits took ~35% less CPU at 100k documents). The WAL file grows to about that.
WAL_AUTOCHECKPOINT_PAGES = 16_384
#: Rows fetched per step while scanning.
SCAN_PAGE = 500
_FTS_INSERT = (
    "INSERT INTO documents_fts (rowid, title, text, author, title_f, text_f, author_f) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_FTS_DELETE = (
    "INSERT INTO documents_fts "
    "(documents_fts, rowid, title, text, author, title_f, text_f, author_f) "
    "VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)"
)
_STORED_COLUMNS = (
    *DOCUMENT_COLUMNS,
    "published_utc",
    "published_day",
    "fetched_utc",
    "covid_score",
    "claim_score",
    "max_score",
)
# On update: keep first_seen, a review decision and the cluster (the clustering step after
# the write owns it); bump version.
_UPSERT = (
    f"INSERT INTO documents ({', '.join(map(quote_identifier, _STORED_COLUMNS))}) "
    f"VALUES ({', '.join('?' * len(_STORED_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(
        f"{quote_identifier(name)} = excluded.{quote_identifier(name)}"
        for name in _STORED_COLUMNS
        if name not in ("id", "first_seen", "review_status", "cluster_id")
    )
    + ", first_seen = COALESCE(documents.first_seen, excluded.first_seen)"
    + ", review_status = CASE WHEN documents.review_status != 'none' "
    "THEN documents.review_status ELSE excluded.review_status END"
    + ", version = documents.version + 1"
)


# One encoder for every row: json.dumps with options builds a new encoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def _json(value: Any) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return _ENCODE(value)


_DOCUMENT_FIELDS = attrgetter(*DOCUMENT_COLUMNS)
_JSON_POSITIONS = tuple(DOCUMENT_COLUMNS.index(name) for name in JSON_COLUMNS)
_FIRST_SEEN = DOCUMENT_COLUMNS.index("first_seen")


def _row_values(doc: Document) -> tuple[Any, ...]:
    # One attrgetter call, not dataclasses.asdict (which deep-copies and was half the
    # indexing time) nor a getattr per column.
    values = list(_DOCUMENT_FIELDS(doc))
    for position in _JSON_POSITIONS:
        values[position] = _json(values[position])
    values[_FIRST_SEEN] = values[_FIRST_SEEN] or doc.fetched_at
    covid = doc.scores.get("covid")
    claim = doc.scores.get("claim")
    covid = None if covid is None else float(covid)
    claim = None if claim is None else float(claim)
    published_utc, published_day = to_utc_and_local_day(doc.published_at)
    values += (
        published_utc,
        published_day,
        to_utc_iso(doc.fetched_at),
        covid,
        claim,
        claim if covid is None else covid if claim is None else max(covid, claim),
    )
    return tuple(values)


_COUNTED = ("source", "site", "kind", "published_day")
_COUNTED_POSITIONS = tuple(_STORED_COLUMNS.index(name) for name in _COUNTED)


def _count_rows(
    conn: sqlite3.Connection, old: list[tuple[Any, ...]], new: list[tuple[Any, ...]]
) -> None:
    """Move documents in ``facet_counts`` and ``day_counts`` from their ``old`` values
    (source, site, kind, published_day; replaced rows) to the ``new`` ones (written rows).

    Kept here, a batch at a time, rather than by triggers: see migration 0008.
    """
    facets: Counter[tuple[Any, ...]] = Counter()
    days: Counter[str] = Counter()
    for rows, step in ((old, -1), (new, 1)):
        for source, site, kind, day in rows:
            facets[(source, site, kind)] += step
            if day is not None:
                days[day] += step
    conn.executemany(
        "INSERT INTO facet_counts (source, site, kind, n) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET n = n + excluded.n",
        [(*key, n) for key, n in facets.items() if n],
    )
    conn.executemany(
        "INSERT INTO day_counts (day, n) VALUES (?, ?) "
        "ON CONFLICT DO UPDATE SET n = n + excluded.n",
        [(day, n) for day, n in days.items() if n],
    )


def _fts_values(rowid: int, title: str, text: str, author: str) -> tuple[Any, ...]:
    return (
        rowid,
        title,
        text,
        author,
        fold_diacritics(title),
        fold_diacritics(text),
        fold_diacritics(author),
    )


@contextmanager
def _read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One snapshot for every statement of a search (and its doc-values refresh)."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _rowid_array(conn: sqlite3.Connection, sql: str, params: Any = ()) -> np.ndarray:
    """The rowids that ``sql`` (one ``group_concat`` of them) lists.

    One comma-separated string parsed by numpy costs a third of fetching one row per match.
    """
    listed = conn.execute(sql, params).fetchone()[0]
    if not listed:
        return np.zeros(0, np.int64)
    return np.fromstring(listed, dtype=np.int64, sep=",")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _mapped_errors(time_limit: float | None = None) -> Iterator[None]:
    """Translate ``sqlite3`` errors into the index error tree, raised from the original."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "interrupted" in message:
            limit = f"{time_limit:g} s" if time_limit else "its time limit"
            raise QueryTooExpensive(
                f"query too expensive: it ran longer than {limit} and was stopped; "
                "narrow it down (fewer terms, a date range or a filter)"
            ) from exc
        if "fts5" in message or "MATCH" in message:
            raise QuerySyntaxError(f"full-text query rejected: {message}") from exc
        if "locked" in message or "unable to open" in message or "busy" in message:
            raise StoreUnavailable(f"SQLite store unavailable: {message}") from exc
        raise SearchError(f"SQLite error: {message}") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreUnavailable(f"SQLite store unusable: {exc}") from exc


class SqliteStore(SqliteSpread, SqliteCases, SqliteCaseTransfer):
    """The :class:`~index.store.Store` on one SQLite file (``":memory:"`` for tests), with
    near-duplicate clusters, travelling verdicts and watch alerts (:class:`SqliteSpread`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        busy_timeout: int = DEFAULT_BUSY_TIMEOUT,
        clusters: ClusterSettings | None = DEFAULT_SETTINGS,
        mmap_bytes: int = MMAP_BYTES,
    ) -> None:
        """``mmap_bytes``: how much of the file each connection maps (0: none). Mapped pages
        a process has read count in its RSS, so a writer that mostly writes (a crawl) maps
        none: its memory then stays bounded by the page caches whatever the index's size."""
        self.path = str(path)
        self.mmap_bytes = int(mmap_bytes)
        #: Near-duplicate clustering at write time (``None`` or disabled settings: off).
        self.clusterer = Clusterer(clusters) if clusters is not None and clusters.enabled else None
        #: Which sketches hold which LSH key, in memory (filled on the first write).
        self._postings: Postings | None = None
        self.time_limit = time_limit
        self._memory = self.path == ":memory:"
        self._write_lock = threading.RLock()
        self._read_lock = threading.RLock()
        with _mapped_errors():
            if not self._memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._write = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._write.execute(f"PRAGMA busy_timeout = {int(busy_timeout)}")
            if not self._memory:
                self._write.execute("PRAGMA journal_mode = WAL")
                self._write.execute("PRAGMA synchronous = NORMAL")
                self._write.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            self._write.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            # The system SQLite may be built with SECURE_DELETE: zeroing every freed page
            # (FTS5 segment merges free many) is pure overhead here.
            self._write.execute("PRAGMA secure_delete = OFF")
            self._write.execute(f"PRAGMA mmap_size = {self.mmap_bytes}")
            migrate(self._write)
            if self.clusterer is not None:
                sqlite_clusters.init_state(self._write, self.clusterer.settings)
            if self._memory:
                self._read = self._write
            else:
                uri = Path(self.path).resolve().as_uri() + "?mode=ro"
                self._read = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
                self._read.execute(f"PRAGMA busy_timeout = {int(busy_timeout)}")
                self._read.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
                self._read.execute(f"PRAGMA mmap_size = {self.mmap_bytes}")
            # Searches materialise matching rowids; keep those scratch tables in memory.
            self._read.execute("PRAGMA temp_store = MEMORY")
        self._doc_values = DocValues()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # -- connections ---------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The write connection inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error)."""
        with self._write_lock, _mapped_errors():
            conn = self._write
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The read-only connection, interrupted after ``time_limit`` seconds (every read of
        the store runs in it; callers may run their own SELECTs the same way)."""
        lock = self._write_lock if self._memory else self._read_lock
        with lock, _mapped_errors(self.time_limit):
            conn = self._read
            deadline = time.monotonic() + self.time_limit
            conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            try:
                yield conn
            finally:
                conn.set_progress_handler(None, 0)

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._drop_postings()
            if not self._memory:
                self._read.close()
            self._write.close()

    def drop(self) -> None:
        """Close and delete the database file (tests); a memory store is just closed."""
        self.close()
        if not self._memory:
            for suffix in ("", "-wal", "-shm"):
                Path(self.path + suffix).unlink(missing_ok=True)

    # -- writes --------------------------------------------------------------------------

    def upsert(self, documents: Iterable[Document]) -> UpsertResult:
        """Insert or replace documents by id in one transaction.

        Re-crawls keep ``first_seen`` and a review decision (``review_status`` other than
        "none"); full-text rows are rewritten only when title, text or author changed.
        Flagged documents enter their review queues (see :mod:`index.review`).
        """
        result = UpsertResult()
        now = utcnow()
        assignments: list[Assignment] = []
        written: list[str] = []  # ids only: a bulk load of any size keeps no documents
        try:
            self._write_documents(documents, result, now, assignments, written)
        except BaseException:
            self._drop_postings()  # they may hold sketches the rollback took back
            raise
        self._after_upsert(written, assignments)
        return result

    def _write_documents(
        self,
        documents: Iterable[Document],
        result: UpsertResult,
        now: datetime,
        assignments: list[Assignment],
        written: list[str],
    ) -> None:
        with self._transaction() as conn:
            batch: dict[str, Document] = {}
            for doc in documents:
                batch[doc.id] = doc
                if len(batch) >= BATCH_SIZE:
                    assignments += self._upsert_batch(conn, list(batch.values()), result, now)
                    written += batch
                    batch = {}
            if batch:
                assignments += self._upsert_batch(conn, list(batch.values()), result, now)
                written += batch
            trim_change_log(conn)

    def _after_upsert(self, doc_ids: list[str], assignments: list[Assignment]) -> None:
        """What a write sets off once committed: copies of decided rumours go to the claim
        queue, watch queries raise alerts (:mod:`index.spread`, :mod:`index.watches`)."""
        from index.spread import after_upsert

        after_upsert(self, doc_ids, assignments)

    def _upsert_batch(
        self, conn: sqlite3.Connection, docs: list[Document], result: UpsertResult, now: datetime
    ) -> list[Assignment]:
        marks = ", ".join("?" * len(docs))
        existing: dict[str, tuple[Any, ...]] = {}
        counted_by_id: dict[str, tuple[Any, ...]] = {}
        for row in conn.execute(
            "SELECT id, rowid, title, text, author, source, site, kind, published_day "
            f"FROM documents WHERE id IN ({marks})",
            [doc.id for doc in docs],
        ):
            existing[row[0]] = row[1:5]
            counted_by_id[row[0]] = row[5:]
        stored_sites = {doc_id: row[1] for doc_id, row in counted_by_id.items()}
        moved = refuse_site_changes(docs, stored_sites)
        if moved:
            result.refused += len(moved)
            docs = [doc for doc in docs if doc.id not in moved]
            existing = {key: value for key, value in existing.items() if key not in moved}
            if not docs:
                return []
            marks = ", ".join("?" * len(docs))
        counted = [counted_by_id[doc.id] for doc in docs if doc.id in counted_by_id]
        changed_text = [
            doc
            for doc in docs
            if doc.id not in existing or existing[doc.id][1:] != (doc.title, doc.text, doc.author)
        ]
        conn.executemany(
            _FTS_DELETE,
            [_fts_values(*existing[doc.id]) for doc in changed_text if doc.id in existing],
        )
        conn.executemany(
            "DELETE FROM document_flags WHERE doc_rowid = ?",
            [(existing[doc.id][0],) for doc in docs if doc.id in existing],
        )
        rows = [_row_values(doc) for doc in docs]
        conn.executemany(_UPSERT, rows)
        _count_rows(conn, counted, [tuple(row[i] for i in _COUNTED_POSITIONS) for row in rows])
        rowids = dict(
            conn.execute(
                f"SELECT id, rowid FROM documents WHERE id IN ({marks})", [doc.id for doc in docs]
            )
        )
        conn.executemany(
            _FTS_INSERT,
            [_fts_values(rowids[doc.id], doc.title, doc.text, doc.author) for doc in changed_text],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO document_flags (doc_rowid, flag) VALUES (?, ?)",
            [(rowids[doc.id], flag) for doc in docs for flag in doc.flags],
        )
        log_changes(conn, list(rowids.values()))
        sqlite_review.enqueue_documents(conn, docs, now)
        register_documents(conn, docs, now)  # subjects (index.subjects) of new documents
        result.created += len(docs) - len(existing)
        result.updated += len(existing)
        if self.clusterer is None:
            return []
        return sqlite_clusters.cluster_batch(conn, self.clusterer, self._lsh(), docs, rowids)

    def _lsh(self) -> Postings:
        if self._postings is None:
            # Past a size they go to files beside the database (derived data, removed on close).
            spill = None if self._memory else Path(self.path).parent
            self._postings = Postings(
                self.clusterer.settings.params.num_perm, spill_directory=spill
            )
        return self._postings

    def _drop_postings(self) -> None:
        if self._postings is not None:
            self._postings.close()
            self._postings = None

    # -- reads ---------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        columns = ", ".join(map(quote_identifier, DOCUMENT_COLUMNS))
        with self.reading() as conn:
            row = conn.execute(
                f"SELECT {columns} FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else document_from_row(row)

    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(doc_ids))
        found: dict[str, str] = {}
        with self.reading() as conn:
            for chunk in _chunks(ids, 900):
                marks = ", ".join("?" * len(chunk))
                found.update(
                    conn.execute(
                        f"SELECT id, content_hash FROM documents WHERE id IN ({marks})", chunk
                    ).fetchall()
                )
        return found

    def count(self) -> int:
        with self.reading() as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]

    def counts_by(self, field_name: str) -> dict[str, int]:
        if field_name not in FACET_FIELDS:
            raise QuerySyntaxError(
                f"cannot count by {field_name!r} (fields: {', '.join(FACET_FIELDS)})"
            )
        if field_name == "flags":
            sql = "SELECT flag, count(*) FROM document_flags GROUP BY flag ORDER BY 2 DESC, 1"
        else:
            column = quote_identifier(field_name)
            sql = f"SELECT {column}, count(*) FROM documents GROUP BY {column} ORDER BY 2 DESC, 1"
        with self.reading() as conn:
            return dict(conn.execute(sql).fetchall())

    def search_sql(self, request: SearchRequest) -> SearchSQL:
        """The statements :meth:`search` would run (for ``--sql`` debugging)."""
        return search_sql(parse_query(request.query), request)

    def search(self, request: SearchRequest) -> SearchResponse:
        node = parse_query(request.query)
        statements = search_sql(node, request)
        with self.reading() as conn, _read_transaction(conn):
            # Facets and histogram of a set of matches count it in memory (doc values);
            # matching everything, they read the count tables.
            values = None
            if (request.facets or request.histogram) and statements.rowids is not None:
                values = self._doc_values if self._doc_values.refresh(conn) else None
            staged = statements.staged
            if staged is None:
                rows = conn.execute(*statements.hits).fetchall()
                sql, params = statements.rowids or ("", [])
                listing = f"SELECT group_concat(rid) FROM ({sql})"
                facets_sql, histogram_sql = statements.facets, statements.histogram
            else:
                conn.execute(CREATE_MATCHED)
                conn.execute(CLEAR_MATCHED)
                total = conn.execute(*staged.fill).rowcount
                rows = conn.execute(*staged.page(total)).fetchall()
                listing, params = f"SELECT group_concat(rid) FROM {MATCHED_TABLE}", []
                facets_sql, histogram_sql = staged.facets(total), staged.histogram(total)
            matched = _rowid_array(conn, listing, params) if values is not None else None
            if matched is not None and not values.covers(matched):
                matched = None
            if staged is None:
                total = (
                    len(matched)
                    if matched is not None
                    else conn.execute(*statements.count).fetchone()[0]
                )
            if matched is not None:
                facet_rows = values.facets(matched) if request.facets else []
                histogram_rows = values.days(matched) if request.histogram else []
            else:
                facet_rows = conn.execute(*facets_sql).fetchall() if facets_sql else []
                histogram_rows = conn.execute(*histogram_sql).fetchall() if histogram_sql else []
            sizes = sqlite_clusters.cluster_sizes(
                conn, [row[DOCUMENT_COLUMNS.index("cluster_id")] for row in rows if row]
            )
        terms = highlight_terms(node) if request.highlight else []
        hits = []
        for row in rows:
            doc = document_from_row(row)
            snippet = make_snippet(doc.text or doc.title, terms) if request.highlight else []
            score = -float(row[-1]) if row[-1] else 0.0  # FTS5 ranks ascend: best is lowest
            size = sizes.get(doc.cluster_id, 1) if doc.cluster_id else 1
            hits.append(Hit(document=doc, score=score, snippet=snippet, cluster_size=size))
        facets: dict[str, list[Bucket]] = {}
        if request.facets:
            facets = {name: [] for name in ("source", "site", "kind", "flags", "review_status")}
            for name, key, n in facet_rows:
                facets[name].append(Bucket(str(key), n))
        histogram = []
        if request.histogram:
            per_bucket: dict[str, int] = {}
            for day, n in histogram_rows:
                key = bucket_start(day, request.histogram)
                per_bucket[key] = per_bucket.get(key, 0) + n
            filled = fill_histogram(per_bucket, request.histogram)
            histogram = [Bucket(key, n) for key, n in filled]
        return SearchResponse(total=total, hits=hits, facets=facets, histogram=histogram)

    def scan(self, request: SearchRequest) -> Iterator[Document]:
        """Every match in ``request.sort`` order, fetched a page at a time.

        Pages are keyed by offset over a stable order (rowid breaks ties), each page under
        its own time limit, so memory stays bounded and writes may interleave.
        """
        node = parse_query(request.query)
        offset = 0
        while True:
            page = SearchRequest(
                query=request.query,
                filters=request.filters,
                date_from=request.date_from,
                date_to=request.date_to,
                sort=request.sort,
                offset=offset,
                limit=SCAN_PAGE,
                highlight=False,
                ids=request.ids,
            )
            sql, params = search_sql(node, page).hits
            with self.reading() as conn:
                rows = conn.execute(sql, params).fetchall()
            for row in rows:
                yield document_from_row(row)
            if len(rows) < SCAN_PAGE:
                return
            offset += SCAN_PAGE

    # -- near-duplicate clusters (index.spread.SpreadStore) -------------------------------

    def clusters_stale(self) -> bool:
        """Whether the stored clusters were built with other settings, or never."""
        if self.clusterer is None:
            return False
        with self.reading() as conn:
            return sqlite_clusters.stale(conn, self.clusterer.settings)

    def rebuild_clusters(
        self,
        *,
        batch_size: int = BATCH_SIZE,
        workers: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Forget every sketch and cluster the stored documents again, in the order they
        were first stored, one transaction per batch (crawls may write in between);
        ``workers`` processes draw the sketches alongside (:func:`index.clusters.sketch_ahead`).
        Returns the number of documents clustered."""
        if self.clusterer is None:
            raise SearchError("clustering is disabled (settings: clusters.enabled)")
        with self._transaction() as conn:
            sqlite_clusters.clear_state(conn)
        self._drop_postings()
        done = 0
        batches = sketch_ahead(self._stored_batches(batch_size), self.clusterer.settings, workers)
        for docs, sketches in batches:
            with self._transaction() as conn:
                rowids = dict(
                    conn.execute(
                        "SELECT id, rowid FROM documents WHERE rowid BETWEEN ? AND ?",
                        (docs[0].analysis["rowid"], docs[-1].analysis["rowid"]),
                    )
                )
                sqlite_clusters.cluster_batch(
                    conn, self.clusterer, self._lsh(), docs, rowids, force=True, sketches=sketches
                )
            done += len(docs)
            if progress is not None:
                progress(done)
        with self._transaction() as conn:
            sqlite_clusters.write_state(conn, self.clusterer.settings)
        return done

    def _stored_batches(self, batch_size: int) -> Iterator[list[Document]]:
        """Stored documents (id, title, text; the rowid in ``analysis``) in rowid order."""
        after = 0
        while True:
            with self.reading() as conn:
                rows = conn.execute(
                    "SELECT rowid, id, title, text FROM documents WHERE rowid > ? "
                    "ORDER BY rowid LIMIT ?",
                    (after, batch_size),
                ).fetchall()
            if not rows:
                return
            yield [
                Document(
                    id=doc_id,
                    url="",
                    canonical_url="",
                    source="",
                    site="",
                    title=title,
                    text=text,
                    analysis={"rowid": rowid},
                )
                for rowid, doc_id, title, text in rows
            ]
            after = rows[-1][0]

    # -- site profiles ---------------------------------------------------------------------

    def upsert_site(self, profile: dict[str, Any]) -> None:
        """Store a site profile (replacing the previous one); a flagged site is queued."""
        if not profile.get("site"):
            raise SearchError("a site profile needs a 'site' key")
        now = utcnow()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO sites (site, score, flag, profile, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (site) DO UPDATE SET score = excluded.score, flag = excluded.flag, "
                "profile = excluded.profile, updated_at = excluded.updated_at",
                (
                    profile["site"],
                    profile.get("score"),
                    profile.get("flag") or None,
                    json.dumps(profile, ensure_ascii=False, sort_keys=True),
                    now.isoformat(timespec="seconds"),
                ),
            )
            sqlite_review.enqueue_site(conn, profile, now)

    def get_site(self, site: str) -> dict[str, Any] | None:
        with self.reading() as conn:
            row = conn.execute("SELECT profile FROM sites WHERE site = ?", (site,)).fetchone()
        return None if row is None else json.loads(row[0])

    def list_sites(self) -> list[dict[str, Any]]:
        """Every profile, highest newspaper-style score first."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT profile FROM sites ORDER BY score DESC NULLS LAST, site"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    # -- review queues ---------------------------------------------------------------------

    def review_list(
        self, queue: str, *, status: str = "open", limit: int = 50, offset: int = 0
    ) -> list[ReviewItem]:
        with self.reading() as conn:
            return sqlite_review.list_items(conn, queue, status=status, limit=limit, offset=offset)

    def review_counts(self) -> dict[str, dict[str, int]]:
        with self.reading() as conn:
            return sqlite_review.counts(conn)

    def review_get(self, item_id: str) -> ReviewItem:
        with self.reading() as conn:
            item = sqlite_review.get_item(conn, item_id)
        if item is None:
            raise NotFound(f"no review item {item_id!r}")
        return item

    def review_claim(
        self,
        item_id: str,
        user: str,
        *,
        lease_seconds: int = 900,
        now: datetime | None = None,
    ) -> ReviewItem:
        with self._transaction() as conn:
            return sqlite_review.claim(conn, item_id, user, lease_seconds, now or utcnow())

    def review_decide(
        self,
        item_id: str,
        user: str,
        verdict: str,
        note: str = "",
        *,
        expected_version: str | int,
        now: datetime | None = None,
        travel: bool = True,
    ) -> ReviewItem:
        """Record a verdict; a "false" one sends the rest of the document's cluster to the
        claim queue (:func:`index.spread.on_decided`) unless ``travel`` is off."""
        with self._transaction() as conn:
            decided = sqlite_review.decide(
                conn, item_id, user, verdict, note, expected_version, now or utcnow()
            )
        if travel:
            from index.spread import on_decided

            on_decided(self, decided)
        return decided

    def review_reopen(
        self,
        item_id: str,
        user: str,
        note: str = "",
        *,
        expected_version: str | int,
        now: datetime | None = None,
    ) -> ReviewItem:
        with self._transaction() as conn:
            return sqlite_review.reopen(
                conn, item_id, user, note, expected_version, now or utcnow()
            )

    def review_history(self, item_id: str) -> list[AuditEntry]:
        with self.reading() as conn:
            if sqlite_review.get_item(conn, item_id) is None:
                raise NotFound(f"no review item {item_id!r}")
            return sqlite_review.history(conn, item_id)

    # -- evidence (index.evidence) ----------------------------------------------------------

    def evidence(self) -> SqliteEvidence:
        """Archived files, takedown checks and watches, on this store's connections."""
        return SqliteEvidence(self._transaction, self.reading)

    # -- migration hooks (optional, see index.store.ReviewTransfer) ------------------------

    def export_review_items(self) -> Iterator[ReviewItem]:
        """Every review item as stored (version = this store's int), oldest change first."""
        with self.reading() as conn:
            items = sqlite_review.export_items(conn)
        yield from items

    def export_audit(self) -> Iterator[AuditEntry]:
        """The whole audit log in append order, a page at a time."""
        after = 0
        while True:
            with self.reading() as conn:
                page = sqlite_review.export_audit_page(conn, after)
            if not page:
                return
            for _, entry in page:
                yield entry
            after = page[-1][0]

    def import_review_items(self, items: Iterable[ReviewItem]) -> int:
        """Write items as given (decisions, leases, timestamps kept; versions re-issued)."""
        with self._transaction() as conn:
            return sqlite_review.import_items(conn, items)

    def import_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append audit entries in order, skipping those already imported (reruns)."""
        with self._transaction() as conn:
            return sqlite_review.import_audit(conn, entries)
