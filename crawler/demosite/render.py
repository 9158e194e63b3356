"""Jinja2 rendering of the demo pages, autoescape always on.

Content is data written by others (one article carries XSS payloads on purpose), so no value
is ever marked safe: a hostile string shows up as text in the page.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crawler.demosite.model import Article
from crawler.demosite.vndates import VN_TZ

__all__ = [
    "TEMPLATE_DIR",
    "Comment",
    "article_link",
    "comments_for",
    "make_environment",
    "render",
    "short_date",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def short_date(moment: datetime) -> str:
    """Listing style date: ``20/11/2026 09:15``."""
    return f"{moment.astimezone(VN_TZ):%d/%m/%Y %H:%M}"


def article_link(article: Article, tracking: str | None = None) -> str:
    """Relative link to an article; ``tracking`` adds the utm parameters real sites add."""
    if tracking is None:
        return article.path
    return f"{article.path}?utm_source={quote(tracking)}&utm_medium=box"


def make_environment() -> Environment:
    """The one Jinja environment of the demo sites: autoescape on, undefined is an error."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals.update(link=article_link, short_date=short_date)
    return env


@dataclass(frozen=True, slots=True)
class Comment:
    name: str
    time: str
    text: str
    likes: int


_COMMENTERS = (
    "Nguyễn Văn Hải",
    "Trần Thị Mai",
    "Lê Hoàng Nam",
    "Phạm Thu Trang",
    "Hoàng Đức Minh",
    "Vũ Thị Hồng",
    "Đặng Quốc Bảo",
    "Bùi Ngọc Lan",
    "Đỗ Thanh Tùng",
    "Ngô Thị Hạnh",
)
_COMMENT_TEXTS = (
    "Cảm ơn tòa soạn đã thông tin kịp thời.",
    "Mong các cơ quan chức năng sớm vào cuộc làm rõ.",
    "Bài viết rất hữu ích, tôi sẽ chia sẻ cho người thân trong gia đình.",
    "Đọc xong thấy yên tâm hơn nhiều.",
    "Không biết ở địa phương tôi đã áp dụng chưa nhỉ?",
    "Thông tin cần được cập nhật thường xuyên hơn.",
    "Ủng hộ quan điểm của tác giả.",
    "Nên có thêm số liệu so sánh với năm trước để dễ hình dung.",
    "Hy vọng mọi việc sớm ổn định.",
)


def comments_for(article: Article) -> Sequence[Comment]:
    """Two or three reader comments, the same ones every time for a given article."""
    seed = zlib.crc32(f"{article.id}/{article.slug}".encode())
    count = 2 + seed % 2
    comments = []
    for k in range(count):
        pick = (seed >> (4 * k)) + 7 * k
        when = article.published + timedelta(hours=2 + 3 * k, minutes=(seed >> k) % 50)
        comments.append(
            Comment(
                name=_COMMENTERS[pick % len(_COMMENTERS)],
                time=short_date(when),
                text=_COMMENT_TEXTS[(pick // 3) % len(_COMMENT_TEXTS)],
                likes=(seed >> (3 * k)) % 40,
            )
        )
    return comments


def render(env: Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
