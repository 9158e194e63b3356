"""Helpers the tests share (fixtures are in ``tests/conftest.py``): the repository root, fast
crawl settings, demo-source entries, a config directory, ``misinfo`` in a subprocess, the demo
content with a copy of a rumour on the aggregator, and a local webhook receiver."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from crawler.demosite import DemoServer
from crawler.demosite.server import CONTENT_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Crawl settings for tests: no politeness delays against our own local server, and the
#: pages processed in the crawl process (``workers: 0``), which spares each test crawl the
#: start of worker processes that load the models. The end-to-end crawl test
#: (``tests/integration/test_crawl_e2e.py``) and ``test_processing_*`` run the default pool.
FAST_CRAWL_SETTINGS = {
    "crawl": {
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_per_domain": 8,
        "workers": 0,
    }
}
#: The same with the default worker pool (one per core), as a deployment runs.
POOLED_CRAWL_SETTINGS = {
    "crawl": {key: value for key, value in FAST_CRAWL_SETTINGS["crawl"].items() if key != "workers"}
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


# -- rumour spread (clusters, alerts) ----------------------------------------------------------

#: The demo rumour of ``doisongxanh`` that :data:`COPY` republishes.
ORIGINAL_SLUG = "suc-mieng-nuoc-muoi-dac-chua-khoi-covid"
COPY = {
    "slug": "nuoc-muoi-dac-chua-khoi-covid-thuc-hu",
    "section": "suc-khoe",
    "title": "Súc miệng nước muối đặc ba lần mỗi ngày sẽ khỏi Covid-19?",
    "sapo": "Một bác sĩ đề nghị giấu tên nói nước muối đặc có thể rửa sạch virus khỏi cổ họng.",
    "author": "Minh Khang (tổng hợp)",
    "published": "2026-10-27T08:40:00+07:00",
    "body": [
        "Trao đổi với phóng viên, một bác sĩ làm việc tại bệnh viện tuyến tỉnh (đề nghị giấu "
        "tên) cho biết virus Covid-19 trú ngụ ở cổ họng vài ngày trước khi xuống phổi.",
        "Theo bác sĩ này, chỉ cần súc miệng và uống một cốc nước muối ấm pha đặc ba lần mỗi "
        "ngày là virus sẽ bị tiêu diệt hoàn toàn, người bệnh khỏi hẳn mà không cần dùng thuốc.",
        '"Đây là cách rẻ tiền mà hiệu quả, nhưng ít ai nói cho người dân biết", vị bác sĩ nói '
        "và khuyên các gia đình nên dự trữ vài ký muối hột.",
        "Nhiều bạn đọc đã liên hệ tòa soạn để xin công thức pha nước muối; tại một số chợ, "
        "muối hột bắt đầu bán chạy hơn.",
        "Nguồn: Đời Sống Xanh",
    ],
    "tags": ["Covid-19", "nước muối"],
    "topic": "covid_rumour",
    "source_credit": "Đời Sống Xanh",
}


def demo_content_with_copy(root: Path) -> Path:
    """The bundled demo content under ``root/content``, plus :data:`COPY` on ``tonghop24`` (the
    aggregator, which credits its sources): the "nước muối" rumour with a new title, a few
    words changed and a credit line, as aggregators do."""
    content = root / "content"
    shutil.copytree(CONTENT_DIR, content)
    with (content / "tonghop24.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(COPY, ensure_ascii=False) + "\n")
    return content


class Receiver:
    """A local webhook: records every JSON body; answers with the queued statuses first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/misinfo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
