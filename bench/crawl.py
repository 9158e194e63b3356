"""Crawl throughput and memory: the full pipeline against plain Scrapy fetching, in one run.

Serves a generated local site of ``--pages`` article pages (``bench.localhost``), then
crawls it from its sitemap, each crawl in a fresh subprocess (a Twisted reactor runs once
per process) with the same concurrency and no politeness delays:

* fetch only: a bare Scrapy spider that fetches every page and does nothing with it;
* the full pipeline (extraction, normalisation, underthesea segmentation, Covid/claim
  analysis, SQLite indexing, WARC, site profiles) with ``crawl.workers`` = 0 (in the crawl
  process), 1 and N (``--workers``, default one per core), in alternating order over
  ``--rounds`` rounds (the machine is shared: alternating spreads the noise);
* a profile of the pipeline per page, step by step (in the crawl process, ``--profile-pages``
  pages): CPU milliseconds of each step, exclusive of the steps it calls;
* the machine's parallel ceiling: the workers' own work (extraction and analysis of 200
  pages, no crawl) in one process, then in two at once. No pipeline speedup can exceed it.

Rates count from the first response to the end of the crawl (worker start-up and model
loading are start-up, not per-page work), CPU is the crawl process's plus its workers',
and peak RSS is the crawl process and its workers together, sampled from outside every
half second. The load average is printed: other jobs on the machine change everything.

``--pages`` above 20,000 (or ``--memory``) is the memory run instead: only the N-worker
pipeline, with its RSS curve (pages fetched vs. RSS of the crawl and its workers).
``--warc-rounds N`` compares the pipeline with WARC writing on and off, N runs each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

#: Identical network settings for every run: only the processing differs.
NETWORK = {
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": True,
    "LOG_LEVEL": "WARNING",
    # The generated site builds a 100,000-page sitemap slowly on a loaded machine.
    "DOWNLOAD_TIMEOUT": 180,
    "DNS_RESOLVER": "crawler.resolver.LocalhostAwareResolver",
    "TWISTED_DNS_RESOLVER": "crawler.resolver.LocalhostAwareResolver",
}
#: Above this many pages a run is the memory run (one N-worker pipeline with its RSS curve).
MEMORY_RUN_PAGES = 20_000


# -- in the crawl subprocess -------------------------------------------------------------------
def tree_cpu() -> float:
    """CPU seconds of this process and its live children (the workers)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(child.cpu_times()[:2])
    return total


