"""The trained likely-false-post classifier: recipe, calibrated probability, cross-validation.

Pure computation (no file or network I/O): the edge (``crawler/training``, ``crawler/cli/models.py``)
reads the labelled data and saves the fitted :class:`ClaimClassifier` with joblib. Everything
goes through scikit-learn's public API (``transform``, ``decision_function``,
``predict_proba``), so a library upgrade cannot silently change what a saved model computes.

Recipe (chosen by user-grouped cross-validation on the ReINTEL users outside the held-out
ones; figures in ``analysis/models/README.md``):

* text views (:mod:`analysis.claim_features`): segmented words (1-2 grams, binary TF-IDF) and
  ``char_wb`` 2-5 grams of the folded text (no diacritics);
* base models: a logistic regression on the words, an NB-SVM-style logistic regression
  (features scaled by naive Bayes log-count ratios) on words + folded characters, and a
  histogram gradient boosting model on the metadata (engagement, posting time, surface
  statistics), which treats an unknown value as missing;
* a stacker fitted on inner user-grouped out-of-fold scores: the mean of a logistic
  regression over the three scores and a gradient boosting model over the two text scores
  plus the metadata; posts without engagement counts go through a second stacker (logistic
  regression) over the two text scores, so missing metadata is neutral instead of "zero
  likes";
* Platt scaling of each stacker, fitted on its own user-grouped out-of-fold outputs, so the
  probability is calibrated (about p of the posts scored p are unreliable, at ReINTEL's
  base rate).
"""

from __future__ import annotations

import functools
import hashlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from threadpoolctl import ThreadpoolController

from analysis.calibration import PlattScaling
from analysis.claim_features import (
    ClaimExample,
    folded_view,
    has_engagement,
    metadata_rows,
    with_tokens,
    word_view,
)
from analysis.claim_views import CharView
from analysis.text import fold_diacritics

__all__ = [
    "DEFAULT_CV_FOLDS",
    "DEFAULT_SEED",
    "PROBE_TEXTS",
    "ClaimClassifier",
    "ClaimExample",
    "dedupe_examples",
    "grouped_folds",
    "text_only_proba",
    "train_claim_classifier",
]

DEFAULT_SEED = 13
DEFAULT_CV_FOLDS = 5
DEFAULT_INNER_FOLDS = 5
DEFAULT_WORD_NGRAMS = (1, 2)
DEFAULT_CHAR_NGRAMS = (2, 5)
DEFAULT_CHAR_MAX_FEATURES = 200_000
#: Inverse regularisation of the word model and of the NB-SVM (chosen by grouped CV).
DEFAULT_WORD_C = 10.0
DEFAULT_NB_C = 3.0
#: Small, strongly regularised trees: a dozen metadata columns, a few thousand posts. 100
#: trees score as 300 at a lower rate did in grouped CV, and cost a third per post.
DEFAULT_GBM_PARAMS = {
    "max_iter": 100,
    "learning_rate": 0.08,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 30,
    "l2_regularization": 1.0,
}
_CLIP = 1e-4


@functools.cache
def _controller() -> ThreadpoolController:
    # inspecting the loaded libraries costs milliseconds: once per process, not per batch
    return ThreadpoolController()


def _one_thread():
    """One OpenMP/BLAS thread: on a shared 2-core box more threads spin and thrash."""
    return _controller().limit(limits=1)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def _text_key(text: str) -> str:
    """Duplicate key: folded text with punctuation and spacing removed."""
    folded = re.sub(r"\W+", " ", fold_diacritics(text)).strip()
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()


def dedupe_examples(
    examples: Sequence[ClaimExample], labels: Sequence[int]
) -> tuple[list[ClaimExample], list[int], int]:
    """Keep the first of texts that repeat (after folding), so no copy leaks across folds.

    Returns the kept examples, their labels and how many were dropped.
    """
    seen: set[str] = set()
    kept: list[ClaimExample] = []
    kept_labels: list[int] = []
    for example, label in zip(examples, labels, strict=True):
        key = _text_key(example.text)
        if key in seen:
            continue
        seen.add(key)
        kept.append(example)
        kept_labels.append(int(label))
    return kept, kept_labels, len(examples) - len(kept)


