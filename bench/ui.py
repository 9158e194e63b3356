"""Web UI benchmark: search page latency for concurrent analysts, against the bare store.

    python bench/ui.py --docs 100000 --users 20 --seconds 60

Generates ``--docs`` Vietnamese documents into a temporary SQLite store, serves the UI
(uvicorn, in this process) on a loopback port, and runs the load generator as a *separate
process* (``python bench/ui.py load ...``). Each of ``--users`` analysts logs in with its own
session and requests the full search page (results, facets, timeline, snippets) over a fixed
query mix, then reads it for a think time drawn uniformly from ``--think`` seconds before the
next search, as load tools model users (Locust's ``wait_time``, JMeter's timers). The
default, 1 to 3 s, is shorter than an analyst reading a result page.

Four measurements, in the same run and on the same data:

* the query mix straight against the store (the baseline: what the page asks of it);
* one analyst with no think time (the UI's own overhead per search);
* ``--users`` analysts with think time: the target, p95 under 200 ms;
* ``--users`` connections with *no* think time (``--stress-seconds``; 0 skips it): a
  saturation figure, not the target. With every connection always waiting, the latency is
  the queue length over the throughput (Little's law), whatever one search costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.documents import Document, document_id
from index.sqlite import SqliteStore
from index.web.params import SearchParams

TARGET_P95_MS = 200.0
PASSWORD = "bench-password-123"
_SYLLABLE_TEXT = """
và của có là không người những một được cho các trong với này đã ngày năm khi đến từ theo
như nhiều về làm để sẽ ra tại thì nhưng cũng phải đó nói lại Việt Nam Hà Nội thành phố Đà
Nẵng Hồ Chí Minh Huế Cần Thơ Hải Phòng Quảng Ninh Nghệ An tỉnh huyện xã dân sức khỏe bệnh
viện bác sĩ ca nhiễm Covid tiêm vắc xin phòng dịch cách ly xét nghiệm thông tin tin đồn
sai sự thật mạng xã hội chia sẻ bài đăng chính quyền Bộ Y tế cảnh báo giá xăng dầu điện
nước thời tiết mưa bão lũ lụt nắng nóng lạnh giao thông tai nạn trường học sinh viên thi
cử kinh tế doanh nghiệp thị trường chứng khoán ngân hàng bóng đá đội tuyển trận đấu văn
hóa lễ hội du lịch khách quốc tế sân bay nông dân lúa
"""
SYLLABLES = _SYLLABLE_TEXT.split()
SOURCES = ["vnexpress", "tuoitre", "thanhnien", "dantri", "facebook", "zalo", "tintuc24h"]
#: Query strings as an analyst types them in the URL (the search page, page 1 or 2).
QUERY_MIX: list[list[tuple[str, str]]] = [
    [("q", "ha noi")],
    [("q", "Hà Nội")],
    [("q", "da nang du lich")],
    [("q", '"tiêm vắc xin"')],
    [("q", "tiêm*")],
    [("q", "covid"), ("source", "facebook"), ("sort", "newest")],
    [("q", "tin đồn AND NOT chính phủ")],
    [("q", "xăng OR dầu"), ("sort", "score")],
    [("q", "bão"), ("from", "2026-03-01"), ("to", "2026-03-31")],
    [("flags", "covid"), ("sort", "newest")],
    [("q", "bong da"), ("source", "vnexpress"), ("source", "tuoitre"), ("page", "2")],
    [("q", "thời tiết"), ("kind", "post")],
    [("q", "sai su that"), ("flags", "claim")],
    [("q", "bệnh viện bác sĩ")],
]


def generate(count: int, seed: int = 11) -> Iterator[Document]:
    """Deterministic documents: Zipf-skewed syllables, 7 sources, 2 years of dates, ~8% flagged."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(SYLLABLES))]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for number in range(count):
        words = rng.choices(SYLLABLES, weights, k=rng.randint(60, 160))
        title = " ".join(rng.choices(SYLLABLES, weights, k=rng.randint(6, 12))).capitalize()
        source = rng.choice(SOURCES)
        url = f"https://{source}.example/{number}"
        published = start + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        covid = rng.random()
        claim = rng.random()
        flags = [name for name, score in (("covid", covid), ("claim", claim)) if score > 0.92]
        yield Document(
            id=document_id(url),
            url=url,
            canonical_url=url,
            source=source,
            site=f"{source}.example",
            kind="post" if source in ("facebook", "zalo") else "news",
            title=title,
            text=" ".join(words) + ".",
            published_at=published.isoformat(),
            fetched_at=published.isoformat(),
            flags=flags,
            scores={"covid": round(covid, 3), "claim": round(claim, 3)},
        )


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cut[49], "p95": cut[94], "max": ordered[-1], "n": len(ordered)}


