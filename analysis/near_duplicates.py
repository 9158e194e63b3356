"""Near-duplicate sketches of Vietnamese texts: MinHash over word shingles, LSH band keys,
sentence fingerprints for containment, and the similarity measures that decide a copy.

Pure functions (no I/O). :mod:`index.clusters` keeps the sketches beside the store and turns
matches into clusters; this module only says how alike two texts are.

A text is folded (lower case, no diacritics, "đ" -> "d": a copy with its diacritics removed
is the same text) and split into syllables; its **shingles** are the pairs of adjacent
syllables. Pairs, not single syllables or triples: on real Vietnamese news and posts,
copies with 40% of their words edited keep a pair Jaccard of about 0.2 or more, while
different stories of one section stay under 0.13 at the 99.9th percentile (single syllables
overlap by 0.45 between unrelated articles of one section; triples drop edited copies to
0.1).

* :func:`sketch` turns a text into a :class:`Sketch`: its shingle count and a MinHash
  signature (``datasketch.MinHash``, scheme ``affine32``), whose equal positions estimate
  the Jaccard similarity of two shingle sets.
* :func:`band_keys` cuts a signature into LSH bands (:data:`DEFAULT_ROWS` values each): two
  texts with Jaccard ``j`` share at least one band with probability ``1 - (1 - j**r)**b``
  (0.93 at j = 0.2 with 64 bands of 2).
* :func:`sentence_fingerprints` gives one fingerprint per sentence (the least hash of its
  word triples): a post quoting two sentences of a long article shares their fingerprints,
  although its Jaccard with the whole article is tiny. Such pairs are then checked by
  :func:`containment` on the texts themselves.

Keys are signed 63-bit integers (an SQLite ``INTEGER``, an Elasticsearch ``long``); the
lowest bit tells a band key (0) from a sentence fingerprint (1).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain

import numpy as np
from datasketch import MinHash

from analysis.text import fold_diacritics

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_CONTAINMENT",
    "DEFAULT_MIN_WORDS",
    "DEFAULT_NUM_PERM",
    "DEFAULT_ROWS",
    "DEFAULT_SEED",
    "DEFAULT_THRESHOLD",
    "SCHEME",
    "Sketch",
    "SketchParams",
    "band_key_matrix",
    "band_keys",
    "containment",
    "estimated_jaccard",
    "is_fingerprint",
    "sentence_fingerprints",
    "shared_count",
    "shingle_hashes",
    "sketch",
    "text_similarity",
    "words",
]

#: MinHash permutations; with :data:`DEFAULT_ROWS` they make ``num_perm / rows`` bands.
DEFAULT_NUM_PERM = 128
#: Signature values per LSH band. Two keeps pairs at Jaccard 0.2 (heavily edited copies)
#: findable; longer bands would need many more permutations for the same recall.
DEFAULT_ROWS = 2
DEFAULT_BANDS = DEFAULT_NUM_PERM // DEFAULT_ROWS
DEFAULT_SEED = 16
#: Estimated Jaccard of the shingle sets from which two texts count as copies.
DEFAULT_THRESHOLD = 0.18
#: Share of the shorter text's shingles found in the longer one from which a text much
#: shorter than another counts as copied from it (a post quoting an article).
DEFAULT_CONTAINMENT = 0.6
#: Texts with fewer syllables are not clustered: "Đúng rồi mọi người ơi" matches too much.
DEFAULT_MIN_WORDS = 8
#: The datasketch permutation scheme, named explicitly so stored signatures stay
#: comparable whatever a later datasketch version defaults to.
SCHEME = "affine32"
#: Sentences shorter than this (in syllables) get no fingerprint ("Xem thêm:", captions).
MIN_SENTENCE_WORDS = 6
#: Syllables per n-gram of a sentence fingerprint.
FINGERPRINT_WORDS = 3

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?…;:\n]+")
_MASK32 = np.uint64(0xFFFFFFFF)
_MASK63 = (1 << 63) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_NO_KEYS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class SketchParams:
    """How texts are sketched; stored sketches are only comparable under equal params."""

    num_perm: int = DEFAULT_NUM_PERM
    rows: int = DEFAULT_ROWS
    seed: int = DEFAULT_SEED
    min_words: int = DEFAULT_MIN_WORDS

    def __post_init__(self) -> None:
        if self.num_perm < 2 or self.rows < 1 or self.num_perm % self.rows:
            raise ValueError(
                f"num_perm ({self.num_perm}) must be a positive multiple of rows ({self.rows})"
            )

    @property
    def bands(self) -> int:
        return self.num_perm // self.rows

    def fingerprint(self) -> str:
        """A string naming everything that makes two signatures comparable."""
        return f"minhash-{SCHEME}:pairs:perm={self.num_perm}:rows={self.rows}:seed={self.seed}"


@dataclass(frozen=True, slots=True)
class Sketch:
    """What is kept of a text to find its copies: size, signature, keys."""

    #: Distinct shingles of the text (0 for a text too short to cluster).
    size: int
    #: MinHash signature, ``num_perm`` uint32 values (empty when ``size`` is 0).
    signature: np.ndarray
    #: LSH band keys followed by sentence fingerprints (int64; see :func:`is_fingerprint`).
    keys: np.ndarray
    #: The shingle hashes themselves (sorted; not stored: for exact containment checks).
    shingles: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    @property
    def empty(self) -> bool:
        return self.size == 0


def _fold_table() -> list[str]:
    table = []
    for code in range(0x2000):
        folded = fold_diacritics(chr(code))
        table.append(folded if len(folded) == 1 else chr(code).lower())
    return table


#: :func:`analysis.text.fold_diacritics` of each character below U+2000 as a list, which
#: ``str.translate`` reads twice as fast as the cached dictionary (sketching folds every
#: stored text); characters above are lower-cased.
_FOLD_LIST = _fold_table()


def _fold(text: str) -> str:
    return text.translate(_FOLD_LIST).lower()


def words(text: str) -> list[str]:
    """Folded syllables of ``text`` ("Đà Nẵng: 5 ca" -> ["da", "nang", "5", "ca"])."""
    return _TOKEN.findall(_fold(text or ""))


class _WordHashes(dict):
    """crc32 of each word, computed once (``map(cache.__getitem__, words)`` runs in C)."""

    #: Entries kept before the cache starts over (numbers and URLs make it grow forever).
    LIMIT = 1 << 19

    def __missing__(self, word: str) -> int:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[word] = zlib.crc32(word.encode("utf-8"))
        return value


_WORD_HASHES = _WordHashes()


def _word_hashes(tokens: Sequence[str]) -> np.ndarray:
    return np.fromiter(map(_WORD_HASHES.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def _mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, element-wise (uint64 arithmetic wraps, as intended)."""
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX1
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX2
    return values ^ (values >> np.uint64(31))


