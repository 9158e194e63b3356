"""The Kibana saved objects parse, their references resolve, and their fields exist."""

from __future__ import annotations

import json
import re

import pytest

from config import BUNDLED_DIR
from index.elastic_schema import load_schema

NDJSON = BUNDLED_DIR / "kibana" / "misinfo.ndjson"
FIELDS = set(load_schema("documents")["mappings"]["properties"])


@pytest.fixture(scope="module")
def objects():
    lines = NDJSON.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_object_has_identity_and_attributes(objects):
    ids = [(obj["type"], obj["id"]) for obj in objects]
    assert len(ids) == len(set(ids))
    for obj in objects:
        assert obj["attributes"]["title"]
        assert isinstance(obj.get("references", []), list)


def test_references_resolve(objects):
    known = {(obj["type"], obj["id"]) for obj in objects}
    for obj in objects:
        names = [ref["name"] for ref in obj.get("references", [])]
        assert len(names) == len(set(names)), obj["id"]
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in known, (obj["id"], ref)


def test_data_view_targets_the_alias_with_a_time_field(objects):
    (view,) = [obj for obj in objects if obj["type"] == "index-pattern"]
    assert view["attributes"]["title"] == "misinfo-documents"
    assert view["attributes"]["timeFieldName"] == "published_at"
    assert "published_at" in FIELDS


def _search_source(obj):
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def test_searches_and_visualizations_name_their_data_view(objects):
    for obj in objects:
        if obj["type"] not in ("search", "visualization"):
            continue
        source = _search_source(obj)
        ref_names = {ref["name"] for ref in obj["references"]}
        assert source["indexRefName"] in ref_names, obj["id"]
        query_fields = re.findall(r"(\w+):", source["query"]["query"])
        assert set(query_fields) <= FIELDS, obj["id"]


def test_queues_have_saved_searches(objects):
    queries = {_search_source(obj)["query"]["query"] for obj in objects if obj["type"] == "search"}
    assert {"flags:covid", "flags:claim", "review_status:open"} <= queries
    for obj in objects:
        if obj["type"] == "search":
            assert set(obj["attributes"]["columns"]) <= FIELDS
            assert [field for field, _ in obj["attributes"]["sort"]] == ["published_at"]


def test_visualizations_aggregate_existing_fields(objects):
    visualizations = [obj for obj in objects if obj["type"] == "visualization"]
    assert visualizations
    for obj in visualizations:
        state = json.loads(obj["attributes"]["visState"])
        for agg in state["aggs"]:
            field = agg["params"].get("field")
            assert field is None or field in FIELDS, (obj["id"], field)
    over_time = json.loads(
        next(o for o in visualizations if o["id"] == "misinfo-vis-flagged-over-time")["attributes"][
            "visState"
        ]
    )
    assert any(agg["type"] == "date_histogram" for agg in over_time["aggs"])


def test_dashboard_panels_match_references(objects):
    (dashboard,) = [obj for obj in objects if obj["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    ref_names = {ref["name"] for ref in dashboard["references"]}
    assert {panel["panelRefName"] for panel in panels} == ref_names
    assert len({panel["panelIndex"] for panel in panels}) == len(panels)
    json.loads(dashboard["attributes"]["optionsJSON"])
    json.loads(dashboard["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
