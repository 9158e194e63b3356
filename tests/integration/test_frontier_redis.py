"""The shared crawl frontier on Redis (scrapy-redis): settings, errors, locks, and two crawl
processes splitting one source against the demo site.

A ``redis-server`` of the test's own runs on a free loopback port; the tests skip only when
the binary is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from click.testing import CliRunner
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.app import App
from crawler.cli import main
from crawler.demosite import DemoServer
from crawler.frontier.config import Frontier, FrontierError, redacted_url
from crawler.frontier.shared_run import SharedRun
from crawler.resources.sources import load_sources
from crawler.service.locks import LockBusy, SourceLock
from crawler.settings import crawl_settings
from index import SearchRequest
from index.sqlite import SqliteStore
from tests.helpers import FAST_CRAWL_SETTINGS, REPO_ROOT, demo_source_entries, write_config

HOST = "songhong.localhost"
URL_ENV = "MISINFO_REDIS_URL"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A private, throwaway redis-server (no persistence) on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def client(redis_url) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.close()


def _config(tmp_path: Path, settings: dict | None = None) -> App:
    source = {"name": "songhong", "kind": "news", "feeds": ["https://example.vn/rss"]}
    config_dir = write_config(tmp_path / "config", [source], settings)
    return App(config_dir=config_dir, data_dir=tmp_path / "data")


# -- settings ------------------------------------------------------------------------------
def test_local_frontier_keeps_scrapys_scheduler(tmp_path):
    app = _config(tmp_path)
    frontier = Frontier.from_app(app)
    assert not frontier.shared
    (source,) = load_sources(app.config_path("sources.yaml"))
    settings = crawl_settings(app, source, index_uri="sqlite:///x.db", frontier=frontier)
    assert settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
    assert settings["DUPEFILTER_CLASS"] == "crawler.frontier.dupefilter.DiskDupeFilter"
    assert not settings.getbool("MM_SHARED_RUN_ENABLED")


def test_redis_frontier_maps_to_scrapy_redis_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_REDIS", "redis://:pw@10.0.0.5:6379/2")
    app = _config(
        tmp_path,
        {
            **FAST_CRAWL_SETTINGS,
            "frontier": "redis",
            "redis": {"url_env": "MY_REDIS", "key_prefix": "mm", "run_ttl": 600},
        },
    )
    frontier = Frontier.from_app(app)
    assert (frontier.kind, frontier.run, frontier.run_ttl) == ("redis", "default", 600)
    (source,) = load_sources(app.config_path("sources.yaml"))
    settings = crawl_settings(app, source, index_uri="sqlite:///x.db", frontier=frontier)
    assert settings["SCHEDULER"] == "scrapy_redis.scheduler.Scheduler"
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings["REDIS_URL"] == "redis://:pw@10.0.0.5:6379/2"
    assert settings["SCHEDULER_QUEUE_KEY"] == "mm:songhong:default:requests"
    assert settings["SCHEDULER_DUPEFILTER_KEY"] == "mm:songhong:default:dupefilter"
    assert settings.getbool("SCHEDULER_PERSIST")
    assert settings["JOBDIR"] is None
    assert settings.getbool("MM_SHARED_RUN_ENABLED")
    assert settings["MM_SHARED_RUN_KEY"] == "mm:songhong:default"
    assert settings.getint("MM_SHARED_RUN_TTL") == 600


def test_command_line_overrides_the_settings_file(tmp_path, monkeypatch):
    monkeypatch.setenv(URL_ENV, "redis://127.0.0.1:6379/0")
    app = _config(tmp_path, {"frontier": "local", "redis": {"run": "nightly"}})
    assert not Frontier.from_app(app).shared
    frontier = Frontier.from_app(app, kind="redis")
    assert frontier.run_key("songhong") == "misinfo:songhong:nightly"
    assert Frontier.from_app(app, kind="redis", run="again").run == "again"


@pytest.mark.parametrize(
    ("settings", "env", "options", "message"),
    [
        (
            {"frontier": "memcached"},
            None,
            {},
            "field 'frontier': 'memcached' is not 'local' or 'redis'",
        ),
        ({"frontier": "redis"}, None, {}, "the redis frontier needs $MISINFO_REDIS_URL"),
        ({}, "http://127.0.0.1:6379", {"kind": "redis"}, "is not a Redis URL"),
        ({}, "redis://h:6379/0", {"kind": "redis", "run": "a b"}, "run name 'a b' is not a name"),
        ({}, None, {"run": "x"}, "add --frontier redis"),
        (
            {"redis": {"run_ttl": "1d"}},
            "redis://h:6379/0",
            {"kind": "redis"},
            "field 'redis.run_ttl': '1d' is not a positive whole number",
        ),
        (
            {"redis": {"key_prefix": "a:b"}},
            "redis://h:6379/0",
            {"kind": "redis"},
            "field 'redis.key_prefix'",
        ),
    ],
)
def test_configuration_mistakes_are_one_line_errors(
    tmp_path, monkeypatch, settings, env, options, message
):
    if env is None:
        monkeypatch.delenv(URL_ENV, raising=False)
    else:
        monkeypatch.setenv(URL_ENV, env)
    app = _config(tmp_path, settings)
    with pytest.raises(FrontierError) as caught:
        Frontier.from_app(app, **options)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unreachable_redis_names_where_it_tried_without_the_password():
    url = f"redis://:s3cret@127.0.0.1:{_free_port()}/0"
    frontier = Frontier(kind="redis", redis_url=url)
    with pytest.raises(FrontierError) as caught:
        frontier.check_reachable()
    message = str(caught.value)
    assert message.startswith(f"Redis at {redacted_url(url)} ($MISINFO_REDIS_URL) is unreachable")
    assert "s3cret" not in message


def test_crawl_command_reports_frontier_mistakes_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    app = _config(tmp_path)
    base = ["--config", str(app.config_dir), "--data-dir", str(app.data_dir), "crawl", "songhong"]
    result = CliRunner().invoke(main, [*base, "--frontier", "redis"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the redis frontier needs $MISINFO_REDIS_URL "
        "(e.g. export MISINFO_REDIS_URL=redis://127.0.0.1:6379/0)"
    ]
    result = CliRunner().invoke(main, [*base, "--frontier", "memcached"])
    assert result.exit_code == 2
    assert "'memcached' is not one of 'local', 'redis'" in result.output


def test_crawl_command_reports_unreachable_redis_in_one_line(tmp_path):
    """Through the real process: the check runs before any run row is written."""
    app = _config(tmp_path)
    url = f"redis://127.0.0.1:{_free_port()}/0"
    result = _misinfo(
        app.config_dir, app.data_dir, "crawl", "songhong", "--frontier", "redis", url=url
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: Redis at {url} ($MISINFO_REDIS_URL) is unreachable: "
        + result.stderr.split("is unreachable: ", 1)[1].strip()
    ]
    assert "Traceback" not in result.stderr
    runs = _misinfo(app.config_dir, app.data_dir, "runs", "--json", url=url)
    assert yaml.safe_load(runs.stdout) == []


# -- locks ---------------------------------------------------------------------------------
def test_redis_crawls_share_the_source_lock_and_exclude_local_crawls(tmp_path):
    first = SourceLock(tmp_path, "songhong", shared=True)
    second = SourceLock(tmp_path, "songhong", shared=True)
    first.acquire()
    try:
        second.acquire()  # another redis-frontier crawl of the source: allowed
        with pytest.raises(LockBusy):
            SourceLock(tmp_path, "songhong").acquire()  # a local crawl: refused
        second.release()
    finally:
        first.release()
    with SourceLock(tmp_path, "songhong"), pytest.raises(LockBusy):
        SourceLock(tmp_path, "songhong", shared=True).acquire()


# -- the run's life in Redis ---------------------------------------------------------------
def _shared_run(redis_url: str, *, worker_timeout: int = 30) -> SharedRun:
    frontier = Frontier(kind="redis", redis_url=redis_url, worker_timeout=worker_timeout)
    crawler = get_crawler(Spider, settings_dict=frontier.scrapy_settings("songhong"))
    crawler.spider = Spider(name="songhong")
    return SharedRun.from_crawler(crawler)


def test_last_process_to_complete_a_run_deletes_it_and_a_stopped_run_is_kept(client, redis_url):
    first, second = _shared_run(redis_url), _shared_run(redis_url)
    first.announce("busy")
    second.announce("busy")
    client.zadd("misinfo:songhong:default:requests", {b"request": 0})
    client.sadd("misinfo:songhong:default:dupefilter", "fingerprint")
    assert second.others_busy()

    first.spider_closed("finished")  # the other is still in: nothing is deleted
    assert client.exists("misinfo:songhong:default:dupefilter")
    assert not second.others_busy()
    second.spider_closed("shutdown")  # stopped, not complete: the queue is kept to resume
    assert client.zcard("misinfo:songhong:default:requests") == 1
    assert client.ttl("misinfo:songhong:default:requests") > 0  # ...until run_ttl expires it

    third = _shared_run(redis_url)
    third.announce("busy")
    third.spider_closed("finished")
    assert client.keys("misinfo:*") == []


def test_a_dead_process_does_not_keep_a_run_alive(client, redis_url):
    dead = _shared_run(redis_url, worker_timeout=1)
    dead.announce("busy")  # then never beats again
    alive = _shared_run(redis_url)
    alive.announce("busy")
    assert alive.others_busy()
    time.sleep(1.2)
    assert not alive.others_busy()
    alive.spider_closed("finished")
    assert client.keys("misinfo:*") == []


# -- end to end: two processes, one source ---------------------------------------------------
def _misinfo(
    config_dir: Path, data_dir: Path, *args: str, url: str, background: bool = False
) -> subprocess.CompletedProcess | subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "crawler",
        "--config",
        str(config_dir),
        "--data-dir",
        str(data_dir),
        *args,
    ]
    env = {**os.environ, URL_ENV: url, "PYTHONUNBUFFERED": "1"}
    if background:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    return subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _crawl_together(config_dir: Path, data_dirs: list[Path], url: str) -> None:
    """``misinfo crawl songhong --frontier redis`` in one process per data directory, at once."""
    processes = [
        _misinfo(
            config_dir,
            data_dir,
            "crawl",
            "songhong",
            "--frontier",
            "redis",
            url=url,
            background=True,
        )
        for data_dir in data_dirs
    ]
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{stdout}\n{stderr}"


def _stored(data_dir: Path) -> set[str]:
    store = SqliteStore(data_dir / "index.db")
    try:
        return {doc.canonical_url for doc in store.scan(SearchRequest())}
    finally:
        store.close()


def _runs(config_dir: Path, data_dir: Path, url: str) -> list[dict]:
    return yaml.safe_load(_misinfo(config_dir, data_dir, "runs", "--json", url=url).stdout)


def _fetched_paths(demo_server: DemoServer) -> Counter[str]:
    return Counter(path for host, path in demo_server.requests if host == HOST)


def _assert_each_url_fetched_once(demo_server: DemoServer, processes: int) -> None:
    fetched = _fetched_paths(demo_server)
    # robots.txt is the exception: every process needs the rules, so each fetches it once.
    assert fetched.pop("/robots.txt") <= processes
    twice = {path: count for path, count in fetched.items() if count > 1}
    assert not twice, f"fetched more than once: {twice}"


@pytest.mark.slow
def test_two_processes_share_one_crawl_and_a_later_run_crawls_again(
    tmp_path, demo_server, client, redis_url
):
    config_dir = write_config(
        tmp_path / "config", [demo_source_entries(demo_server, HOST, name="songhong")]
    )
    expected = {article.url for article in demo_server.articles(HOST)}
    machine_a, machine_b = tmp_path / "machine-a", tmp_path / "machine-b"

    # Two "machines" (own data directories and stores) crawl the source at the same time.
    demo_server.clear_requests()
    _crawl_together(config_dir, [machine_a, machine_b], redis_url)
    _assert_each_url_fetched_once(demo_server, processes=2)
    stored_a, stored_b = _stored(machine_a), _stored(machine_b)
    assert stored_a | stored_b == expected, f"missing: {sorted(expected - stored_a - stored_b)[:5]}"
    assert not stored_a & stored_b, "a page was stored by both processes"
    (run_a,), (run_b,) = (
        _runs(config_dir, machine_a, redis_url),
        _runs(config_dir, machine_b, redis_url),
    )
    assert run_a["fetched"] > 0 and run_b["fetched"] > 0, "one process did all the work"
    first = _fetched_paths(demo_server)
    assert run_a["fetched"] + run_b["fetched"] == sum(first.values())
    assert client.keys("*") == [], "the completed run left keys behind"

    # A later run crawls everything again; two processes on one machine share its lock
    # and its store, and every page is stored once (new there, or unchanged).
    demo_server.clear_requests()
    _crawl_together(config_dir, [machine_a, machine_a], redis_url)
    _assert_each_url_fetched_once(demo_server, processes=2)
    again = _fetched_paths(demo_server)
    # The same pages; robots.txt once per process that fetched anything (a process that
    # joins after the other took every request never asks for the rules).
    assert set(again) == set(first)
    second = _runs(config_dir, machine_a, redis_url)[:2]
    assert all(run["status"] in ("ok", "empty") for run in second), second
    assert sum(run["fetched"] for run in second) == sum(again.values())
    assert sum(run["new"] for run in second) == len(stored_b)
    assert sum(run["new"] + run["unchanged"] for run in second) == len(expected)
    assert _stored(machine_a) == expected
    assert client.keys("*") == []