def baseline(store: SqliteStore, rounds: int) -> dict[str, float]:
    """The query mix straight against the store: what the page asks for, without HTTP."""
    samples = []
    started = time.perf_counter()
    for _ in range(rounds):
        for items in QUERY_MIX:
            request = SearchParams.from_query(items).request(facets=True, histogram="day")
            began = time.perf_counter()
            store.search(request)
            samples.append((time.perf_counter() - began) * 1000)
    elapsed = time.perf_counter() - started
    return {**percentiles(samples), "rps": len(samples) / elapsed}


# -- the load generator (a separate process) ---------------------------------------------------


async def _login(client, username: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 303:
        raise SystemExit(f"login failed for {username}: {response.status_code}")


async def _analyst(
    client,
    start: asyncio.Event,
    deadline: list[float],
    offset: int,
    think: tuple[float, float],
    out: list,
) -> None:
    await start.wait()
    rng = random.Random(offset)
    if think[1] > 0:  # analysts do not all search at the same instant
        await asyncio.sleep(rng.uniform(0, think[1]))
    position = offset
    while time.perf_counter() < deadline[0]:
        items = QUERY_MIX[position % len(QUERY_MIX)]
        position += 1
        began = time.perf_counter()
        response = await client.get("/", params=items)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200 or 'data-total="' not in response.text:
            out.append(("error", f"{response.status_code} {items}: {response.text[:300]}"))
        else:
            out.append(("ok", elapsed))
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))


async def _load(base_url: str, users: int, seconds: float, think: tuple[float, float]) -> dict:
    """Log every analyst in first, then start them together for ``seconds``."""
    import httpx

    results: list = []
    clients = [httpx.AsyncClient(base_url=base_url, timeout=30) for _ in range(users)]
    try:
        for number, client in enumerate(clients):
            await _login(client, f"bench{number}")
        start = asyncio.Event()
        deadline = [0.0]
        tasks = [
            asyncio.create_task(_analyst(client, start, deadline, number, think, results))
            for number, client in enumerate(clients)
        ]
        started = time.perf_counter()
        deadline[0] = started + seconds
        start.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    samples = [value for kind, value in results if kind == "ok"]
    errors = [value for kind, value in results if kind == "error"]
    if errors:
        print(f"{len(errors)} failed requests, e.g. {errors[0]}", file=sys.stderr)
    if len(samples) < 2:
        raise SystemExit("too few successful requests to measure")
    return {**percentiles(samples), "rps": len(samples) / elapsed, "errors": len(errors)}


def load_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/ui.py load")
    parser.add_argument("base_url")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--think", type=_think_range, default=(0.0, 0.0))
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_load(args.base_url, args.users, args.seconds, args.think))))
    return 0


