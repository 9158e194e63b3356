"""Bounded analysis and the ``misinfo analyze`` line reader (issue #13, rows 2 and 10), with
property-based tests of the reader and of the text cutting."""

from __future__ import annotations

import io
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.analyse import PostInput, analyse_batch
from analysis.limits import DEFAULT_MAX_ANALYSED_CHARS, analysed_part, pieces
from crawler.app import App
from crawler.cli.analyze import BadLine, analyze_lines, parse_post, read_lines
from crawler.resources.analysis import load_analysis_resources

SENTENCE = "Sở Y tế Hà Nội cho biết số ca mắc Covid-19 mới đã giảm trong tuần qua. "


@pytest.fixture(scope="module")
def resources():
    return load_analysis_resources(App(config_dir=None))


# -- row 2: a long text is analysed in part, in bounded pieces, and marked --------------------
def test_a_long_post_is_analysed_up_to_the_limit_and_marked(resources):
    text = SENTENCE * (300_000 // len(SENTENCE))
    started = time.monotonic()
    (result,) = analyse_batch([PostInput(text=text)], resources)
    assert time.monotonic() - started < 60
    assert result.truncated == {
        "analysed_chars": result.truncated["analysed_chars"],
        "text_chars": len(text),
    }
    assert (
        DEFAULT_MAX_ANALYSED_CHARS * 0.8
        <= result.truncated["analysed_chars"]
        <= DEFAULT_MAX_ANALYSED_CHARS
    )
    assert result.to_dict()["truncated"] == result.truncated
    assert len(" ".join(result.tokens)) < DEFAULT_MAX_ANALYSED_CHARS * 1.2
    assert result.covid["flag"] is True


def test_a_short_post_is_analysed_whole_and_not_marked(resources):
    (result,) = analyse_batch([PostInput(text=SENTENCE * 3)], resources)
    assert result.truncated is None and "truncated" not in result.to_dict()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n!?…")), max_size=400), st.integers(5, 120))
def test_pieces_cover_the_text_in_bounded_parts(text, size):
    parts = list(pieces(text, size))
    assert "".join(parts) == text
    assert all(len(part) <= size for part in parts)
    assert all(parts) or parts == [""]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.integers(1, 200))
def test_the_analysed_part_is_a_bounded_prefix(text, limit):
    part = analysed_part(text, limit)
    assert len(part) <= limit and text.startswith(part)
    if len(text) <= limit:
        assert part == text


# -- row 10: the line reader -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"id": "u", "text": "caf\xe9"}', "not UTF-8"),
        (b'{"id": "s", "text": "\\ud800"}', "unpaired surrogate"),
        (b'{"id": "n", "text": "x", "n": ' + b"9" * 5000 + b"}", "too many digits"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"text": "no id"}', '"id" is missing'),
        (b'{"id": true, "text": "x"}', '"id" is missing'),
        (b'{"id": "f", "text": "x", "v": 1e999}', "out of range"),
        (b'{"id": "f", "text": "x", "v": NaN}', "not a JSON value"),
    ],
)
def test_bad_lines_are_one_line_reasons(line, message):
    with pytest.raises(BadLine, match=message) as caught:
        parse_post(line)
    assert "\n" not in str(caught.value)


def test_a_line_over_the_limit_is_skipped_unread():
    stream = io.BytesIO(
        b'{"id": 1, "text": "a"}\n' + b"x" * 5000 + b"\n" + b'{"id": 2, "text": "b"}\n'
    )
    lines = list(read_lines(stream, max_bytes=100))
    assert lines[0] == b'{"id": 1, "text": "a"}\n' and lines[1] is None
    assert lines[2] == b'{"id": 2, "text": "b"}\n'


def test_good_lines_around_bad_ones_are_all_written(resources):
    good = [json.dumps({"id": n, "text": SENTENCE}).encode() for n in range(5)]
    lines = [good[0], b"\xff\xfe", good[1], None, good[2], b"{", good[3], b'{"id": 9}', good[4]]
    errors: list[tuple[int, str]] = []
    out = list(
        analyze_lines(lines, resources, on_error=lambda n, m: errors.append((n, m)), batch_size=2)
    )
    assert [json.loads(line)["id"] for line in out] == [0, 1, 2, 3, 4]
    assert [n for n, _ in errors] == [2, 4, 6, 8]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_a_bad_line(data):
    try:
        record, post = parse_post(data)
    except BadLine as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
        assert isinstance(post.text, str) and record["id"] not in ("", None)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "text", "title", "url", "published_at", "engagement", "x"]), _JSONISH
    )
)
def test_any_json_object_parses_or_is_a_bad_line(record):
    try:
        line = json.dumps(record, ensure_ascii=False)
    except ValueError:
        return
    try:
        parse_post(line.encode("utf-8", "surrogatepass"))
    except BadLine as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    st.integers(1, 50),
)
def test_read_lines_returns_every_line_or_marks_it_too_long(lines, limit):
    stream = io.BytesIO(b"".join(line + b"\n" for line in lines))
    read = list(read_lines(stream, max_bytes=limit))
    assert len(read) == len(lines)
    for original, got in zip(lines, read, strict=True):
        assert got == original + b"\n" if len(original) <= limit else got is None
