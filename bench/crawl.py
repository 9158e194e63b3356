"""Crawl throughput: the full pipeline against plain Scrapy fetching, in one run.

Serves a generated local site of ``--pages`` article pages (``bench.localhost``), then
crawls it twice from its sitemap, each time in a fresh subprocess (a Twisted reactor runs
once per process) with the same concurrency and no politeness delays:

* baseline: a bare Scrapy spider that fetches every page and does nothing with it;
* pipeline: ``misinfo``'s news spider with extraction, normalisation, underthesea
  segmentation, Covid/claim analysis and SQLite indexing.

Prints pages/s for both and their ratio. Usage: ``python bench/crawl.py [--pages 2000]``.

``--warc-rounds N`` instead compares the full pipeline with WARC writing on
(``evidence.warc: all``, the default) and off, N runs of each, alternating (the machine is
shared and noisy), and prints the time of each, the ratio of the medians and the WARC
bytes per 1,000 stored pages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

#: Identical network settings for both runs: only the processing differs.
NETWORK = {
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": True,
    "LOG_LEVEL": "WARNING",
    "DNS_RESOLVER": "crawler.resolver.LocalhostAwareResolver",
    "TWISTED_DNS_RESOLVER": "crawler.resolver.LocalhostAwareResolver",
}


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

    process = CrawlerProcess({**NETWORK, "CLOSESPIDER_PAGECOUNT": 0})
    crawler = process.create_crawler(FetchOnly)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    print(
        json.dumps(
            {
                "pages": stats.get("response_received_count", 0),
                "seconds": stats["elapsed_time_seconds"],
            }
        )
    )


def pipeline_worker(sitemap: str, data_dir: str, warc: str = "on") -> None:
    """Crawl with the full misinfo pipeline; print pages, seconds and WARC bytes as JSON."""
    from crawler.app import App
    from crawler.pipelines import _analysis_resources
    from crawler.resources.sources import Source
    from crawler.service.runner import run_crawls

    _analysis_resources(None)  # model loading is start-up, not per-page work
    app = App(data_dir=Path(data_dir))
    source = Source(name="bench", sitemaps=[sitemap], max_pages=1_000_000)
    overrides = {**NETWORK, "CLOSESPIDER_PAGECOUNT": 0, "MM_WARC_ENABLED": warc == "on"}
    started, cpu_started = time.perf_counter(), time.process_time()
    (record,) = run_crawls(app, [source], trigger="bench", overrides=overrides)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    warc_bytes = sum(path.stat().st_size for path in Path(data_dir).rglob("*.warc.gz"))
    print(
        json.dumps(
            {
                "pages": record.fetched,
                "documents": record.new,
                "seconds": seconds,
                "cpu": cpu,
                "warc_bytes": warc_bytes,
            }
        )
    )


def compare_warc(sitemap: str, rounds: int) -> None:
    """Alternate runs with WARC writing on and off; print each and the median ratio."""
    import os
    import statistics

    times: dict[str, list[float]] = {"off": [], "on": []}
    cpus: dict[str, list[float]] = {"off": [], "on": []}
    per_thousand = []
    for round_number in range(rounds):
        order = ("off", "on") if round_number % 2 == 0 else ("on", "off")
        for mode in order:
            with tempfile.TemporaryDirectory() as tmp:
                result = run_worker("--pipeline-worker", sitemap, tmp, mode)
            times[mode].append(result["seconds"])
            cpus[mode].append(result["cpu"])
            if mode == "on" and result["documents"]:
                per_thousand.append(result["warc_bytes"] / result["documents"] * 1000)
            print(
                f"round {round_number + 1} warc {mode:<3}: {result['documents']} documents "
                f"in {result['seconds']:.1f} s, {result['cpu']:.1f} s CPU "
                f"(load {os.getloadavg()[0]:.1f})",
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


def run_worker(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if output.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--warc-rounds", type=int, default=0, help="compare WARC on/off")
    args = parser.parse_args()

    from crawler.demosite import DemoServer

    with DemoServer(port=0, bench_pages=args.pages) as server, tempfile.TemporaryDirectory() as tmp:
        sitemap = server.base_url("bench.localhost") + "/sitemap.xml"
        print(f"site: {args.pages} generated article pages at {sitemap}", flush=True)
        if args.warc_rounds:
            compare_warc(sitemap, args.warc_rounds)
            return
        baseline = run_worker("--baseline-worker", sitemap)
        pipeline = run_worker("--pipeline-worker", sitemap, tmp)
    base_rate = baseline["pages"] / baseline["seconds"]
    full_rate = pipeline["pages"] / pipeline["seconds"]
    print(f"{'run':<32}{'pages':>8}{'seconds':>10}{'pages/s':>10}")
    print(
        f"{'scrapy fetch only (baseline)':<32}{baseline['pages']:>8}{baseline['seconds']:>10.1f}{base_rate:>10.1f}"
    )
    print(
        f"{'full pipeline (analyse+index)':<32}{pipeline['pages']:>8}{pipeline['seconds']:>10.1f}{full_rate:>10.1f}"
    )
    print(
        f"full pipeline runs at {full_rate / base_rate:.2f}x the baseline's pages/s "
        f"({pipeline['documents']} documents indexed)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--baseline-worker":
        baseline_worker(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--pipeline-worker":
        pipeline_worker(*sys.argv[2:5])
    else:
        main()
