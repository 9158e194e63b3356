"""A crawl whose processing workers die on one page (for tests/integration/test_processing_crawl.py).

``python -m tests.processing_helpers CONFIG DATA SOURCE POISON`` crawls SOURCE with two
workers, and every batch holding a page whose URL contains POISON kills the worker running
it (as a crash in a C library would), every time it is tried.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from crawler.processing.extension import Processing, _deferred
from crawler.processing.tasks import Outcome, PageJob, PageResult, extract_pages


def extract_or_die(poison: str, jobs: list[PageJob]) -> list[Outcome[PageResult]]:
    if any(poison in job.url for job in jobs):
        os.kill(os.getpid(), signal.SIGKILL)
    return extract_pages(jobs)


class PoisonedProcessing(Processing):
    """:class:`Processing` whose extraction batches go through :func:`extract_or_die`."""

    poison = ""

    @classmethod
    def from_crawler(cls, crawler: Any) -> PoisonedProcessing:
        extension = super().from_crawler(crawler)
        # A setting, not a class attribute: Scrapy imports this module under its own name.
        extension.poison = crawler.settings.get("TEST_POISON") or ""
        assert extension.poison, "TEST_POISON is not set"
        return extension  # type: ignore[return-value]

    def _extract_batch(self, jobs: list[PageJob]) -> Any:
        assert self.pool is not None
        return _deferred(self.pool.submit(extract_or_die, self.poison, jobs))


def main(config_dir: str, data_dir: str, source_name: str, poison: str) -> None:
    from crawler.app import App
    from crawler.resources.sources import load_sources
    from crawler.service.runner import run_crawls
    from crawler.settings import BASE_SETTINGS

    app = App(config_dir=Path(config_dir), data_dir=Path(data_dir))
    (source,) = [s for s in load_sources(app.config_path("sources.yaml")) if s.name == source_name]
    extensions = dict(BASE_SETTINGS["EXTENSIONS"])
    del extensions["crawler.processing.extension.Processing"]
    extensions["tests.processing_helpers.PoisonedProcessing"] = 400
    overrides = {"EXTENSIONS": extensions, "MM_PROCESSING_WORKERS": 2, "TEST_POISON": poison}
    (record,) = run_crawls(app, [source], trigger="test", overrides=overrides)
    sys.exit(0 if record.status == "ok" else 1)


if __name__ == "__main__":
    main(*sys.argv[1:5])
