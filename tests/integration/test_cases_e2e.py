"""From flag to decision through the command line, on the demo sites.

Crawl the newspaper-style demo site -> confirm a false claim -> open a case on the site ->
move it to ``sanctioned`` with a fine (refused for an analyst, recorded by a supervisor) ->
``misinfo report --format json`` shows one sanctioned subject and that fine, and every count
equals the one computed here, independently, from the audit log. A citizen's tip on a demo
URL is fetched, queued, decided and answered; a tip on a private address is recorded but
not fetched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from index.review import parse_time
from index.sqlite import SqliteStore
from index.subjects import registrable_domain
from tests.helpers import demo_source_entries, run_cli, write_config

pytestmark = pytest.mark.slow

HOST = "doisongxanh.localhost"
FINE = 7_500_000


@pytest.fixture(scope="module")
def workspace(demo_server, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cases")
    # songhong is a configured source (never crawled here): the tip's host has a source.
    config = write_config(
        root / "config",
        [
            demo_source_entries(
                demo_server, HOST, name="demo-doisongxanh", sitemaps=False, listing=False
            ),
            demo_source_entries(
                demo_server, "songhong.localhost", name="demo-songhong", sitemaps=False
            ),
        ],
    )
    data = root / "data"
    run_cli(config, data, "crawl", "demo-doisongxanh")
    return config, data


def _json(config: Path, data: Path, *args: str) -> object:
    return json.loads(run_cli(config, data, *args).stdout)


def _audit_counts(data: Path, first: date, last: date) -> dict[str, int]:
    """The report's counts recomputed from the raw audit log (the definitions of
    index.report, written out again here)."""
    store = SqliteStore(data / "index.db")
    try:
        entries = list(store.export_audit())
    finally:
        store.close()

    def in_period(at: str) -> bool:
        local = parse_time(at) + timedelta(hours=7)
        return first <= local.date() <= last

    period = [entry for entry in entries if in_period(entry.at)]
    flagged = {
        e.item_id.split(":", 1)[1]
        for e in period
        if e.action == "enqueue" and e.item_id.split(":")[0] in ("covid", "claim")
    }
    last_decision: dict[str, object] = {}
    for e in period:
        if e.action in ("decide", "reopen") and e.item_id.split(":")[0] in (
            "covid",
            "claim",
            "tips",
            "site",
        ):
            last_decision[e.item_id] = e
    confirmed = {
        item.split(":", 1)[1]
        for item, e in last_decision.items()
        if not item.startswith("site:")
        and e.action == "decide"
        and e.after["verdict"] in ("false", "misleading")
    }
    moves: dict[str, dict[str, dict]] = {}
    for e in period:
        if e.item_id.startswith("case:") and e.action == "move":
            moves.setdefault(e.after["status"], {})[e.item_id] = e.after
    sanctioned = moves.get("sanctioned", {})
    return {
        "items_flagged": len(flagged),
        "items_confirmed": len(confirmed),
        "cases_opened": sum(
            1 for e in period if e.item_id.startswith("case:") and e.action == "open"
        ),
        "cases_sanctioned": len(sanctioned),
        "subjects_sanctioned": len({state["subject"] for state in sanctioned.values()}),
        "fines_total": sum(state["fine"] for state in sanctioned.values()),
        "cases_removed": len(moves.get("removed", {})),
        "cases_dismissed": len(moves.get("dismissed", {})),
        "tips_received": sum(
            1
            for e in entries
            if e.item_id.startswith("tip:")
            and e.action == "receive"
            and first.isoformat() <= e.after["received_at"] <= last.isoformat()
        ),
        "tips_answered": sum(
            1 for e in period if e.item_id.startswith("tip:") and e.action == "answer"
        ),
    }


def test_crawl_confirm_case_sanction_report_and_tip(workspace, demo_server):
    config, data = workspace
    subjects = _json(config, data, "subjects", "--json")
    subject = next(s for s in subjects if s["id"] == HOST)
    assert subject["kind"] == "website" and subject["documents"] > 0
    assert subject["flagged"] > 0 and subject["style_score"] is not None

    claims = _json(config, data, "review", "list", "claim", "--json", "--limit", "50")
    item = next(i for i in claims if registrable_domain(i["site"]) == HOST)
    run_cli(
        config,
        data,
        "review",
        "decide",
        item["id"],
        "false",
        "--note",
        "refuted by MoH",
        "--no-add-known-claim",
        "--user",
        "lan",
    )

    case = _json(
        config,
        data,
        "cases",
        "open",
        HOST,
        "--item",
        item["id"],
        "--note",
        "false Covid cure",
        "--legal-basis",
        "Decree 15/2020, art. 101",
        "--user",
        "lan",
        "--json",
    )
    assert case["subject"] == HOST and case["status"] == "open" and case["fine"] is None
    assert case["items"] == [item["target_id"]]
    assert case["evidence"][0]["verdict"] == "false"
    for status in ("evidence-complete", "notice-sent"):
        run_cli(
            config, data, "cases", "move", case["id"], status, "--note", status, "--user", "lan"
        )

    refused = run_cli(
        config,
        data,
        "cases",
        "move",
        case["id"],
        "sanctioned",
        "--fine",
        "7.500.000",
        "--decision",
        "QĐ 12/QĐ-XPHC",
        "--user",
        "lan",
        check=False,
    )
    assert refused.returncode == 1
    assert "supervisor" in refused.stderr and "Traceback" not in refused.stderr

    subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "--config",
            str(config),
            "--data-dir",
            str(data),
            "users",
            "add",
            "boss",
            "--role",
            "supervisor",
        ],
        input="a long enough password\n",
        text=True,
        check=True,
        capture_output=True,
    )
    moved = _json(
        config,
        data,
        "cases",
        "move",
        case["id"],
        "sanctioned",
        "--fine",
        "7.500.000",
        "--decision",
        "QĐ 12/QĐ-XPHC",
        "--decision-date",
        date.today().isoformat(),
        "--note",
        "fined",
        "--user",
        "boss",
        "--json",
    )
    assert moved["status"] == "sanctioned" and moved["fine"] == FINE

    listed = _json(config, data, "cases", "list", "--status", "sanctioned", "--json")
    assert [c["id"] for c in listed] == [case["id"]]
    shown = _json(config, data, "cases", "show", case["id"], "--json")
    assert [h["action"] for h in shown["history"]] == ["open", "move", "move", "move"]
    assert shown["history"][-1]["before"]["status"] == "notice-sent"
    assert shown["history"][-1]["after"]["fine"] == FINE

    # -- a citizen's tip on a demo URL: fetched, queued, decided, answered -------------------
    article = demo_server.base_url("songhong.localhost") + "/"
    tip = _json(
        config,
        data,
        "tips",
        "add",
        article,
        "--note",
        "is this true?",
        "--channel",
        "phone",
        "--user",
        "lan",
        "--json",
    )
    assert not tip["fetch_error"], tip["fetch_error"]
    assert tip["doc_id"] and tip["review_item"] == f"tips:{tip['doc_id']}"
    assert tip["status"] == "received" and not tip["fetch_error"]
    queued = _json(config, data, "review", "show", tip["review_item"], "--json")
    assert queued["queue"] == "tips" and queued["evidence"]["tips"][0]["note"] == "is this true?"
    early = run_cli(config, data, "tips", "answer", tip["id"], "--answer", "x", check=False)
    assert early.returncode == 1 and "not reviewed" in early.stderr
    run_cli(config, data, "review", "decide", tip["review_item"], "true", "--user", "lan")
    assert _json(config, data, "tips", "show", tip["id"], "--json")["status"] == "reviewed"
    run_cli(
        config, data, "tips", "answer", tip["id"], "--answer", "Checked: accurate.", "--user", "lan"
    )
    assert _json(config, data, "tips", "show", tip["id"], "--json")["status"] == "answered"

    # A private address that is no source's: recorded, never fetched.
    private = _json(config, data, "tips", "add", "http://10.1.2.3/x", "--note", "n", "--json")
    assert private["doc_id"] is None and "private" in private["fetch_error"]
    bad = run_cli(config, data, "tips", "add", "file:///etc/passwd", "--note", "n", check=False)
    assert bad.returncode == 2 and "http(s)" in bad.stderr and "Traceback" not in bad.stderr

    # -- the period report ---------------------------------------------------------------------
    first, last = date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    report = _json(
        config,
        data,
        "report",
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        "--format",
        "json",
    )
    counts = report["counts"]
    assert set(counts) == {
        "sites_reviewed",
        "accounts_reviewed",
        "items_flagged",
        "items_confirmed",
        "sites_confirmed",
        "cases_opened",
        "cases_sanctioned",
        "subjects_sanctioned",
        "fines_total",
        "cases_removed",
        "cases_dismissed",
        "tips_received",
        "tips_answered",
        "removals_confirmed",
    }
    assert report["from"] == first.isoformat() and report["to"] == last.isoformat()
    assert counts["subjects_sanctioned"] == 1 and counts["fines_total"] == FINE
    assert isinstance(counts["fines_total"], int)
    assert counts["tips_received"] == 2 and counts["tips_answered"] == 1
    assert counts["removals_confirmed"] == 0
    assert counts["sites_reviewed"] == 2  # doisongxanh (claim) and songhong (the tip)
    expected = _audit_counts(data, first, last)
    assert {key: counts[key] for key in expected} == expected
    assert expected["items_flagged"] > 0 and expected["items_confirmed"] == 1

    # A period before anything happened counts nothing.
    empty = _json(
        config, data, "report", "--from", "2020-01-01", "--to", "2020-01-31", "--format", "json"
    )
    assert set(empty["counts"].values()) == {0}

    markdown = run_cli(
        config,
        data,
        "report",
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        "--base-url",
        "http://ui.example",
    )
    assert "7.500.000 đồng" in markdown.stdout
    assert "http://ui.example/report/rows/fines_total?" in markdown.stdout
    html_file = data / "report.html"
    run_cli(
        config,
        data,
        "report",
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        "--format",
        "html",
        "-o",
        str(html_file),
    )
    html = html_file.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 4


def test_report_rejects_an_inverted_period(workspace):
    config, data = workspace
    result = run_cli(
        config, data, "report", "--from", "2026-02-01", "--to", "2026-01-01", check=False
    )
    assert result.returncode == 1 and "before" in result.stderr
    assert "Traceback" not in result.stderr
