"""Subjects, cases, tips and the Report page in the web UI (in-process, seeded store)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from index.web import create_app
from tests.integration import test_web
from tests.integration.test_web import DOCS, RUNS, SECRET, csrf_of, login

# The seeded store and accounts of the web tests.
store = test_web.store
users = test_web.users

HOSTILE = DOCS[4]  # tonghop24.localhost, a claim with script payloads
CLAIMED = DOCS[2]  # tinnong24h.localhost, a claim and covid post


@pytest.fixture
def submitted() -> list[tuple]:
    return []


@pytest.fixture
def app(store, users, submitted):
    users.add("boss", "mat-khau-an-toan", "supervisor")

    def submit(url, user, note, channel, reporter, received):
        # What crawler.service.tips does after fetching: the page is the seeded claim's.
        submitted.append((url, user, note, channel, reporter, received))
        tip = store.tip_add(
            url,
            user,
            note=note,
            channel=channel,
            reporter=reporter,
            received_at=received,
            doc_id=CLAIMED.id,
        )
        return tip.to_dict()

    return create_app(
        store_factory=lambda: store,
        users=users,
        secret_key=SECRET,
        runs_provider=lambda: RUNS,
        subject_register=lambda subject: (
            {"name": "Báo Sông Hồng", "kind": "newspaper", "licensed": True, "note": ""}
            if subject.id == "songhong.localhost"
            else None
        ),
        tip_submitter=submit,
    )


def _client(app, user: str) -> TestClient:
    client = TestClient(app)
    client.csrf = login(client, user)  # type: ignore[attr-defined]
    return client


def _version(html: str) -> str:
    match = re.search(r'name="version" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _confirm(client: TestClient, doc_id: str, queue: str = "claim") -> None:
    item = f"{queue}:{doc_id}"
    page = client.get(f"/queues/{queue}/items/{item}")
    response = client.post(
        f"/queues/{queue}/items/{item}/decide",
        data={"csrf_token": client.csrf, "verdict": "false", "version": _version(page.text)},
    )
    assert response.status_code == 200


def test_subjects_list_and_page(app):
    lan = _client(app, "lan")
    page = lan.get("/subjects")
    assert page.status_code == 200
    for doc in DOCS:
        assert doc.site in page.text
    assert "register: newspaper (licensed press)" in page.text
    flagged = lan.get("/subjects?flagged=1").text
    assert "tinnong24h.localhost" in flagged and "/subjects/songhong.localhost" not in flagged
    subject = lan.get("/subjects/tinnong24h.localhost")
    assert subject.status_code == 200 and "Newspaper-style evidence" in subject.text
    assert lan.get("/subjects/nope.example").status_code == 404
    for missing in ("/cases/999", "/tips/999"):
        page = lan.get(missing)
        assert page.status_code == 404 and missing.rsplit("/", 2)[1][:-1] + " 999" in page.text

    saved = lan.post(
        "/subjects/edit",
        data={
            "csrf_token": lan.csrf,
            "subject": "tinnong24h.localhost",
            "version": _version(subject.text),
            "name": "Tin Nóng 24h",
            "licence": "",
            "owner": "Công ty ABC, Hà Nội",
            "note": "",
        },
    )
    assert "saved tinnong24h.localhost" in saved.text and "Công ty ABC, Hà Nội" in saved.text
    # The same stale form again: a conflict, shown as a message.
    stale = lan.post(
        "/subjects/edit",
        data={
            "csrf_token": lan.csrf,
            "subject": "tinnong24h.localhost",
            "version": _version(subject.text),
            "name": "x",
        },
    )
    assert "changed since you read it" in stale.text


def test_analyst_opens_case_is_refused_sanction_and_admin_records_it(app, store):
    lan = _client(app, "lan")
    _confirm(lan, HOSTILE.id)
    item = lan.get(f"/queues/claim/items/claim:{HOSTILE.id}").text
    assert "Open a case on its publisher" in item
    form = lan.get(f"/cases/new?item=claim:{HOSTILE.id}")
    assert 'value="tonghop24.localhost"' in form.text
    opened = lan.post(
        "/cases",
        data={
            "csrf_token": lan.csrf,
            "subject": "tonghop24.localhost",
            "items": f"claim:{HOSTILE.id}",
            "legal_basis": "Nghị định 15/2020/NĐ-CP, Điều 101",
            "note": "tin sai về Covid",
        },
    )
    assert opened.status_code == 200 and "opened case 1" in opened.text
    assert str(opened.url).endswith("/cases/1")
    # Crawled markup in the linked item's evidence stays text.
    assert "<script>alert" not in opened.text.replace(
        '<script src="/static/app.js" defer></script>', ""
    )

    for status in ("evidence-complete", "notice-sent"):
        page = lan.get("/cases/1")
        moved = lan.post(
            "/cases/1/move",
            data={"csrf_token": lan.csrf, "status": status, "version": _version(page.text)},
        )
        assert f"case 1 is now {status}" in moved.text
    page = lan.get("/cases/1")
    refused = lan.post(
        "/cases/1/move",
        data={
            "csrf_token": lan.csrf,
            "status": "sanctioned",
            "version": _version(page.text),
            "fine": "7.500.000",
            "decision": "12/QĐ-XPHC",
            "decision_date": "2026-11-30",
        },
    )
    assert "only an admin or a supervisor may record a sanction" in refused.text
    assert store.case_get("1").status == "notice-sent"

    minh = _client(app, "minh")  # admin
    page = minh.get("/cases/1")
    recorded = minh.post(
        "/cases/1/move",
        data={
            "csrf_token": minh.csrf,
            "status": "sanctioned",
            "version": _version(page.text),
            "fine": "7.500.000",
            "decision": "12/QĐ-XPHC",
            "decision_date": "2026-11-30",
            "note": "đã xử phạt",
        },
    )
    assert "case 1 is now sanctioned" in recorded.text
    assert "7.500.000 đồng" in recorded.text
    case = store.case_get("1")
    assert case.fine == 7_500_000 and case.decision == "12/QĐ-XPHC"
    assert [e.user for e in store.case_history("1")] == ["lan", "lan", "lan", "minh"]
    listed = lan.get("/cases?status=sanctioned").text
    assert "/cases/1" in listed and "7.500.000" in listed

    # A supervisor may close it; an analyst may not.
    page = lan.get("/cases/1")
    assert (
        "only"
        in lan.post(
            "/cases/1/move",
            data={"csrf_token": lan.csrf, "status": "closed", "version": _version(page.text)},
        ).text
    )
    boss = _client(app, "boss")
    closed = boss.post(
        "/cases/1/move",
        data={"csrf_token": boss.csrf, "status": "closed", "version": _version(page.text)},
    )
    assert "case 1 is now closed" in closed.text


def test_two_analysts_moving_one_case_get_a_conflict(app, store):
    case = store.case_open("songhong.localhost", "lan", items=[], note="by hand")
    lan, hoa = _client(app, "lan"), _client(app, "hoa")
    version = _version(lan.get(f"/cases/{case.id}").text)
    first = lan.post(
        f"/cases/{case.id}/move",
        data={"csrf_token": lan.csrf, "status": "evidence-complete", "version": version},
    )
    assert "is now evidence-complete" in first.text
    second = hoa.post(
        f"/cases/{case.id}/move",
        data={"csrf_token": hoa.csrf, "status": "dismissed", "version": version},
    )
    assert "changed since you read it: lan did it" in second.text
    assert store.case_get(case.id).status == "evidence-complete"


def test_tip_form_queue_review_and_answer(app, store, submitted):
    lan = _client(app, "lan")
    page = lan.get("/tips")
    assert 'action="/tips"' in page.text
    bad = lan.post(
        "/tips", data={"csrf_token": lan.csrf, "url": "javascript:alert(1)", "note": "x"}
    )
    assert "not an http(s) URL" in bad.text and not submitted
    added = lan.post(
        "/tips",
        data={
            "csrf_token": lan.csrf,
            "url": CLAIMED.url,
            "note": "Người dân gọi điện hỏi",
            "channel": "phone",
            "reporter": "",
            "received": "2026-11-28",
        },
    )
    assert "recorded tip 1" in added.text and "received" in added.text
    assert submitted == [(CLAIMED.url, "lan", "Người dân gọi điện hỏi", "phone", "", "2026-11-28")]
    queue = lan.get("/queues/tips").text
    assert f"tips:{CLAIMED.id}" in queue
    _confirm(lan, CLAIMED.id, "tips")
    tip = lan.get("/tips/1").text
    assert "reviewed" in tip and 'action="/tips/1/answer"' in tip
    answered = lan.post(
        "/tips/1/answer",
        data={"csrf_token": lan.csrf, "answer": "Đã kiểm tra: tin sai.", "version": _version(tip)},
    )
    assert "tip 1 answered" in answered.text and "Đã kiểm tra: tin sai." in answered.text
    assert store.tip_get("1").status == "answered"


def test_report_page_counts_link_to_their_rows(app, store):
    lan = _client(app, "lan")
    _confirm(lan, HOSTILE.id)
    store.case_open("tonghop24.localhost", "lan", items=[HOSTILE.id])
    today = date.today()
    period = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    page = lan.get("/report", params=period)
    assert page.status_code == 200
    assert page.text.count('src="data:image/png;base64,') == 4
    flagged = re.search(r'id="count-items_flagged".*?<a href="([^"]+)">(\d+)</a>', page.text, re.S)
    assert flagged and int(flagged.group(2)) == 3  # the seeded covid/claim posts
    rows = lan.get(flagged.group(1).replace("&amp;", "&"))
    assert rows.status_code == 200 and rows.text.count("<li>") == 3
    assert f"/posts/{HOSTILE.id}" in rows.text
    assert "&lt;script&gt;" in rows.text  # the hostile title, escaped
    opened = re.search(r'id="count-cases_opened".*?<a href="([^"]+)">(\d+)</a>', page.text, re.S)
    assert opened and opened.group(2) == "1"
    assert "/cases/1" in lan.get(opened.group(1).replace("&amp;", "&")).text
    assert lan.get("/report/rows/nope").status_code == 404
    odd = lan.get("/report", params={"from": "yesterday"})
    assert odd.status_code == 200 and "dates must look like" in odd.text


def test_new_pages_carry_csrf_and_no_inline_script(app, store):
    store.case_open("songhong.localhost", "lan", items=[])
    lan = _client(app, "lan")
    for path in (
        "/subjects",
        "/subjects/songhong.localhost",
        "/cases",
        "/cases/1",
        "/cases/new",
        "/tips",
        "/report",
    ):
        html = lan.get(path).text
        assert "<script>" not in html and " style=" not in html, path
        if '<form method="post"' in html:
            assert csrf_of(html)
