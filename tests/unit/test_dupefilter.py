"""The local frontier's on-disk duplicate filter answers as Scrapy's does, and keeps its
fingerprints in the job directory across a pause."""

from __future__ import annotations

from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.frontier.dupefilter import SEEN_FILE, DiskDupeFilter


def _filter(**settings) -> DiskDupeFilter:
    return DiskDupeFilter.from_crawler(get_crawler(settings_dict=settings))


def test_a_request_is_new_once(tmp_path):
    seen = _filter(JOBDIR=str(tmp_path))
    assert not seen.request_seen(Request("https://a.vn/bai/1.html"))
    assert seen.request_seen(Request("https://a.vn/bai/1.html"))
    assert seen.request_seen(Request("https://a.vn/bai/1.html#binh-luan"))  # same fingerprint
    assert not seen.request_seen(Request("https://a.vn/bai/2.html"))
    assert not seen.request_seen(Request("https://a.vn/bai/1.html", method="POST"))
    seen.close("finished")


def test_a_paused_run_resumes_with_what_it_had_seen(tmp_path):
    first = _filter(JOBDIR=str(tmp_path))
    for number in range(2500):  # more than one transaction
        first.request_seen(Request(f"https://a.vn/bai/{number}.html"))
    first.close("shutdown")
    assert (tmp_path / SEEN_FILE).exists()
    again = _filter(JOBDIR=str(tmp_path))
    assert again.request_seen(Request("https://a.vn/bai/2499.html"))
    assert not again.request_seen(Request("https://a.vn/bai/2500.html"))
    again.close("finished")


def test_without_a_job_directory_a_temporary_file_is_used_and_removed():
    seen = _filter()
    path = seen.path
    assert not seen.request_seen(Request("https://a.vn/"))
    assert seen.request_seen(Request("https://a.vn/"))
    seen.close("finished")
    assert not path.exists()
