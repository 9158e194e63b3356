"""Helpers the tests share (fixtures are in ``tests/conftest.py``): the repository root, fast
crawl settings, demo-source entries, a config directory, and ``misinfo`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from crawler.demosite import DemoServer

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Crawl settings for tests: no politeness delays against our own local server.
FAST_CRAWL_SETTINGS = {
    "crawl": {
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_per_domain": 8,
    }
}


def demo_source_entries(
    server: DemoServer,
    host: str,
    *,
    name: str,
    feeds: bool = True,
    sitemaps: bool = True,
    listing: bool = True,
) -> dict:
    base = server.base_url(host)
    site = server.sites[host]
    entry: dict = {"name": name, "kind": "news", "schedule": {"every": "30m"}, "max_pages": 500}
    if listing:
        entry["start_urls"] = [base + "/"]
    if feeds:
        entry["feeds"] = [f"{base}/rss/{section.slug}.rss" for section in site.sections]
    if sitemaps:
        entry["sitemaps"] = [base + "/sitemap.xml"]
    return entry


def write_config(config_dir: Path, sources: list[dict], settings: dict | None = None) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "sources.yaml").write_text(
        yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8"
    )
    (config_dir / "settings.yaml").write_text(
        yaml.safe_dump(settings or FAST_CRAWL_SETTINGS, allow_unicode=True), encoding="utf-8"
    )
    return config_dir


def run_cli(
    config_dir: Path | None, data_dir: Path, *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``misinfo`` in a subprocess (a crawl needs a fresh Twisted reactor each time)."""
    command = [sys.executable, "-m", "crawler"]
    if config_dir is not None:
        command += ["--config", str(config_dir)]
    command += ["--data-dir", str(data_dir), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MISINFO_CONFIG", None)
    env.pop("MISINFO_DATA_DIR", None)
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"misinfo {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def runs_json(config_dir: Path, data_dir: Path) -> list[dict]:
    return json.loads(run_cli(config_dir, data_dir, "runs", "--json").stdout)


