"""Schema of the SQLite store as named migrations, applied once each, in order.

Each step is recorded in ``_migrations`` (name, applied_at), the way sqlite-utils'
migrations do it, so opening an older database file brings it up to date and never
re-runs a step. Add new steps at the end; never edit an applied one.

Layout:

* ``documents``: one row per :class:`~index.documents.Document`; lists and dicts as JSON
  text, plus derived columns for sorting and ranges (``published_utc``, ``covid_score``,
  ``claim_score``, ``max_score``, ``published_day``) and ``version`` (bumped on every write).
  Indexes (after migration 0007): ``id``, ``url``, ``canonical_url``, ``published_utc``,
  ``published_day``, ``review_status``, a facet index (``source``, ``site``, ``kind``,
  ``review_status``) and a score index (``max_score``, ``published_utc``, ``covid_score``,
  ``claim_score``).
* ``facet_counts`` / ``day_counts``: documents per (source, site, kind) and per
  ``published_day``, kept exact by the store's upserts (migration 0008).
* ``document_flags``: (doc rowid, flag) so flag filters and facets use an index.
* ``documents_fts``: contentless FTS5 over title/text/author as written (``unicode61
  remove_diacritics 0``: "hà" and "ha" are different words) and folded copies
  (``*_f`` columns, :func:`~analysis.text.fold_diacritics`), rowid = documents.rowid.
* ``doc_changes``: rowids of written documents, in order (migration 0009), so readers can
  keep in-memory copies of the facet fields current.
* ``sites``: newspaper-style profiles, the profile dict as JSON.
* ``cluster_sketches`` / ``cluster_state``: the near-duplicate LSH state (migration 0014,
  :mod:`index.sqlite_clusters`): each document's MinHash signature, sentence fingerprints
  and cluster, and the settings they were built with.
* ``watches`` / ``alerts``: saved watch queries and the alerts they raised (migration 0015).
* ``review_items`` / ``review_audit``: review queues and their append-only audit log.
* ``evidence_files`` / ``evidence_checks`` / ``evidence_watch``: archived files, takedown
  checks and watches (migration 0010, :mod:`index.sqlite_evidence`).
* ``subjects``, ``cases``, ``tips`` (migration 0011, :mod:`index.sqlite_cases`): who
  published, violation cases and citizen reports; their changes go to ``review_audit`` as
  ``subject:<id>``, ``case:<id>``, ``tip:<id>``. Migration 0012 creates the subjects of the
  documents already stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from index.sqlite_evidence import SCHEMA as EVIDENCE_SCHEMA

__all__ = ["MIGRATIONS", "migrate"]

_DOCUMENTS = """
CREATE TABLE documents (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    canonical_url TEXT NOT NULL,
    source TEXT NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    section TEXT NOT NULL,
    published_at TEXT,
    fetched_at TEXT,
    first_seen TEXT,
    lang TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    segmented TEXT NOT NULL,
    outlinks TEXT NOT NULL,
    engagement TEXT NOT NULL,
    flags TEXT NOT NULL,
    scores TEXT NOT NULL,
    analysis TEXT NOT NULL,
    review_status TEXT NOT NULL,
    cluster_id TEXT,
    published_utc TEXT,
    fetched_utc TEXT,
    covid_score REAL,
    claim_score REAL,
    max_score REAL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX documents_published ON documents (published_utc);
CREATE INDEX documents_fetched ON documents (fetched_utc);
CREATE INDEX documents_max_score ON documents (max_score);
CREATE INDEX documents_covid_score ON documents (covid_score);
CREATE INDEX documents_claim_score ON documents (claim_score);
CREATE INDEX documents_source ON documents (source);
CREATE INDEX documents_site ON documents (site);
CREATE INDEX documents_kind ON documents (kind);
CREATE INDEX documents_review_status ON documents (review_status);
CREATE INDEX documents_url ON documents (url);
CREATE INDEX documents_canonical_url ON documents (canonical_url);
CREATE TABLE document_flags (
    doc_rowid INTEGER NOT NULL REFERENCES documents (rowid),
    flag TEXT NOT NULL,
    PRIMARY KEY (flag, doc_rowid)
) WITHOUT ROWID;
CREATE INDEX document_flags_doc ON document_flags (doc_rowid);
CREATE VIRTUAL TABLE documents_fts USING fts5 (
    title, text, author, title_f, text_f, author_f,
    content = '',
    tokenize = 'unicode61 remove_diacritics 0'
);
"""

_SITES = """
CREATE TABLE sites (
    site TEXT PRIMARY KEY,
    score REAL,
    flag TEXT,
    profile TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

_REVIEW = """
CREATE TABLE review_items (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    target_id TEXT NOT NULL,
    status TEXT NOT NULL,
    priority REAL NOT NULL,
    title TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    url TEXT NOT NULL,
    site TEXT NOT NULL,
    score REAL NOT NULL,
    evidence TEXT NOT NULL,
    verdict TEXT,
    note TEXT NOT NULL DEFAULT '',
    decided_by TEXT,
    decided_at TEXT,
    lease_user TEXT,
    lease_until TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX review_items_queue ON review_items (queue, status, priority DESC);
CREATE INDEX review_items_target ON review_items (target_id);
CREATE TABLE review_audit (
    seq INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES review_items (id),
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    before TEXT,
    after TEXT
);
CREATE INDEX review_audit_item ON review_audit (item_id, seq);
CREATE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit
BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END;
CREATE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit
BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END;
"""


_DAY_AND_RANK = """
ALTER TABLE documents ADD COLUMN published_day TEXT;
UPDATE documents SET published_day = strftime('%Y-%m-%d', published_utc, '+7 hours');
CREATE INDEX documents_published_day ON documents (published_day);
INSERT INTO documents_fts (documents_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0, 1.0, 4.0, 1.0, 1.0)');
"""

# Sorted filters read (filter value, sort key) straight from one index: "covid source:x"
# newest-first walks (source, published_utc) and probes the set of FTS matches, never the
# wide documents rows. The single-column indexes they replace are their prefixes.
_SORTED_FILTERS = """
CREATE INDEX documents_source_published ON documents (source, published_utc);
CREATE INDEX documents_site_published ON documents (site, published_utc);
CREATE INDEX documents_max_score_published ON documents (max_score, published_utc);
DROP INDEX documents_source;
DROP INDEX documents_site;
DROP INDEX documents_max_score;
"""

# Facets read one narrow covering index in one pass (GROUP BY all four keyword columns, then
# summed per facet) instead of one GROUP BY per column; the single-column kind and
# review_status indexes it supersedes go, as does fetched_utc's (no query plan used it
# except an explicit fetched_at range, which now scans). Fewer indexes make every insert
# cheaper. FTS5 buffers a write transaction's terms in memory and flushes a segment when
# the buffer passes ``hashsize`` (1 MiB by default: several small segments per 1000-document
# batch, each merged again later); 32 MiB flushes one segment per batch.
_FACETS_AND_WRITES = """
CREATE INDEX documents_facets ON documents (source, site, kind, review_status);
DROP INDEX documents_kind;
DROP INDEX documents_review_status;
DROP INDEX documents_fetched;
INSERT INTO documents_fts (documents_fts, rank) VALUES ('hashsize', 33554432);
"""

# Every index on a column with scattered values (dates, scores) dirties hundreds of pages per
# 1000-document batch, and each dirty page is written to the WAL at commit: with eleven
# indexes a commit cost about as much as the FTS5 work. Searches now find their matches
# once (into a temp table) and then walk only the sort order's index, so the (source |
# site, published_utc) indexes are no longer walked: source lookups use the facet index's
# prefix, site the whole narrow facet index. One covering index serves the score sort and
# both score ranges (a range reads all of it: ~100k narrow entries).
_FEWER_INDEXES = """
CREATE INDEX documents_scores ON documents (max_score, published_utc, covid_score, claim_score);
DROP INDEX documents_max_score_published;
DROP INDEX documents_covid_score;
DROP INDEX documents_claim_score;
DROP INDEX documents_source_published;
DROP INDEX documents_site_published;
"""

# Facets and the histogram over every document (the UI's landing page) read small count
# tables instead of scanning an index entry per document on every request. The store's upsert keeps
# them exact (SqliteStore._count_rows; it is the only writer of those columns): triggers
# would, but any UPDATE trigger on documents doubled the cost of the upsert's inserts.
# review_status changes outside upserts (review decisions), so its facet groups its own
# index again: a low-cardinality index grows at the end of each value's range (cheap).
_COUNT_TABLES = """
CREATE TABLE facet_counts (
    source TEXT NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (source, site, kind)
) WITHOUT ROWID;
CREATE TABLE day_counts (day TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO facet_counts (source, site, kind, n)
SELECT source, site, kind, count(*) FROM documents GROUP BY source, site, kind;
INSERT INTO day_counts (day, n)
SELECT published_day, count(*) FROM documents WHERE published_day IS NOT NULL
GROUP BY published_day;
CREATE INDEX documents_review_status ON documents (review_status);
"""

# Facets and histograms of a search count its matches in memory (index/sqlite_docvalues.py);
# readers follow writes through this log of changed rowids, appended to by the store's
# writers in the same transaction (no trigger: see migration 0008) and trimmed by them.
# AUTOINCREMENT: a sequence number is never reused, even after the log is emptied.
_CHANGE_LOG = """
CREATE TABLE doc_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_rowid INTEGER NOT NULL);
"""

# Near-duplicate clusters (index/clusters.py). The LSH state lives here, beside the
# documents, written in the upsert's transaction: one row per document with its MinHash
# signature (uint32 little-endian), sentence fingerprints (int64 little-endian), cluster and
# how it joined. ``seq`` orders the writes: each process keeps its postings (which sketches
# hold which key, index/sketch_postings.py) in memory and reads the rows written since.
_CLUSTERS = """
CREATE TABLE cluster_sketches (
    doc_rowid INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    signature BLOB NOT NULL,
    fingerprints BLOB NOT NULL,
    matched_id TEXT,
    how TEXT,
    similarity REAL,
    seq INTEGER NOT NULL
);
CREATE INDEX cluster_sketches_cluster ON cluster_sketches (cluster_id);
CREATE INDEX cluster_sketches_seq ON cluster_sketches (seq);
CREATE TABLE cluster_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Watch queries (index/watches.py) and the alerts they raised: one alert per watch and
# document, delivered to the webhook by the crawler (delivered_at, attempts, last_error).
_WATCHES = """
CREATE TABLE watches (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE alerts (
    seq INTEGER PRIMARY KEY,
    watch_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (watch_id, doc_id)
);
CREATE INDEX alerts_pending ON alerts (delivered_at, seq);
"""


# Subjects, cases and citizen reports (index.cases). Case and tip ids are their row numbers.
# review_audit gains an index on "at": the period report reads a period of the log.
_CASES = """
CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    sites TEXT NOT NULL DEFAULT '[]',
    licence TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE cases (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    items TEXT NOT NULL,
    evidence TEXT NOT NULL,
    legal_basis TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    fine INTEGER,
    decision TEXT NOT NULL DEFAULT '',
    decision_date TEXT,
    outcome TEXT,
    opened_by TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX cases_status ON cases (status, updated_at);
CREATE INDEX cases_subject ON cases (subject);
CREATE TABLE tips (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    reporter TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    doc_id TEXT,
    review_item TEXT,
    fetch_error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    answered_at TEXT,
    answered_by TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tips_received ON tips (received_at);
CREATE INDEX tips_doc ON tips (doc_id);
CREATE INDEX review_audit_at ON review_audit (at);
"""


def _backfill_subjects(conn: sqlite3.Connection) -> None:
    """Subjects of the documents stored before subjects existed (one pass over sites, and
    over the URLs of social posts)."""
    from datetime import UTC, datetime

    from index.sqlite_cases import register_subjects
    from index.subjects import SubjectRef, account_key, registrable_domain

    refs: list[SubjectRef] = []
    for (site,) in conn.execute("SELECT DISTINCT site FROM documents WHERE kind != 'social'"):
        refs.append(SubjectRef(registrable_domain(site), "website", site, site))
    for site, url in conn.execute("SELECT site, url FROM documents WHERE kind = 'social'"):
        key = account_key(url)
        if key:
            refs.append(SubjectRef(key, "account", site))
    register_subjects(conn, refs, datetime.now(UTC))


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    """A step running ``sql`` statement by statement (trigger bodies kept whole)."""

    def step(conn: sqlite3.Connection) -> None:
        buffer = ""
        for line in sql.strip().splitlines(keepends=True):
            buffer += line
            if sqlite3.complete_statement(buffer):
                conn.execute(buffer)
                buffer = ""

    return step


#: (name, step) pairs, applied in this order; names are recorded in ``_migrations``.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("0001_documents", _script(_DOCUMENTS)),
    ("0002_sites", _script(_SITES)),
    ("0003_review", _script(_REVIEW)),
    # published_day (Vietnam date) makes histograms an index scan; the FTS5 rank setting
    # lets "ORDER BY rank" use FTS5's own top-k sort with title-weighted bm25.
    ("0004_published_day_and_rank", _script(_DAY_AND_RANK)),
    ("0005_sorted_filter_indexes", _script(_SORTED_FILTERS)),
    ("0006_facet_index_and_fts_hashsize", _script(_FACETS_AND_WRITES)),
    ("0007_fewer_indexes", _script(_FEWER_INDEXES)),
    ("0008_count_tables", _script(_COUNT_TABLES)),
    ("0009_change_log", _script(_CHANGE_LOG)),
    # Archived files, takedown checks and watches (index.sqlite_evidence).
    ("0010_evidence", _script(EVIDENCE_SCHEMA)),
    ("0011_subjects_cases_tips", _script(_CASES)),
    ("0012_subjects_from_documents", _backfill_subjects),
    # The period report counts the sites crawled in a period from this covering index (a
    # scan of every documents row took ~1 s at 100k). fetched_utc mostly grows, so inserts
    # append at the index's end.
    (
        "0013_documents_fetched_site",
        _script("CREATE INDEX documents_fetched_site ON documents (fetched_utc, site, kind);"),
    ),
    ("0014_clusters", _script(_CLUSTERS)),
    ("0015_watches_alerts", _script(_WATCHES)),
]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(name)
    return applied
