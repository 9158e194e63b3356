"""The command line: help everywhere, global options, config override, clear errors."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from config import BUNDLED_DIR
from crawler.app import App
from crawler.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


@pytest.mark.parametrize("path", all_commands(main), ids=lambda path: " ".join(path))
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = main
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help or command.short_help, f"misinfo {' '.join(path)} has no help text"


def test_expected_commands_exist():
    names = set(main.commands)
    assert {
        "sources",
        "crawl",
        "search",
        "demo",
        "runs",
        "export",
        "review",
        "analyze",
        "sites",
    } <= names


def test_config_directory_overrides_bundled_files_one_by_one(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: only-mine\n    feeds: [https://example.vn/rss]\n", encoding="utf-8"
    )
    app = App(config_dir=tmp_path, data_dir=tmp_path / "data")
    assert app.config_path("sources.yaml") == tmp_path / "sources.yaml"
    assert app.config_path("known_false_claims.jsonl") == BUNDLED_DIR / "known_false_claims.jsonl"
    assert app.settings["store"] == "sqlite"  # bundled settings still apply

    result = CliRunner().invoke(
        main, ["--config", str(tmp_path), "--data-dir", str(tmp_path / "d"), "sources", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"only-mine"' in result.output and "demo-songhong" not in result.output


def test_settings_override_key_by_key(tmp_path):
    (tmp_path / "settings.yaml").write_text("crawl:\n  download_delay: 3\n", encoding="utf-8")
    settings = App(config_dir=tmp_path).settings
    assert settings["crawl"]["download_delay"] == 3
    assert settings["crawl"]["download_timeout"] == 20  # bundled value kept


def test_environment_variables_select_config_and_data(tmp_path, monkeypatch):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: from-env\n    feeds: [https://example.vn/rss]\n", encoding="utf-8"
    )
    monkeypatch.setenv("MISINFO_CONFIG", str(tmp_path))
    monkeypatch.setenv("MISINFO_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["sources"])
    assert result.exit_code == 0, result.output
    assert "from-env" in result.output


def test_malformed_sources_file_is_a_one_line_error_not_a_traceback(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: broken\n    start_urls: [http://x.vn/]\n    schedule: {every: soon}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["--config", str(tmp_path), "--data-dir", str(tmp_path), "crawl", "broken"]
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "source 'broken': field 'schedule'" in result.output


def test_unknown_source_and_missing_arguments(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["--data-dir", str(tmp_path), "crawl", "no-such-source"])
    assert result.exit_code != 0 and "unknown source 'no-such-source'" in result.output
    result = runner.invoke(main, ["--data-dir", str(tmp_path), "crawl"])
    assert result.exit_code != 0 and "--all" in result.output


def test_bad_query_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "search", "title:(unclosed"])
    assert result.exit_code != 0
    assert "bad query" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "search", "nosuchfield:x"])
    assert result.exit_code != 0 and "unknown field" in result.output


def test_config_option_must_be_a_directory(tmp_path):
    missing = tmp_path / "nope"
    result = CliRunner().invoke(main, ["--config", str(missing), "sources"])
    assert result.exit_code != 0 and "Traceback" not in result.output