def _pair_hashes(hashes: np.ndarray) -> np.ndarray:
    if len(hashes) <= 1:
        return hashes
    with np.errstate(over="ignore"):
        pairs = _mix64(hashes[:-1] * _GOLDEN + hashes[1:]) & _MASK32
    return np.unique(pairs)


def shingle_hashes(tokens: Sequence[str]) -> np.ndarray:
    """Distinct 32-bit hashes of the adjacent syllable pairs of ``tokens`` (sorted)."""
    return _pair_hashes(_word_hashes(tokens))


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> np.ndarray:
    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


def _signature(hashes: np.ndarray, params: SketchParams) -> np.ndarray:
    minhash = MinHash(
        num_perm=params.num_perm,
        seed=params.seed,
        hashfunc=int,  # the values are hashes already; datasketch mixes them again
        permutations=_permutations(params.num_perm, params.seed),
        scheme=SCHEME,
    )
    minhash.update_batch(hashes.tolist())
    return minhash.hashvalues.astype(np.uint32, copy=False)


def band_key_matrix(signatures: np.ndarray, rows: int = DEFAULT_ROWS) -> np.ndarray:
    """:func:`band_keys` of every row of ``signatures`` at once (int64, one row each)."""
    signatures = np.atleast_2d(signatures)
    bands = signatures.shape[1] // rows
    values = signatures[:, : bands * rows].astype(np.uint64).reshape(len(signatures), bands, rows)
    mixed = np.broadcast_to(
        np.arange(1, bands + 1, dtype=np.uint64) * _GOLDEN, (len(signatures), bands)
    )
    with np.errstate(over="ignore"):
        for column in range(rows):
            mixed = _mix64(mixed ^ values[:, :, column])
    # Even keys: bands. Shifted into 63 bits so they fit a signed 64-bit column.
    return ((mixed >> np.uint64(2)) << np.uint64(1)).astype(np.int64)


def band_keys(signature: np.ndarray, rows: int = DEFAULT_ROWS) -> list[int]:
    """One key per band of ``rows`` signature values, the band's number mixed in."""
    if len(signature) == 0:
        return []
    return band_key_matrix(signature, rows)[0].tolist()


def sentence_fingerprints(tokens_by_sentence: Sequence[Sequence[str]]) -> list[int]:
    """Two odd keys per sentence of at least :data:`MIN_SENTENCE_WORDS` syllables: its two
    least mixed hashes of word n-grams (:data:`FINGERPRINT_WORDS`). An edit elsewhere in
    the sentence keeps them; an edit that removes one usually leaves the other."""
    tokens = [token for sentence in tokens_by_sentence for token in sentence]
    lengths = np.array([len(sentence) for sentence in tokens_by_sentence], dtype=np.int64)
    return _fingerprints(_word_hashes(tokens), lengths).tolist()


