"""robots.txt: requests that arrive while a host's rules are downloading wait for them."""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares import RobotsTxtMiddleware

ROBOTS = b"User-agent: *\nDisallow: /tim-kiem\n"


class SlowEngine:
    """Stands in for the engine: robots.txt answers only once ``release`` is set."""

    def __init__(self, body: bytes = ROBOTS, fail: bool = False) -> None:
        self.release = asyncio.Event()
        self.body = body
        self.fail = fail
        self.robots_requests: list[str] = []

    async def download_async(self, request: Request) -> Response:
        self.robots_requests.append(request.url)
        await self.release.wait()
        if self.fail:
            raise ConnectionRefusedError("robots.txt unreachable")
        return TextResponse(request.url, body=self.body, encoding="utf-8")


async def _verdicts(engine: SlowEngine, urls: list[str]) -> list[str]:
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    crawler.engine = engine
    middleware = RobotsTxtMiddleware(crawler)

    async def verdict(url: str) -> str:
        try:
            await middleware.process_request(Request(url))
        except IgnoreRequest:
            return "forbidden"
        return "allowed"

    waiting = [asyncio.ensure_future(verdict(url)) for url in urls]
    await asyncio.sleep(0.01)  # every request is now waiting for the rules
    engine.release.set()
    return list(await asyncio.gather(*waiting))


def test_every_request_waiting_for_the_rules_is_judged_by_them():
    engine = SlowEngine()
    urls = [
        "http://site.test/",
        "http://site.test/tim-kiem?q=a",
        "http://site.test/tim-kiem?q=b",
        "http://site.test/bai-viet.html",
        "http://site.test/tim-kiem?q=c",
    ]
    verdicts = asyncio.run(_verdicts(engine, urls))
    assert verdicts == ["allowed", "forbidden", "forbidden", "allowed", "forbidden"]
    assert engine.robots_requests == ["http://site.test/robots.txt"]


def test_each_host_has_its_own_rules():
    engine = SlowEngine()
    verdicts = asyncio.run(
        _verdicts(engine, ["http://a.test/tim-kiem", "http://b.test/tim-kiem", "http://a.test/x"])
    )
    assert verdicts == ["forbidden", "forbidden", "allowed"]
    assert sorted(engine.robots_requests) == [
        "http://a.test/robots.txt",
        "http://b.test/robots.txt",
    ]


def test_unreachable_rules_are_scrapys_answer_for_every_waiter():
    # Scrapy treats a robots.txt it cannot download as no rules; every waiter gets that answer.
    engine = SlowEngine(fail=True)
    verdicts = asyncio.run(_verdicts(engine, ["http://site.test/tim-kiem", "http://site.test/a"]))
    assert verdicts == ["allowed", "allowed"]
    assert engine.robots_requests == ["http://site.test/robots.txt"]
