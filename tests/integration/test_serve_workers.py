"""``misinfo serve --workers N``: several server processes behind one port, one login."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index import Document
from index.sqlite import SqliteStore

PASSWORD = "workers-password-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _misinfo(
    data_dir: Path, *args: str, **kwargs
) -> subprocess.Popen | subprocess.CompletedProcess:
    command = [sys.executable, "-m", "crawler", "--data-dir", str(data_dir), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if kwargs.pop("background", False):
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, **kwargs)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    store = SqliteStore(data / "index.db")
    store.upsert(
        Document(
            id=f"d{i}",
            url=f"http://songhong.localhost/{i}",
            canonical_url=f"http://songhong.localhost/{i}",
            source="demo-songhong",
            site="songhong.localhost",
            kind="news",
            title=f"Hà Nội mưa lớn {i}",
            text="Mưa lớn gây ngập nhiều tuyến phố ở Hà Nội.",
            published_at="2026-11-20T08:00:00+07:00",
        )
        for i in range(5)
    )
    store.close()
    added = _misinfo(data, "users", "add", "lan", input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    return data


def test_two_workers_serve_one_login_and_stop_on_sigint(data_dir: Path):
    server = _misinfo(data_dir, "serve", "--port", "0", "--workers", "2", background=True)
    try:
        ready = server.stdout.readline()  # port 0: the line names the port it got
        found = re.search(r"Web UI on (http://127\.0\.0\.1:\d+)/ with 2 worker processes", ready)
        assert found, ready
        base = found.group(1)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=10) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            response = client.post(
                "/login",
                data={"username": "lan", "password": PASSWORD, "csrf_token": token.group(1)},
            )
            assert response.status_code == 303
            # New connections land on either worker; every one accepts the session.
            for _ in range(8):
                page = httpx.get(
                    base + "/", params={"q": "ha noi"}, cookies=client.cookies, timeout=10
                )
                assert page.status_code == 200 and 'data-total="5"' in page.text
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output


def test_workers_refuse_a_broken_data_directory(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "index.db").write_text("not a database")
    result = _misinfo(data, "serve", "--port", str(_free_port()), "--workers", "2")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "error" in result.stderr.lower()


def test_workers_report_a_busy_port_in_one_line(data_dir: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _misinfo(data_dir, "serve", "--port", str(port), "--workers", "2")
    assert result.returncode != 0
    assert f"cannot serve the web UI on 127.0.0.1:{port} (port in use?)" in result.stderr
    assert "Traceback" not in result.stderr
