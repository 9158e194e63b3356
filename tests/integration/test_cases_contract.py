"""Subjects, cases and tips: one contract for both stores (as tests/test_store_contract.py).

``sqlite`` always runs; ``elasticsearch`` when ``MISINFO_ES_URL`` points at a node, in a
throw-away index prefix.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest

from index.cases import CaseError, PermissionDenied
from index.documents import Document, document_id
from index.errors import ConflictError, NotFound
from index.report import build_report

ES_URL = os.environ.get("MISINFO_ES_URL")
NOW = datetime.now(UTC)


@pytest.fixture
def store_options():
    # Every document here has the same text: with near-duplicate clustering on, a "false"
    # verdict would travel to all of them (index/spread.py) and change the report's counts.
    # These tests are about cases and the report, so clustering is off.
    return {"clusters": None}


@pytest.fixture
def store(each_store):
    return each_store


def doc(url: str, *, kind: str = "news", flags=(), title: str = "") -> Document:
    from urllib.parse import urlsplit

    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="s",
        site=urlsplit(url).hostname.removeprefix("www."),
        kind=kind,
        title=title or url,
        text="Uống nước muối chữa khỏi Covid-19, chia sẻ ngay",
        fetched_at=NOW.isoformat(timespec="seconds"),
        flags=list(flags),
        scores={flag: 0.9 for flag in flags},
        analysis={flag: {"score": 0.9, "flag": True} for flag in flags},
    )


FAKE = [
    doc("https://baogia.com.vn/a", flags=["claim"]),
    doc("https://tin.baogia.com.vn/b", flags=["claim", "covid"]),
    doc("https://baogia.com.vn/c"),
]
SOCIAL = [
    doc("https://facebook.com/tintuc24hnews/posts/1", kind="social", flags=["covid"]),
    doc("https://facebook.com/tintuc24hnews/posts/2", kind="social"),
    doc("https://facebook.com/other.page/posts/3", kind="social"),
]
OTHER = doc("https://vnexpress.net/x")


@pytest.fixture
def filled(store):
    store.upsert([*FAKE, *SOCIAL, OTHER])
    store.upsert_site(
        {
            "site": "baogia.com.vn",
            "score": 0.91,
            "flag": True,
            "evidence": ["'Báo Giá'"],
            "pages": 3,
        }
    )
    return store


def confirm(store, queue: str, doc_id: str, verdict: str = "false"):
    item = store.review_get(f"{queue}:{doc_id}")
    return store.review_decide(item.id, "lan", verdict, "checked", expected_version=item.version)


def test_subjects_are_created_from_documents_with_counts(filled):
    subjects = {s.id: s for s in filled.subject_list()}
    assert set(subjects) == {
        "baogia.com.vn",
        "facebook.com/tintuc24hnews",
        "facebook.com/other.page",
        "vnexpress.net",
    }
    site = subjects["baogia.com.vn"]
    assert site.kind == "website" and sorted(site.sites) == ["baogia.com.vn", "tin.baogia.com.vn"]
    assert (site.documents, site.flagged, site.confirmed) == (3, 2, 0)
    assert site.style_score == pytest.approx(0.91) and site.style_flag
    account = subjects["facebook.com/tintuc24hnews"]
    assert account.kind == "account" and (account.documents, account.flagged) == (2, 1)
    confirm(filled, "claim", FAKE[0].id)
    assert filled.subject_get("baogia.com.vn").confirmed == 1
    flagged = [s.id for s in filled.subject_list(flagged=True)]
    assert flagged[0] == "baogia.com.vn" and "vnexpress.net" not in flagged
    # Re-crawling creates nothing new; the history holds one creation.
    filled.upsert(FAKE)
    assert [e.action for e in filled.subject_history("baogia.com.vn")] == ["create"]
    with pytest.raises(NotFound):
        filled.subject_get("nope.vn")


def test_subject_details_are_audited_and_concurrency_checked(filled):
    subject = filled.subject_get("baogia.com.vn")
    updated = filled.subject_update(
        subject.id,
        "lan",
        expected_version=subject.version,
        licence="123/GP-TTĐT",
        owner="Công ty TNHH Báo Giá",
    )
    assert updated.licence == "123/GP-TTĐT" and updated.documents == 3
    with pytest.raises(ConflictError):
        filled.subject_update(subject.id, "hoa", expected_version=subject.version, name="x")
    last = filled.subject_history(subject.id)[-1]
    assert (last.action, last.user) == ("update", "lan")
    assert last.before["licence"] == "" and last.after["licence"] == "123/GP-TTĐT"


def test_case_life_cycle_roles_conflicts_and_audit(filled):
    confirm(filled, "claim", FAKE[1].id)
    case = filled.case_open(
        "baogia.com.vn",
        "lan",
        items=[f"claim:{FAKE[1].id}", FAKE[0].id],
        note="tin sai",
        legal_basis="NĐ 15/2020",
    )
    assert case.status == "open" and case.items == [FAKE[1].id, FAKE[0].id]
    assert case.evidence[0]["verdict"] == "false" and case.evidence[0]["evidence"]["claim"]
    with pytest.raises(CaseError):  # a document of another subject
        filled.case_open("baogia.com.vn", "lan", items=[OTHER.id])
    with pytest.raises(NotFound):
        filled.case_open("baogia.com.vn", "lan", items=["nope"])
    with pytest.raises(CaseError):  # not a move from open
        filled.case_move(case.id, "lan", "analyst", "notice-sent", expected_version=case.version)
    stale = case.version
    case = filled.case_move(case.id, "lan", "analyst", "evidence-complete", expected_version=stale)
    with pytest.raises(ConflictError):
        filled.case_move(case.id, "hoa", "analyst", "dismissed", expected_version=stale)
    case = filled.case_move(case.id, "lan", "analyst", "notice-sent", expected_version=case.version)
    with pytest.raises(PermissionDenied):
        filled.case_move(
            case.id,
            "lan",
            "analyst",
            "sanctioned",
            expected_version=case.version,
            fine=1_000_000,
            decision="1/QĐ",
        )
    with pytest.raises(CaseError):  # no fine
        filled.case_move(
            case.id,
            "boss",
            "supervisor",
            "sanctioned",
            expected_version=case.version,
            decision="1/QĐ",
        )
    case = filled.case_move(
        case.id,
        "boss",
        "supervisor",
        "sanctioned",
        expected_version=case.version,
        fine=15_000_000,
        decision="1/QĐ-XPHC",
        decision_date="2026-11-30",
    )
    assert (case.fine, case.decision, case.decision_date, case.outcome) == (
        15_000_000,
        "1/QĐ-XPHC",
        "2026-11-30",
        "sanctioned",
    )
    with pytest.raises(PermissionDenied):
        filled.case_move(case.id, "lan", "analyst", "closed", expected_version=case.version)
    case = filled.case_move(case.id, "minh", "admin", "closed", expected_version=case.version)
    assert case.status == "closed" and case.outcome == "sanctioned" and case.closed_at
    history = filled.case_history(case.id)
    assert [(e.action, e.user) for e in history] == [
        ("open", "lan"),
        ("move", "lan"),
        ("move", "lan"),
        ("move", "boss"),
        ("move", "minh"),
    ]
    assert history[3].before["status"] == "notice-sent" and history[3].after["fine"] == 15_000_000
    assert [c.id for c in filled.case_list(status="closed")] == [case.id]
    assert [c.id for c in filled.case_list(subject="baogia.com.vn")] == [case.id]
    assert filled.case_list(status="open") == []
    assert filled.subject_get("baogia.com.vn").cases == 1
    with pytest.raises(CaseError):
        filled.case_update(case.id, "lan", expected_version=case.version, legal_basis="x")


def test_case_on_a_confirmed_site_and_an_account(filled):
    item = filled.review_get("site:baogia.com.vn")
    filled.review_decide(item.id, "lan", "confirmed", "", expected_version=item.version)
    case = filled.case_open("baogia.com.vn", "lan", items=["site:baogia.com.vn"])
    assert case.evidence[0]["kind"] == "site" and case.evidence[0]["verdict"] == "confirmed"
    account = filled.case_open("facebook.com/tintuc24hnews", "lan", items=[SOCIAL[0].id])
    assert account.subject_kind == "account"
    updated = filled.case_update(
        account.id,
        "lan",
        expected_version=account.version,
        add_items=[SOCIAL[1].id],
        legal_basis="NĐ 72/2013",
    )
    assert updated.items == [SOCIAL[0].id, SOCIAL[1].id] and updated.legal_basis == "NĐ 72/2013"
    with pytest.raises(CaseError):
        filled.case_update(
            account.id, "lan", expected_version=updated.version, add_items=[SOCIAL[2].id]
        )


def test_tips_are_queued_reviewed_and_answered(filled):
    tip = filled.tip_add(
        OTHER.url,
        "lan",
        note="Người dân báo",
        channel="phone",
        received_at="2026-11-20",
        doc_id=OTHER.id,
    )
    assert (tip.status, tip.received_at, tip.review_item) == (
        "received",
        "2026-11-20",
        f"tips:{OTHER.id}",
    )
    second = filled.tip_add(OTHER.url, "hoa", note="Lại báo", channel="email", doc_id=OTHER.id)
    item = filled.review_get(tip.review_item)
    assert item.queue == "tips" and [t["note"] for t in item.evidence["tips"]] == [
        "Người dân báo",
        "Lại báo",
    ]
    with pytest.raises(CaseError):
        filled.tip_answer(tip.id, "lan", "ok", expected_version=tip.version)
    filled.review_decide(item.id, "lan", "true", "", expected_version=item.version)
    tip = filled.tip_get(tip.id)
    assert tip.status == "reviewed" and tip.verdict == "true"
    answered = filled.tip_answer(tip.id, "lan", "Tin đúng.", expected_version=tip.version)
    assert answered.status == "answered" and answered.answered_by == "lan"
    with pytest.raises(ConflictError):
        filled.tip_answer(tip.id, "lan", "again", expected_version=tip.version)
    assert [t.id for t in filled.tip_list(status="answered")] == [tip.id]
    assert {t.id for t in filled.tip_list()} == {tip.id, second.id}
    assert [e.action for e in filled.tip_history(tip.id)] == ["receive", "answer"]
    failed = filled.tip_add("http://10.0.0.1/", "lan", note="x", fetch_error="refused")
    assert failed.doc_id is None and failed.review_item is None and failed.status == "received"
    with pytest.raises(CaseError):
        filled.tip_add(OTHER.url, "lan", channel="pigeon")


def test_report_counts_on_both_stores(filled):
    confirm(filled, "claim", FAKE[0].id)
    confirm(filled, "covid", SOCIAL[0].id, "misleading")
    case = filled.case_open("baogia.com.vn", "lan", items=[FAKE[0].id])
    for status in ("evidence-complete", "notice-sent"):
        case = filled.case_move(case.id, "lan", "analyst", status, expected_version=case.version)
    filled.case_move(
        case.id,
        "boss",
        "supervisor",
        "sanctioned",
        expected_version=case.version,
        fine=7_500_000,
        decision="2/QĐ",
    )
    other = filled.case_open("facebook.com/tintuc24hnews", "lan", items=[])
    filled.case_move(other.id, "lan", "analyst", "dismissed", expected_version=other.version)
    filled.tip_add(OTHER.url, "lan", note="n", doc_id=OTHER.id)
    today = NOW.astimezone().date()
    report = build_report(filled, today - timedelta(days=1), today + timedelta(days=1))
    assert report.counts == {
        "sites_reviewed": 1,
        "accounts_reviewed": 1,
        "items_flagged": 3,
        "items_confirmed": 2,
        "sites_confirmed": 0,
        "cases_opened": 2,
        "cases_sanctioned": 1,
        "subjects_sanctioned": 1,
        "fines_total": 7_500_000,
        "cases_removed": 0,
        "cases_dismissed": 1,
        "tips_received": 1,
        "tips_answered": 0,
        "removals_confirmed": 0,
    }
    assert report.rows["subjects_sanctioned"] == ["baogia.com.vn"]
    assert report.details["sites_crawled"] == 2 and report.details["accounts_crawled"] == 2
    top = {row["subject"]: row for row in report.top_subjects}
    assert top["baogia.com.vn"]["fines"] == 7_500_000 and top["baogia.com.vn"]["confirmed"] == 1
    assert len(report.decision_days) == 2
    empty = build_report(filled, date(2020, 1, 1), date(2020, 1, 31))
    assert set(empty.counts.values()) == {0}
