"""Recently drawn near-duplicate sketches, by the hash of the text they were drawn from.

Two things make a sketch worth keeping for a while after it was drawn:

* a crawl's processing workers draw each new post's sketch beside its analysis
  (:mod:`crawler.processing.tasks`), so the crawl process that places the post in a cluster
  finds it here instead of drawing it again on the one core that also runs the crawl;
* copies of a story arrive close together, so the stored documents a new one is checked
  against exactly (:class:`index.clusters.Clusterer`) are often ones placed shortly
  before: their shingles are here, and their texts need not be folded and hashed again.

Keys are content hashes (:func:`index.clusters.text_hash`), so an entry can never belong to
another text: a changed document simply misses. The cache is bounded by the bytes of the
arrays it holds and drops the least recently used entries first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from analysis.near_duplicates import Sketch

__all__ = ["DEFAULT_MAX_BYTES", "SketchCache"]

#: About 4,000 sketches of news articles of 500 to 800 words.
DEFAULT_MAX_BYTES = 32 * 2**20
#: What an entry costs beyond its arrays (the key, the dataclass, the arrays' headers).
_ENTRY_OVERHEAD = 400


def _cost(drawn: Sketch) -> int:
    return drawn.signature.nbytes + drawn.keys.nbytes + drawn.shingles.nbytes + _ENTRY_OVERHEAD


class SketchCache:
    """Sketches by text hash, least recently used out first past ``max_bytes``.

    Safe to share between threads (the web UI's and a crawl's writes)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be 0 or more")
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._entries: OrderedDict[str, Sketch] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, hashed: str) -> Sketch | None:
        """The sketch of the text with this hash, if it is still here."""
        with self._lock:
            drawn = self._entries.get(hashed)
            if drawn is not None:
                self._entries.move_to_end(hashed)
            return drawn

    def put(self, hashed: str, drawn: Sketch) -> None:
        """Keep ``drawn`` as the sketch of the text with this hash."""
        cost = _cost(drawn)
        if cost > self.max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(hashed, None)
            if previous is not None:
                self.nbytes -= _cost(previous)
            self._entries[hashed] = drawn
            self.nbytes += cost
            while self.nbytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.nbytes -= _cost(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.nbytes = 0
