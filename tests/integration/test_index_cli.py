"""``misinfo index status|flush|migrate|migrate-schema`` (crawler/cli/index.py).

SQLite-only checks always run; the rest need a real node (``MISINFO_ES_URL``) and use an
index prefix of their own, dropped afterwards. Spooled documents are produced by writing
through a :class:`~crawler.resources.store.SpooledStore` whose cluster is a closed port, so
``flush`` is tested without stopping any node.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.cli.index import migrate_store, redact_url
from crawler.resources.store import SPOOL_FILE, SpooledStore
from index.documents import Document, document_id
from index.sqlite import SqliteStore
from index.store import SearchRequest
from tests.helpers import write_config

ES_URL = os.environ.get("MISINFO_ES_URL", "")
#: Nothing listens here: connections are refused at once.
DEAD_URL = "http://127.0.0.1:9"


def make_doc(i: int, *, flags: tuple[str, ...] = (), site: str = "bao-mau.vn") -> Document:
    url = f"https://{site}/tin/{i}.html"
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="mau",
        site=site,
        title=f"Tin số {i}: uống nước chanh chữa khỏi Covid",
        text=f"Bài {i}: tin đồn về nước chanh nóng.",
        published_at="2026-03-01T08:00:00+07:00",
        fetched_at="2026-03-02T08:00:00+07:00",
        first_seen="2026-03-02T08:00:00+07:00",
        content_hash=f"hash-{i}",
        flags=list(flags),
        scores={"claim": 0.9 if "claim" in flags else 0.1, "covid": 0.2},
        analysis={"claim": {"flag": "claim" in flags, "score": 0.9}},
    )


def invoke(config_dir: Path, data_dir: Path, *args: str, url: str = ES_URL):
    env = {"MISINFO_ES_URL": url, "MISINFO_ES_API_KEY": None, "MISINFO_ES_USER": None}
    return CliRunner().invoke(
        main, ["--config", str(config_dir), "--data-dir", str(data_dir), *args], env=env
    )


@pytest.fixture
def sqlite_dirs(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path / "config", [], {"store": "sqlite"})
    return config, tmp_path / "data"


@pytest.fixture
def es_prefix():
    from index.elastic import ElasticsearchStore

    prefix = f"misinfo-test-cli-{uuid.uuid4().hex[:8]}"
    yield prefix
    ElasticsearchStore(ES_URL or DEAD_URL, index_prefix=prefix).drop()


@pytest.fixture
def es_dirs(tmp_path: Path, es_prefix: str) -> tuple[Path, Path]:
    settings = {
        "store": "elasticsearch",
        "elasticsearch": {"index_prefix": es_prefix, "request_timeout": 5, "max_retries": 0},
    }
    return write_config(tmp_path / "config", [], settings), tmp_path / "data"


def spool_while_down(data_dir: Path, docs: list[Document]) -> None:
    """Write ``docs`` as a crawl would while the cluster is unreachable: they are spooled."""
    from index.elastic import ElasticsearchStore

    inner = ElasticsearchStore(DEAD_URL, request_timeout=1, max_retries=0)
    store = SpooledStore(inner, data_dir / SPOOL_FILE, lenient_reads=True)
    try:
        assert store.upsert(docs).spooled == len(docs)
        # A crawl rerun during the outage sees the spooled versions: nothing to write again.
        assert store.content_hashes([d.id for d in docs]) == {d.id: d.content_hash for d in docs}
    finally:
        store.close()


# -- without a cluster -----------------------------------------------------------------------


def test_redact_url_drops_credentials():
    assert redact_url("https://elastic:s3cret@es.example.vn:9243/") == "https://es.example.vn:9243/"
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


def test_status_of_the_embedded_store(sqlite_dirs):
    config, data = sqlite_dirs
    store = SqliteStore(data / "index.db")
    store.upsert([make_doc(i) for i in range(3)])
    store.close()
    result = invoke(config, data, "index", "status", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["store"] == "sqlite" and status["documents"] == 3
    assert "spool" not in status


def test_flush_with_the_embedded_store_is_a_no_op(sqlite_dirs):
    config, data = sqlite_dirs
    result = invoke(config, data, "index", "flush")
    assert result.exit_code == 0 and "nothing is ever spooled" in result.output


def test_migrate_needs_an_embedded_store(sqlite_dirs):
    config, data = sqlite_dirs
    result = invoke(config, data, "index", "migrate", "--to", "elasticsearch", url=DEAD_URL)
    assert result.exit_code == 1 and "no embedded store" in result.output


def test_status_and_flush_while_the_cluster_is_away(tmp_path):
    settings = {"store": "elasticsearch", "elasticsearch": {"request_timeout": 1, "max_retries": 0}}
    config, data = write_config(tmp_path / "config", [], settings), tmp_path / "data"
    spool_while_down(data, [make_doc(i) for i in range(4)])
    down = "http://elastic:s3cret@127.0.0.1:9"

    status = invoke(config, data, "index", "status", url=down)
    assert status.exit_code == 1
    assert "4 waiting, 0 rejected" in status.output and "unknown" in status.output
    assert "s3cret" not in status.output

    flush = invoke(config, data, "index", "flush", url=down)
    assert flush.exit_code == 1
    assert "still unreachable" in flush.output and "4 documents wait" in flush.output
    again = invoke(config, data, "index", "status", "--json", url=down)
    assert json.loads(again.output)["spool"]["pending"] == 4  # nothing removed


# -- against a real node ---------------------------------------------------------------------


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set (no node here)")
def test_flush_replays_the_spool_into_the_cluster(es_dirs, es_prefix):
    from index.elastic import ElasticsearchStore

    config, data = es_dirs
    docs = [make_doc(i) for i in range(30)]
    spool_while_down(data, docs[:20])
    spool_while_down(data, [make_doc(i) for i in range(20, 30)])

    before = invoke(config, data, "index", "status", "--json")
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["spool"]["pending"] == 30
    assert json.loads(before.output)["documents"] == 0

    flush = invoke(config, data, "index", "flush")
    assert flush.exit_code == 0, flush.output
    assert "Replayed 30 documents" in flush.output

    after = json.loads(invoke(config, data, "index", "status", "--json").output)
    assert after["documents"] == 30 and after["spool"]["pending"] == 0
    store = ElasticsearchStore(ES_URL, index_prefix=es_prefix)
    assert store.content_hashes([d.id for d in docs]) == {d.id: d.content_hash for d in docs}
    store.close()
    assert "empty" in invoke(config, data, "index", "flush").output


def _sqlite_with_reviews(path: Path) -> SqliteStore:
    # make_doc's texts are copies of one another: with clustering on, the "false" verdict
    # below would travel to them too (index/spread.py); this test is about migration only.
    store = SqliteStore(path, clusters=None)
    store.upsert([make_doc(i, flags=("claim",)) for i in range(3)] + [make_doc(9)])
    store.upsert_site({"site": "bao-mau.vn", "score": 0.8, "flag": "site_style", "pages": 4})
    decided = f"claim:{make_doc(0).id}"
    item = store.review_claim(decided, "lan", now=datetime(2026, 3, 3, 9, tzinfo=UTC))
    store.review_decide(
        decided,
        "lan",
        "false",
        "Bộ Y tế đã bác bỏ",
        expected_version=item.version,
        now=datetime(2026, 3, 3, 9, 5, tzinfo=UTC),
    )
    store.review_claim(f"claim:{make_doc(1).id}", "minh", now=datetime(2099, 1, 1, tzinfo=UTC))
    return store


def _comparable(item) -> dict:
    return {**item.to_dict(), "version": None}


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set (no node here)")
def test_migrate_copies_documents_sites_reviews_and_audit(es_dirs, es_prefix):
    from index.elastic import ElasticsearchStore

    config, data = es_dirs
    source = _sqlite_with_reviews(data / "index.db")
    result = invoke(config, data, "index", "migrate", "--to", "elasticsearch", "--batch", "2")
    assert result.exit_code == 0, result.output
    assert "Copied 4 documents (4 new), 1 site profiles, 4 review items" in result.output
    assert "store: elasticsearch" in result.output

    target = ElasticsearchStore(ES_URL, index_prefix=es_prefix)
    try:
        assert target.count() == 4
        assert target.review_counts() == source.review_counts()
        for item in source.export_review_items():
            assert _comparable(target.review_get(item.id)) == _comparable(item)
            assert target.review_history(item.id) == source.review_history(item.id)
        decided = f"claim:{make_doc(0).id}"
        moved = target.review_get(decided)
        assert (moved.verdict, moved.decided_by) == ("false", "lan")
        assert [e.action for e in target.review_history(decided)] == ["enqueue", "claim", "decide"]
        assert target.review_get(f"claim:{make_doc(1).id}").lease_user == "minh"
        assert target.get(make_doc(0).id).review_status == "false"
        assert target.get(make_doc(0).id).first_seen == make_doc(0).first_seen
        # The site follows its queued item, as review.py says ("open" while queued).
        assert target.get_site("bao-mau.vn") == {
            **source.get_site("bao-mau.vn"),
            "review_status": "open",
        }
        # A version read on the cluster works for the next decision there.
        open_item = target.review_get(f"claim:{make_doc(2).id}")
        target.review_decide(open_item.id, "lan", "true", expected_version=open_item.version)

        # Rerun: idempotent (nothing appended twice, the cluster's newer decision stays in
        # the history; the item itself is the embedded store's again).
        rerun = invoke(config, data, "index", "migrate", "--to", "elasticsearch", "--json")
        assert rerun.exit_code == 0, rerun.output
        summary = json.loads(rerun.stdout)
        assert summary["documents"] == 4 and summary["documents_created"] == 0
        assert summary["audit_appended"] == 0
        assert target.count() == 4
        assert len(list(target.export_audit())) == len(list(source.export_audit())) + 1
        assert target.review_history(decided) == source.review_history(decided)
    finally:
        source.close()
        target.close()


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set (no node here)")
def test_migrate_schema_leaves_current_indices_alone(es_dirs, es_prefix):
    config, data = es_dirs
    result = invoke(config, data, "index", "migrate-schema")
    assert result.exit_code == 0, result.output
    for kind in ("documents", "sites", "review", "audit"):
        assert f"{es_prefix}-{kind}: already on {es_prefix}-{kind}-v" in result.output


def test_migrate_store_between_embedded_stores(tmp_path):
    """The library function works for any pair of stores with the review hooks."""
    source = _sqlite_with_reviews(tmp_path / "a.db")
    target = SqliteStore(tmp_path / "b.db")
    try:
        first = migrate_store(source, target, batch_size=3)
        second = migrate_store(source, target, batch_size=3)
        assert (first.documents, first.sites, first.review_items) == (4, 1, 4)
        assert first.audit_appended == first.audit_entries > 0
        assert second.audit_appended == 0 and second.documents_created == 0
        decided = f"claim:{make_doc(0).id}"
        assert target.review_history(decided) == source.review_history(decided)
        assert target.review_counts() == source.review_counts()
        assert target.get(make_doc(0).id).review_status == "false"
    finally:
        source.close()
        target.close()


def test_app_puts_the_spool_in_the_data_dir_and_reads_timeouts(tmp_path):
    from crawler.app import App, ConfigError

    settings = {"store": "elasticsearch", "elasticsearch": {"request_timeout": "7"}}
    app = App(config_dir=write_config(tmp_path / "config", [], settings), data_dir=tmp_path / "d")
    options = app.store_options()
    assert options["spool_path"] == str(tmp_path / "d" / SPOOL_FILE)
    assert options["request_timeout"] == 7.0 and "max_retries" not in options
    bad = {"store": "elasticsearch", "elasticsearch": {"max_retries": "many"}}
    app = App(config_dir=write_config(tmp_path / "bad", [], bad), data_dir=tmp_path / "d")
    with pytest.raises(ConfigError, match=r"elasticsearch\.max_retries"):
        app.store_options()
    sqlite = App(config_dir=write_config(tmp_path / "s", [], {"store": "sqlite"}))
    assert sqlite.store_options() == {}


def test_the_crawl_store_spools_and_tolerates_an_outage(tmp_path):
    """What the pipeline gets for an unreachable cluster: writes spool, reads say "unknown",
    and the run's stats say how much waits."""
    from scrapy import signals
    from scrapy.utils.test import get_crawler

    from crawler.pipelines import crawler_store

    spool = tmp_path / SPOOL_FILE
    crawler = get_crawler(
        settings_dict={
            "MM_INDEX_URI": f"elasticsearch+{DEAD_URL}",
            "MM_INDEX_OPTIONS": {"spool_path": str(spool), "request_timeout": 1, "max_retries": 0},
        }
    )
    crawler.stats.open_spider()
    store = crawler_store(crawler)
    assert isinstance(store, SpooledStore) and store.inner.refresh is False
    doc = make_doc(1)
    assert store.get(doc.id) is None and store.content_hashes([doc.id]) == {}
    assert store.upsert([doc]).spooled == 1
    assert store.get(doc.id) == doc  # the spooled version, read back
    assert list(store.scan(SearchRequest())) == []  # site profiles wait for the flush
    crawler.signals.send_catch_log(signals.spider_closed)
    assert crawler.stats.get_value("mm/spool/pending") == 1
    assert crawler.stats.get_value("mm/docs/spooled") == 1
    store.close()
