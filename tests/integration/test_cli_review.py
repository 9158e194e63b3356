"""``misinfo review ...`` and ``misinfo export`` over the embedded store."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.resources.claims import confirmed_claims_path
from index import Document
from index.sqlite import SqliteStore

DOCS = [
    Document(
        id="d1",
        url="http://mxh.localhost/posts/p1",
        canonical_url="http://mxh.localhost/posts/p1",
        source="demo-mxh",
        site="mxh.localhost",
        kind="social",
        title="Uống nước chanh nóng diệt virus corona",
        text="Uống nước chanh nóng mỗi sáng sẽ diệt sạch virus corona, chia sẻ ngay!",
        published_at="2026-11-27T08:00:00+07:00",
        flags=["covid", "claim"],
        scores={"covid": 0.9, "claim": 0.8},
        analysis={"claim": {"score": 0.8, "flag": True, "matches": [], "signals": []}},
    ),
    Document(
        id="d2",
        url="http://songhong.localhost/a.html",
        canonical_url="http://songhong.localhost/a.html",
        source="demo-songhong",
        site="songhong.localhost",
        title="Giá vàng tăng mạnh",
        text="Giá vàng miếng lập đỉnh mới, chênh lệch mua bán lên 3 triệu đồng.",
        published_at="2026-11-20T09:00:00+07:00",
    ),
]


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    store = SqliteStore(data / "index.db")
    store.upsert(DOCS)
    store.close()
    return data


def invoke(data_dir, *args, input=None):
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], input=input)
    return result


def test_review_flow_claim_decide_history_and_known_claim(data_dir):
    listed = invoke(data_dir, "review", "list", "claim", "--json")
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.output)
    assert item["target_id"] == "d1" and item["status"] == "open"

    claimed = invoke(data_dir, "review", "claim", item["id"], "--user", "lan")
    assert claimed.exit_code == 0 and "claimed" in claimed.output

    other = invoke(data_dir, "review", "decide", item["id"], "true", "--user", "minh")
    assert other.exit_code != 0 and "Traceback" not in other.output  # leased to lan

    decided = invoke(
        data_dir, "review", "decide", item["id"], "false", "--note", "Bộ Y tế đã bác bỏ",
        "--user", "lan", "--add-known-claim",
    )  # fmt: skip
    assert decided.exit_code == 0, decided.output
    assert "added known claim" in decided.output
    confirmed = confirmed_claims_path(_app(data_dir)).read_text(encoding="utf-8")
    assert "Uống nước chanh nóng diệt virus corona" in confirmed

    history = json.loads(invoke(data_dir, "review", "history", item["id"], "--json").output)
    assert [entry["action"] for entry in history][-2:] == ["claim", "decide"]
    assert history[-1]["user"] == "lan" and history[-1]["after"]["verdict"] == "false"

    found = json.loads(invoke(data_dir, "search", "review_status:false", "--json").output)
    assert [hit["id"] for hit in found["hits"]] == ["d1"]


def test_stale_version_is_a_conflict(data_dir):
    (item,) = json.loads(invoke(data_dir, "review", "list", "claim", "--json").output)
    assert (
        invoke(data_dir, "review", "decide", item["id"], "misleading", "--user", "a").exit_code == 0
    )
    stale = invoke(
        data_dir, "review", "decide", item["id"], "true", "--user", "b",
        "--expect-version", str(item["version"]),
    )  # fmt: skip
    assert stale.exit_code != 0 and "Traceback" not in stale.output


def test_wrong_verdict_for_the_queue_is_a_clear_error(data_dir):
    (item,) = json.loads(invoke(data_dir, "review", "list", "covid", "--json").output)
    result = invoke(data_dir, "review", "decide", item["id"], "confirmed", "--user", "a")
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_export_jsonl_and_csv(data_dir, tmp_path):
    jsonl = invoke(data_dir, "export", "", "--format", "jsonl")
    assert jsonl.exit_code == 0
    rows = [json.loads(line) for line in jsonl.stdout.splitlines() if line.startswith("{")]
    assert {row["id"] for row in rows} == {"d1", "d2"}
    out = tmp_path / "out.csv"
    result = invoke(data_dir, "export", "flags:claim", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["id"] for row in table] == ["d1"] and table[0]["flags"] == "covid;claim"


def _app(data_dir):
    from crawler.app import App

    return App(data_dir=data_dir)