class CrawlClock:
    """Extension: when the first response arrived and when the spider closed (wall time,
    and CPU time of the crawl process and its workers)."""

    marks: dict[str, float] = {}  # noqa: RUF012  # one crawl per process

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlClock:
        from scrapy import signals

        clock = cls()
        crawler.signals.connect(clock.response_received, signal=signals.response_received)
        crawler.signals.connect(clock.spider_closed, signal=signals.spider_closed)
        return clock

    def response_received(self) -> None:
        if "first_response" not in self.marks:
            self.marks["first_response"] = time.perf_counter()
            self.marks["first_cpu"] = tree_cpu()

    def spider_closed(self) -> None:
        # Connected before the processing extension's handler: its workers still run.
        self.marks["closed"] = time.perf_counter()
        self.marks["closed_cpu"] = tree_cpu()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class StepTimers:
    """CPU time of named functions, each exclusive of the timed functions it calls."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._stack: list[list[float]] = []

    def wrap(self, owner: Any, attribute: str, step: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            self._stack.append([0.0])
            try:
                return original(*args, **kwargs)
            finally:
                (nested,) = self._stack.pop()
                elapsed = time.process_time() - start
                self.totals[step] = self.totals.get(step, 0.0) + elapsed - nested
                if self._stack:
                    self._stack[-1][0] += elapsed

        setattr(owner, attribute, timed)


def install_step_timers() -> StepTimers:
    """Time each step of the pipeline where the crawl calls it (in the crawl process)."""
    import importlib

    from crawler import pipelines
    from crawler.evidence import warc
    from crawler.processing import tasks

    analyse = importlib.import_module("analysis.analyse")
    timers = StepTimers()
    timers.wrap(tasks, "extract_page", "extraction")
    timers.wrap(tasks, "page_signals", "page signals (newspaper style)")
    timers.wrap(pipelines, "normalize_text", "normalisation (pipeline)")
    timers.wrap(analyse, "normalize_text", "normalisation (analysis)")
    timers.wrap(analyse, "detect_language", "language")
    timers.wrap(analyse, "tokenize_words", "segmentation (underthesea)")
    timers.wrap(analyse, "extract_entities", "entities (NER)")
    timers.wrap(analyse, "detect_covid", "Covid detector")
    timers.wrap(analyse, "_score_claims", "claim detector")
    timers.wrap(tasks, "analyse_batch", "analysis, rest")
    timers.wrap(pipelines.SkipUnchangedPipeline, "process_item", "skip-unchanged lookup")
    timers.wrap(pipelines.StorePipeline, "process_item", "store: previous version, batching")
    timers.wrap(pipelines.StorePipeline, "_flush", "indexing (store writes)")
    timers.wrap(pipelines, "refresh_site_profiles", "site profiles (end of run)")
    timers.wrap(warc.RotatingWarcWriter, "write", "WARC records")
    return timers


def baseline_worker(sitemap: str) -> None:
    """Fetch the sitemap's pages with a bare spider; print pages and seconds as JSON."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.sitemap import Sitemap

    class FetchOnly(scrapy.Spider):
        name = "fetch-only"

        async def start(self):
            yield scrapy.Request(sitemap, callback=self.parse_sitemap)

        def parse_sitemap(self, response):
            for entry in Sitemap(response.body):
                callback = self.parse_sitemap if entry["loc"].endswith(".xml") else self.parse_page
                yield scrapy.Request(entry["loc"], callback=callback)

        def parse_page(self, response):
            return None

    extensions = {"__main__.CrawlClock": 0}
    process = CrawlerProcess({**NETWORK, "CLOSESPIDER_PAGECOUNT": 0, "EXTENSIONS": extensions})
    crawler = process.create_crawler(FetchOnly)
    started = time.process_time()
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    marks = CrawlClock.marks
    print(
        json.dumps(
            {
                "pages": stats.get("response_received_count", 0),
                "seconds": marks["closed"] - marks["first_response"],
                "cpu": time.process_time() - started,
            }
        )
    )


def pipeline_worker(
    sitemap: str, data_dir: str, warc: str = "on", workers: str = "", profile: str = ""
) -> None:
    """Crawl with the full misinfo pipeline; print what it did as JSON."""
    from crawler.app import App
    from crawler.resources.sources import Source
    from crawler.service.runner import run_crawls
    from crawler.settings import BASE_SETTINGS

    timers = install_step_timers() if profile else None
    app = App(data_dir=Path(data_dir))
    source = Source(name="bench", sitemaps=[sitemap], max_pages=10_000_000)
    overrides: dict[str, Any] = {
        **NETWORK,
        "CLOSESPIDER_PAGECOUNT": 0,
        "MM_WARC_ENABLED": warc == "on",
        "EXTENSIONS": {**BASE_SETTINGS["EXTENSIONS"], "__main__.CrawlClock": 0},
    }
    if workers:
        overrides["MM_PROCESSING_WORKERS"] = int(workers)
    started, cpu_started, children_started = (
        time.perf_counter(),
        time.process_time(),
        children_cpu(),
    )
    (record,) = run_crawls(app, [source], trigger="bench", overrides=overrides)
    seconds = time.perf_counter() - started
    marks = CrawlClock.marks
    warc_bytes = sum(path.stat().st_size for path in Path(data_dir).rglob("*.warc.gz"))
    print(
        json.dumps(
            {
                "pages": record.fetched,
                "documents": record.new,
                "failed": record.failed,
                "seconds": marks["closed"] - marks["first_response"],
                "total_seconds": seconds,
                "startup": marks["first_response"] - started,
                "cpu": time.process_time() - cpu_started,
                "workers_cpu": children_cpu() - children_started,
                # From the first response: start-up (model loading) left out.
                "crawl_cpu": marks["closed_cpu"] - marks["first_cpu"],
                "warc_bytes": warc_bytes,
                "steps": timers.totals if timers else {},
            }
        )
    )


