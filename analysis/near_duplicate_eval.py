"""The labelled near-duplicate set: copies made from real texts by recipe, and the scores.

Pure functions (no I/O). ``scripts/build_cluster_eval.py`` picks real articles and posts
from the shared data and writes, for each item of the set, only ids and a recipe
(``analysis/data/cluster_eval.csv``); :func:`make_copy` turns an original text and a recipe
into the copy, the same way every time (the recipe carries its own random seed), so the
repository never holds the shared texts. ``scripts/evaluate_clusters.py`` clusters the set
through a real store and scores it with :func:`pairwise_scores`.

A recipe is what a rumour goes through when it is passed on: words edited (deleted,
replaced, inserted, swapped: ``edit`` is the share of words touched), sentences reordered,
a prefix ("Nóng:", "Chia sẻ:") or a call to share added, diacritics removed, a few
sentences quoted out of a long article (``excerpt``), or a post quoted inside a short
article (``frame``).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from itertools import combinations

__all__ = [
    "FRAMES_AFTER",
    "FRAMES_BEFORE",
    "PREFIXES",
    "SUFFIXES",
    "CopyRecipe",
    "PairScores",
    "longest_shared_run",
    "make_copy",
    "pairwise_scores",
    "split_sentences",
    "strip_marks",
]

PREFIXES = (
    "Nóng:",
    "Chia sẻ:",
    "NÓNG!!!",
    "Khẩn cấp:",
    "Tin mới:",
    "[Chia sẻ]",
    "Cảnh báo:",
    "Mọi người đọc ngay:",
    "Tin sốc:",
    "Copy từ nhóm bạn:",
)
SUFFIXES = (
    "Hãy chia sẻ cho người thân!",
    "Chia sẻ ngay để mọi người cùng biết.",
    "Nguồn: sưu tầm.",
    "Share cho cả nhà nhé!!!",
    "Ai đọc được thì lan tỏa giúp.",
    "(Theo mạng xã hội)",
)
#: Sentences a short article puts around a quoted post ("frame" recipes).
FRAMES_BEFORE = (
    "Thời gian gần đây, trên mạng xã hội lan truyền một bài đăng với nội dung như sau.",
    "Nhiều tài khoản mạng xã hội những ngày qua chia sẻ thông tin dưới đây.",
    "Một bài viết đang được chia sẻ rộng rãi trong các hội nhóm có nội dung.",
    "Bạn đọc gửi tới tòa soạn ảnh chụp một bài đăng trên mạng với nội dung.",
    "Trên một số diễn đàn, thông tin sau đang thu hút hàng nghìn lượt bình luận.",
)
FRAMES_AFTER = (
    "Chúng tôi sẽ tiếp tục cập nhật thông tin về sự việc này.",
    "Người dân được khuyến cáo chỉ tiếp nhận thông tin từ các nguồn chính thống.",
    "Hiện cơ quan chức năng chưa có thông báo chính thức về nội dung trên.",
    "Bài đăng đã thu hút nhiều lượt chia sẻ chỉ sau vài giờ.",
    "Độc giả có thông tin liên quan xin liên hệ đường dây nóng của báo.",
)

_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class CopyRecipe:
    """How one copy is made from its original (see the module docstring)."""

    seed: int
    edit: float = 0.0
    reorder: bool = False
    prefix: int = -1
    suffix: int = -1
    strip: bool = False
    #: Quote ``excerpt`` consecutive sentences of the original (0: the whole text).
    excerpt: int = 0
    #: Put the text between a sentence of FRAMES_BEFORE and one of FRAMES_AFTER.
    frame: bool = False

    def to_text(self) -> str:
        """``seed=12;edit=0.25;reorder=1``: the fields that differ from the defaults."""
        parts = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "seed" or value != spec.default:
                shown = int(value) if isinstance(value, bool) else value
                parts.append(f"{spec.name}={shown}")
        return ";".join(parts)

    @classmethod
    def from_text(cls, text: str) -> CopyRecipe:
        values: dict[str, object] = {}
        kinds = {spec.name: spec.type for spec in fields(cls)}
        for part in filter(None, text.split(";")):
            name, _, raw = part.partition("=")
            if name not in kinds:
                raise ValueError(f"unknown recipe field {name!r} in {text!r}")
            kind = kinds[name]
            if kind in (bool, "bool"):
                values[name] = raw in ("1", "true", "True")
            elif kind in (float, "float"):
                values[name] = float(raw)
            else:
                values[name] = int(raw)
        return cls(**values)  # type: ignore[arg-type]


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of ``text``, stripped, empty ones dropped."""
    return [part.strip() for part in _SENTENCE.split(text or "") if part.strip()]


