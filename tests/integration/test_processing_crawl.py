"""Crawls whose processing workers die: a worker killed from outside mid-crawl is replaced
and nothing is lost; a page that kills its worker every time is retried once, then its
batch's pages are recorded as failed in the run history, never lost silently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from crawler.demosite import DemoServer
from index import SearchRequest, open_store
from tests.helpers import REPO_ROOT, demo_source_entries, run_cli, runs_json, write_config

pytestmark = pytest.mark.slow

HOST = "songhong.localhost"


def _stored(data_dir: Path) -> set[str]:
    if not (data_dir / "index.db").exists():
        return set()
    store = open_store(f"sqlite:///{data_dir / 'index.db'}")
    try:
        return {doc.canonical_url for doc in store.scan(SearchRequest())}
    finally:
        store.close()


def _workers(crawl: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(crawl.pid).children(recursive=True)
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


def test_a_worker_killed_mid_crawl_is_replaced_and_every_article_stored(
    tmp_path: Path, demo_server: DemoServer
):
    source = demo_source_entries(demo_server, HOST, name="songhong", feeds=False, listing=False)
    # One page at a time, so the crawl is still going when a worker is killed.
    settings = {"crawl": {"download_delay": 0.1, "autothrottle": False, "workers": 2}}
    settings["crawl"]["concurrent_per_domain"] = 1
    config = write_config(tmp_path / "config", [source], settings)
    data = tmp_path / "data"
    command = [sys.executable, "-m", "crawler", "--config", str(config), "--data-dir", str(data)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("MISINFO_")}
    crawl = subprocess.Popen(
        [*command, "crawl", "songhong"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not _stored(data):  # the workers are up and have processed pages
            assert crawl.poll() is None, "the crawl ended before a worker could be killed"
            assert time.monotonic() < deadline, "nothing stored in 300 s"
            time.sleep(0.2)
        victim = _workers(crawl)[0]
        victim.send_signal(signal.SIGKILL)
        stdout, stderr = crawl.communicate(timeout=600)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    assert crawl.returncode == 0, f"{stdout}\n{stderr}"
    assert "processing worker" in stderr and "lost" in stderr, stderr
    expected = {article.url for article in demo_server.articles(HOST)}
    assert _stored(data) == expected
    (run,) = runs_json(config, data)
    assert run["status"] == "ok" and run["failed"] == 0, run


def test_a_page_that_kills_its_worker_every_time_is_recorded_failed(
    tmp_path: Path, demo_server: DemoServer
):
    source = demo_source_entries(demo_server, HOST, name="songhong", feeds=False, listing=False)
    config = write_config(tmp_path / "config", [source])
    data = tmp_path / "data"
    articles = demo_server.articles(HOST)
    poison = articles[3].url
    env = {key: value for key, value in os.environ.items() if not key.startswith("MISINFO_")}
    command = [sys.executable, "-m", "tests.processing_helpers", str(config), str(data)]
    result = subprocess.run(
        [*command, "songhong", poison],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    (run,) = json.loads(run_cli(config, data, "runs", "--json").stdout)
    stored = _stored(data)
    assert poison not in stored
    # The poisoned page's batch was tried twice, then each of its pages recorded as failed.
    failed = [line for line in run["errors"] if "page not extracted" in line]
    assert any(poison in line and "after 2 attempts" in line for line in failed), run["errors"]
    assert 1 <= run["failed"] <= 8 and len(failed) == run["failed"]
    # Nothing lost silently: every article is stored or named in the errors.
    named = {url for url in (a.url for a in articles) if any(url in line for line in failed)}
    assert stored | named == {article.url for article in articles}
    assert not stored & named