def ceiling_worker(sitemap: str, pages: str) -> None:
    """The workers' share of the work without the crawl: fetch ``pages`` pages of the
    sitemap, load the models, say "ready", wait for a line on stdin, then extract and
    analyse the pages twice; print CPU and wall seconds as JSON."""
    import re
    import urllib.request
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from crawler.processing import tasks

    def get(url: str) -> str:
        parts = urlsplit(url)  # bench.localhost resolves only through the crawl's resolver
        request = urllib.request.Request(
            f"http://127.0.0.1:{parts.port}{parts.path}", headers={"Host": parts.netloc}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode("utf-8")

    urls: list[str] = []
    for child in re.findall(r"<loc>([^<]+)</loc>", get(sitemap)):
        urls += re.findall(r"<loc>([^<]+)</loc>", get(child))
        if len(urls) >= int(pages):
            break
    context = tasks.PageContext()
    now = datetime.now(UTC)
    jobs = [tasks.PageJob(url, get(url), now, context) for url in urls[: int(pages)]]
    tasks.prepare(None)
    analysis = tasks.AnalysisContext()
    tasks.analyse_posts(analysis, [tasks.PostJob("Khởi động mô hình.", "Thử")])
    print("ready", flush=True)
    sys.stdin.readline()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(2):
        extracted = [o.value.page for o in tasks.extract_pages(jobs) if o.value is not None]
        posts = [tasks.PostJob(page.text, page.title, page.url) for page in extracted if page.text]
        for start in range(0, len(posts), 8):
            tasks.analyse_posts(analysis, posts[start : start + 8])
    print(
        json.dumps(
            {
                "pages": 2 * len(jobs),
                "cpu": time.process_time() - cpu,
                "seconds": time.perf_counter() - wall,
            }
        ),
        flush=True,
    )


# -- in the bench process ----------------------------------------------------------------------
def parallel_ceiling(sitemap: str, pages: int = 200) -> dict:
    """The workers' own work (extraction and analysis, no crawl) in one process, then in
    two at once: how much a second core adds on this machine at best. Two busy cores of a
    virtual machine can each run slower than one alone (shared caches, memory bandwidth,
    a shared physical core), and no pipeline can beat this ratio."""

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, __file__, "--ceiling-worker", sitemap, str(pages)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("the ceiling worker did not start")
        return process

    def run(processes: list[subprocess.Popen]) -> list[dict]:
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return [
            json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes
        ]

    (alone,) = run([start()])
    together = run([start(), start()])
    one_rate = alone["pages"] / alone["seconds"]
    two_rate = sum(run["pages"] for run in together) / max(run["seconds"] for run in together)
    return {
        "ratio": two_rate / one_rate,
        "cpu_alone": alone["cpu"] / alone["pages"],
        "cpu_together": sum(run["cpu"] for run in together) / sum(run["pages"] for run in together),
    }


def tree_rss(pid: int) -> tuple[int, int]:
    """RSS of a process and all its descendants (the crawl and its workers), and of the
    process alone, in bytes."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    total = own = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            rss = process.memory_info().rss
            total += rss
            own = rss if process is root else own
    return total, own


def run_worker(
    *args: str,
    pages_served: Callable[[], int] | None = None,
    interval: float = 0.5,
    report_every: int = 0,
) -> dict:
    """Run this script as a worker; sample its process tree's RSS while it runs."""
    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    curve: list[tuple[float, int, int]] = []
    #: RSS of the crawl process alone at each sample (the curve has it with its workers).
    own_curve: list[int] = []
    started = time.perf_counter()
    stop = threading.Event()
    next_report = report_every

    def sample() -> None:
        nonlocal next_report
        while not stop.wait(interval):
            served = pages_served() if pages_served else 0
            rss, own = tree_rss(process.pid)
            curve.append((time.perf_counter() - started, served, rss))
            own_curve.append(own)
            if report_every and served >= next_report:
                elapsed = time.perf_counter() - started
                print(
                    f"  {served:>8} pages  {mib(rss):>10}  {elapsed:>6.0f} s  load {load()}",
                    flush=True,
                )
                next_report = (served // report_every + 1) * report_every

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["curve"] = curve
    result["own_curve"] = own_curve
    result["peak_rss"] = max((rss for _, _, rss in curve), default=0)
    return result


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def run_pipelines(sitemap: str, workers: int, rounds: int, served: Callable[[], int]) -> dict:
    """In-process, 1 and N workers, alternating; every run's figures by name."""
    modes = ["0", "1", str(workers)] if workers > 1 else ["0", "1"]
    results: dict[str, list[dict]] = {mode: [] for mode in modes}
    for round_number in range(rounds):
        order = modes if round_number % 2 == 0 else list(reversed(modes))
        for mode in order:
            before = load()
            with tempfile.TemporaryDirectory() as tmp:
                result = run_worker(
                    "--pipeline-worker", sitemap, tmp, "on", mode, pages_served=served
                )
            result["load"] = f"{before} -> {load()}"
            results[mode].append(result)
            print(
                f"  round {round_number + 1}, workers={mode}: {result['pages']} pages in "
                f"{result['seconds']:.1f} s, CPU {result['crawl_cpu']:.1f} s, "
                f"peak RSS {mib(result['peak_rss'])}, load {result['load']}",
                flush=True,
            )
    return results


def rate(result: dict) -> float:
    return result["pages"] / result["seconds"]


def print_profile(steps: dict[str, float], cpu: float, pages: int) -> None:
    print(f"\nper-step profile (in the crawl process, {pages} pages, CPU ms per page):")
    total = cpu * 1000 / pages
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
        print(f"  {step:<36}{seconds * 1000 / pages:>8.2f}")
    rest = total - sum(steps.values()) * 1000 / pages
    print(f"  {'Scrapy, fetching, pipelines, other':<36}{rest:>8.2f}")
    print(f"  {'total':<36}{total:>8.2f}")


def main_throughput(args: argparse.Namespace) -> None:
    from crawler.demosite import DemoServer
    from crawler.processing.extension import default_workers

    workers = args.workers or default_workers()
    with DemoServer(port=0, bench_pages=args.pages) as server:
        sitemap = server.base_url("bench.localhost") + "/sitemap.xml"

        def served() -> int:
            return len(server.requests)

        print(f"site: {args.pages} generated article pages at {sitemap}; load {load()}", flush=True)
        baseline = run_worker("--baseline-worker", sitemap)
        print(f"  fetch only: {baseline['pages']} pages in {baseline['seconds']:.1f} s", flush=True)
        results = run_pipelines(sitemap, workers, args.rounds, served)
    with DemoServer(port=0, bench_pages=args.profile_pages) as server:
        sitemap = server.base_url("bench.localhost") + "/sitemap.xml"
        with tempfile.TemporaryDirectory() as tmp:
            profile = run_worker("--pipeline-worker", sitemap, tmp, "on", "0", "profile")
        ceiling = parallel_ceiling(sitemap) if workers > 1 else None

    base_rate = rate(baseline)
    print(f"\n{'run':<30}{'pages':>7}{'pages/s':>9}{'CPU ms/page':>13}{'peak RSS':>11}")
    print(
        f"{'scrapy fetch only':<30}{baseline['pages']:>7}{base_rate:>9.1f}"
        f"{baseline['cpu'] * 1000 / baseline['pages']:>13.1f}{'':>11}"
    )
    medians = {}
    for mode, runs in results.items():
        name = "full pipeline, in-process" if mode == "0" else f"full pipeline, {mode} worker(s)"
        medians[mode] = statistics.median(rate(run) for run in runs)
        cpu = statistics.median(run["crawl_cpu"] / run["pages"] for run in runs)
        peak = max(run["peak_rss"] for run in runs)
        print(
            f"{name:<30}{runs[0]['pages']:>7}{medians[mode]:>9.1f}{cpu * 1000:>13.1f}"
            f"{peak / 2**20:>7,.0f} MiB"
        )
    top = str(workers) if str(workers) in medians else "1"
    print(f"\npipeline speedup with {top} workers: {medians[top] / medians['1']:.2f}x")
    print(
        f"  {top} workers vs in-process: {medians[top] / medians['0']:.2f}x; "
        f"{top} workers vs fetch only: {medians[top] / base_rate:.2f}x"
    )
    print(
        f"  (medians of {args.rounds} round(s); rates from the first response to the end; "
        f"load average now {load()})"
    )
    print_profile(profile["steps"], profile["crawl_cpu"], profile["pages"])
    if ceiling:
        print(
            f"\nparallel ceiling of this machine: the workers' own work (extraction and "
            f"analysis, no crawl) in 2 processes at once: {ceiling['ratio']:.2f}x one process "
            f"(CPU per page {ceiling['cpu_alone'] * 1000:.1f} ms alone, "
            f"{ceiling['cpu_together'] * 1000:.1f} ms with both cores busy; load {load()})"
        )


def main_memory(args: argparse.Namespace) -> None:
    from crawler.demosite import DemoServer
    from crawler.processing.extension import default_workers

    workers = args.workers or default_workers()
    with DemoServer(port=0, bench_pages=args.pages) as server, tempfile.TemporaryDirectory() as tmp:
        sitemap = server.base_url("bench.localhost") + "/sitemap.xml"
        print(f"memory run: {args.pages} pages, {workers} workers, load {load()}", flush=True)
        print("  (pages fetched, RSS of the crawl process and its workers, seconds, load)")
        result = run_worker(
            "--pipeline-worker",
            sitemap,
            tmp,
            "on",
            str(workers),
            pages_served=lambda: len(server.requests),
            interval=1.0,
            report_every=max(1, args.pages // 40),
        )
    curve = result["curve"]
    print(
        f"{result['pages']} pages, {result['documents']} documents in "
        f"{result['total_seconds']:.0f} s ({rate(result):.1f} pages/s), load now {load()}"
    )
    print(f"peak RSS (crawl process + workers): {mib(result['peak_rss'])}")
    print("RSS curve (pages fetched: RSS of the crawl and its workers; of the crawl alone):")
    step = max(1, args.pages // 10)
    shown = 0
    for (_, pages, rss), own in zip(curve, result["own_curve"], strict=True):
        if pages >= shown:
            print(f"  {pages:>8}: {mib(rss):>10}  {mib(own):>10}")
            shown = (pages // step + 1) * step
    # Until the last page was fetched: after it the workers stop and the RSS drops.
    last = max((pages for _, pages, _ in curve), default=0)
    crawling = curve[: next((i + 1 for i, (_, p, _) in enumerate(curve) if p == last), 0)]
    warm = [rss for _, pages, rss in crawling if pages >= args.pages * 0.05]
    if warm:
        print(
            f"after warm-up (5% of pages): start {mib(warm[0])}, end {mib(warm[-1])}, "
            f"max {mib(max(warm))}"
        )


def compare_warc(sitemap: str, rounds: int) -> None:
    """Alternate runs with WARC writing on and off; print each and the median ratio."""
    times: dict[str, list[float]] = {"off": [], "on": []}
    cpus: dict[str, list[float]] = {"off": [], "on": []}
    per_thousand = []
    for round_number in range(rounds):
        order = ("off", "on") if round_number % 2 == 0 else ("on", "off")
        for mode in order:
            with tempfile.TemporaryDirectory() as tmp:
                result = run_worker("--pipeline-worker", sitemap, tmp, mode)
            times[mode].append(result["seconds"])
            cpus[mode].append(result["cpu"] + result["workers_cpu"])
            if mode == "on" and result["documents"]:
                per_thousand.append(result["warc_bytes"] / result["documents"] * 1000)
            print(
                f"round {round_number + 1} warc {mode:<3}: {result['documents']} documents "
                f"in {result['seconds']:.1f} s, {cpus[mode][-1]:.1f} s CPU (load {load()})",
                flush=True,
            )
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"median: WARC off {off:.1f} s, WARC on {on:.1f} s: {on / off:.3f}x the time")
    cpu_off, cpu_on = statistics.median(cpus["off"]), statistics.median(cpus["on"])
    print(
        f"median CPU: WARC off {cpu_off:.1f} s, WARC on {cpu_on:.1f} s: "
        f"{cpu_on / cpu_off:.3f}x the CPU time"
    )
    if per_thousand:
        print(f"WARC disk cost: {statistics.median(per_thousand) / 1e6:.1f} MB per 1,000 pages")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=0, help="N (default: one per core)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of pipelines")
    parser.add_argument("--profile-pages", type=int, default=400)
    parser.add_argument("--memory", action="store_true", help="the memory run, whatever --pages")
    parser.add_argument("--warc-rounds", type=int, default=0, help="compare WARC on/off")
    args = parser.parse_args()
    if args.warc_rounds:
        from crawler.demosite import DemoServer

        with DemoServer(port=0, bench_pages=args.pages) as server:
            compare_warc(server.base_url("bench.localhost") + "/sitemap.xml", args.warc_rounds)
    elif args.memory or args.pages > MEMORY_RUN_PAGES:
        main_memory(args)
    else:
        main_throughput(args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--baseline-worker":
        baseline_worker(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--pipeline-worker":
        pipeline_worker(*sys.argv[2:7])
    elif len(sys.argv) > 1 and sys.argv[1] == "--ceiling-worker":
        ceiling_worker(*sys.argv[2:4])
    else:
        main()