_STRIP_TABLE = str.maketrans({"đ": "d", "Đ": "D"})


def strip_marks(text: str) -> str:
    """``text`` without Vietnamese diacritics, case kept ("Đà Nẵng" -> "Da Nang")."""
    decomposed = unicodedata.normalize("NFD", text.translate(_STRIP_TABLE))
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def _edit_words(sentence: str, rate: float, pool: Sequence[str], rng: random.Random) -> str:
    words = sentence.split()
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if rng.random() >= rate:
            out.append(word)
            index += 1
            continue
        action = rng.randrange(4)
        if action == 0:  # delete
            pass
        elif action == 1:  # replace
            out.append(rng.choice(pool))
        elif action == 2:  # insert after
            out += [word, rng.choice(pool)]
        elif index + 1 < len(words):  # swap with the next word
            out += [words[index + 1], word]
            index += 1
        else:
            out.append(word)
        index += 1
    return " ".join(out)


def make_copy(original: str, recipe: CopyRecipe, pool: Sequence[str]) -> str:
    """The copy of ``original`` that ``recipe`` describes; ``pool`` holds the words edits
    insert (words of another text of the set)."""
    rng = random.Random(recipe.seed)
    sentences = split_sentences(original)
    if recipe.excerpt and len(sentences) > recipe.excerpt:
        start = rng.randrange(1, len(sentences) - recipe.excerpt + 1)
        sentences = sentences[start : start + recipe.excerpt]
    if recipe.reorder and len(sentences) > 2:
        # Keep the opening sentence (it names the story), move the others around.
        rest = sentences[1:]
        rng.shuffle(rest)
        sentences = [sentences[0], *rest]
    elif recipe.reorder and len(sentences) == 2:
        sentences = sentences[::-1]
    if recipe.edit > 0:
        sentences = [_edit_words(sentence, recipe.edit, pool, rng) for sentence in sentences]
    if recipe.frame:
        sentences = [
            rng.choice(FRAMES_BEFORE),
            "«" + " ".join(sentences) + "»",
            rng.choice(FRAMES_AFTER),
        ]
    if recipe.prefix >= 0:
        sentences[0] = f"{PREFIXES[recipe.prefix % len(PREFIXES)]} {sentences[0]}"
    if recipe.suffix >= 0:
        sentences.append(SUFFIXES[recipe.suffix % len(SUFFIXES)])
    text = "\n".join(sentences)
    return strip_marks(text) if recipe.strip else text


def longest_shared_run(first: str, second: str) -> int:
    """The longest run of consecutive words (case and diacritics kept) both texts hold."""
    a = [word.lower() for word in _WORD.findall(first)]
    b = [word.lower() for word in _WORD.findall(second)]
    if not a or not b:
        return 0
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(b):
        positions.setdefault(word, []).append(index)
    best = 0
    previous: dict[int, int] = {}
    for word in a:
        current: dict[int, int] = {}
        for j in positions.get(word, ()):
            length = previous.get(j - 1, 0) + 1
            current[j] = length
            best = max(best, length)
        previous = current
    return best


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pairwise "same cluster" scores of a clustering against the true stories."""

    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def _pairs(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for members in groups:
        pairs.update(combinations(sorted(members), 2))
    return pairs


def _groups(labels: Mapping[str, str]) -> list[list[str]]:
    grouped: dict[str, list[str]] = {}
    for item, label in labels.items():
        grouped.setdefault(label, []).append(item)
    return list(grouped.values())


def pairwise_scores(truth: Mapping[str, str], predicted: Mapping[str, str]) -> PairScores:
    """Precision and recall of "these two items are in one cluster" over every pair of items
    (``truth`` and ``predicted`` map each item to its story / cluster)."""
    items = truth.keys() & predicted.keys()
    true_pairs = _pairs(_groups({item: truth[item] for item in items}))
    predicted_pairs = _pairs(_groups({item: predicted[item] for item in items}))
    return PairScores(len(true_pairs), len(predicted_pairs), len(true_pairs & predicted_pairs))
