"""The Kibana objects for cases, subjects and tips (config/kibana/cases.ndjson) parse, their
references resolve (within the file), and every field they use exists in its index."""

from __future__ import annotations

import json
import re

import pytest

from config import BUNDLED_DIR
from index.elastic_schema import load_schema

NDJSON = BUNDLED_DIR / "kibana" / "cases.ndjson"
FIELDS = {
    f"misinfo-{kind}": set(load_schema(kind)["mappings"]["properties"])
    for kind in ("cases", "subjects", "tips")
}


@pytest.fixture(scope="module")
def objects():
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines() if line]


def _view(obj) -> str:
    (ref,) = [r for r in obj["references"] if r["type"] == "index-pattern"]
    return ref["id"]


def test_identity_and_references(objects):
    known = {(obj["type"], obj["id"]) for obj in objects}
    assert len(known) == len(objects)
    for obj in objects:
        assert obj["attributes"]["title"]
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in known, (obj["id"], ref)


def test_data_views_target_aliases_with_time_fields(objects):
    views = {obj["id"]: obj for obj in objects if obj["type"] == "index-pattern"}
    assert set(views) == set(FIELDS)
    for view_id, view in views.items():
        assert view["attributes"]["title"] == view_id
        assert view["attributes"]["timeFieldName"] in FIELDS[view_id]


def test_searches_use_existing_fields(objects):
    searches = [obj for obj in objects if obj["type"] == "search"]
    assert {obj["id"] for obj in searches} >= {"misinfo-cases-open", "misinfo-subjects-all"}
    for obj in searches:
        fields = FIELDS[_view(obj)]
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert set(re.findall(r"(\w+):", source["query"]["query"])) <= fields, obj["id"]
        assert set(obj["attributes"]["columns"]) <= fields, obj["id"]
        assert {field for field, _ in obj["attributes"]["sort"]} <= fields, obj["id"]


def test_visualizations_aggregate_existing_fields(objects):
    visualizations = [obj for obj in objects if obj["type"] == "visualization"]
    assert len(visualizations) == 3
    for obj in visualizations:
        for agg in json.loads(obj["attributes"]["visState"])["aggs"]:
            field = agg["params"].get("field")
            assert field is None or field in FIELDS[_view(obj)], (obj["id"], field)


def test_dashboard_panels_resolve(objects):
    (dashboard,) = [obj for obj in objects if obj["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    names = {ref["name"] for ref in dashboard["references"]}
    assert {panel["panelRefName"] for panel in panels} == names
