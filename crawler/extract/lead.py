"""The lead (sapo): the paragraph under the headline that states the article's main claim.

Vietnamese CMSs put it in a block of its own between the headline and the body (``sapo``,
``description``, ``summary``, ``lead`` classes; an ``h2`` under the ``h1``; a bold first
paragraph), often opening with the paper's tag: "(Dân trí) -", "(PLO)-", "TPO -". The page's
``description`` usually repeats it, but only text that is visible counts: a block near the
headline qualifies by its class, by repeating the description, or by its press prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

from crawler.extract.dates import parse_shown_date
from crawler.extract.html import (
    BLOCK_TAGS,
    SKIP_TAGS,
    class_id,
    clean_text,
    is_clutter_class,
    is_hidden,
    link_ratio,
    text_of,
    token_overlap,
)

__all__ = ["PRESS_PREFIX", "Lead", "find_lead"]

_LEAD_CLASS = re.compile(
    r"sapo|lead|summary|sumary|summery|description|excerpt|intro|chapeau|abstract|standfirst|"
    r"tomtat|tom-tat|mo-ta|short-?content|init-?content|subtitle|sub-title|desc",
    re.I,
)
_NOT_LEAD_CLASS = re.compile(
    r"image|img|photo|caption|thumb|author|video|relat(?!ive)|item|list", re.I
)
#: "(Dân trí) -", "(PLO)-", "(NLĐO)-", "(Chinhphu.vn) -", "TPO - ", "VOV.VN -", "GD&TĐ -".
PRESS_PREFIX = re.compile(
    r"^(?:\([^()]{2,30}\)\s*[-–—:]?|[A-ZĐ][\wĐđ.&]{1,14}(?:\s[A-ZĐ][\wĐđ.&]{1,14})?\s*[-–—])\s*\S"
)
_MIN_LEAD = 40
_MAX_LEAD = 1500
#: How many text blocks after the headline are looked at.
_WINDOW = 14
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*$")


@dataclass(slots=True)
class Lead:
    text: str
    element: HtmlElement
    reason: str  # "class", "description", "prefix" or "bold"


def _descriptions(values: list[str]) -> list[str]:
    cleaned = []
    for value in values:
        value = clean_text(value)
        value = _ELLIPSIS.sub("", value)
        if len(value) >= _MIN_LEAD:
            cleaned.append(value)
    return cleaned


def _repeats(text: str, descriptions: list[str]) -> bool:
    for description in descriptions:
        head = description[:60]
        if head in text or text[:60] in description:
            return True
        # A description with the paper's tag or site name cut differently still matches.
        if token_overlap(text, description) >= 0.85 and 0.5 <= len(text) / len(description) <= 2:
            return True
    return False


def _bold(element: HtmlElement, text: str) -> bool:
    if element.tag in ("h2", "h3", "strong", "b"):
        return True
    strong = "".join(clean_text(s.text_content()) for s in element.iter("strong", "b"))
    return len(strong) >= 0.9 * len(text.replace(" ", ""))


def _leaf(element: HtmlElement) -> bool:
    """A block with no block-level element inside (its text is one paragraph)."""
    return not any(
        isinstance(inner.tag, str) and inner.tag in BLOCK_TAGS
        for inner in element.iterdescendants()
    )


def _blocks_after(headline: HtmlElement | None, container: HtmlElement | None) -> list[HtmlElement]:
    """Paragraph-like elements after the headline in document order (within the headline's
    neighbourhood), up to two blocks into the body."""
    start = headline if headline is not None else container
    if start is None:
        return []
    scope = start
    for _ in range(4):
        parent = scope.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        scope = parent
    elements = [e for e in scope.iter() if isinstance(e.tag, str)]
    index = elements.index(start) + (1 if start is headline else 0)
    passed: set[HtmlElement] = set(start.iter()) if start is headline else set()
    container_nodes = set(container.iter()) if container is not None else set()
    blocks: list[HtmlElement] = []
    in_body = 0
    for element in elements[index:]:
        if element in passed:
            continue
        if (
            element.tag in SKIP_TAGS
            or is_hidden(element)
            or (is_clutter_class(element) and not _lead_class(element))
        ):
            passed |= set(element.iter())
            continue
        if element.tag not in BLOCK_TAGS and element.tag not in ("span", "strong", "b", "em"):
            continue
        if not _leaf(element) or not text_of(element):
            continue
        blocks.append(element)
        passed |= set(element.iter())
        if element in container_nodes:
            in_body += 1
            if in_body >= 2:
                break
        if len(blocks) >= _WINDOW:
            break
    return blocks


def _lead_class(element: HtmlElement) -> bool:
    """The element or one of its two nearest ancestors is classed as a lead."""
    for node in (element, *list(element.iterancestors())[:2]):
        names = class_id(node)
        if names and _LEAD_CLASS.search(names) and not _NOT_LEAD_CLASS.search(names):
            return True
    return False


def find_lead(
    headline: HtmlElement | None,
    container: HtmlElement | None,
    descriptions: list[str],
    skip: set[HtmlElement],
) -> Lead | None:
    """The visible lead after the headline, or ``None``."""
    described = _descriptions(descriptions)
    first_text = True
    for element in _blocks_after(headline, container):
        if element in skip or any(node in skip for node in element.iterancestors()):
            continue
        text = text_of(element)
        if len(text) < _MIN_LEAD:
            continue
        if len(text) > _MAX_LEAD or link_ratio(element, len(text))[0] > 0.5:
            first_text = False
            continue
        if len(text) <= 80 and parse_shown_date(text) is not None:
            continue  # a date line
        if _lead_class(element):
            return Lead(text, element, "class")
        if described and _repeats(text, described):
            return Lead(text, element, "description")
        if PRESS_PREFIX.match(text) and first_text:
            return Lead(text, element, "prefix")
        if first_text and len(text) >= 80 and _bold(element, text):
            return Lead(text, element, "bold")
        first_text = False
    return None
