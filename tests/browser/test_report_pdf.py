"""``misinfo report --format pdf``: the standalone HTML printed by Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MISINFO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
def test_pdf_report_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("MISINFO_CHROMIUM", CHROMIUM)
    output = tmp_path / "report.pdf"
    run_cli(
        None,
        tmp_path / "data",
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--format",
        "pdf",
        "-o",
        str(output),
    )
    data = output.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000  # text and four chart images


def test_pdf_needs_an_output_file(tmp_path):
    result = run_cli(
        None,
        tmp_path / "data",
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--format",
        "pdf",
        check=False,
    )
    assert result.returncode == 2 and "-o FILE" in result.stderr
