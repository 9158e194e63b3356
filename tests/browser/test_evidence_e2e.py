"""Evidence end to end: crawl (WARC), flag and confirm, capture, bundle, verify, tamper,
take the post down, check, replay the archived page offline from the bundle.

Every step runs ``misinfo`` in a subprocess as an analyst would.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from parsel import Selector
from warcio.archiveiterator import ArchiveIterator

from crawler.demosite import DemoServer
from index.evidence import audit_item_id
from index.sqlite import SqliteStore
from tests.helpers import FAST_CRAWL_SETTINGS, demo_source_entries, run_cli, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HOST = "doisongxanh.localhost"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _cli_json(config: Path, data: Path, *args: str) -> object:
    return json.loads(run_cli(config, data, *args, "--json").stdout)


@pytest.fixture(scope="module")
def flagged(tmp_path_factory, demo_server: DemoServer):
    """A crawled data directory and one flagged post in it, confirmed "false"."""
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium")
    root = tmp_path_factory.mktemp("evidence")
    settings = {
        **FAST_CRAWL_SETTINGS,
        "browser": {"executable_path": CHROMIUM},
        "evidence": {"check_interval": 1, "check_retries": 0},
    }
    config = write_config(
        root / "config",
        [demo_source_entries(demo_server, HOST, name="demo-dsx", listing=False, feeds=False)],
        settings,
    )
    data = root / "data"
    run_cli(config, data, "crawl", "demo-dsx")
    items = _cli_json(config, data, "review", "list", "claim")
    assert items, "the demo's rumour site has posts flagged as likely false"
    item = items[0]
    run_cli(
        config,
        data,
        "review",
        "decide",
        item["id"],
        "false",
        "--no-add-known-claim",
        "--user",
        "analyst1",
        "--note",
        "refuted by the Ministry of Health",
    )
    return config, data, item


def test_flag_confirm_capture_bundle_verify_takedown_replay(flagged, demo_server, tmp_path):
    config, data, item = flagged
    doc_id, url = item["target_id"], item["url"]

    # 1. The crawl archived the response: a WARC pointer whose bytes match their digest.
    listed = _cli_json(config, data, "evidence", "list", doc_id)
    (crawl_record,) = [f for f in listed["files"] if f["origin"] == "crawl"]
    assert crawl_record["kind"] == "warc" and crawl_record["url"] == url
    with (data / crawl_record["path"]).open("rb") as handle:
        handle.seek(crawl_record["offset"])
        span = handle.read(crawl_record["length"])
    assert hashlib.sha256(span).hexdigest() == crawl_record["sha256"]

    # 2. A capture: screenshot, rendered DOM and raw response, each stored by its SHA-256.
    captured = _cli_json(config, data, "evidence", "capture", doc_id, "--user", "analyst1")
    assert sorted(f["kind"] for f in captured) == ["dom", "screenshot", "warc"]
    for record in captured:
        assert {"sha256", "captured_at", "url", "kind"} <= set(record)
        stored = (data / record["path"]).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == record["sha256"]
        assert record["final_url"] == url and record["http_status"] == 200
    screenshot = next(f for f in captured if f["kind"] == "screenshot")
    assert (data / screenshot["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot["tools"]["chromium"] and screenshot["tools"]["playwright"]
    # A second capture adds files, never replaces the first.
    again = _cli_json(config, data, "evidence", "capture", doc_id, "--user", "analyst2")
    files = _cli_json(config, data, "evidence", "list", doc_id)["files"]
    assert {f["id"] for f in captured} | {f["id"] for f in again} <= {f["id"] for f in files}

    # 3. The bundle verifies; one changed byte anywhere fails it.
    bundle = tmp_path / "evidence.wacz"
    run_cli(config, data, "evidence", "bundle", doc_id, "-o", str(bundle), "--user", "analyst1")
    verified = run_cli(config, data, "evidence", "verify", str(bundle), "--json")
    report = json.loads(verified.stdout)
    assert report["ok"], report["problems"]
    assert [page["url"] for page in report["pages"]] == [url]
    paths = {resource["path"] for resource in report["resources"]}
    assert {"archive/data.warc.gz", "indexes/index.cdx", "pages/pages.jsonl"} <= paths
    assert {
        f"evidence/{doc_id}/{name}"
        for name in ("document.json", "review.json", "audit.json", "text.txt", "checks.json")
    } <= paths
    assert any(path.endswith(".png") for path in paths)
    blob = bundle.read_bytes()
    for position in (len(blob) // 2, 40, len(blob) - 30):
        tampered = tmp_path / f"tampered-{position}.wacz"
        changed = bytearray(blob)
        changed[position] ^= 0x01
        tampered.write_bytes(bytes(changed))
        result = run_cli(config, data, "evidence", "verify", str(tampered), check=False)
        assert result.returncode == 1, (position, result.stdout)
        assert "FAILED" in result.stdout

    # 4. Online and unchanged; then the post is taken down and the next check says so.
    (online,) = _cli_json(config, data, "evidence", "check", doc_id)
    assert online["status"] == "online-unchanged", online
    demo_server.remove_page(url, status=410)
    try:
        time.sleep(1.1)  # evidence.check_interval is 1 s: the confirmed post is due again
        due = _cli_json(config, data, "evidence", "check", "--due")
        (removed,) = [check for check in due if check["doc_id"] == doc_id]
        assert removed["status"] == "removed" and removed["http_status"] == 410
        assert removed["checked_at"] >= online["checked_at"]

        # 5. The bundle replays the page offline: the archived response, not the live site.
        with zipfile.ZipFile(bundle) as archive:
            warc = archive.read("archive/data.warc.gz")
            cdx = archive.read("indexes/index.cdx").decode()
        assert json.dumps(url)[1:-1] in cdx
        bodies = [
            record.content_stream().read()
            for record in ArchiveIterator(io.BytesIO(warc))
            if record.rec_type == "response"
            and record.rec_headers.get_header("WARC-Target-URI") == url
        ]
        assert bodies
        page = Selector(text=bodies[0].decode("utf-8"))
        assert item["title"].split("…")[0][:30] in " ".join(
            page.css("h1 *::text, h1::text").getall()
        )
    finally:
        demo_server.restore_page(url)

    # 6. The history: checks in order with the removal, and who did what in the audit log.
    history = _cli_json(config, data, "evidence", "list", doc_id)
    assert [c["status"] for c in history["checks"]] == ["online-unchanged", "removed"]
    store = SqliteStore(data / "index.db")
    try:
        actions = [(e.user, e.action) for e in store.evidence().audit_history(doc_id)]
        assert store.review_history(item["id"])[-1].action == "decide"
    finally:
        store.close()
    assert ("analyst1", "capture") in actions and ("analyst2", "capture") in actions
    assert ("analyst1", "bundle") in actions and ("scheduler", "check") in actions
    assert audit_item_id(doc_id) == f"evidence:{doc_id}"

    # 7. The period report counts the takedown the check confirmed.
    tomorrow = (date.today() + timedelta(days=1)).isoformat()  # Vietnam may be a day ahead
    report = json.loads(
        run_cli(
            config, data, "report", "--from", "2020-01-01", "--to", tomorrow, "--format", "json"
        ).stdout
    )
    assert report["counts"]["removals_confirmed"] == 1
