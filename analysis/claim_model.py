"""The trained likely-false-post classifier: features, training recipe and cross-validation.

Pure computation (no file or network I/O): the edge (``crawler/training``, ``crawler/cli_models``)
reads the labelled data and saves the fitted :class:`ClaimClassifier` with joblib.

Recipe (chosen by user-grouped cross-validation on ReINTEL, see ``analysis/models/README.md``):

* text view: word (syllable 1-2 gram) and character (``char_wb`` 1-5 gram) TF-IDF of the
  lower-cased normalised text, URLs replaced by one ``<URL>`` token as in the training data;
* base models on it: a logistic regression and an NB-SVM-style logistic regression (features
  scaled by naive Bayes log-count ratios), both class-balanced;
* metadata view: log engagement counts (likes, comments, shares), posting hour (Vietnam time)
  and surface statistics of the text (length, capitals, "!", URLs, hashtags), learned by a
  histogram gradient boosting model that treats a missing count as missing (``NaN``);
* a logistic-regression stacker over the three base scores, fitted on inner out-of-fold
  predictions, gives the probability. A second stacker over the two text scores only serves
  posts without any engagement counts, so missing metadata is neutral instead of "zero likes".
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import operator
import re
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from analysis.text import fold_diacritics, letter_counts, normalize_text

__all__ = [
    "DEFAULT_CV_FOLDS",
    "DEFAULT_SEED",
    "ClaimClassifier",
    "ClaimExample",
    "CrossValidation",
    "binary_metrics",
    "cross_validate",
    "dedupe_examples",
    "grouped_folds",
    "holdout_split",
    "metadata_features",
    "run_training",
    "train_claim_classifier",
]

DEFAULT_SEED = 13
DEFAULT_CV_FOLDS = 5
DEFAULT_INNER_FOLDS = 5
DEFAULT_WORD_NGRAMS = (1, 2)
DEFAULT_CHAR_NGRAMS = (1, 5)
DEFAULT_CHAR_MAX_FEATURES = 200_000
DEFAULT_LR_C = 3.0
DEFAULT_NB_C = 4.0
#: Engagement keys read from a post's ``engagement`` dict (crawler items use these names).
ENGAGEMENT_KEYS = ("likes", "comments", "shares")
_VN_OFFSET = timedelta(hours=7)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ClaimExample:
    """One post as the classifier sees it; ``engagement`` keys are :data:`ENGAGEMENT_KEYS`."""

    text: str
    engagement: dict[str, int] | None = None
    timestamp: float | None = None
    group: str = ""


def model_text(text: str) -> str:
    """Text view for the TF-IDF models: normalised, lower-cased, URLs as ``<url>``."""
    return _URL.sub(" <URL> ", normalize_text(text)).lower()


def metadata_features(example: ClaimExample) -> list[float]:
    """Engagement, posting hour and surface statistics; unknown values are ``NaN``."""
    engagement = example.engagement or {}
    row: list[float] = []
    for key in ENGAGEMENT_KEYS:
        value = engagement.get(key)
        row.append(math.log1p(value) if value is not None and value >= 0 else math.nan)
    if example.timestamp is not None and example.timestamp > 0:
        local = datetime.fromtimestamp(example.timestamp, UTC) + _VN_OFFSET
        row.append(local.hour + local.minute / 60)
    else:
        row.append(math.nan)
    text = example.text
    letters, upper = letter_counts(text)
    row += [
        math.log1p(len(text)),
        upper / letters if letters else 0.0,
        100 * text.count("!") / (len(text) + 1),
        float(len(_URL.findall(text)) + text.count("<URL>")),
        float(text.count("#")),
    ]
    return row


def has_engagement(example: ClaimExample) -> bool:
    return any((example.engagement or {}).get(key) is not None for key in ENGAGEMENT_KEYS)


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


def _nb_ratio(matrix: sparse.csr_matrix, y: np.ndarray) -> np.ndarray:
    present = (matrix > 0).astype(np.float64)
    pos = 1.0 + np.asarray(present[y == 1].sum(axis=0)).ravel()
    neg = 1.0 + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.log((pos / pos.sum()) / (neg / neg.sum()))


@dataclass
class _BaseModels:
    """The three base models fitted on one training set."""

    lr: object
    nb_ratio: np.ndarray
    nb: object
    gbm: object

    @classmethod
    def fit(cls, x_text: sparse.csr_matrix, x_meta: np.ndarray, y: np.ndarray, seed: int):
        with threadpool_limits(1):  # OpenMP on a shared 2-core box thrashes; 1 thread is faster
            return cls._fit(x_text, x_meta, y, seed)

    @classmethod
    def _fit(cls, x_text: sparse.csr_matrix, x_meta: np.ndarray, y: np.ndarray, seed: int):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(
            C=DEFAULT_LR_C,
            class_weight="balanced",
            solver="liblinear",
            max_iter=2000,
            random_state=seed,
        ).fit(x_text, y)
        ratio = _nb_ratio(x_text, y)
        nb = LogisticRegression(
            C=DEFAULT_NB_C,
            class_weight="balanced",
            solver="liblinear",
            max_iter=2000,
            random_state=seed,
        ).fit(sparse.csr_matrix(x_text.multiply(ratio)), y)
        # scikit-learn cannot bin a column that is missing everywhere: make it constant
        x_meta = np.where(np.isnan(x_meta).all(axis=0), 0.0, x_meta)
        gbm = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
        ).fit(x_meta, y)
        return cls(lr, ratio, nb, gbm)

    def scores(self, x_text: sparse.csr_matrix, x_meta: np.ndarray) -> np.ndarray:
        with threadpool_limits(1):
            meta_p = np.clip(self.gbm.predict_proba(x_meta)[:, 1], 1e-4, 1 - 1e-4)
        return np.column_stack(
            [
                self.lr.decision_function(x_text),
                self.nb.decision_function(sparse.csr_matrix(x_text.multiply(self.nb_ratio))),
                np.log(meta_p / (1 - meta_p)),
            ]
        )


def _vectorizers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(
        ngram_range=DEFAULT_WORD_NGRAMS,
        sublinear_tf=True,
        min_df=2,
        max_df=0.9,
        token_pattern=r"(?u)\b\w+\b",
        lowercase=False,
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=DEFAULT_CHAR_NGRAMS,
        sublinear_tf=True,
        min_df=2,
        max_features=DEFAULT_CHAR_MAX_FEATURES,
        lowercase=False,
        dtype=np.float32,
    )
    return word, char


def grouped_folds(
    labels: Sequence[int], groups: Sequence[str], k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K folds that never split a group (a user) between train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, list(groups)))


#: Per-word character n-gram indices kept by a compiled text view; cleared when it grows past.
DEFAULT_NGRAM_CACHE_WORDS = 200_000


def _ngram_cuts(length: int, ngram_range: tuple[int, int]) -> tuple[slice, ...]:
    """The slices ``char_wb`` cuts from a padded word of ``length`` characters, in its order.

    Each n from low to high gives every n-character window; a word no longer than n is
    counted once, whole, and ends the list (as scikit-learn's ``_char_wb_ngrams``).
    """
    low, high = ngram_range
    cuts = [
        slice(start, start + n)
        for n in range(low, min(high, length - 1) + 1)
        for start in range(length - n + 1)
    ]
    if high >= length:
        cuts.append(slice(0, length))
    found = tuple(cuts)
    if length <= DEFAULT_NGRAM_CUT_LENGTHS:
        _NGRAM_CUTS[(length, ngram_range)] = found
    return found


#: Feature indices as a post's TF-IDF features are gathered: C ``int`` (``array`` code "i").
_INDEX = np.intc
_INDEX_CODE = "i"
#: Padded word lengths whose n-gram slices are kept (longer words are rare: URLs, rules).
DEFAULT_NGRAM_CUT_LENGTHS = 64
_NGRAM_CUTS: dict[tuple[int, tuple[int, int]], tuple[slice, ...]] = {}
_is_not_none = functools.partial(operator.is_not, None)


class _CompiledText:
    """Both TF-IDF views and both linear base models folded into per-feature weights.

    scikit-learn's ``transform`` + ``decision_function`` cost milliseconds per call in fixed
    overheads (validation, sparse matrix assembly) for a single post. Here a post's features
    are counted with dict look-ups (character n-grams are cached per word: a ``char_wb`` n-gram
    never crosses a word) and the two decision functions are one dot product over the features
    present. Same arithmetic as scikit-learn (float32 TF-IDF, float64 dot products), so scores
    agree to floating-point noise.
    """

    def __init__(self, word_vectorizer, char_vectorizer, base: _BaseModels) -> None:
        # plain ints (scikit-learn stores numpy scalars): index lists become arrays faster
        self.word_vocab: dict[str, int] = {
            k: int(v) for k, v in word_vectorizer.vocabulary_.items()
        }
        n_word = len(word_vectorizer.idf_)
        #: first row of the character view in :attr:`table`; its vocabulary points past it
        self.n_word = n_word
        self.char_vocab: dict[str, int] = {
            k: int(v) + n_word for k, v in char_vectorizer.vocabulary_.items()
        }
        self.char_range: tuple[int, int] = tuple(char_vectorizer.ngram_range)
        self.token_pattern = re.compile(word_vectorizer.token_pattern)
        # idf values are float32 (exact in float64), as the vectorizers compute with them
        idf = np.concatenate(
            [
                np.asarray(word_vectorizer.idf_, dtype=np.float32),
                np.asarray(char_vectorizer.idf_, dtype=np.float32),
            ]
        ).astype(np.float64)
        lr = np.asarray(base.lr.coef_, dtype=np.float64)[0]
        nb = np.asarray(base.nb.coef_, dtype=np.float64)[0] * base.nb_ratio
        # per feature (idf, LR weight, NB weight) side by side, word view then character
        # view: a post's features of both views are read with one gather over one array
        self.table = np.ascontiguousarray(np.column_stack([idf, lr, nb]))
        self.intercepts = np.array(
            [float(base.lr.intercept_[0]), float(base.nb.intercept_[0])], dtype=np.float64
        )
        if n_word + len(char_vectorizer.idf_) > np.iinfo(_INDEX).max:
            raise ValueError("too many TF-IDF features for 32-bit feature indices")
        self._char_cache: dict[str, bytes] = {}

    @staticmethod
    def supports(word_vectorizer, char_vectorizer, base: _BaseModels) -> bool:
        """Whether the fitted objects are the recipe this view reproduces exactly."""
        common = {
            "lowercase": False,
            "sublinear_tf": True,
            "use_idf": True,
            "norm": "l2",
            "binary": False,
            "preprocessor": None,
            "strip_accents": None,
            "stop_words": None,
            "tokenizer": None,
            "input": "content",
        }
        try:
            word, char = word_vectorizer.get_params(), char_vectorizer.get_params()
            fitted = (
                len(base.lr.classes_) == 2
                and len(base.nb.classes_) == 2
                and base.lr.coef_.shape[1] == len(word_vectorizer.idf_) + len(char_vectorizer.idf_)
            )
        except AttributeError:
            return False
        return (
            fitted
            and all(word.get(k) == v and char.get(k) == v for k, v in common.items())
            and word.get("analyzer") == "word"
            and tuple(word.get("ngram_range")) == (1, 2)
            and char.get("analyzer") == "char_wb"
        )

    def _word_indices(self, text: str) -> list[int]:
        tokens = self.token_pattern.findall(text)
        grams = tokens + list(map(" ".join, itertools.pairwise(tokens)))
        return list(filter(_is_not_none, map(self.word_vocab.get, grams)))

    def _char_word(self, word: str) -> bytes:
        """Vocabulary indices of the ``char_wb`` n-grams of one word (as scikit-learn cuts them).

        As the bytes of :data:`_INDEX` values: a post's words are then gathered with one
        ``bytes.join`` (concatenating ~150 small arrays costs ~0.3 us each).
        """
        found = self._char_cache.get(word)
        if found is not None:
            return found
        padded = f" {word} "
        cuts = _NGRAM_CUTS.get((len(padded), self.char_range))
        if cuts is None:
            cuts = _ngram_cuts(len(padded), self.char_range)
        grams = map(padded.__getitem__, cuts)
        indices = list(filter(_is_not_none, map(self.char_vocab.get, grams)))
        found = array(_INDEX_CODE, indices).tobytes()
        if len(self._char_cache) >= DEFAULT_NGRAM_CACHE_WORDS:
            self._char_cache.clear()
        self._char_cache[word] = found
        return found

    def _decisions(self, indices: np.ndarray) -> np.ndarray:
        """Both decision functions over both views, from the (unsorted) feature ``indices``.

        ``indices`` hold the word view's features (below :attr:`n_word`) and the character
        view's; each view is l2-normalised on its own, as its vectorizer does, but the numpy
        steps run once over both (a post has two views, each step costs microseconds of
        overhead). Rows of :attr:`table` are (idf, LR weight, NB weight); idf is float32.
        """
        size = len(indices)
        # intercepts, plus the word view's part, plus the character view's: in that order
        result = self.intercepts.copy()
        if not size:
            return result
        # np.unique(indices, return_counts=True) without its wrappers; 32-bit indices sort in
        # half the time of 64-bit ones
        indices = np.sort(indices)
        first = np.empty(size, dtype=bool)
        first[0] = True
        np.not_equal(indices[1:], indices[:-1], out=first[1:])
        starts = first.nonzero()[0]
        present = indices[starts]
        rows = self.table[present]
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        ends[-1] = size
        counts = ends - starts
        values = (np.log(counts.astype(np.float32)) + np.float32(1)) * rows[:, 0].astype(np.float32)
        squares = values * values
        weights = np.ascontiguousarray(rows[:, 1:])
        # the word view's features sort before the character view's
        split = int(present.searchsorted(self.n_word))
        for view in (slice(0, split), slice(split, len(present))):
            if view.start == view.stop:
                continue
            # as scikit-learn's l2 normalisation: float32 squares summed in float64
            norm = math.sqrt(float(np.sum(squares[view], dtype=np.float64)))
            if norm == 0:
                continue
            unit = (values[view].astype(np.float64) / norm).astype(np.float32)
            result += unit.astype(np.float64) @ weights[view]
        return result

    def scores(self, text: str) -> np.ndarray:
        """Decision functions of the LR and NB-SVM base models for one model text."""
        cache, compute = self._char_cache, self._char_word
        pieces = [cache[w] if w in cache else compute(w) for w in text.split()]
        pieces.append(array(_INDEX_CODE, self._word_indices(text)).tobytes())
        return self._decisions(np.frombuffer(b"".join(pieces), dtype=_INDEX))


class _CompiledTrees:
    """The gradient-boosting model's trees as flat arrays, walked for all trees at once.

    Equivalent to scikit-learn's raw-data prediction (numeric features, ``NaN`` goes where the
    split learnt to send missing values) without its per-call validation and thread setup.
    """

    def __init__(self, gbm) -> None:
        offsets, nodes = [], []
        total = 0
        for (predictor,) in gbm._predictors:
            offsets.append(total)
            nodes.append(predictor.nodes)
            total += len(predictor.nodes)
        flat = np.concatenate(nodes)
        shift = np.repeat(np.array(offsets, dtype=np.int64), [len(n) for n in nodes])
        index = np.arange(total, dtype=np.int64)
        leaf = flat["is_leaf"].astype(bool)
        self.roots = np.array(offsets, dtype=np.int64)
        # a leaf points to itself, so walking every tree to the deepest leaf's depth is safe
        self.feature = np.where(leaf, 0, flat["feature_idx"]).astype(np.int64)
        self.threshold = flat["num_threshold"].astype(np.float64)
        self.missing_left = flat["missing_go_to_left"].astype(bool)
        self.left = np.where(leaf, index, flat["left"].astype(np.int64) + shift)
        self.right = np.where(leaf, index, flat["right"].astype(np.int64) + shift)
        self.value = flat["value"].astype(np.float64)
        self.depth = int(flat["depth"].max()) if total else 0
        self.baseline = float(np.asarray(gbm._baseline_prediction).ravel()[0])

    @staticmethod
    def supports(gbm) -> bool:
        try:
            return (
                gbm.n_trees_per_iteration_ == 1
                and gbm.is_categorical_ is None
                and getattr(gbm, "_preprocessor", None) is None
                and all(len(p) == 1 for p in gbm._predictors)
                and len(gbm.classes_) == 2
            )
        except AttributeError:
            return False

    def proba(self, x: np.ndarray) -> np.ndarray:
        """P(class 1) for each row of ``x`` (rows of :func:`metadata_features`)."""
        from scipy.special import expit

        return expit(np.array([self._raw(row) for row in np.asarray(x, dtype=np.float64)]))

    def _raw(self, row: np.ndarray) -> float:
        # every node's split decided at once (a leaf's children are itself), then the walk is
        # one look-up per level instead of a dozen array operations per level
        values = row[self.feature]
        left = values <= self.threshold
        if np.isnan(row).any():  # NaN compares False: send it where the split learnt to
            left |= np.isnan(values) & self.missing_left
        child = np.where(left, self.left, self.right)
        node = self.roots
        for _ in range(self.depth):
            node = child[node]
        return self.baseline + float(self.value[node].sum())


def _stack(stacker, scores: np.ndarray) -> np.ndarray:
    """``stacker.predict_proba(scores)[:, 1]`` of a binary logistic regression, without overhead."""
    from scipy.special import expit

    coef = np.asarray(stacker.coef_, dtype=np.float64)[0]
    return expit(scores @ coef + float(stacker.intercept_[0]))


@dataclass
class ClaimClassifier:
    """Fitted likely-false-post classifier; :meth:`predict_proba` gives P(unreliable)."""

    word_vectorizer: object
    char_vectorizer: object
    base: _BaseModels
    stacker_full: object
    stacker_text: object
    metadata: dict = field(default_factory=dict)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_compiled", None)  # rebuilt on first use, never saved
        return state

    def _compiled_models(self) -> tuple[_CompiledText, _CompiledTrees] | None:
        """The fast view of the fitted models, built once; ``None`` if the recipe differs."""
        compiled = self.__dict__.get("_compiled", False)
        if compiled is False:
            supported = _CompiledText.supports(
                self.word_vectorizer, self.char_vectorizer, self.base
            ) and _CompiledTrees.supports(self.base.gbm)
            compiled = (
                (
                    _CompiledText(self.word_vectorizer, self.char_vectorizer, self.base),
                    _CompiledTrees(self.base.gbm),
                )
                if supported
                else None
            )
            self.__dict__["_compiled"] = compiled
        return compiled

    def _features(self, examples: Sequence[ClaimExample]):
        texts = [model_text(example.text) for example in examples]
        x_text = sparse.hstack(
            [self.word_vectorizer.transform(texts), self.char_vectorizer.transform(texts)]
        ).tocsr()
        x_meta = np.array([metadata_features(example) for example in examples], dtype=float)
        return x_text, x_meta

    def predict_proba(
        self, examples: Sequence[ClaimExample], *, normalized: bool = False
    ) -> np.ndarray:
        """Probability that each post is unreliable (label 1).

        ``normalized`` says the texts already went through :func:`analysis.text.normalize_text`
        (as in :func:`analysis.claims.score_claim`), so it is not run again.
        """
        if not examples:
            return np.zeros(0)
        compiled = self._compiled_models()
        if compiled is None:
            return self._predict_proba_sklearn(examples)
        text_view, trees = compiled
        scores = np.zeros((len(examples), 3))
        for row, example in enumerate(examples):
            text = example.text if normalized else normalize_text(example.text)
            scores[row, :2] = text_view.scores(_URL.sub(" <URL> ", text).lower())
        with_meta = np.array([has_engagement(example) for example in examples])
        result = _stack(self.stacker_text, scores[:, :2])
        if with_meta.any():
            x_meta = np.array(
                [metadata_features(e) for e, m in zip(examples, with_meta, strict=True) if m],
                dtype=float,
            )
            meta_p = np.clip(trees.proba(x_meta), 1e-4, 1 - 1e-4)
            scores[with_meta, 2] = np.log(meta_p / (1 - meta_p))
            result[with_meta] = _stack(self.stacker_full, scores[with_meta])
        return result

    def _predict_proba_sklearn(self, examples: Sequence[ClaimExample]) -> np.ndarray:
        """The reference path through scikit-learn (any recipe the fast view does not cover)."""
        x_text, x_meta = self._features(examples)
        scores = self.base.scores(x_text, x_meta)
        full = self.stacker_full.predict_proba(scores)[:, 1]
        text_only = self.stacker_text.predict_proba(scores[:, :2])[:, 1]
        with_meta = np.array([has_engagement(example) for example in examples])
        return np.where(with_meta, full, text_only)

    def predict_one(self, example: ClaimExample, *, normalized: bool = False) -> float:
        return float(self.predict_proba([example], normalized=normalized)[0])


def train_claim_classifier(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    inner_folds: int = DEFAULT_INNER_FOLDS,
) -> ClaimClassifier:
    """Fit the whole recipe; the stackers learn from inner user-grouped out-of-fold scores."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs both reliable (0) and unreliable (1) examples")
    word, char = _vectorizers()
    texts = [model_text(example.text) for example in examples]
    x_text = sparse.hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    x_meta = np.array([metadata_features(example) for example in examples], dtype=float)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    k = max(2, min(inner_folds, int(min(np.bincount(y))), len(set(groups))))
    inner = np.zeros((len(y), 3))
    for train_idx, test_idx in grouped_folds(y, groups, k, seed):
        fold_models = _BaseModels.fit(x_text[train_idx], x_meta[train_idx], y[train_idx], seed)
        inner[test_idx] = fold_models.scores(x_text[test_idx], x_meta[test_idx])
    base = _BaseModels.fit(x_text, x_meta, y, seed)
    stacker_full = LogisticRegression(C=1.0).fit(inner, y)
    stacker_text = LogisticRegression(C=1.0).fit(inner[:, :2], y)
    return ClaimClassifier(word, char, base, stacker_full, stacker_text)


