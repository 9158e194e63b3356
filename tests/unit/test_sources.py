"""The sources file: the bundled one loads; a malformed one gives a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import BUNDLED_DIR
from crawler.resources.sources import SourcesError, load_sources, parse_interval


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_sources_load_with_demo_sources_enabled_and_real_ones_disabled():
    sources = load_sources(BUNDLED_DIR / "sources.yaml")
    demo = [source for source in sources if source.name.startswith("demo-")]
    real = [source for source in sources if not source.name.startswith("demo-")]
    assert demo and all(source.enabled for source in demo)
    assert len(real) >= 5 and not any(source.enabled for source in real)
    assert all(source.feeds or source.sitemaps or source.start_urls for source in real)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "sources:\n  - name: a\n    start_urls: [http://x.vn/]\n    schedule: {every: 30x}\n",
            "source 'a': field 'schedule': interval '30x'",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.vn/]\n    maxpages: 3\n",
            "source 'a': field 'maxpages': unknown key",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [x.vn]\n",
            "source 'a': field 'start_urls': 'x.vn' is not an absolute http(s) URL",
        ),
        (
            "sources:\n  - name: a\n    kind: blog\n    start_urls: [http://x.vn/]\n",
            "source 'a': field 'kind'",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.vn/]\n    max_pages: 0\n",
            "source 'a': field 'max_pages'",
        ),
        ("sources:\n  - name: a\n", "source 'a': field '(top level)': needs at least one of"),
        (
            "sources:\n  - start_urls: [http://x.vn/]\n",
            "source #1: field 'name': Field required",
        ),
        (
            "sources:\n  - name: Bad Name\n    start_urls: [http://x.vn/]\n",
            "source 'Bad Name': field 'name'",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.vn/]\n  - name: a\n    feeds: [http://x.vn/rss]\n",
            "source 'a': field 'name': duplicate source name",
        ),
        (
            "sources:\n  - name: a\n    start_urls: [http://x.vn/]\n    schedule: '* * *'\n",
            "must have 5 fields",
        ),
        ("sources: {name: a}\n", "expected a top-level 'sources:' list"),
        ("sources:\n  - name: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_sources_file_gives_one_line_error_naming_file_and_field(
    tmp_path, body, expected
):
    path = write(tmp_path, body)
    with pytest.raises(SourcesError) as error:
        load_sources(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_sources_file(tmp_path):
    with pytest.raises(SourcesError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_schedule_forms_and_domains(tmp_path):
    path = write(
        tmp_path,
        "sources:\n"
        "  - name: a\n    feeds: [https://www.x.vn/rss]\n    schedule: '*/15 * * * *'\n"
        "  - name: b\n    sitemaps: [https://y.vn/s.xml]\n    allowed_domains: [y.vn]\n    schedule: {every: 2h}\n",
    )
    first, second = load_sources(path)
    assert first.schedule.cron == "*/15 * * * *"
    assert first.domains == ["www.x.vn"]
    assert second.schedule.every_seconds == 7200
    assert second.schedule.describe() == "every 2h"


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("30m", 1800), ("6h", 21600), ("1d", 86400)]
)
def test_parse_interval(text, seconds):
    assert parse_interval(text) == seconds
