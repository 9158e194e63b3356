"""``misinfo demo``, the README's main job, end to end (without serving the UI at the end)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def test_demo_crawls_the_demo_sites_and_the_sample_searches_find_the_right_articles(tmp_path):
    result = run_cli(None, tmp_path / "data", "demo", "--port", "0", "--no-serve", timeout=600)
    output = result.stdout
    rows = {
        line.split()[0]: line.split() for line in output.splitlines() if line.startswith("demo-")
    }
    for source, articles in (
        ("demo-songhong", 64),
        ("demo-tonghop24", 13),
        ("demo-doisongxanh", 12),
    ):
        _, status, pages, new, _, _, errors = rows[source][:7]
        assert status == "ok" and int(new) == articles and int(errors) == 0, rows[source]
        assert int(pages) > articles
    searches = dict(re.findall(r"\$ misinfo search '(.+?)' .*?: (\d+) result", output))
    assert int(searches["Hà Nội"]) > 0
    assert int(searches["ha noi"]) >= int(searches["Hà Nội"])
    assert "Mưa lớn kéo dài, nhiều tuyến phố Hà Nội ngập sâu" in output
    assert "Đội tuyển Việt Nam ngược dòng thắng Philippines" in output
    assert int(searches["flags:covid"]) >= 15
    assert "Traceback" not in result.stderr

    # From flag to decision: a confirmed claim, a sanctioned case, a tip; the report counts them.
    assert "sanctioned, 7.500.000 đồng" in output
    assert re.search(r"citizen's tip \d+", output), output[-800:]
    first, last = date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    report = run_cli(
        None,
        tmp_path / "data",
        "report",
        "--from",
        str(first),
        "--to",
        str(last),
        "--format",
        "json",
    )
    counts = json.loads(report.stdout)["counts"]
    assert counts["cases_sanctioned"] == 1 and counts["fines_total"] == 7_500_000
    assert counts["items_confirmed"] >= 1 and counts["sites_confirmed"] == 1
    assert counts["tips_received"] == 1
