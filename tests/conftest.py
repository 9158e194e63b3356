"""Shared fixtures (the demo sites server, an empty store of each backend, a spare
Elasticsearch node) and the markers that
the test folders imply; plain helpers are in ``tests/helpers.py``."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from scrapy.utils.reactor import install_reactor

from crawler.demosite import DemoServer
from crawler.settings import BASE_SETTINGS
from index.sqlite import SqliteStore
from index.store import Store
from tests.helpers import REPO_ROOT

#: Folders whose tests need something outside Python get its marker, so ``-m "not browser"``
#: and the skips keyed on markers hold for every test in them.
FOLDER_MARKS = {"browser": "browser", "elasticsearch": "elasticsearch"}


# Property tests draw the same examples on every run (CI must not turn red by chance);
# HYPOTHESIS_PROFILE=explore draws new ones, to hunt for inputs that break the code.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def pytest_configure(config: pytest.Config) -> None:
    # The crawl's reactor (crawler/settings.py), installed before any test imports
    # twisted.internet.reactor: otherwise the first import installs Twisted's default one and
    # every later in-process crawler (scrapy.utils.test.get_crawler) refuses to start.
    install_reactor(BASE_SETTINGS["TWISTED_REACTOR"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        mark = FOLDER_MARKS.get(item.path.parent.name)
        if mark and mark not in item.keywords:
            item.add_marker(mark)


@pytest.fixture
def store_options() -> dict[str, Any]:
    """Keyword arguments for the stores of ``each_store`` (a test module overrides it)."""
    return {}


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def each_store(
    request: pytest.FixtureRequest, tmp_path: Path, store_options: dict[str, Any]
) -> Iterator[Store]:
    """An empty store of each backend in turn: SQLite in ``tmp_path``, then Elasticsearch
    under a fresh index prefix on ``$MISINFO_ES_URL`` (skipped when unset); dropped after."""
    if request.param == "sqlite":
        backend: Store = SqliteStore(tmp_path / "index.db", **store_options)
    else:
        es_url = os.environ.get("MISINFO_ES_URL")
        if not es_url:
            pytest.skip("MISINFO_ES_URL is not set")
        from index.elastic import ElasticsearchStore

        backend = ElasticsearchStore(
            es_url, index_prefix=f"misinfo-test-{uuid.uuid4().hex[:12]}", **store_options
        )
    yield backend
    backend.drop()


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    with DemoServer(port=0) as server:
        yield server


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
