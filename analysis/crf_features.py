"""CRF feature strings from underthesea's templates, built column-wise with a per-word cache.

underthesea's taggers (POS, chunk, NER) read, for each token, one ``"<entry>=<value>"``
string per template entry (``T[-1].lower``, ``T[0,1]``, ``T[-2][1]`` ...). Its Rust
featurizer builds each of those strings from scratch at every window position, about half of
what named-entity recognition costs per post. Here the strings that depend on one word only
(its ``lower``, ``istitle`` and plain forms at every offset) are made once per distinct word
and reused at each window position and in later posts; the others are joined once per
sentence. The strings are the Rust featurizer's, except that ``istitle`` follows Python's
rule (every syllable starts with a capital), the one the models were trained with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_WORD_CACHE_SIZE", "TemplateFeaturizer", "is_title"]

#: Distinct words whose feature strings a featurizer keeps; cleared when it grows past.
DEFAULT_WORD_CACHE_SIZE = 100_000

_ENTRY = re.compile(r"T\[(-?\d+)(?:,(-?\d+))?\](?:\[(\d+)\])?(?:\.(\w+))?")


def is_title(word: str) -> bool:
    """underthesea's training-time ``istitle``: every syllable starts with a capital."""
    return bool(word) and all(part[:1].istitle() for part in word.split(" "))


class _UnassignedTable(dict):
    """``str.translate`` table that deletes every character Python's Unicode database knows."""

    def __missing__(self, code: int) -> str | None:
        kept = self[code] = chr(code) if unicodedata.category(chr(code)) == "Cn" else None
        return kept


_UNASSIGNED = _UnassignedTable()


def _needs_reference_lower(word: str) -> bool:
    """Whether ``word`` holds a character this Python's Unicode database does not know.

    The Rust featurizer lower-cases with a newer Unicode version; on every character Python
    knows the two agree (checked over all code points in ``tests/test_text.py``).
    """
    return not word.isascii() and bool(word.translate(_UNASSIGNED))


@dataclass(frozen=True)
class _Entry:
    """One template entry: rows ``first..last`` of ``column``, then ``function``."""

    name: str
    first: int
    last: int
    column: int
    function: str | None

    @classmethod
    def parse(cls, name: str) -> _Entry:
        matched = _ENTRY.fullmatch(name)
        if matched is None:
            raise ValueError(f"not a CRF template entry: {name!r}")
        first = int(matched[1])
        last = first if matched[2] is None else int(matched[2])
        column = int(matched[3] or 0)
        function = matched[4]
        if last < first:
            raise ValueError(f"{name!r}: rows must be in increasing order")
        if function not in (None, "lower", "istitle") or (
            function and (last, column) != (first, 0)
        ):
            raise ValueError(f"{name!r}: only single words take a function (lower, istitle)")
        return cls(name, first, last, column, function)


#: Which of (word, lower case, title flag) an entry's function reads.
_FUNCTION_VALUE = {None: 0, "lower": 1, "istitle": 2}


class _EveryString(dict):
    """Strings of one entry when no model filters them: every value has its string."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._prefix = f"{name}="

    def get(self, value: str, default: object = None) -> str:  # type: ignore[override]
        return self._prefix + value


class TemplateFeaturizer:
    """Feature strings of one template for sentences given as columns (words, POS, ...).

    With ``known`` (the model's attribute names, :func:`analysis.crfsuite_model.model_attributes`)
    only strings the model knows are returned, in template order: the tagger skips the others
    anyway, and handing them over costs about as much as tagging. Each entry then looks its
    values up in a table of its known strings instead of building a string per position.
    """

    def __init__(
        self,
        template: Sequence[str],
        *,
        known: frozenset[str] | None = None,
        reference_lower: Callable[[str], str],
    ) -> None:
        """``reference_lower`` lower-cases as the Rust featurizer does (for rare characters)."""
        self.template = list(template)
        self._entries = [_Entry.parse(name) for name in self.template]
        #: columns the template reads: a tagger stage whose column is unread can be skipped
        self.columns = frozenset(entry.column for entry in self._entries)
        #: per entry name: value -> feature string, for the strings that are kept
        self._tables: dict[str, dict[str, str]] = {}
        for entry in self._entries:
            self._tables[entry.name] = {} if known is not None else _EveryString(entry.name)
        for feature in known or ():
            name, _, value = feature.partition("=")
            if name in self._tables:
                self._tables[name][value] = feature
        word_entries = [e for e in self._entries if e.column == 0 and e.first == e.last]
        #: slot of each one-word entry in a word's cached strings
        self._slots = {entry.name: slot for slot, entry in enumerate(word_entries)}
        self._pad = max((max(abs(e.first), abs(e.last)) for e in self._entries), default=0)
        self._bos = tuple(self._tables[e.name].get("BOS") for e in word_entries)
        self._eos = tuple(self._tables[e.name].get("EOS") for e in word_entries)
        # a word's strings come from C-level maps: table per slot, and which of (word, its
        # lower case, its title flag) each slot reads
        self._word_tables = tuple(self._tables[e.name] for e in word_entries)
        self._word_values = tuple(_FUNCTION_VALUE[e.function] for e in word_entries)
        self._lookup = dict.get if known is not None else _EveryString.get
        #: per entry: (word slot or None, first row, last row, column, rows, look-up, BOS, EOS)
        self._plan = [
            (
                self._slots.get(e.name),
                e.first,
                e.last,
                e.column,
                e.last - e.first + 1,
                self._tables[e.name].get,
                self._tables[e.name].get("BOS"),
                self._tables[e.name].get("EOS"),
            )
            for e in self._entries
        ]
        self._reference_lower = reference_lower
        self._words: dict[str, tuple[str | None, ...]] = {}

    def _word_strings(self, word: str) -> tuple[str | None, ...]:
        lower = self._reference_lower(word) if _needs_reference_lower(word) else word.lower()
        values = (word, lower, str(is_title(word)))
        strings = tuple(
            map(self._lookup, self._word_tables, map(values.__getitem__, self._word_values))
        )
        if len(self._words) >= DEFAULT_WORD_CACHE_SIZE:
            self._words.clear()
        self._words[word] = strings
        return strings

    def features(self, columns: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        """One tuple of feature strings per token; ``columns[0]`` are the words."""
        words = columns[0]
        size = len(words)
        if not size:
            return []
        cache = self._words
        pad = self._pad
        rows = [cache[w] if w in cache else self._word_strings(w) for w in words]
        # one-word features at offset k are a slice of the word strings padded with BOS/EOS
        by_slot = list(zip(*([self._bos] * pad + rows + [self._eos] * pad), strict=True))
        joined: dict[tuple[int, int], list[str]] = {}
        out: list[Sequence[str | None]] = []
        for slot, first, last, column_index, span, get, bos, eos in self._plan:
            if slot is not None:
                out.append(by_slot[slot][pad + first : pad + first + size])
                continue
            # rows exist for positions [start, stop): BOS before, EOS from stop on
            start = min(size, max(0, -first))
            stop = max(start, min(size, size - last))
            column = columns[column_index]
            if span > 1:
                pieces = joined.get((column_index, span))
                if pieces is None:
                    pieces = [" ".join(column[i : i + span]) for i in range(size - span + 1)]
                    joined[(column_index, span)] = pieces
                column = pieces
            values = list(map(get, column[start + first : stop + first]))
            out.append([bos] * start + values + [eos] * (size - stop))
        return [tuple(filter(None, token)) for token in zip(*out, strict=True)]
