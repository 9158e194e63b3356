"""Per-site extraction rules from ``sources.yaml`` (``extract: {title, lead, body, author,
published, section, drop}``): CSS (parsel syntax, ``::text``/``::attr(x)`` allowed) or
XPath selectors, for the sites the generic path still gets wrong.

A rule that matches nothing on a page falls back to the generic path for that field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cssselect import SelectorError
from lxml import etree
from lxml.html import HtmlElement
from parsel.csstranslator import css2xpath

from crawler.extract.html import clean_text, text_of

__all__ = ["RULE_FIELDS", "SiteRules", "compile_selector", "select_elements", "select_texts"]

RULE_FIELDS = ("title", "lead", "body", "author", "published", "section", "drop")


def _is_xpath(selector: str) -> bool:
    return selector.lstrip().startswith(("/", "./", "(", "//"))


def compile_selector(selector: str) -> etree.XPath:
    """An XPath for a CSS or XPath selector; ``ValueError`` names what is wrong."""
    selector = selector.strip()
    if not selector:
        raise ValueError("empty selector")
    try:
        expression = selector if _is_xpath(selector) else css2xpath(selector)
        return etree.XPath(expression)
    except SelectorError as exc:
        raise ValueError(f"not a valid CSS selector {selector!r}: {exc}") from exc
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"not a valid XPath {selector!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SiteRules:
    """Compiled selectors per field; an empty tuple means "use the generic path"."""

    title: tuple[etree.XPath, ...] = ()
    lead: tuple[etree.XPath, ...] = ()
    body: tuple[etree.XPath, ...] = ()
    author: tuple[etree.XPath, ...] = ()
    published: tuple[etree.XPath, ...] = ()
    section: tuple[etree.XPath, ...] = ()
    drop: tuple[etree.XPath, ...] = ()

    @classmethod
    def from_config(cls, config: dict[str, str | list[str] | None]) -> SiteRules:
        compiled = {}
        for item in fields(cls):
            value = config.get(item.name)
            selectors = [value] if isinstance(value, str) else list(value or [])
            compiled[item.name] = tuple(compile_selector(s) for s in selectors)
        return cls(**compiled)


def _results(tree: HtmlElement, selectors: tuple[etree.XPath, ...]) -> list[object]:
    for selector in selectors:
        try:
            found = selector(tree)
        except etree.XPathEvalError:
            continue
        found = found if isinstance(found, list) else [found]
        if found:
            return found
    return []


def select_elements(tree: HtmlElement, selectors: tuple[etree.XPath, ...]) -> list[HtmlElement]:
    return [item for item in _results(tree, selectors) if isinstance(item, HtmlElement)]


def select_texts(tree: HtmlElement, selectors: tuple[etree.XPath, ...]) -> list[str]:
    """Texts of the first selector that matches: element text, ``::text`` or an attribute."""
    texts = []
    for item in _results(tree, selectors):
        text = text_of(item) if isinstance(item, HtmlElement) else clean_text(str(item))
        if text:
            texts.append(text)
    return texts