def _vectorizers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(
        ngram_range=DEFAULT_WORD_NGRAMS,
        binary=True,
        sublinear_tf=True,
        min_df=2,
        max_df=0.9,
        token_pattern=r"\S+",  # the view is already segmented: "khẩu_trang", "f0", "<url>"
        lowercase=False,
        dtype=np.float32,
    )
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=DEFAULT_CHAR_NGRAMS,
        sublinear_tf=True,
        min_df=2,
        max_features=DEFAULT_CHAR_MAX_FEATURES,
        lowercase=False,
        dtype=np.float32,
    )
    return words, chars


@dataclass
class _Views:
    """The two fitted TF-IDF views."""

    words: object
    chars: object

    @classmethod
    def fit(cls, examples: Sequence[ClaimExample]) -> _Views:
        words, chars = _vectorizers()
        words.fit([word_view(e) for e in examples])
        chars.fit([folded_view(e) for e in examples])
        return cls(words, chars)

    def transform(
        self,
        examples: Sequence[ClaimExample],
        *,
        normalized: bool = False,
        chars: CharView | None = None,
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Both views; ``chars`` computes the character view from cached per-word n-grams."""
        x_words = self.words.transform([word_view(e, normalized=normalized) for e in examples])
        folded = [folded_view(e, normalized=normalized) for e in examples]
        x_chars = chars.transform(folded) if chars is not None else self.chars.transform(folded)
        return x_words.tocsr(), sparse.hstack([x_words, x_chars]).tocsr()


def _nb_ratio(matrix: sparse.csr_matrix, y: np.ndarray) -> np.ndarray:
    present = (matrix > 0).astype(np.float64)
    pos = 1.0 + np.asarray(present[y == 1].sum(axis=0)).ravel()
    neg = 1.0 + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.log((pos / pos.sum()) / (neg / neg.sum()))


@dataclass
class _BaseModels:
    """The three base models fitted on one training set."""

    words: object
    nb_ratio: np.ndarray
    nb: object
    gbm: object

    @classmethod
    def fit(cls, x_words, x_both, x_meta: np.ndarray, y: np.ndarray, seed: int) -> _BaseModels:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        def linear(c: float):
            return LogisticRegression(
                C=c, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=seed
            )

        # OpenMP on a shared 2-core box thrashes; one thread is faster
        with _one_thread():
            words = linear(DEFAULT_WORD_C).fit(x_words, y)
            ratio = _nb_ratio(x_both, y)
            nb = linear(DEFAULT_NB_C).fit(sparse.csr_matrix(x_both.multiply(ratio)), y)
            gbm = HistGradientBoostingClassifier(**DEFAULT_GBM_PARAMS, random_state=seed)
            gbm.fit(_binnable(x_meta), y)
        return cls(words, ratio, nb, gbm)

    def text_scores(self, x_words, x_both) -> np.ndarray:
        return np.column_stack(
            [
                self.words.decision_function(x_words),
                self.nb.decision_function(sparse.csr_matrix(x_both.multiply(self.nb_ratio))),
            ]
        )

    def meta_scores(self, x_meta: np.ndarray) -> np.ndarray:
        with _one_thread():
            return _logit(self.gbm.predict_proba(x_meta)[:, 1])


def grouped_folds(
    labels: Sequence[int], groups: Sequence[str], k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K folds that never split a group (a user) between train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, list(groups)))


@dataclass
class _Stacker:
    """Second level over the base scores, then Platt scaling fitted out of fold.

    A logistic regression over the scores; with metadata, also gradient boosting over the two
    text scores and the metadata columns (it learns interactions the linear stacker cannot,
    e.g. a share count that means more for some wordings), the two probabilities averaged.
    """

    linear: object
    trees: object | None
    platt: PlattScaling

    @staticmethod
    def fit_parts(scores: np.ndarray, meta: np.ndarray | None, y: np.ndarray, seed: int):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        linear = LogisticRegression(C=1.0, max_iter=1000).fit(scores, y)
        if meta is None:
            return linear, None
        with _one_thread():
            trees = HistGradientBoostingClassifier(**DEFAULT_GBM_PARAMS, random_state=seed)
            trees.fit(np.column_stack([scores[:, :2], _binnable(meta)]), y)
        return linear, trees

    @staticmethod
    def blend(linear, trees, scores: np.ndarray, meta: np.ndarray | None) -> np.ndarray:
        p = linear.predict_proba(scores)[:, 1]
        if trees is None or meta is None:
            return p
        with _one_thread():
            q = trees.predict_proba(np.column_stack([scores[:, :2], meta]))[:, 1]
        return (p + q) / 2

    @classmethod
    def fit(
        cls,
        scores: np.ndarray,
        meta: np.ndarray | None,
        y: np.ndarray,
        groups: Sequence[str],
        k: int,
        seed: int,
    ) -> _Stacker:
        # the stacker's own out-of-fold outputs (grouped by user) are what Platt scaling
        # learns from, so it corrects the optimism of scoring the rows it was fitted on
        outputs = np.zeros(len(y))
        for train_idx, test_idx in grouped_folds(y, groups, k, seed + 2):
            part_meta = None if meta is None else meta[train_idx]
            linear, trees = cls.fit_parts(scores[train_idx], part_meta, y[train_idx], seed)
            test_meta = None if meta is None else meta[test_idx]
            outputs[test_idx] = cls.blend(linear, trees, scores[test_idx], test_meta)
        linear, trees = cls.fit_parts(scores, meta, y, seed)
        return cls(linear, trees, PlattScaling.fit(outputs, y))

    def proba(self, scores: np.ndarray, meta: np.ndarray | None = None) -> np.ndarray:
        return self.platt(self.blend(self.linear, self.trees, scores, meta))


def _binnable(x_meta: np.ndarray) -> np.ndarray:
    """scikit-learn cannot bin a column missing everywhere: make such a column constant."""
    return np.where(np.isnan(x_meta).all(axis=0), 0.0, x_meta)


@dataclass
class ClaimClassifier:
    """Fitted likely-false-post classifier; :meth:`predict_proba` gives P(unreliable)."""

    views: _Views
    base: _BaseModels
    stacker_full: _Stacker
    stacker_text: _Stacker
    #: last posting time seen in training (later dates are unknown to the metadata model)
    latest: float | None = None
    metadata: dict = field(default_factory=dict)

    def predict_proba(
        self, examples: Sequence[ClaimExample], *, normalized: bool = False
    ) -> np.ndarray:
        """Calibrated probability that each post is unreliable (label 1).

        ``normalized`` says the texts already went through :func:`analysis.text.normalize_text`
        (as in :func:`analysis.claims.score_claims`), so it is not run again. Scoring a batch
        costs far less per post than one post at a time (scikit-learn's per-call overhead).
        """
        if not examples:
            return np.zeros(0)
        return self.proba_with(examples, normalized, self.checked_char_view(examples, normalized))

    def checked_char_view(
        self, examples: Sequence[ClaimExample], normalized: bool
    ) -> CharView | None:
        """The cached character view, once it gave the library's own probabilities.

        Checked on :data:`PROBE_TEXTS` (by ``crawler.resources.claims`` when it loads the
        model), plus the first batch if it is scored before, against
        ``TfidfVectorizer.transform``; a library version computing otherwise gets the
        library's path, with a warning.
        """
        checked = self.__dict__.get("_chars", False)
        if checked is not False:
            return checked
        chars = CharView(self.views.chars) if CharView.supports(self.views.chars) else None
        if chars is not None:
            probes = [*examples[:32], *(ClaimExample(text) for text in PROBE_TEXTS)]
            fast = self.proba_with(probes, normalized, chars)
            reference = self.proba_with(probes, normalized, None)
            if not np.allclose(fast, reference, rtol=0, atol=1e-6):
                warnings.warn(
                    "claim classifier: the cached character view differs from scikit-learn's "
                    f"transform (max {np.abs(fast - reference).max():.2g}); using the library's",
                    RuntimeWarning,
                    stacklevel=3,
                )
                chars = None
        self.__dict__["_chars"] = chars
        return chars

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_chars", None)  # checked again after loading, never saved
        return state

    def proba_with(
        self, examples: Sequence[ClaimExample], normalized: bool, chars: CharView | None
    ) -> np.ndarray:
        x_words, x_both = self.views.transform(examples, normalized=normalized, chars=chars)
        text = self.base.text_scores(x_words, x_both)
        result = self.stacker_text.proba(text)
        with_meta = np.array([has_engagement(example) for example in examples])
        if with_meta.any():
            chosen = [e for e, m in zip(examples, with_meta, strict=True) if m]
            x_meta = np.array(metadata_rows(chosen, latest=self.latest), dtype=float)
            full = np.column_stack([text[with_meta], self.base.meta_scores(x_meta)])
            result[with_meta] = self.stacker_full.proba(full, x_meta)
        return result

    def predict_one(self, example: ClaimExample, *, normalized: bool = False) -> float:
        return float(self.predict_proba([example], normalized=normalized)[0])


#: Texts the cached character view is checked on (with the first batch): accents, none,
#: capitals, URLs, numbers, emoji, other scripts, repeated and empty words.
PROBE_TEXTS = (
    "KHẨN CẤP!!! Chia sẻ ngay: uống nước muối ấm chữa khỏi virus corona 100%",
    "Sáng nay, Bộ Y tế ghi nhận 12 ca mắc mới, đều là người nhập cảnh đã được cách ly.",
    "uong nuoc chanh nong diet virus, share gap cho moi nguoi!!! https://vd.vn/a?b=1 #covid",
    "Thuỷ điện Hoà Bình xả lũ   nhiều\tkhoảng trắng\n\nvà dòng mới 😱🙏 新型冠状病毒",
    "a",
    "",
)


def train_claim_classifier(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    inner_folds: int = DEFAULT_INNER_FOLDS,
) -> ClaimClassifier:
    """Fit the whole recipe; the stackers learn from inner user-grouped out-of-fold scores."""
    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs both reliable (0) and unreliable (1) examples")
    examples = with_tokens(examples)
    times = [e.timestamp for e in examples if e.timestamp is not None and e.timestamp > 0]
    latest = max(times) if times else None
    views = _Views.fit(examples)
    x_words, x_both = views.transform(examples)
    x_meta = np.array(metadata_rows(examples, latest=latest), dtype=float)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    k = max(2, min(inner_folds, int(min(np.bincount(y))), len(set(groups))))
    inner = np.zeros((len(y), 3))
    for train_idx, test_idx in grouped_folds(y, groups, k, seed):
        fold = _BaseModels.fit(
            x_words[train_idx], x_both[train_idx], x_meta[train_idx], y[train_idx], seed
        )
        inner[test_idx, :2] = fold.text_scores(x_words[test_idx], x_both[test_idx])
        inner[test_idx, 2] = fold.meta_scores(x_meta[test_idx])
    base = _BaseModels.fit(x_words, x_both, x_meta, y, seed)
    # the full stacker serves posts with engagement counts, so it learns from those (all
    # posts when too few have counts to learn from)
    rows = np.array([has_engagement(e) for e in examples])
    if rows.sum() < 2 * k or len(set(y[rows].tolist())) < 2:
        rows = np.ones(len(y), dtype=bool)
    full_groups = [g for g, keep in zip(groups, rows, strict=True) if keep]
    stacker_full = _Stacker.fit(inner[rows], x_meta[rows], y[rows], full_groups, k, seed)
    stacker_text = _Stacker.fit(inner[:, :2], None, y, groups, k, seed)
    return ClaimClassifier(views, base, stacker_full, stacker_text, latest)


def text_only_proba(model: ClaimClassifier, examples: Sequence[ClaimExample]) -> np.ndarray:
    """What the model says when the engagement counts are hidden (the no-metadata path)."""
    stripped = [ClaimExample(e.text, None, e.timestamp, e.group, e.tokens) for e in examples]
    return model.predict_proba(stripped)
