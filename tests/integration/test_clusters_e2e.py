"""End to end on the demo sites: a rumour crawled on one site, its copy crawled later on the
aggregator, one cluster; a watch alert reaches a local webhook during the crawl; a "false"
verdict on the original sends the copy to the claim queue with the decision.

The demo content is the bundled one plus one article: ``tonghop24`` (the aggregator, which
credits its sources) republishes the "nước muối" rumour of ``doisongxanh`` with a new title,
a few words changed and a credit line, as aggregators do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.app import App
from crawler.demosite import DemoServer
from crawler.resources.store import open_app_store
from tests.helpers import (
    COPY,
    FAST_CRAWL_SETTINGS,
    ORIGINAL_SLUG,
    Receiver,
    demo_content_with_copy,
    demo_source_entries,
    run_cli,
    write_config,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory) -> Path:
    return demo_content_with_copy(tmp_path_factory.mktemp("content"))


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
        store = open_app_store(app)
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
