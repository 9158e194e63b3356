"""A faster, checked way to compute the claim classifier's character TF-IDF view.

Pure computation. :class:`analysis.claim_model.ClaimClassifier` uses it only after comparing
its probabilities with those of the vectorizer's own ``transform`` on the loaded model.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy import sparse

__all__ = ["DEFAULT_CHAR_CACHE_WORDS", "CharView"]

#: Words whose character n-grams a :class:`CharView` keeps (cleared when it grows past).
DEFAULT_CHAR_CACHE_WORDS = 200_000


class CharView:
    """The character TF-IDF view computed word by word, with each word's n-grams cached.

    ``char_wb`` n-grams never cross a word, so a text's n-grams are those of its words, each
    cut by the vectorizer's own analyzer (:meth:`build_analyzer`); counts, sublinear tf, idf
    and l2 norm follow the vectorizer's documented parameters. Most words of a post were seen
    before, so this skips most of the analyzer's work. :class:`ClaimClassifier` checks it
    against the vectorizer's own ``transform`` before using it.
    """

    def __init__(self, vectorizer) -> None:
        self.vocabulary: dict[str, int] = {k: int(v) for k, v in vectorizer.vocabulary_.items()}
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.analyzer = vectorizer.build_analyzer()
        self.cache: dict[str, list[int]] = {}

    @staticmethod
    def supports(vectorizer) -> bool:
        params = vectorizer.get_params()
        return (
            params.get("analyzer") == "char_wb"
            and params.get("sublinear_tf") is True
            and params.get("use_idf") is True
            and params.get("norm") == "l2"
            and params.get("binary") is False
        )

    def word_indices(self, word: str) -> list[int]:
        found = self.cache.get(word)
        if found is None:
            vocabulary = self.vocabulary
            found = [vocabulary[g] for g in self.analyzer(word) if g in vocabulary]
            if len(self.cache) >= DEFAULT_CHAR_CACHE_WORDS:
                self.cache.clear()
            self.cache[word] = found
        return found

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        indptr, indices, data = [0], [], []
        cache, compute = self.cache, self.word_indices
        for text in texts:
            # one dict look-up per word seen before (most of a post's words)
            found = list(
                itertools.chain.from_iterable(
                    cache[w] if w in cache else compute(w) for w in text.split()
                )
            )
            if found:
                columns, counts = np.unique(np.array(found, dtype=np.int64), return_counts=True)
                values = (1.0 + np.log(counts)) * self.idf[columns]
                values /= np.sqrt(np.dot(values, values))
                indices.append(columns)
                data.append(values)
            indptr.append(indptr[-1] + (len(columns) if found else 0))
        return sparse.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                np.array(indptr),
            ),
            shape=(len(texts), len(self.idf)),
            dtype=np.float32,
        )
