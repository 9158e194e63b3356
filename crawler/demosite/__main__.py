"""``python -m crawler.demosite [--port 8765]``: serve the demo sites until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from crawler.demosite.server import DemoServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demosite", description="Serve the local demo sites."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--content-dir", type=Path, default=None, help="JSONL content folder")
    parser.add_argument(
        "--bench-pages", type=int, default=0, help="also serve bench.localhost with N pages"
    )
    args = parser.parse_args(argv)
    server = DemoServer(
        host=args.host, port=args.port, content_dir=args.content_dir, bench_pages=args.bench_pages
    )
    # Ctrl-C and SIGTERM only set an event: a KeyboardInterrupt raised wherever the main
    # thread happened to be (printing, starting the server) could leave it hanging.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stop.set())
    with server:
        print(f"Demo sites on {args.host}:{server.port} (Ctrl-C to stop):", flush=True)
        for host, site in server.sites.items():
            print(f"  {server.base_url(host)}/  {site.name}", flush=True)
        while not stop.wait(0.5):
            pass
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
