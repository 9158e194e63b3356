"""Named entities (PER, LOC, ORG, MISC) with underthesea's CRF models, on tokens we already have.

underthesea's public ``ner()`` re-tokenises its input and builds features in Python, costing
about ten times the rest of a post's analysis. The fast path here runs the same three CRF
stages (POS, chunk, NER) with ``underthesea_core``'s public ``CRFFeaturizer`` and ``CRFTagger``
on our tokens. It depends on how underthesea lays out its models and templates, which is not
a public API, so it is checked when it loads: on :data:`CHECK_SENTENCES` it must give exactly
the rows of ``underthesea.ner``; otherwise (or when a model file is missing) a warning says
so and every sentence goes through ``underthesea.ner`` itself.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "CHECK_SENTENCES",
    "Entity",
    "extract_entities",
    "is_title",
    "sentences_of_tokens",
    "tag_entities",
]

_POS_TEMPLATE = [
    "T[-2].lower", "T[-1].lower", "T[0].lower", "T[1].lower", "T[2].lower",
    "T[0].istitle", "T[-1].istitle", "T[1].istitle",
    "T[-2]", "T[-1]", "T[0]", "T[1]", "T[2]",
    "T[-2,-1]", "T[-1,0]", "T[0,1]", "T[1,2]",
    "T[-3][1]", "T[-2][1]", "T[-1][1]",
    "T[-3,-2][1]", "T[-2,-1][1]",
]  # fmt: skip
_CHUNK_TEMPLATE = [
    "T[-2].lower", "T[-1].lower", "T[0].lower", "T[1].lower", "T[2].lower",
    "T[0].istitle", "T[-1].istitle", "T[1].istitle",
    "T[-2]", "T[-1]", "T[0]", "T[1]", "T[2]",
    "T[-2,-1]", "T[-1,0]", "T[0,1]", "T[1,2]",
    "T[-2][1]", "T[-1][1]", "T[0][1]", "T[1][1]", "T[2][1]",
    "T[-2,-1][1]", "T[-1,0][1]", "T[0,1][1]", "T[1,2][1]",
    "T[-3][2]", "T[-2][2]", "T[-1][2]",
]  # fmt: skip
_NER_TEMPLATE = [
    "T[-2].lower", "T[-1].lower", "T[0].lower", "T[1].lower", "T[2].lower",
    "T[0].istitle", "T[-1].istitle", "T[1].istitle", "T[-2].istitle", "T[2].istitle",
    "T[-2]", "T[-1]", "T[0]", "T[1]", "T[2]",
    "T[-2,-1]", "T[-1,0]", "T[0,1]", "T[1,2]",
    "T[-2][1]", "T[-1][1]", "T[0][1]", "T[1][1]", "T[2][1]",
    "T[-2,-1][1]", "T[-1,0][1]", "T[0,1][1]", "T[1,2][1]",
    "T[-3][3]", "T[-2][3]", "T[-1][3]",
]  # fmt: skip

#: Sentence-final tokens: NER runs sentence by sentence, as underthesea's models were trained.
_SENTENCE_END = frozenset({".", "!", "?", "…", "...", "!!!", "?!"})


@dataclass(frozen=True)
class Entity:
    """A named entity: surface text and type (PER, LOC, ORG, MISC)."""

    text: str
    type: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "type": self.type}


def is_title(word: str) -> bool:
    """underthesea's training-time ``istitle``: every syllable starts with a capital.

    Its models were trained with this rule, not the featurizer's ``istitle`` (Python's
    ``str.istitle`` of the whole word), so the fast path writes these features itself.
    """
    return bool(word) and all(part[:1].istitle() for part in word.split(" "))


class _CrfStage:
    """One of underthesea's CRF taggers (POS, chunk, NER) over token rows we build.

    Rows are ``[word, tag of stage 1, ...]``; ``underthesea_core.CRFFeaturizer`` turns them into
    the features of ``template`` (``istitle`` by :func:`is_title`) and ``CRFTagger`` tags with
    the model file underthesea ships.
    """

    def __init__(self, model_file: str, template: list[str]) -> None:
        from underthesea_core import CRFFeaturizer, CRFTagger

        self._featurizer = CRFFeaturizer(template, set())
        self._tagger = CRFTagger()
        self._tagger.load(model_file)
        #: (index in the template, token offset, its two feature strings) per ``istitle`` entry
        self._titles = [
            (index, int(entry[2:].split("]")[0]), (f"{entry}=False", f"{entry}=True"))
            for index, entry in enumerate(template)
            if entry.endswith(".istitle")
        ]

    def tag(self, rows: list[list[str]]) -> list[str]:
        features = self._featurizer.process([rows])[0]
        titles = [is_title(row[0]) for row in rows]
        count = len(rows)
        for index, offset, values in self._titles:
            for position in range(max(0, -offset), min(count, count - offset)):
                features[position][index] = values[titles[position + offset]]
        return list(self._tagger.tag(features))


def _safe_word(word: str) -> str:
    # features are built from single-spaced syllables, and an empty word would be no token
    return " ".join(word.split()) or "_"


#: Sentences the fast path must tag exactly as ``underthesea.ner`` does before it is used:
#: persons, places, organisations, a number, a date, a hyphenated name and punctuation.
CHECK_SENTENCES = (
    "Ông Putin ca ngợi những thành tựu vĩ đại của Liên Xô.",
    "Sáng 28/11, Bộ Y tế cho biết Hà Nội ghi nhận thêm 1.200 ca mắc Covid-19 mới.",
    "Bà Nguyễn Thị Lan, Giám đốc Sở Y tế TP.HCM, đã đến thăm Bệnh viện Chợ Rẫy!",
    "Tổ chức Y tế Thế giới (WHO) khuyến cáo người dân Việt Nam tiêm vắc-xin?",
)


@lru_cache(maxsize=1)
def _ner_stages() -> tuple[_CrfStage, _CrfStage, _CrfStage] | None:
    """The fast path's three stages, or ``None`` when it cannot be trusted (a warning says why)."""
    from pathlib import Path

    import underthesea.pipeline as pipeline
    from underthesea import ner, word_tokenize

    base = Path(pipeline.__file__).resolve().parent
    try:
        stages = (
            _CrfStage(str(base / "pos_tag" / "pos_crf_2017_10_11.bin"), _POS_TEMPLATE),
            _CrfStage(str(base / "chunking" / "chunk_crf_2017_10_12.bin"), _CHUNK_TEMPLATE),
            _CrfStage(str(base / "ner" / "ner_crf_2017_10_12.bin"), _NER_TEMPLATE),
        )
    except Exception as exc:  # a missing or unreadable model file: use the public API
        _warn_fallback(f"its model files cannot be loaded ({exc})")
        return None
    for sentence in CHECK_SENTENCES:
        expected = [tuple(row) for row in ner(sentence)]
        tokens = [row[0] for row in expected]
        if tokens != word_tokenize(sentence) or _rows(stages, tokens) != expected:
            _warn_fallback(f"it tags {sentence!r} differently from underthesea.ner")
            return None
    return stages


