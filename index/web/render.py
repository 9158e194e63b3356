"""Templates and the few pieces of HTML built in Python.

Crawled text is hostile input. Jinja autoescape is on (explicitly, for every template), no
template marks crawled text ``|safe``, and the only HTML assembled here is a ``Markup`` whose
every inserted value went through :func:`markupsafe.escape`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from index.web.security import safe_url

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "histogram_svg", "make_environment", "snippet_html"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
VERDICT_LABELS = {
    "false": "sai sự thật (false)",
    "misleading": "gây hiểu lầm (misleading)",
    "true": "đúng (true)",
    "unverifiable": "chưa kiểm chứng được (unverifiable)",
    "not_relevant": "không liên quan (not relevant)",
    "confirmed": "xác nhận báo hóa (confirmed)",
    "not_confirmed": "không phải báo hóa (not confirmed)",
}


def snippet_html(pieces: list[tuple[str, bool]] | None) -> Markup:
    """``(text, is_match)`` pieces as HTML: every piece escaped, matches in ``<mark>``."""
    out = Markup("")
    for text, is_match in pieces or []:
        out += Markup("<mark>{}</mark>").format(text) if is_match else escape(text)
    return out


def external_link(url: str | None, label: str | None = None) -> Markup:
    """A link to a crawled URL when it is http(s); any other scheme is shown as text."""
    text = label if label is not None else (url or "")
    if safe_url(url):
        return Markup('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(
            url.strip(),
            text,  # type: ignore[union-attr]
        )
    return Markup('<span class="unsafe-url" title="not an http(s) link">{}</span>').format(text)


def histogram_svg(
    bars: list[tuple[str, str, int]], links: list[str], *, width: int = 900, height: int = 120
) -> Markup:
    """The result timeline as an inline SVG (no inline styles: the CSP forbids them).

    ``bars`` are ``(first_day, last_day, count)``; ``links[i]`` narrows the search to bar i.
    """
    if not bars:
        return Markup("")
    top = max(count for _, _, count in bars) or 1
    slot = width / len(bars)
    gap = 1 if slot > 3 else 0
    parts = [
        Markup(
            '<svg class="histogram" viewBox="0 0 {w} {h}" preserveAspectRatio="none" '
            'role="img" aria-label="matching posts over time">'
        ).format(w=width, h=height + 2)
    ]
    for index, ((first, last, count), link) in enumerate(zip(bars, links, strict=True)):
        bar_height = 0 if count == 0 else max(2.0, height * count / top)
        period = first if first == last else f"{first} → {last}"
        # Only the link and the period are text; escaped once each (Markup.format would
        # escape every argument of every bar).
        label = f"<title>{escape(period)}: {int(count)}</title>"
        x, bar_width = f"{index * slot:.2f}", f"{max(slot - gap, 0.5):.2f}"
        parts.append(
            Markup(
                f'<a href="{escape(link)}"><rect x="{x}" y="{height - bar_height:.2f}" '
                f'width="{bar_width}" height="{bar_height:.2f}" class="bar">{label}</rect>'
                f'<rect x="{x}" y="0" width="{bar_width}" height="{int(height)}" class="hit">'
                f"{label}</rect></a>"
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def fmt_score(value: Any) -> str:
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return "–"


def fmt_date(value: str | None) -> str:
    """ISO timestamp shown to the minute (``2026-11-25 10:00 +07:00``)."""
    if not value:
        return "–"
    text = str(value)
    if len(text) >= 16 and text[10] == "T":
        rest = text[19:] if len(text) > 19 else ""
        return f"{text[:10]} {text[11:16]}{(' ' + rest) if rest else ''}"
    return text


def _format_count(value: Any, key: str = "") -> str:
    from index.report_render import format_count

    return format_count(key, value)


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["now_utc"] = lambda: datetime.now(UTC)
    env.filters.update(
        snippet=snippet_html,
        external=external_link,
        score=fmt_score,
        when=fmt_date,
        verdict=lambda value: VERDICT_LABELS.get(value or "", value or ""),
        count=_format_count,
    )
    return env