@dataclass
class CrossValidation:
    """Out-of-fold probabilities and per-fold ROC-AUC of the recipe."""

    probabilities: np.ndarray
    labels: np.ndarray
    fold_auc: list[float]
    fold_auc_text_only: list[float]

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.fold_auc))

    @property
    def std_auc(self) -> float:
        return float(np.std(self.fold_auc))

    @property
    def pooled_auc(self) -> float:
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(self.labels, self.probabilities))


def cross_validate(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    k: int = DEFAULT_CV_FOLDS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> CrossValidation:
    """K-fold cross-validation grouped by ``example.group`` (the user)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=int)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    oof = np.zeros(len(y))
    fold_auc: list[float] = []
    fold_auc_text: list[float] = []
    for fold, (train_idx, test_idx) in enumerate(grouped_folds(y, groups, k, seed), start=1):
        model = train_claim_classifier([examples[i] for i in train_idx], y[train_idx], seed=seed)
        test = [examples[i] for i in test_idx]
        oof[test_idx] = model.predict_proba(test)
        text_only = _text_only_proba(model, test)
        if len(set(y[test_idx].tolist())) == 2:
            fold_auc.append(float(roc_auc_score(y[test_idx], oof[test_idx])))
            fold_auc_text.append(float(roc_auc_score(y[test_idx], text_only)))
        if progress:
            last = f"{fold_auc[-1]:.4f}" if fold_auc else "n/a"
            progress(f"fold {fold}/{k}: {len(test_idx)} posts, ROC-AUC {last}")
    return CrossValidation(oof, y, fold_auc, fold_auc_text)


def _text_only_proba(model: ClaimClassifier, examples: Sequence[ClaimExample]) -> np.ndarray:
    """What the model says when the engagement counts are hidden (the no-metadata path)."""
    stripped = [ClaimExample(e.text, None, e.timestamp, e.group) for e in examples]
    return model.predict_proba(stripped)


def holdout_split(
    labels: Sequence[int], groups: Sequence[str], *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split off about ``fraction`` of the users (stratified) as never-seen test data."""
    k = max(2, round(1 / fraction))
    train_idx, test_idx = grouped_folds(labels, groups, k, seed + 1)[0]
    return train_idx, test_idx


def binary_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict:
    """ROC-AUC, precision, recall, F1 and the confusion matrix at ``threshold``."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    predicted = (s >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, average="binary", zero_division=0
    )
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "threshold": threshold,
        "roc_auc": float(roc_auc_score(y, s)) if len(set(y.tolist())) == 2 else None,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


DEFAULT_HOLDOUT_FRACTION = 0.15


@dataclass
class TrainingRun:
    """The fitted model plus the figures that justify it (written to the metrics sidecar)."""

    model: ClaimClassifier
    metrics: dict


def run_training(
    examples: Sequence[ClaimExample],
    labels: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    folds: int = DEFAULT_CV_FOLDS,
    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION,
    progress: Callable[[str], None] | None = None,
) -> TrainingRun:
    """Dedupe, check on never-seen users, cross-validate, then fit on everything.

    1. Repeated texts are dropped (first copy kept) so no copy sits on both sides of a split.
    2. About ``holdout_fraction`` of the users are set aside; the recipe (fixed in advance,
       never tuned on them) is cross-validated on the rest and then fitted on the rest and
       scored on the held-out users: the "data it has never seen" figure.
    3. ``folds``-fold user-grouped cross-validation on all users gives the headline figure.
    4. The shipped model is fitted on all users.
    """
    say = progress or (lambda _message: None)
    examples, labels, dropped = dedupe_examples(examples, labels)
    y = np.asarray(labels, dtype=int)
    groups = [example.group or str(index) for index, example in enumerate(examples)]
    say(f"{len(examples)} posts after dropping {dropped} repeated texts; {int(y.sum())} unreliable")

    dev_idx, held_idx = holdout_split(y, groups, fraction=holdout_fraction, seed=seed)
    dev = [examples[i] for i in dev_idx]
    held = [examples[i] for i in held_idx]
    say(f"held-out users: {len({groups[i] for i in held_idx})} ({len(held_idx)} posts)")
    dev_cv = cross_validate(dev, y[dev_idx], k=folds, seed=seed, progress=say)
    dev_model = train_claim_classifier(dev, y[dev_idx], seed=seed)
    held_scores = dev_model.predict_proba(held)
    held_metrics = binary_metrics(y[held_idx], held_scores, 0.5)
    held_metrics["roc_auc_text_only"] = binary_metrics(
        y[held_idx], _text_only_proba(dev_model, held), 0.5
    )["roc_auc"]
    say(f"held-out users ROC-AUC {held_metrics['roc_auc']:.4f}")

    say(f"{folds}-fold user-grouped cross-validation on all posts")
    full_cv = cross_validate(examples, y, k=folds, seed=seed, progress=say)
    say(f"CV ROC-AUC {full_cv.mean_auc:.4f} ± {full_cv.std_auc:.4f}; fitting the final model")
    model = train_claim_classifier(examples, y, seed=seed)
    metrics = {
        "posts": len(examples),
        "unreliable": int(y.sum()),
        "duplicates_dropped": dropped,
        "seed": seed,
        "cv": _cv_summary(full_cv, folds),
        "cv_at_0.5": binary_metrics(full_cv.labels, full_cv.probabilities, 0.5),
        "holdout": {
            "fraction_of_users": holdout_fraction,
            "users": len({groups[i] for i in held_idx}),
            "dev_cv": _cv_summary(dev_cv, folds),
            "test": held_metrics,
        },
    }
    model.metadata = dict(metrics)
    return TrainingRun(model, metrics)


def _cv_summary(cv: CrossValidation, folds: int) -> dict:
    return {
        "folds": folds,
        "grouped_by": "user",
        "roc_auc_mean": round(cv.mean_auc, 4),
        "roc_auc_std": round(cv.std_auc, 4),
        "roc_auc_pooled": round(cv.pooled_auc, 4),
        "roc_auc_folds": [round(value, 4) for value in cv.fold_auc],
        "roc_auc_text_only_mean": round(float(np.mean(cv.fold_auc_text_only)), 4),
    }
