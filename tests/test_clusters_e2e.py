"""End to end on the demo sites: a rumour crawled on one site, its copy crawled later on the
aggregator, one cluster; a watch alert reaches a local webhook during the crawl; a "false"
verdict on the original sends the copy to the claim queue with the decision.

The demo content is the bundled one plus one article: ``tonghop24`` (the aggregator, which
credits its sources) republishes the "nước muối" rumour of ``doisongxanh`` with a new title,
a few words changed and a credit line, as aggregators do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crawler.app import App
from crawler.demosite import DemoServer
from crawler.demosite.server import CONTENT_DIR
from tests.conftest import FAST_CRAWL_SETTINGS, demo_source_entries, run_cli, write_config
from tests.test_alerts_webhook import Receiver

pytestmark = pytest.mark.slow

ORIGINAL_SLUG = "suc-mieng-nuoc-muoi-dac-chua-khoi-covid"
COPY = {
    "slug": "nuoc-muoi-dac-chua-khoi-covid-thuc-hu",
    "section": "suc-khoe",
    "title": "Súc miệng nước muối đặc ba lần mỗi ngày sẽ khỏi Covid-19?",
    "sapo": "Một bác sĩ đề nghị giấu tên nói nước muối đặc có thể rửa sạch virus khỏi cổ họng.",
    "author": "Minh Khang (tổng hợp)",
    "published": "2026-10-27T08:40:00+07:00",
    "body": [
        "Trao đổi với phóng viên, một bác sĩ làm việc tại bệnh viện tuyến tỉnh (đề nghị giấu "
        "tên) cho biết virus Covid-19 trú ngụ ở cổ họng vài ngày trước khi xuống phổi.",
        "Theo bác sĩ này, chỉ cần súc miệng và uống một cốc nước muối ấm pha đặc ba lần mỗi "
        "ngày là virus sẽ bị tiêu diệt hoàn toàn, người bệnh khỏi hẳn mà không cần dùng thuốc.",
        '"Đây là cách rẻ tiền mà hiệu quả, nhưng ít ai nói cho người dân biết", vị bác sĩ nói '
        "và khuyên các gia đình nên dự trữ vài ký muối hột.",
        "Nhiều bạn đọc đã liên hệ tòa soạn để xin công thức pha nước muối; tại một số chợ, "
        "muối hột bắt đầu bán chạy hơn.",
        "Nguồn: Đời Sống Xanh",
    ],
    "tags": ["Covid-19", "nước muối"],
    "topic": "covid_rumour",
    "source_credit": "Đời Sống Xanh",
}


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT_DIR, root)
    with (root / "tonghop24.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(COPY, ensure_ascii=False) + "\n")
    return root


def test_a_copy_on_a_second_site_joins_the_rumour_and_the_verdict_follows(tmp_path, content_dir):
    with DemoServer(port=0, content_dir=content_dir) as server, Receiver() as receiver:
        config = write_config(
            tmp_path / "config",
            [
                demo_source_entries(
                    server, "doisongxanh.localhost", name="doisongxanh", feeds=False
                ),
                demo_source_entries(server, "tonghop24.localhost", name="tonghop24"),
            ],
            {**FAST_CRAWL_SETTINGS, "alerts": {"webhook_url": receiver.url, "backoff": 0.1}},
        )
        data = tmp_path / "data"
        run_cli(config, data, "watches", "add", '"nuoc muoi"', "--name", "Nước muối")
        run_cli(config, data, "crawl", "doisongxanh")
        run_cli(config, data, "crawl", "tonghop24")  # later, on the second site

        app = App(config_dir=config, data_dir=data)
        store = app.open_store()
        try:
            original = _by_slug(store, ORIGINAL_SLUG)
            copy = _by_slug(store, COPY["slug"])
            assert original.site == "doisongxanh.localhost" and copy.site == "tonghop24.localhost"
            assert copy.cluster_id == original.cluster_id
            [member] = [
                m for m in store.cluster_members(copy.cluster_id) if m.document.id == copy.id
            ]
            assert (member.how, member.matched_id) == ("jaccard", original.id)
            # The rest of the aggregator's articles stay apart from the rumour.
            assert store.cluster_sizes([original.cluster_id])[original.cluster_id] == 2
        finally:
            store.close()

        # The watch matched both posts; the crawls delivered the alerts to the webhook.
        delivered = {body["document"]["id"] for body in receiver.bodies}
        assert {original.id, copy.id} <= delivered
        assert all(body["watch"]["name"] == "Nước muối" for body in receiver.bodies)

        run_cli(
            config,
            data,
            "review",
            "decide",
            f"claim:{original.id}",
            "false",
            "--note",
            "Bộ Y tế bác bỏ",
            "--user",
            "lan",
            "--no-add-known-claim",
        )
        item = json.loads(
            run_cli(config, data, "review", "show", f"claim:{copy.id}", "--json").stdout
        )
        assert item["status"] == "open"
        link = item["evidence"]["cluster_verdict"]
        assert link["decision"] == f"claim:{original.id}" and link["decided_by"] == "lan"
        assert link["similarity"] > 0.5
        shown = json.loads(
            run_cli(config, data, "clusters", "show", copy.cluster_id, "--json").stdout
        )
        assert [m["site"] for m in shown["members"]] == [
            "doisongxanh.localhost",
            "tonghop24.localhost",
        ]


def _by_slug(store, slug: str):
    from index.store import SearchRequest

    [doc] = [doc for doc in store.scan(SearchRequest()) if slug in doc.url]
    return doc