def _warn_fallback(reason: str) -> None:
    import underthesea

    warnings.warn(
        f"named entities: the fast CRF path is off because {reason} (underthesea "
        f"{getattr(underthesea, '__version__', '?')}); using underthesea.ner, which is slower",
        RuntimeWarning,
        stacklevel=3,
    )


#: Whether the NER template reads the chunk column (2): when it does not, named entities
#: need no chunk tagger (a third of the cost).
_NER_READS_CHUNKS = any(re.search(r"\]\[2\]", entry) for entry in _NER_TEMPLATE)


def _rows(
    stages: tuple[_CrfStage, _CrfStage, _CrfStage], tokens: list[str], *, chunk: bool = True
) -> list[tuple[str, str, str, str]]:
    """Each stage reads the tags before it; without ``chunk`` the chunk tags are placeholders
    unless the NER stage needs them."""
    pos_stage, chunk_stage, ner_stage = stages
    words = [_safe_word(token) for token in tokens]
    pos = pos_stage.tag([[word, "X"] for word in words])
    if chunk or _NER_READS_CHUNKS:
        chunks = chunk_stage.tag([[word, tag, "X"] for word, tag in zip(words, pos, strict=True)])
    else:
        chunks = ["X"] * len(words)
    ner = ner_stage.tag([[w, p, c, "X"] for w, p, c in zip(words, pos, chunks, strict=True)])
    return list(zip(tokens, pos, chunks, ner, strict=True))


def tag_entities(tokens: list[str]) -> list[tuple[str, str, str, str]]:
    """(word, POS, chunk, NER) rows for one sentence of tokens, as ``underthesea.ner`` gives.

    ``tokens`` are words as ``word_tokenize`` returns them (syllables joined by spaces). When
    the fast path is off, ``underthesea.ner`` tags the tokens joined by spaces (it may cut
    them into words differently).
    """
    if not tokens:
        return []
    stages = _ner_stages()
    if stages is None:
        from underthesea import ner

        return [tuple(row) for row in ner(" ".join(tokens))]
    return _rows(stages, tokens)


def sentences_of_tokens(tokens: list[str]) -> list[list[str]]:
    """Cut a token list at sentence-final punctuation."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for token in tokens:
        current.append(token)
        if token in _SENTENCE_END:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def extract_entities(tokens: list[str]) -> list[Entity]:
    """Named entities in ``tokens`` (underthesea CRF NER), in order of first appearance.

    ``tokens`` are words as :func:`tokenize_words` returns them (syllables joined by spaces).
    Callers choose how much text to pass: NER costs a few times tokenisation per token,
    so the analysis entry point feeds it the title and lead sentences only.
    """
    found: dict[tuple[str, str], Entity] = {}
    for sentence in sentences_of_tokens(tokens):
        span: list[str] = []
        span_type = ""
        stages = _ner_stages()
        tagged = tag_entities(sentence) if stages is None else _rows(stages, sentence, chunk=False)
        rows = [(row[0], row[3]) for row in tagged]
        for word, tag in [*rows, ("", "O")]:
            if tag.startswith("I-") and span and tag[2:] == span_type:
                span.append(word)
                continue
            if span:
                entity = Entity(" ".join(span), span_type)
                found.setdefault((entity.text, entity.type), entity)
                span = []
            if tag.startswith(("B-", "I-")):
                span, span_type = [word], tag[2:]
    return list(found.values())