def _fingerprints(hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    n = FINGERPRINT_WORDS
    if len(hashes) < n or not len(lengths):
        return _NO_KEYS
    with np.errstate(over="ignore"):
        grams = hashes[: len(hashes) - n + 1].copy()
        for offset in range(1, n):
            grams = grams * _GOLDEN + hashes[offset : len(hashes) - n + 1 + offset]
        grams = _mix64(grams)
    sentence = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.arange(len(grams))
    # An n-gram counts when it lies inside one sentence long enough to fingerprint.
    keep = (sentence[starts] == sentence[starts + n - 1]) & (
        lengths[sentence[starts]] >= MIN_SENTENCE_WORDS
    )
    grams, groups = grams[keep], sentence[starts[keep]]
    if not len(grams):
        return _NO_KEYS
    order = np.lexsort((grams, groups))
    grams, groups = grams[order], groups[order]
    first = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    second = first + 1
    second = second[
        (second < len(groups)) & (groups[np.minimum(second, len(groups) - 1)] == groups[first])
    ]
    chosen = np.unique(grams[np.concatenate([first, second])])
    return ((chosen >> np.uint64(2)) << np.uint64(1) | np.uint64(1)).astype(np.int64)


def is_fingerprint(key: int) -> bool:
    """Whether ``key`` is a sentence fingerprint (odd) rather than a band key (even)."""
    return bool(key & 1)


def _tokens_and_lengths(text: str) -> tuple[list[str], np.ndarray]:
    """Folded syllables of ``text`` and the number of them in each sentence."""
    per_sentence = [_TOKEN.findall(part) for part in _SENTENCE_END.split(_fold(text or ""))]
    lengths = np.fromiter(map(len, per_sentence), dtype=np.int64, count=len(per_sentence))
    return list(chain.from_iterable(per_sentence)), lengths[lengths > 0]


def sketch(text: str, params: SketchParams | None = None) -> Sketch:
    """The sketch of ``text`` (empty below ``params.min_words`` syllables)."""
    params = params or SketchParams()
    tokens, lengths = _tokens_and_lengths(text)
    if len(tokens) < params.min_words:
        return Sketch(0, np.zeros(0, dtype=np.uint32), _NO_KEYS, np.zeros(0, dtype=np.uint64))
    hashes = _word_hashes(tokens)
    shingles = _pair_hashes(hashes)
    signature = _signature(shingles, params)
    keys = np.concatenate(
        [band_key_matrix(signature, params.rows)[0], _fingerprints(hashes, lengths)]
    )
    return Sketch(len(shingles), signature, keys, shingles)


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """The share of equal signature positions: an estimate of the shingle Jaccard."""
    if len(first) == 0 or len(first) != len(second):
        return 0.0
    return float(np.count_nonzero(first == second)) / len(first)


def shared_count(first: np.ndarray, second: np.ndarray) -> int:
    """How many values two sorted arrays of distinct values (:func:`shingle_hashes`) have
    in common: a binary search of each of ``first`` in ``second``, without the sort of
    both that ``np.isin`` does."""
    if not len(first) or not len(second):
        return 0
    positions = np.searchsorted(second, first)
    positions[positions == len(second)] = 0
    return int(np.count_nonzero(second[positions] == first))


def containment(short: str | np.ndarray, long: str | np.ndarray) -> float:
    """The exact share of the shorter text's shingles the longer one also has (texts, or
    their :func:`shingle_hashes`)."""
    inner = short if isinstance(short, np.ndarray) else shingle_hashes(words(short))
    if len(inner) == 0:
        return 0.0
    outer = long if isinstance(long, np.ndarray) else shingle_hashes(words(long))
    return shared_count(inner, outer) / len(inner)


def text_similarity(first: str, second: str) -> tuple[float, str]:
    """Exact similarity of two texts and what it measures: ``(jaccard, "jaccard")``, or
    ``(containment, "containment")`` when the shorter one is contained more than it is
    alike (for showing analysts how close a copy is)."""
    a = shingle_hashes(words(first))
    b = shingle_hashes(words(second))
    if len(a) == 0 or len(b) == 0:
        return 0.0, "jaccard"
    shared = shared_count(a, b)
    jaccard = shared / (len(a) + len(b) - shared)
    contained = shared / min(len(a), len(b))
    if contained > jaccard and min(len(a), len(b)) * 2 <= max(len(a), len(b)):
        return contained, "containment"
    return jaccard, "jaccard"
