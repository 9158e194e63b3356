"""The article body: where it is on the page, and its text block by block.

trafilatura finds the main text well but drops photo captions, in-body boxes and some
subheadings, and its precision-first mode can cut an article short. So its recall-first
output is used to *locate* the body (the element holding most of its text); that element is
then read block by block in document order, keeping subheadings, boxes, lists, tables and
captions, and dropping related-news teasers, tag lists, share bars and "Xem thêm" links.
When the located element does not cover what trafilatura found, trafilatura's own text
is used instead.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field

import trafilatura
from lxml.html import HtmlElement

from crawler.extract.html import (
    BLOCK_TAGS,
    SKIP_TAGS,
    clean_text,
    is_clutter_class,
    is_hidden,
    link_ratio,
    text_of,
)

__all__ = ["Block", "Body", "Located", "is_marker", "locate_body", "read_body", "serialise"]

#: Share of the page text trafilatura kept that the body element must hold.
DEFAULT_CONTAINER_SHARE = 0.75
#: The serialised body must contain this share of trafilatura's words, else trafilatura's
#: own text is used (the element found was not the article).
DEFAULT_MIN_COVERAGE = 0.7
#: Words compared when matching a text of the page to trafilatura's output.
_SHINGLE = 5
_MIN_SHINGLE = 3
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CAPTION_CLASS = re.compile(r"caption|chu-thich|chuthich|desc_image|image-desc|img-desc", re.I)
#: Headings and labels of blocks that are not the article ("Tin liên quan", "Xem thêm"...).
_MARKERS = re.compile(
    r"^(?:xem thêm|xem tiếp|đọc thêm|đọc tiếp|tin liên quan|bài liên quan|tin cùng chuyên mục|"
    r"cùng chuyên mục|tin mới|tin nổi bật|tin khác|tin bài khác|các tin khác|bài viết liên quan|"
    r"có thể bạn quan tâm|bạn có thể quan tâm|có thể bạn muốn xem|chủ đề|từ khóa|từ khoá|"
    r"tags?\b|chia sẻ|bình luận|gửi bình luận|ý kiến bạn đọc|video đang hot|mời quý độc giả|"
    r"theo dõi .{0,40} trên|tải ứng dụng|copy link|lấy link|link bài gốc|quảng cáo|"
    r"tặng sao|đăng nhập|đăng ký nhận|tin tức liên quan|xem nhiều|đọc nhiều|tin đọc nhiều|"
    r"dòng sự kiện|sự kiện:|trở lại|in bài|gửi bài)",
    re.I,
)
_MARKER_MAX = 80
_OPEN, _CLOSE = "\x01", "\x02"
_LINK_MARKS = re.compile("[\x01\x02]")
_LINKED = re.compile("\x01([^\x02]*)\x02")


def is_marker(text: str) -> bool:
    """A short label of a non-article block ("Tin liên quan", "Xem thêm:", "Từ khóa:")."""
    return len(text) <= _MARKER_MAX and bool(_MARKERS.match(text))


@dataclass(frozen=True, slots=True)
class Block:
    text: str
    kind: str  # "p", "heading", "caption", "item", "cell"


@dataclass(slots=True)
class Body:
    """The body as found: its element (``None`` when trafilatura's text was used) and
    blocks, plus trafilatura's text for comparison."""

    container: HtmlElement | None
    blocks: list[Block] = field(default_factory=list)
    engine_text: str = ""
    #: Share of the text read inside links, and links with a headline-like text.
    link_ratio: float = 0.0
    teasers: int = 0

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


# -- trafilatura -----------------------------------------------------------------------------
def _engine_lines(tree: HtmlElement, url: str) -> list[str]:
    """trafilatura's text of a copy of ``tree`` (it prunes what it reads), recall first: its
    precision-first mode drops whole subsections and boxes, and what it keeps only needs to
    locate the body here, since the reading below leaves the clutter out."""
    result = trafilatura.bare_extraction(
        copy.deepcopy(tree),
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        favor_recall=True,
        deduplicate=False,
    )
    text = getattr(result, "text", None) or ""
    return [line for line in (clean_text(raw) for raw in text.splitlines()) if line]


def _line_texts(line: str) -> list[str]:
    """The texts of one line of trafilatura's output: a table row ("| a | b |") is one text
    per cell (old templates lay whole pages out in tables), a list item loses its dash."""
    line = line.strip()
    if line.startswith("|"):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        return [cell for cell in cells if cell and set(cell) != {"-"}]
    line = line.lstrip("-•*> ").strip()
    return [line] if line else []


def _shingles(lines: list[str]) -> set[tuple[str, ...]]:
    """Every run of ``_SHINGLE`` words (and the shorter runs) of trafilatura's text."""
    grams: set[tuple[str, ...]] = set()
    for line in lines:
        words = line.lower().split()
        for size in range(_MIN_SHINGLE, _SHINGLE + 1):
            grams.update(zip(*(words[i:] for i in range(size)), strict=False))
    return grams


def _own_text(element: HtmlElement) -> tuple[str, str]:
    """``element``'s own text (not its children's) and its first chunk of words."""
    chunks = [element.text or ""] + [child.tail or "" for child in element]
    if all(not chunk or chunk.isspace() for chunk in chunks):
        return "", ""
    chunks = [clean_text(chunk) for chunk in chunks]
    first = next((chunk for chunk in chunks if len(chunk.split()) >= _MIN_SHINGLE), "")
    return " ".join(chunk for chunk in chunks if chunk), first


def _locate(tree: HtmlElement, lines: list[str]) -> HtmlElement | None:
    """The deepest element holding ``DEFAULT_CONTAINER_SHARE`` of the page text that
    trafilatura kept. Texts are matched by their first words, so a table cell that
    trafilatura flattened into one line still locates the paragraphs inside it. (Taking
    the element with the best balance of kept and other text instead picks a hidden pop-up
    on section fronts whose only prose it is.)"""
    grams = _shingles(lines)
    engine_total = sum(len(line) for line in lines)
    weights: Counter[HtmlElement] = Counter()
    total = 0
    body = tree.find("body")
    for element in (body if body is not None else tree).iter():
        if not isinstance(element.tag, str):
            continue
        own, first = _own_text(element)
        if not first or tuple(first.lower().split()[:_SHINGLE]) not in grams:
            continue
        total += len(own)
        for node in (element, *element.iterancestors()):
            weights[node] += len(own)
    if not total or total < 0.3 * engine_total:
        return None
    best: HtmlElement | None = None
    best_depth = -1
    for element, weight in weights.items():
        if weight >= DEFAULT_CONTAINER_SHARE * total and element.tag not in ("html", "body"):
            depth = sum(1 for _ in element.iterancestors())
            if depth > best_depth:
                best, best_depth = element, depth
    return best


def _densest(tree: HtmlElement) -> HtmlElement | None:
    """Fallback when trafilatura finds nothing: the element whose paragraphs hold the most
    text (readability's scoring: a paragraph counts for its parent, half for the grandparent)."""
    scores: Counter[HtmlElement] = Counter()
    for paragraph in tree.iter("p", "div", "td", "span"):
        text = text_of(paragraph) if paragraph.tag == "p" else clean_text(paragraph.text or "")
        if len(text) < 25:
            continue
        score = 1 + text.count(",") + min(len(text) / 100, 3)
        parent = paragraph.getparent()
        if parent is not None:
            scores[parent] += score
            grandparent = parent.getparent()
            if grandparent is not None:
                scores[grandparent] += score / 2
    if not scores:
        return None
    element, _ = scores.most_common(1)[0]
    return element if element.tag not in ("html", "body") else None


def _headline_links(element: HtmlElement) -> int:
    """Links in ``element`` whose text reads like a headline (4+ words)."""
    count = 0
    for anchor in element.iter("a"):
        text = text_of(anchor)
        if len(text) >= 25 and len(text.split()) >= 4:
            count += 1
    return count


# -- reading an element block by block --------------------------------------------------------
class _Reader:
    def __init__(self, container: HtmlElement, skip: set[HtmlElement]):
        self.container = container
        self.skip = skip
        self.total = max(len(text_of(container)), 1)
        self.blocks: list[Block] = []
        #: Characters read inside links, and links with a headline-like text (teasers).
        self.linked = 0
        self.teasers = 0

    def _excluded(self, element: HtmlElement) -> bool:
        if element in self.skip or element.tag in SKIP_TAGS or is_hidden(element):
            return True
        if element.tag in ("br", "hr", "img", "picture"):
            return False
        text = text_of(element)
        if not text:
            return True
        # A wrapper of most of the body is never clutter, whatever its class says.
        if len(text) >= 0.5 * self.total:
            return False
        if is_clutter_class(element) and not _CAPTION_CLASS.search(element.get("class") or ""):
            return True
        if element.tag not in BLOCK_TAGS or element.tag == "figcaption":
            return False
        first = next((clean_text(t) for t in element.itertext() if t.strip()), "")
        if first and is_marker(first) and element.tag not in _HEADINGS | {"p", "li"}:
            return True  # a box headed "Tin liên quan", "Xem thêm"...
        ratio, links = link_ratio(element, len(text))
        if (links >= 2 and ratio >= 0.5) or (links >= 1 and ratio >= 0.9 and len(text) >= 10):
            self.teasers += _headline_links(element)  # teasers: other articles' headlines
            return True
        return False

    def _kind(self, element: HtmlElement, inherited: str) -> str:
        if element.tag in _HEADINGS:
            return "heading"
        if element.tag == "figcaption" or _CAPTION_CLASS.search(element.get("class") or ""):
            return "caption"
        if element.tag == "li":
            return "item"
        if element.tag in ("td", "th"):
            return "cell" if inherited == "p" else inherited
        return inherited

    def _flush(self, parts: list[str], kind: str) -> None:
        for line in "".join(parts).split("\n"):
            text = clean_text(_LINK_MARKS.sub("", line))
            if not text or is_marker(text):
                continue
            linked = len(clean_text(" ".join(_LINKED.findall(line))))
            if linked >= 0.9 * len(text) and len(text) >= 10:
                # A line that is only a link: another article's headline ("Xem thêm" teaser).
                self.teasers += int(len(text) >= 25 and len(text.split()) >= 4)
                continue
            self.linked += linked
            self.blocks.append(Block(text, kind))
        parts.clear()

    def read(self, element: HtmlElement, kind: str = "p") -> None:
        parts: list[str] = [element.text or ""]
        for child in element:
            if not isinstance(child.tag, str):
                parts.append(child.tail or "")
                continue
            if child.tag == "br":
                parts.append("\n")
            elif self._excluded(child):
                pass
            elif child.tag in BLOCK_TAGS or any(
                isinstance(inner.tag, str) and inner.tag in BLOCK_TAGS for inner in child.iter()
            ):
                self._flush(parts, kind)
                self.read(child, self._kind(child, kind))
            else:
                parts.append(self._inline(child))
            parts.append(child.tail or "")
        self._flush(parts, kind)

    def _inline(self, element: HtmlElement, in_link: bool = False) -> str:
        link = element.tag == "a" and not in_link
        parts = [element.text or ""]
        for child in element:
            if isinstance(child.tag, str):
                if child.tag == "br":
                    parts.append("\n")
                elif not (child.tag in SKIP_TAGS or is_hidden(child)):
                    parts.append(self._inline(child, in_link or link))
            parts.append(child.tail or "")
        text = "".join(parts)
        if link:  # marked so that a line made only of a link can be told apart
            return "\n".join(f"{_OPEN}{line}{_CLOSE}" for line in text.split("\n"))
        return text


def serialise(container: HtmlElement, *, skip: set[HtmlElement]) -> list[Block]:
    """``container``'s text blocks in document order, clutter left out; repeated blocks once."""
    return _read(container, skip)[0]


def _read(container: HtmlElement, skip: set[HtmlElement]) -> tuple[list[Block], _Reader]:
    reader = _Reader(container, skip)
    reader.read(container, "p")
    seen: set[str] = set()
    blocks: list[Block] = []
    for block in reader.blocks:
        if block.text in seen:
            continue
        seen.add(block.text)
        blocks.append(block)
    return blocks, reader


def _coverage(text: str, reference: str) -> float:
    """Share of ``reference``'s words (with repeats) that ``text`` also has."""
    want = Counter(reference.lower().split())
    if not want:
        return 1.0
    got = Counter(text.lower().split())
    return sum((got & want).values()) / sum(want.values())


@dataclass(slots=True)
class Located:
    """Where the body is: its element(s) and trafilatura's lines that located it."""

    containers: list[HtmlElement]
    engine_lines: list[str]


def locate_body(tree: HtmlElement, *, url: str) -> Located:
    """The body element of ``tree``: the element holding trafilatura's paragraphs, or the
    densest block of paragraphs when trafilatura finds none."""
    lines = [text for line in _engine_lines(tree, url) for text in _line_texts(line)]
    container = _locate(tree, lines) if lines else _densest(tree)
    return Located([container] if container is not None else [], lines)


def read_body(located: Located, *, skip: set[HtmlElement]) -> Body:
    """The body's blocks; trafilatura's lines when the located element does not cover them."""
    engine_text = "\n".join(located.engine_lines)
    fallback = Body(
        None,
        [Block(line, "p") for line in located.engine_lines if not is_marker(line)],
        engine_text,
    )
    if not located.containers:
        return fallback
    blocks: list[Block] = []
    linked = teasers = 0
    for container in located.containers:
        read, reader = _read(container, skip)
        blocks.extend(read)
        linked += reader.linked
        teasers += reader.teasers
    body = Body(located.containers[0], blocks, engine_text, teasers=teasers)
    held = " ".join(text_of(container) for container in located.containers)
    if located.engine_lines and _coverage(held, engine_text) < DEFAULT_MIN_COVERAGE:
        return fallback
    total = sum(len(block.text) for block in blocks)
    body.link_ratio = min(linked / total, 1.0) if total else 0.0
    return body
