"""``misinfo analyze``: JSON lines in and out, bad lines reported and skipped."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crawler.app import App
from crawler.cli.analyze import analyze_command

GOOD_COVID = {
    "id": "a",
    "title": "Hà Nội thêm ca Covid-19",
    "text": "Hà Nội ghi nhận thêm 5 ca mắc Covid-19 mới, các F1 đã được cách ly tập trung.",
    "engagement": {"likes": 3, "comments": 1, "shares": 0},
}
GOOD_OTHER = {"id": "b", "text": "Giá vàng hôm nay tăng mạnh trên thị trường thế giới."}
ENGLISH = {"id": "c", "text": "The outbreak is spreading fast and the hospitals are full"}


def run(tmp_path: Path, stdin: str, *args: str):
    runner = CliRunner()
    return runner.invoke(
        analyze_command, list(args), input=stdin, obj=App(config_dir=None, data_dir=tmp_path)
    )


def lines_of(*records: object) -> str:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    )


def test_streams_lines_with_analysis(tmp_path: Path) -> None:
    result = run(tmp_path, lines_of(GOOD_COVID, GOOD_OTHER, ENGLISH))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c"]
    assert out[0]["analysis"]["covid"]["flag"] is True
    assert out[1]["analysis"]["covid"]["flag"] is False
    assert out[2]["analysis"]["lang"] == "en" and out[2]["analysis"]["covid"]["flag"] is False
    assert set(out[0]["analysis"]) >= {"lang", "entities", "covid", "claim"}
    assert out[0]["text"] == GOOD_COVID["text"]  # the input record is kept as it was
    assert "3 lines read, 3 written, 0 skipped; flagged: 1 covid" in result.stderr


def test_malformed_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    stdin = lines_of(
        GOOD_COVID,
        "{not json",
        {"id": "x"},
        {"id": "y", "text": 42},
        [1, 2],
        {"id": "z", "text": "ok", "engagement": {"likes": "many"}},
        GOOD_OTHER,
    )
    result = run(tmp_path, stdin)
    assert result.exit_code == 0
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a", "b"]
    assert "line 2: skipped: not valid JSON" in result.stderr
    assert 'line 3: skipped: "text" is missing or not a string' in result.stderr
    assert "line 4: skipped" in result.stderr
    assert "line 5: skipped: expected a JSON object" in result.stderr
    assert 'line 6: skipped: "engagement"' in result.stderr
    assert "7 lines read, 2 written, 5 skipped" in result.stderr


def test_files_in_and_out(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(lines_of(GOOD_OTHER), encoding="utf-8")
    target = tmp_path / "out.jsonl"
    result = run(tmp_path, "", "--input", str(source), "--output", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["id"] == "b"


def test_missing_input_file_is_a_clean_error(tmp_path: Path) -> None:
    result = run(tmp_path, "", "--input", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_broken_lexicon_is_a_click_exception_with_hint(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "lexicons").mkdir(parents=True)
    (config / "lexicons" / "covid.yaml").write_text("specific: {Covid: -1}\n", encoding="utf-8")
    result = CliRunner().invoke(
        analyze_command, [], input="", obj=App(config_dir=config, data_dir=tmp_path)
    )
    assert result.exit_code == 1
    assert "covid.yaml" in result.output and "Hint" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_help() -> None:
    result = CliRunner().invoke(analyze_command, ["--help"])
    assert result.exit_code == 0 and "JSON lines" in result.output


def test_batch_size_changes_nothing_but_when_lines_come_out(tmp_path: Path) -> None:
    stdin = lines_of(GOOD_COVID, GOOD_OTHER, "{not json", ENGLISH, GOOD_OTHER, GOOD_COVID)
    outputs = [run(tmp_path, stdin, "--batch-size", size) for size in ("1", "2", "32")]
    for result in outputs:
        assert result.exit_code == 0, result.output
        assert "6 lines read, 5 written, 1 skipped" in result.stderr
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    assert [json.loads(line)["id"] for line in outputs[0].stdout.splitlines()] == list("abcba")
    assert run(tmp_path, stdin, "--batch-size", "0").exit_code != 0


def test_analyze_lines_yields_a_full_batch_before_reading_on() -> None:
    from analysis.analyse import AnalysisResources
    from crawler.cli.analyze import analyze_lines
    from crawler.resources.analysis import load_analysis_resources

    resources: AnalysisResources = load_analysis_resources(App(config_dir=None))
    read: list[int] = []

    def lines():
        for number, record in enumerate([GOOD_COVID, GOOD_OTHER, ENGLISH], start=1):
            read.append(number)
            yield json.dumps(record, ensure_ascii=False)

    out = analyze_lines(lines(), resources, batch_size=2)
    first = next(out)
    assert json.loads(first)["id"] == "a" and read == [1, 2]
    assert [json.loads(line)["id"] for line in out] == ["b", "c"]
