"""Shared fixtures: the demo sites server and a config directory pointing at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crawler.demosite import DemoServer

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Crawl settings for tests: no politeness delays against our own local server.
FAST_CRAWL_SETTINGS = {
    "crawl": {
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_per_domain": 8,
    }
}


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    with DemoServer(port=0) as server:
        yield server


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


# -- a throwaway Elasticsearch node, for tests that stop the cluster mid-write ---------------
ES_SCRIPT = REPO_ROOT / "scripts" / "elasticsearch.sh"


class SpareNode:
    """A single Elasticsearch node of the test's own (``scripts/elasticsearch.sh``) on
    ``port``, so stopping it leaves the shared node of ``MISINFO_ES_URL`` alone."""

    def __init__(self, port: int, node_dir: Path):
        self.port = port
        self.node_dir = node_dir
        self.url = f"http://127.0.0.1:{port}"

    def _script(self, command: str) -> None:
        env = {
            **os.environ,
            "MISINFO_ES_PORT": str(self.port),
            "MISINFO_ES_NODE_DIR": str(self.node_dir),
            "MISINFO_ES_HEAP": "256m",
        }
        subprocess.run(
            ["bash", str(ES_SCRIPT), command], env=env, check=True, capture_output=True, timeout=300
        )

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")


@pytest.fixture
def spare_es_node(request) -> Iterator[SpareNode]:
    """A :class:`SpareNode` on the port the test module names in ``SPARE_NODE_PORT``."""
    import shutil
    import uuid

    # Under the repo's .es/ (not pytest's 0700 tmp dir): the node runs as an unprivileged user.
    node_dir = REPO_ROOT / ".es" / f"spare-{uuid.uuid4().hex[:8]}"
    node_dir.mkdir(parents=True)
    node = SpareNode(request.module.SPARE_NODE_PORT, node_dir)
    yield node
    node.stop()
    shutil.rmtree(node_dir, ignore_errors=True)
