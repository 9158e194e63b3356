"""Crawl throughput: the full pipeline against plain Scrapy fetching, in one run.

Serves a generated local site of ``--pages`` article pages (``bench.localhost``), then
crawls it twice from its sitemap, each time in a fresh subprocess (a Twisted reactor runs
once per process) with the same concurrency and no politeness delays:

* baseline: a bare Scrapy spider that fetches every page and does nothing with it;
* pipeline: ``misinfo``'s news spider with extraction, normalisation, underthesea
  segmentation, Covid/claim analysis and SQLite indexing.

Prints pages/s for both and their ratio. Usage: ``python bench/crawl.py [--pages 2000]``.
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


def pipeline_worker(sitemap: str, data_dir: str) -> None:
    """Crawl with the full misinfo pipeline; print pages and seconds as JSON."""
    from crawler.app import App
    from crawler.pipelines import _analysis_resources
    from crawler.resources.sources import Source
    from crawler.service.runner import run_crawls

    _analysis_resources(None)  # model loading is start-up, not per-page work
    app = App(data_dir=Path(data_dir))
    source = Source(name="bench", sitemaps=[sitemap], max_pages=1_000_000)
    started = time.perf_counter()
    (record,) = run_crawls(
        app, [source], trigger="bench", overrides={**NETWORK, "CLOSESPIDER_PAGECOUNT": 0}
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"pages": record.fetched, "documents": record.new, "seconds": seconds}))


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
    args = parser.parse_args()

    from crawler.demosite import DemoServer

    with DemoServer(port=0, bench_pages=args.pages) as server, tempfile.TemporaryDirectory() as tmp:
        sitemap = server.base_url("bench.localhost") + "/sitemap.xml"
        print(f"site: {args.pages} generated article pages at {sitemap}", flush=True)
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
        pipeline_worker(sys.argv[2], sys.argv[3])
    else:
        main()
