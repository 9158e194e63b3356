"""The demo's "from flag to decision" part: after the crawl, one confirmed false claim, a case
on the newspaper-style demo site opened and sanctioned, and one citizen's tip, so the
Subjects, Cases, Tips and Report pages have content.

Actors are named demo accounts: ``demo`` (an analyst: the UI login) confirms and opens, and
``demo-supervisor`` records the sanction (only a supervisor or admin may). A second demo
run on the same data directory adds nothing (the case and the tip are found again).
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from crawler.app import App
from crawler.resources.store import open_app_store

__all__ = ["DEMO_FINE", "DemoDecisions", "print_demo_decisions", "record_demo_decisions"]

DEMO_SITE = "doisongxanh.localhost"
TIP_SITE = "songhong.localhost"
DEMO_FINE = 7_500_000
ANALYST = "demo"
SUPERVISOR = "demo-supervisor"


@dataclass(frozen=True, slots=True)
class DemoDecisions:
    claim: str | None
    case: str | None
    tip: str | None


def _confirm_claim(store) -> str | None:
    """Decide the highest-priority open claim of the demo site as false; its item id."""
    for item in store.review_list("claim", status="all", limit=500):
        if item.site != DEMO_SITE:
            continue
        if item.status == "open":
            item = store.review_decide(
                item.id,
                ANALYST,
                "false",
                "Demo: refuted by the Ministry of Health (Bộ Y tế)",
                expected_version=item.version,
            )
        if item.verdict == "false":
            return item.id
    return None


def _confirm_site(store) -> str | None:
    try:
        item = store.review_get(f"site:{DEMO_SITE}")
    except Exception:  # NotFound: the profile was not flagged (a partial crawl)
        return None
    if item.status == "open":
        item = store.review_decide(
            item.id,
            ANALYST,
            "confirmed",
            "Demo: newspaper-style, no press licence",
            expected_version=item.version,
        )
    return item.id if item.verdict == "confirmed" else None


def _sanctioned_case(store, items: list[str]) -> str:
    existing = store.case_list(subject=DEMO_SITE)
    if existing:
        return existing[0].id
    case = store.case_open(
        DEMO_SITE,
        ANALYST,
        items=items,
        title="Báo Đời Sống Xanh: báo hóa and false Covid claims",
        note="Demo: opened from the confirmed claim",
        legal_basis="Nghị định 15/2020/NĐ-CP, Điều 101 (demo)",
    )
    for status in ("evidence-complete", "notice-sent"):
        case = store.case_move(
            case.id,
            ANALYST,
            "analyst",
            status,
            expected_version=case.version,
            note=f"Demo: {status}",
        )
    case = store.case_move(
        case.id,
        SUPERVISOR,
        "supervisor",
        "sanctioned",
        expected_version=case.version,
        fine=DEMO_FINE,
        decision="01/QĐ-XPHC (demo)",
        note="Demo: administrative fine",
    )
    return case.id


def record_demo_decisions(app: App) -> DemoDecisions:
    """Confirm, open and sanction, then add a tip (fetched in a subprocess)."""
    from index import SearchRequest

    store = open_app_store(app)
    try:
        claim = _confirm_claim(store)
        site = _confirm_site(store)
        case = None
        items = [item for item in (claim, site) if item]
        if items:
            case = _sanctioned_case(store, items)
        tips = [tip for tip in store.tip_list() if TIP_SITE in tip.url]
        hits = store.search(SearchRequest(filters={"site": [TIP_SITE]}, limit=1, sort="newest"))
    finally:
        store.close()
    tip = tips[0].id if tips else None
    if tip is None and hits.hits:
        from crawler.service.tips import tip_subprocess

        try:
            added = tip_subprocess(
                app,
                hits.hits[0].document.url,
                user=ANALYST,
                channel="phone",
                reporter="",
                note="Demo: a reader asks whether this article is true",
                received=None,
            )
            tip = str(added["id"])
        except ValueError as exc:
            click.echo(f"  (demo tip not recorded: {exc})")
    return DemoDecisions(claim=claim, case=case, tip=tip)


def print_demo_decisions(decisions: DemoDecisions) -> None:
    click.echo("\nFrom flag to decision (for the Subjects, Cases, Tips and Report pages):")
    if decisions.claim:
        click.echo(f"  confirmed false claim   {decisions.claim}")
    if decisions.case:
        fine = f"{DEMO_FINE:,}".replace(",", ".")
        click.echo(f"  case {decisions.case} on {DEMO_SITE}: sanctioned, {fine} đồng")
    if decisions.tip:
        click.echo(f"  citizen's tip {decisions.tip} (misinfo tips show {decisions.tip})")
    click.echo("  misinfo report --from YYYY-MM-DD --to YYYY-MM-DD   ·   misinfo cases list")
