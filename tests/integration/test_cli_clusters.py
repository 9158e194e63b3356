"""``misinfo clusters``, ``trends``, ``watches`` and ``alerts`` on a small SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from index.documents import Document, document_id
from index.sqlite import SqliteStore

NOW = datetime.now(UTC).replace(microsecond=0)
RUMOUR = (
    "Xông lá sả, lá bưởi mỗi tối là virus cô vít trong phổi bay hết, khỏi cần đi xét nghiệm "
    "hay tiêm vắc xin gì nữa. Nhà mình xông cả tuần rồi, ai bị thì làm thử đi, hiệu quả lắm."
)


def _post(site: str, slug: str, text: str, hours_ago: float, **fields) -> Document:
    url = f"https://{site}/{slug}"
    when = (NOW - timedelta(hours=hours_ago)).isoformat()
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=site.split(".")[0],
        site=site,
        kind="post",
        text=text,
        published_at=when,
        fetched_at=when,
        **fields,
    )


DOCS = [
    _post(
        "doisongxanh.localhost",
        "xong-la",
        RUMOUR,
        72,
        flags=["claim"],
        scores={"claim": 0.8},
        analysis={"claim": {"score": 0.8, "flag": True}},
        engagement={"shares": 5},
    ),
    _post(
        "mxh.localhost", "p1", "Chia sẻ: " + RUMOUR, 4, author="Mẹ Bông", engagement={"shares": 40}
    ),
    _post("mxh.localhost", "p2", RUMOUR.replace("hiệu quả lắm", "thấy đỡ hẳn"), 2, author="Anh Tú"),
    _post(
        "songhong.localhost",
        "bao",
        "Bão số 8 đổ bộ Quảng Ngãi, hơn 30.000 người được sơ tán "
        "đến nơi an toàn trước khi bão vào đất liền.",
        1,
    ),
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    store = SqliteStore(data / "index.db")
    store.upsert(DOCS[:1] + DOCS[3:])
    store.upsert(DOCS[1:3])
    store.close()
    return data


def run(data: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(main, ["--data-dir", str(data), *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def test_every_new_command_has_help():
    for args in (
        ["clusters"],
        ["clusters", "show"],
        ["clusters", "rebuild"],
        ["clusters", "decide"],
        ["trends"],
        ["alerts"],
        ["watches"],
        ["watches", "add"],
        ["watches", "list"],
        ["watches", "remove"],
    ):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_clusters_list_and_show(data_dir):
    [cluster] = json.loads(run(data_dir, "clusters", "--json").stdout)
    assert cluster["size"] == 3
    assert cluster["first_seen"]["site"] == "doisongxanh.localhost"
    assert cluster["engagement"] == {"shares": 45}
    assert cluster["flags"] == {"claim": 1}
    assert {entry["site"] for entry in cluster["sites"]} == {
        "doisongxanh.localhost",
        "mxh.localhost",
    }
    assert json.loads(run(data_dir, "clusters", "--since", "1h", "--json").stdout) == []
    assert (
        len(json.loads(run(data_dir, "clusters", "--since", "24h", "--flagged", "--json").stdout))
        == 1
    )
    text = run(data_dir, "clusters").stdout
    assert cluster["cluster_id"] in text and "3 documents" in text
    shown = json.loads(run(data_dir, "clusters", "show", cluster["cluster_id"], "--json").stdout)
    assert [m["site"] for m in shown["members"]] == [
        "doisongxanh.localhost",
        "mxh.localhost",
        "mxh.localhost",
    ]
    assert shown["members"][0]["joined"]["how"] is None
    assert shown["members"][1]["joined"]["how"] == "jaccard"
    assert "started the cluster" in run(data_dir, "clusters", "show", cluster["cluster_id"]).stdout
    missing = run(data_dir, "clusters", "show", "nope", code=1)
    assert missing.output.strip() == "Error: no cluster 'nope' (see `misinfo clusters`)"
    bad = run(data_dir, "clusters", "--since", "soon", code=2)
    assert "is not a duration" in bad.output


def test_rebuild_and_decide(data_dir):
    [before] = json.loads(run(data_dir, "clusters", "--json").stdout)
    out = run(data_dir, "clusters", "rebuild", "--workers", "0").stdout
    assert "clustered 4 documents" in out and "1 clusters of two or more" in out
    [after] = json.loads(run(data_dir, "clusters", "--json").stdout)
    assert after["cluster_id"] == before["cluster_id"]
    decided = run(
        data_dir,
        "clusters",
        "decide",
        after["cluster_id"],
        "false",
        "--note",
        "WHO",
        "--user",
        "lan",
    ).stdout
    assert "3 decided false, 0 already decided" in decided
    history = json.loads(run(data_dir, "review", "history", f"claim:{DOCS[2].id}", "--json").stdout)
    assert history[-1]["user"] == "lan" and "WHO" in history[-1]["note"]
    run(data_dir, "clusters", "decide", "nope", "false", code=1)


def test_trends(data_dir):
    found = json.loads(run(data_dir, "trends", "--json").stdout)
    [trend] = found["clusters"]
    assert (trend["recent"], trend["baseline"]) == (2, 1)
    assert trend["cluster"]["size"] == 3
    assert found["window_hours"] == 24 and found["baseline_hours"] == 168
    assert "Clusters growing fastest" in run(data_dir, "trends", "--window", "6h").stdout
    run(data_dir, "trends", "--window", "x", code=2)


def test_watches_and_alerts(data_dir):
    added = run(data_dir, "watches", "add", '"bão số 8" OR bao', "--name", "Bão", "--user", "lan")
    watch_id = added.stdout.split()[1].rstrip(":")
    [watch] = json.loads(run(data_dir, "watches", "list", "--json").stdout)
    assert (watch["id"], watch["name"]) == (watch_id, "Bão")
    bad = run(data_dir, "watches", "add", "a AND (", code=1)
    assert bad.output.startswith("Error: bad query")
    store = SqliteStore(data_dir / "index.db")
    store.upsert(
        [_post("tuoitre.localhost", "bao-9", "Bão số 9 có thể mạnh thêm khi vào Biển Đông.", 0)]
    )
    store.close()
    [alert] = json.loads(run(data_dir, "alerts", "--json").stdout)
    assert (
        alert["watch_id"] == watch_id
        and alert["payload"]["document"]["site"] == "tuoitre.localhost"
    )
    assert "not delivered" in run(data_dir, "alerts").stdout
    run(data_dir, "watches", "remove", watch_id)
    assert "no watches" in run(data_dir, "watches", "list").stdout
    run(data_dir, "watches", "remove", watch_id, code=1)
