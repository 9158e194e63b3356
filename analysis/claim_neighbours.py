"""Neighbour evidence for the claim classifier: the labels of the most similar training posts.

Pure computation. News pages and groups repost the same item with small edits, so a new post
is often a near-copy of a labelled post by another user; the base models see its n-grams, not
"this story was labelled unreliable". The index keeps derived vectors of the training posts
(their rows of the fitted word TF-IDF view, stored in half precision) and their labels, never
the texts. In training, each post's features come from an index of the *other* folds only
(grouped by user), as the stacker's other inputs do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["DEFAULT_NEIGHBOURS", "NEIGHBOUR_NAMES", "NeighbourIndex"]

#: Nearest posts whose labels are averaged in the vote column.
DEFAULT_NEIGHBOURS = 5
#: Columns of :meth:`NeighbourIndex.features`.
NEIGHBOUR_NAMES = ("nearest_unreliable_cosine", "nearest_reliable_cosine", "neighbour_vote")
#: Weight of the base rate in the vote, so a post with no similar training post gets it.
_PRIOR_WEIGHT = 1e-3


@dataclass
class NeighbourIndex:
    """Training-post vectors (l2-normalised rows, float16 values) and their labels."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    columns: int
    labels: np.ndarray

    @classmethod
    def fit(cls, vectors: sparse.spmatrix, labels: np.ndarray) -> NeighbourIndex:
        matrix = sparse.csr_matrix(vectors)
        # vocabularies of a few tens of thousands fit 16-bit column indices: half the size
        index_type = np.uint16 if matrix.shape[1] <= np.iinfo(np.uint16).max + 1 else np.uint32
        return cls(
            matrix.indptr.astype(np.int32),
            matrix.indices.astype(index_type),
            matrix.data.astype(np.float16),
            int(matrix.shape[1]),
            np.asarray(labels, dtype=np.int8),
        )

    def matrix(self) -> sparse.csr_matrix:
        """The training vectors transposed (one row per column of the view), float32 CSR.

        Kept in this orientation so a batch's similarities are a CSR-by-CSR product: with
        the rows' orientation scipy would convert the whole index on every call.
        """
        found = self.__dict__.get("_matrix")
        if found is None:
            rows = sparse.csr_matrix(
                (
                    self.values.astype(np.float32),
                    self.indices.astype(np.int32),
                    self.indptr,
                ),
                shape=(len(self.labels), self.columns),
            )
            found = rows.T.tocsr()
            self.__dict__["_matrix"] = found
        return found

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_matrix", None)  # rebuilt from the compact arrays after loading
        return state

    def features(self, vectors: sparse.spmatrix, k: int = DEFAULT_NEIGHBOURS) -> np.ndarray:
        """Per post (rows of ``vectors``, same view): :data:`NEIGHBOUR_NAMES`.

        Cosine similarity to the nearest unreliable and to the nearest reliable training post,
        and the labels of the ``k`` nearest averaged with weights ``cosine ** 2`` (near-copies
        count, loosely similar posts hardly do).
        """
        labels = self.labels.astype(np.float64)
        out = np.zeros((vectors.shape[0], len(NEIGHBOUR_NAMES)))
        if not len(labels) or not vectors.shape[0]:
            return out
        similarity = (sparse.csr_matrix(vectors, dtype=np.float32) @ self.matrix()).toarray()
        for column, label in enumerate((1, 0)):
            members = self.labels == label
            if members.any():
                out[:, column] = similarity[:, members].max(axis=1)
        k = min(k, len(labels))
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = np.take_along_axis(similarity, nearest, axis=1).clip(min=0) ** 2
        votes = (weights * labels[nearest]).sum(axis=1) + _PRIOR_WEIGHT * labels.mean()
        out[:, 2] = votes / (weights.sum(axis=1) + _PRIOR_WEIGHT)
        return out
