"""A browser capture in Chromium cannot be turned into requests to internal addresses: the
crawled page's own host loads, the rest (loopback services, metadata addresses) is blocked."""

from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.evidence.capture import browser_capture
from crawler.evidence.fetch import UrlPolicy, UrlRefused
from crawler.settings import BROWSER_ARGS

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MISINFO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (set MISINFO_CHROMIUM)", allow_module_level=True)


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_capture_blocks_internal_requests_of_a_hostile_page():
    hits: list[str] = []

    class Internal(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    internal = _serve(Internal)
    secret = f"127.0.0.1:{internal.server_port}"
    page = f"""<!doctype html><html><head><title>Tin đồn</title></head><body>
    <h1>Tiêm vắc xin gây vô sinh</h1><p>Chia sẻ ngay!</p>
    <img src="http://{secret}/img.png"><iframe src="http://{secret}/frame"></iframe>
    <script src="/app.js"></script></body></html>""".encode()
    script = f"""fetch("http://{secret}/api").catch(() => {{}});
    try {{ new WebSocket("ws://{secret}/ws"); }} catch (e) {{}}
    document.querySelector("p").textContent += " (đã xem)";""".encode()

    class Hostile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = (
                (script, "text/javascript")
                if self.path == "/app.js"
                else (page, "text/html; charset=utf-8")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    site = _serve(Hostile)
    try:
        url = f"http://rumours.localhost:{site.server_port}/post/1"
        shot = browser_capture(
            url,
            UrlPolicy(domains=("rumours.localhost",)),
            executable_path=CHROMIUM,
            args=list(BROWSER_ARGS),
            user_agent="misinfo-monitor-test",
            timeout=30,
        )
        with pytest.raises(UrlRefused):
            browser_capture(
                f"http://{secret}/",
                UrlPolicy(domains=("rumours.localhost",)),
                executable_path=CHROMIUM,
                args=list(BROWSER_ARGS),
                user_agent="t",
            )
    finally:
        site.shutdown()
        internal.shutdown()
    assert shot.http_status == 200 and shot.final_url == url
    assert shot.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(đã xem)" in shot.dom  # the page's own script ran: the DOM is the rendered one
    assert hits == [], f"internal service reached: {hits}"
    blocked = " ".join(shot.blocked)
    for path in ("/img.png", "/frame", "/api"):
        assert f"{secret}{path}" in blocked
    assert shot.tools["chromium"] and shot.tools["playwright"]
