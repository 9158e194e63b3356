"""``misinfo index migrate`` carries subjects, cases and tips with their history."""

from __future__ import annotations

import os
import uuid

import pytest

import crawler.cli  # noqa: F401 (the CLI module first: cli_index registers into it)
from crawler.cli.index import migrate_store
from index.sqlite import SqliteStore
from tests.integration.test_cases_contract import FAKE, OTHER, SOCIAL

ES_URL = os.environ.get("MISINFO_ES_URL")


def _source(path) -> SqliteStore:
    store = SqliteStore(path)
    store.upsert([*FAKE, *SOCIAL, OTHER])
    subject = store.subject_get("baogia.com.vn")
    store.subject_update(subject.id, "lan", expected_version=subject.version, licence="9/GP")
    case = store.case_open("baogia.com.vn", "lan", items=[FAKE[0].id], legal_basis="NĐ 15")
    case = store.case_move(case.id, "lan", "analyst", "dismissed", expected_version=case.version)
    store.tip_add(OTHER.url, "lan", note="báo", doc_id=OTHER.id, received_at="2026-11-01")
    return store


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "elasticsearch",
            marks=[
                pytest.mark.elasticsearch,
                pytest.mark.skipif(not ES_URL, reason="MISINFO_ES_URL is not set"),
            ],
        ),
    ]
)
def target(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "target.db")
    else:
        from index.elastic import ElasticsearchStore

        store = ElasticsearchStore(ES_URL, index_prefix=f"misinfo-test-{uuid.uuid4().hex[:12]}")
    yield store
    store.drop()


def test_migration_keeps_subjects_cases_tips_and_their_history(tmp_path, target):
    source = _source(tmp_path / "source.db")
    try:
        first = migrate_store(source, target, batch_size=3)
        second = migrate_store(source, target, batch_size=3)
        assert first.case_records == 4 + 1 + 1  # four subjects, a case, a tip
        assert second.audit_appended == 0
        subject = target.subject_get("baogia.com.vn")
        assert subject.licence == "9/GP" and subject.documents == 3
        assert [e.action for e in target.subject_history(subject.id)] == ["create", "update"]
        case = target.case_get("1")
        assert (case.status, case.legal_basis, case.items) == ("dismissed", "NĐ 15", [FAKE[0].id])
        assert [e.action for e in target.case_history("1")] == ["open", "move"]
        tip = target.tip_get("1")
        assert (tip.received_at, tip.status) == ("2026-11-01", "received")
        # The migrated records take new versions and keep working.
        moved = target.case_move("1", "boss", "admin", "closed", expected_version=case.version)
        assert moved.status == "closed"
        nxt = target.case_open("baogia.com.vn", "lan", items=[])
        assert nxt.id == "2"
    finally:
        source.close()