def _think_range(value: str) -> tuple[float, float]:
    """``MIN,MAX`` seconds (or one number for both)."""
    try:
        parts = [float(part) for part in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not seconds: {value!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not 0 <= parts[0] <= parts[1]:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX seconds with MIN <= MAX: {value!r}")
    return parts[0], parts[1]


# -- orchestration -------------------------------------------------------------------------------


def serve(store_path: Path, state_path: Path, users: int, pool: int):
    import uvicorn

    from index.web import UserStore, create_app

    accounts = UserStore(state_path)
    for number in range(users):
        accounts.add(f"bench{number}", PASSWORD)
    app = create_app(
        store_factory=lambda: SqliteStore(store_path),
        users=accounts,
        secret_key="b" * 48,
        store_pool_size=pool,
        # The load comes from one address; do not let the login limiter interfere.
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def serve_workers(data_dir: Path, users: int, workers: int):
    """``misinfo serve --workers N`` over ``data_dir`` (its index.db), as analysts deploy it."""
    import socket

    import httpx

    from index.web import UserStore

    accounts = UserStore(data_dir / "state.db")
    for number in range(users):
        accounts.add(f"bench{number}", PASSWORD)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "crawler", "--data-dir", str(data_dir), "serve"),
            *("--port", str(port), "--workers", str(workers)),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/login", timeout=2)
            return server, url
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise SystemExit("misinfo serve --workers did not start") from None
            time.sleep(0.2)


def run_load(url: str, users: int, seconds: float, think: tuple[float, float] = (0, 0)) -> dict:
    """Run the load generator in its own process and read its JSON figures."""
    completed = subprocess.run(
        [
            *(sys.executable, __file__, "load", url),
            *("--users", str(users), "--seconds", str(seconds)),
            *("--think", f"{think[0]},{think[1]}"),
        ],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"load generator failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:
        return load_main(argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="analysts' run")
    parser.add_argument(
        "--think", type=_think_range, default=(1.0, 3.0), help="MIN,MAX seconds (default 1,3)"
    )
    parser.add_argument(
        "--stress-seconds", type=float, default=15, help="no-think-time run (0: skip)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="UI server processes: above 1, `misinfo serve --workers N` in a subprocess",
    )
    parser.add_argument("--pool", type=int, default=4, help="stores (read connections) in the UI")
    parser.add_argument("--rounds", type=int, default=5, help="baseline rounds of the query mix")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        store_path = Path(tmp) / "index.db"  # where `misinfo --data-dir tmp` looks
        store = SqliteStore(store_path)
        began = time.perf_counter()
        store.upsert(generate(args.docs))
        print(f"indexed {args.docs:,} documents in {time.perf_counter() - began:.1f}s")
        base = baseline(store, args.rounds)
        store.close()

        if args.workers > 1:
            process, url = serve_workers(Path(tmp), args.users, args.workers)
        else:
            server, thread, url = serve(store_path, Path(tmp) / "state.db", args.users, args.pool)
        try:
            # One analyst first: the UI's own overhead (HTTP, session, templates) per search.
            single = run_load(url, 1, min(args.seconds, 10.0))
            ui = run_load(url, args.users, args.seconds, args.think)
            stress = run_load(url, args.users, args.stress_seconds) if args.stress_seconds else None
        finally:
            if args.workers > 1:
                process.send_signal(signal.SIGINT)
                process.wait(30)
            else:
                server.should_exit = True
                thread.join(10)

    think = f"{args.think[0]:g}-{args.think[1]:g} s"
    print(
        f"\nsearch page, {args.docs:,} documents, query mix of {len(QUERY_MIX)}, "
        f"{args.workers} server process{'es' if args.workers > 1 else ''}:"
    )
    print(f"{'':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>8} {'n':>6}")
    rows = [
        ("store, in-process (base)", base),
        ("UI, 1 analyst, no think time", single),
        (f"UI, {args.users} analysts, think {think}", ui),
    ]
    if stress is not None:
        rows.append((f"UI, {args.users} connections, no think time", stress))
    for label, figures in rows:
        print(
            f"{label:40} {figures['p50']:8.1f} {figures['p95']:8.1f} "
            f"{figures['max']:8.1f} {figures['rps']:8.1f} {figures['n']:6d}"
        )
    errors = single["errors"] + ui["errors"] + (stress["errors"] if stress else 0)
    print(
        f"ratio UI/base: 1 analyst p50 x{single['p50'] / base['p50']:.2f}; "
        f"{args.users} analysts p50 x{ui['p50'] / base['p50']:.2f}, "
        f"p95 x{ui['p95'] / base['p95']:.2f}; errors: {errors}"
    )
    if stress is not None:
        print(
            f"saturation: {stress['rps']:.1f} pages/s = x{stress['rps'] / base['rps']:.2f} "
            f"the store's in-process rate; {args.users} connections always waiting give "
            f"p50 ~ {args.users} / rate = {args.users / stress['rps'] * 1000:.0f} ms"
        )
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    verdict = "OK" if ui["p95"] < TARGET_P95_MS and not errors else "MISSED"
    print(f"target p95 < {TARGET_P95_MS:.0f} ms for {args.users} analysts: {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
