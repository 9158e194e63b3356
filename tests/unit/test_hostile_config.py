"""Hostile configuration files (issue #13, rows 7 and 13): ``sources.yaml`` and
``settings.yaml`` refuse alias bombs, invalid UTF-8, absurd intervals, invalid cron and
empty domains, each with one line naming the file, before anything runs."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from crawler.app import App, ConfigError
from crawler.resources.sources import SourcesError, load_sources

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _sources(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "sources.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _source(**fields: str) -> str:
    lines = ["sources:", "  - name: s", "    start_urls: ['https://a.vn/']"]
    lines += [f"    {key}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def _one_line(message: str, path: Path) -> None:
    assert "\n" not in message and str(path) in message and len(message) < 400


# -- row 7: alias bombs ------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["name", "schedule"])
def test_an_alias_bomb_in_the_sources_file_is_refused_fast_in_one_line(tmp_path, field):
    value = "*i" if field == "name" else "{every: *i}"
    path = _sources(tmp_path, BILLION_LAUGHS + f"sources:\n  - {field}: {value}\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(SourcesError, match="aliases expand") as caught:
        load_sources(path)
    assert time.monotonic() - started < 2
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100 * 1024
    _one_line(str(caught.value), path)


def test_an_alias_bomb_in_settings_is_a_config_error(tmp_path: Path):
    (tmp_path / "settings.yaml").write_text(BILLION_LAUGHS + "crawl: {user_agent: *i}\n")
    with pytest.raises(ConfigError, match="aliases expand") as caught:
        App(config_dir=tmp_path, data_dir=tmp_path / "data").settings  # noqa: B018
    _one_line(str(caught.value), tmp_path / "settings.yaml")


def test_a_recursive_alias_is_refused(tmp_path: Path):
    path = _sources(tmp_path, "a: &a [*a]\nsources: []\n")
    with pytest.raises(SourcesError, match="refers to itself"):
        load_sources(path)


def test_small_aliases_still_work(tmp_path: Path):
    text = (
        "common: &common {kind: news, schedule: {every: 6h}}\n"
        "sources:\n"
        "  - {<<: *common, name: a, start_urls: ['https://a.vn/']}\n"
        "  - {<<: *common, name: b, start_urls: ['https://b.vn/']}\n"
    )
    assert [s.name for s in load_sources(_sources(tmp_path, text))] == ["a", "b"]


# -- row 13: bad bytes, absurd intervals, invalid cron, empty domains ----------------------------
def test_invalid_utf8_names_the_line(tmp_path: Path):
    path = _sources(tmp_path, b"sources:\n  - name: s\n    description: caf\xe9\n")
    with pytest.raises(SourcesError, match=r"line 3\): not UTF-8") as caught:
        load_sources(path)
    _one_line(str(caught.value), path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"schedule": "{every: 99999999999999999999999d}"}, "longer than a year"),
        ({"schedule": "{every: 367d}"}, "longer than a year"),
        ({"schedule": "{every: 0s}"}, "positive"),
        ({"schedule": "'99 99 * * *'"}, "minute '99' is not valid"),
        ({"schedule": "'0 24 * * *'"}, "hour '24' is not valid"),
        ({"schedule": "'*/0 * * * *'"}, "minute"),
        ({"schedule": "'0 0 31-1 * *'"}, "day"),
        ({"schedule": "'0 0 * 13 *'"}, "month"),
        ({"schedule": "'0 0 * * 8'"}, "weekday"),
        ({"allowed_domains": "['']"}, "is not a host name"),
        ({"allowed_domains": "['https://a.vn/']"}, "is not a host name"),
        ({"allowed_domains": "['a.vn:8080']"}, "is not a host name"),
    ],
)
def test_bad_schedules_and_domains_are_one_line_errors(tmp_path, fields, message):
    path = _sources(tmp_path, _source(**fields))
    with pytest.raises(SourcesError, match=message) as caught:
        load_sources(path)
    _one_line(str(caught.value), path)


@pytest.mark.parametrize(
    "schedule",
    ["'*/30 * * * *'", "'0 6,18 * * 1-5'", "'15 7 1 jan,jul sun'", "'0 0 * * 7'", "{every: 366d}"],
)
def test_valid_schedules_still_load(tmp_path, schedule):
    assert load_sources(_sources(tmp_path, _source(schedule=schedule)))[0].name == "s"
