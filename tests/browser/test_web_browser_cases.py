"""Cases, subjects, tips and the Report page in a real Chromium, over crawled demo sites.

Same setup as tests/test_web_browser.py (its fixtures): any dialog, console error (a CSP
violation is one), page error or failed response fails the test; each new page is
screenshotted into ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest

from tests.browser import test_web_browser as base
from tests.browser.test_web_browser import PASSWORD, Watched

pytestmark = [pytest.mark.browser, pytest.mark.slow]

demo_app = base.demo_app
base_url = base.base_url
browser = base.browser
ui = base.ui
ADMIN = "truong.phong"
FINE = "7.500.000"


@pytest.fixture
def admin(browser, base_url, demo_app) -> Iterator[Watched]:
    from index.web import UserExists, UserStore

    with contextlib.suppress(UserExists):
        UserStore(demo_app.state_path).add(ADMIN, PASSWORD, "admin")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    watched = Watched(context.new_page(), base_url)
    watched.goto("/login")
    watched.page.fill('input[name="username"]', ADMIN)
    watched.page.fill('input[name="password"]', PASSWORD)
    with watched.page.expect_navigation():
        watched.page.click('button[type="submit"]')
    try:
        yield watched
        assert watched.dialogs == [] and watched.errors == [], watched.errors
    finally:
        context.close()


def _move(page, status: str, **fields: str) -> str:
    page.select_option('form.case-move select[name="status"]', status)
    for name, value in fields.items():
        page.fill(f'form.case-move input[name="{name}"]', value)
    with page.expect_navigation():
        page.click('form.case-move button[type="submit"]')
    return page.locator(".flash").first.inner_text()


def test_analyst_opens_a_case_is_refused_the_sanction_and_an_admin_records_it(ui, admin):
    ui.goto("/queues/claim")
    items = ui.page.locator(".queue-item")
    assert items.count() > 0
    with ui.page.expect_navigation():
        items.first.locator('button.verdict[value="false"]').click()
    with ui.page.expect_navigation():
        ui.page.click("p.open-case a")
    assert "/cases/new" in ui.page.url
    subject = ui.page.locator('form.case-open input[name="subject"]').input_value()
    assert subject
    ui.page.fill('form.case-open input[name="legal_basis"]', "Nghị định 15/2020/NĐ-CP, Điều 101")
    ui.page.fill('form.case-open textarea[name="note"]', "Tin sai về cách chữa Covid-19")
    ui.shot("case-new")
    with ui.page.expect_navigation():
        ui.page.click('form.case-open button[type="submit"]')
    assert re.search(r"/cases/\d+$", ui.page.url)
    case_path = ui.page.url.removeprefix(ui.base_url)
    assert "opened case" in ui.page.locator(".flash").first.inner_text()
    assert ui.page.locator("article.case-item").count() == 1
    assert "Tin sai" not in ui.page.locator("dl.facts").inner_text()  # the note is in history
    assert _move(ui.page, "evidence-complete").endswith("evidence-complete")
    assert _move(ui.page, "notice-sent").endswith("notice-sent")
    refused = _move(
        ui.page, "sanctioned", fine=FINE, decision="12/QĐ-XPHC", decision_date="2026-11-30"
    )
    assert "only an admin or a supervisor may record a sanction" in refused
    assert "notice-sent" in ui.page.locator("dd.status").inner_text()
    ui.shot("case-sanction-refused")

    admin.goto(case_path)
    recorded = _move(
        admin.page, "sanctioned", fine=FINE, decision="12/QĐ-XPHC", decision_date="2026-11-30"
    )
    assert recorded.endswith("sanctioned")
    assert f"{FINE} đồng" in admin.page.locator("dd.sanction").inner_text()
    history = admin.page.locator("table.history").inner_text()
    assert ADMIN in history and "notice-sent → sanctioned" in history
    admin.shot("case-sanctioned")
    admin.goto("/cases")
    assert admin.page.locator("td.status-sanctioned").count() >= 1
    admin.shot("cases")
    admin.goto("/subjects/" + subject)
    assert admin.page.locator("h1").count() == 1
    admin.shot("subject")


def test_subjects_tip_and_report_pages(ui, demo_server):
    ui.goto("/subjects")
    assert ui.page.locator("table.subjects tbody tr").count() >= 3
    ui.shot("subjects")
    ui.goto("/tips")
    article = demo_server.base_url("songhong.localhost") + "/"
    ui.page.fill('form.tip-add input[name="url"]', article)
    ui.page.fill('form.tip-add textarea[name="note"]', "Một người dân hỏi bài này có đúng không")
    ui.page.select_option('form.tip-add select[name="channel"]', "phone")
    ui.shot("tips")
    with ui.page.expect_navigation(timeout=120_000):
        ui.page.click('form.tip-add button[type="submit"]')
    assert re.search(r"/tips/\d+$", ui.page.url), ui.page.locator(".flash").first.inner_text()
    facts = ui.page.locator("dl.facts").inner_text()
    assert "received" in facts and "tips:" in facts
    ui.shot("tip")

    ui.goto("/report")
    images = ui.page.locator(".report-charts img")
    assert images.count() == 4
    assert ui.page.evaluate(
        "Array.from(document.querySelectorAll('.report-charts img'))"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    tips = ui.page.locator("#count-tips_received a")
    assert int(tips.inner_text()) >= 1
    ui.shot("report")
    with ui.page.expect_navigation():
        tips.click()
    assert "/report/rows/tips_received" in ui.page.url
    assert ui.page.locator("ol.rows li").count() == int(
        re.sub(r"\D", "", ui.page.locator("h1").inner_text())
    )
    ui.shot("report-rows")
