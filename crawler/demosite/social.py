"""The JS-rendered social group (``mxh.localhost``): an empty shell, a JSON API, permalinks.

Without JavaScript the group page shows no post; a browser runs ``/static/feed.js``, which
pages through ``/api/posts`` and renders each post. Permalink pages are server-rendered so a
crawler that found a post URL can fetch it directly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from jinja2 import Environment

from crawler.demosite.model import SiteDef, SocialPost
from crawler.demosite.render import render
from crawler.demosite.responses import Response, html, json_response, text
from crawler.demosite.vndates import VN_TZ

__all__ = ["POSTS_PER_PAGE", "SocialSite"]

POSTS_PER_PAGE = 8
_PERMALINK = re.compile(r"^/posts/(?P<id>[A-Za-z0-9_-]+)$")


class SocialSite:
    """Serves the group shell, ``/api/posts?page=N`` and ``/posts/<id>``."""

    def __init__(
        self, site: SiteDef, posts: Sequence[SocialPost], env: Environment, base: str
    ) -> None:
        self.site = site
        self.posts = list(posts)  # newest first
        self._by_id = {post.id: post for post in self.posts}
        self.env = env
        self.base = base

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.posts) / POSTS_PER_PAGE))

    def handle(self, path: str, query: dict[str, list[str]]) -> Response | None:
        if path == "/":
            return html(render(self.env, "social_shell.html", site=self.site, base=self.base))
        if path == "/robots.txt":
            return text("User-agent: *\nDisallow:\n", "text/plain; charset=utf-8")
        if path == "/api/posts":
            return self._api(query)
        if match := _PERMALINK.match(path):
            return self._permalink(match["id"])
        return None

    def _api(self, query: dict[str, list[str]]) -> Response:
        raw = (query.get("page") or ["1"])[0]
        if not raw.isdigit() or not 1 <= int(raw) <= self.pages:
            return json_response({"error": f"page must be 1..{self.pages}"}, status=404)
        page = int(raw)
        chunk = self.posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
        return json_response(
            {
                "page": page,
                "pages": self.pages,
                "total": len(self.posts),
                "next_page": page + 1 if page < self.pages else None,
                "posts": [post.to_json() for post in chunk],
            }
        )

    def _permalink(self, post_id: str) -> Response | None:
        post = self._by_id.get(post_id)
        if post is None:
            return None
        local = post.posted.astimezone(VN_TZ)
        body = render(
            self.env,
            "social_post.html",
            site=self.site,
            base=self.base,
            post=post,
            canonical=self.base + post.path,
            posted_label=f"{local.day} tháng {local.month}, {local.year} lúc {local:%H:%M}",
            paragraphs=[line for line in post.text.splitlines() if line.strip()],
        )
        return html(body, last_modified=post.posted)
