"""Covid-19 labelled set: read the shared corpora and join them with the repo's label file.

The repository keeps only ``dataset,doc_id,label,how`` rows (``analysis/data/covid_labels.csv``);
texts are read from the shared data directory at run time, never copied into the repo.
Training and scoring stay pure in :mod:`analysis.covid`; this module is the file edge.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_LABELS_PATH",
    "LabelRow",
    "LabelledDoc",
    "covid_name_rule",
    "iter_dantri",
    "iter_reintel",
    "iter_vicov19qa",
    "load_covid_dataset",
    "read_labels",
]

DEFAULT_LABELS_PATH = Path(__file__).resolve().parents[2] / "analysis" / "data" / "covid_labels.csv"

DANTRI_DIR = Path("news") / "dantri_2020_2021"
REINTEL_FILE = Path("reintel") / "train.csv"
VICOV19QA_DIR = Path("covid") / "uit_vicov19qa" / "dataset" / "1_ans"


@dataclass(frozen=True)
class LabelRow:
    dataset: str
    doc_id: str
    label: int
    how: str


@dataclass(frozen=True)
class LabelledDoc:
    """One labelled document: title may be empty (social posts, FAQ questions).

    ``group`` decides the held-out split: the ReINTEL user (and every repeat of a text goes
    with its first copy's user), else the document itself.
    """

    dataset: str
    doc_id: str
    title: str
    text: str
    label: int
    group: str = ""
    how: str = ""


def read_labels(path: Path = DEFAULT_LABELS_PATH) -> list[LabelRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            LabelRow(row["dataset"], row["doc_id"], int(row["label"]), row["how"])
            for row in csv.DictReader(handle)
        ]


def iter_dantri(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(doc_id, title, body) per article; the first text line is the headline."""
    for path in sorted((data_dir / DANTRI_DIR).glob("news_*.txt")):
        lines = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("# ")
        ]
        if lines:
            yield path.stem, lines[0], "\n".join(lines[1:])


def iter_reintel(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(id, user, post text) for every row of ReINTEL's train.csv with a text.

    Malformed rows (an unquoted message spilled into the count columns) are repaired as the
    claim classifier's reader does (:func:`crawler.training.claims_data.read_reintel_csv`).
    """
    from crawler.training.claims_data import read_reintel_csv

    csv.field_size_limit(sys.maxsize)
    posts, _report = read_reintel_csv(data_dir / REINTEL_FILE)
    for post in posts:
        yield post.id, post.user, post.text


def iter_vicov19qa(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(split:id, question, answer) from the pipe-separated UIT-ViCoV19QA files."""
    csv.field_size_limit(sys.maxsize)
    for split in ("train", "val", "test"):
        path = data_dir / VICOV19QA_DIR / f"UIT-ViCoV19QA_{split}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="|"):
                if row.get("id") and row.get("Question"):
                    yield f"{split}:{row['id']}", row["Question"], row.get("Answer_1") or ""


def _text_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def load_covid_dataset(
    data_dir: Path, labels_path: Path = DEFAULT_LABELS_PATH
) -> list[LabelledDoc]:
    """Join the label file with the shared texts; labelled ids missing from the data are an error."""
    labels = read_labels(labels_path)
    wanted = {(row.dataset, row.doc_id): row for row in labels}
    texts: dict[tuple[str, str], tuple[str, str, str]] = {}
    for doc_id, title, body in iter_dantri(data_dir):
        texts[("dantri", doc_id)] = (title, body, f"dantri:{doc_id}")
    first_user: dict[str, str] = {}
    for doc_id, user, post in iter_reintel(data_dir):
        # a text posted again (by another user) stays on its first copy's side of the split
        group = first_user.setdefault(_text_key(post), f"reintel-user:{user}")
        texts.setdefault(("reintel", doc_id), ("", post, group))
    for doc_id, question, answer in iter_vicov19qa(data_dir):
        texts[("vicov19qa", doc_id)] = ("", f"{question}\n{answer}", f"vicov19qa:{doc_id}")
    missing = [key for key in wanted if key not in texts]
    if missing:
        raise ValueError(
            f"{len(missing)} labelled documents not found under {data_dir}: {missing[:5]}"
        )
    docs = []
    for row in labels:
        title, text, group = texts[(row.dataset, row.doc_id)]
        docs.append(LabelledDoc(row.dataset, row.doc_id, title, text, row.label, group, row.how))
    return docs


# -- building the label file from the reading pass ----------------------------------------

_HOW = {
    "read": "read",
    "read+adjudicated": "read:adjudicated",
    "read (borderline)": "read:borderline",
}


def build_labels(
    reviewed: Path, data_dir: Path, previous: Path = DEFAULT_LABELS_PATH
) -> list[LabelRow]:
    """The label rows from a reading pass (``dataset,doc_id,label,how[,cue]``), completed by rule.

    Every ReINTEL post and every Dân trí article with epidemic vocabulary was read; the other
    Dân trí articles are negatives by rule (``rule:no-epidemic-vocabulary``); the ViCoV19QA
    pairs of ``previous`` stay positives (``dataset:names-covid``). Cues are not kept: they
    quote the texts, which stay in the shared data.
    """
    rows: list[LabelRow] = []
    with reviewed.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            how = _HOW.get(record["how"], record["how"])
            rows.append(LabelRow(record["dataset"], record["doc_id"], int(record["label"]), how))
    read = {(row.dataset, row.doc_id) for row in rows}
    for doc_id, _title, _body in iter_dantri(data_dir):
        if ("dantri", doc_id) not in read:
            rows.append(LabelRow("dantri", doc_id, 0, "rule:no-epidemic-vocabulary"))
    rows += [row for row in read_labels(previous) if row.dataset == "vicov19qa"]
    order = {"reintel": 0, "dantri": 1, "vicov19qa": 2}
    return sorted(rows, key=lambda row: order.get(row.dataset, 3))


def write_labels(rows: list[LabelRow], path: Path = DEFAULT_LABELS_PATH) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["dataset", "doc_id", "label", "how"])
        writer.writerows([row.dataset, row.doc_id, row.label, row.how] for row in rows)


# -- the transparent labelling rule used to propose labels before manual review --------

_COVID_NAME = re.compile(r"covid|corona|sars-cov|ncov|cô vít|vi-rút vũ hán", re.IGNORECASE)
_COVID_CONTEXT = re.compile(
    r"giãn cách|cách ly|phong tỏa|phong toả|khai báo y tế|\bF0\b|\bF1\b|omicron|delta|"
    r"chỉ thị 16|vùng đỏ|ca mắc mới|bệnh nhân \d+|\bBN\d+",
    re.IGNORECASE,
)


def covid_name_rule(title: str, body: str) -> tuple[int | None, str]:
    """Propose a label from explicit disease names, or ``None`` for manual review.

    Deliberately simpler than the detector (names only, no weights): Covid named in
    the headline with more mentions below, or in at least a third of the paragraphs
    (3+), is Covid-centred; one or two paragraphs naming it is a passing mention only when
    they are under 15% of the text; no name and no pandemic vocabulary is "none".
    """
    paragraphs = [p for p in body.splitlines() if p.strip()] or [body]
    in_title = bool(_COVID_NAME.search(title))
    naming = sum(1 for p in paragraphs if _COVID_NAME.search(p))
    share = naming / len(paragraphs)
    context = sum(1 for p in paragraphs if _COVID_CONTEXT.search(p))
    if in_title and naming >= 1:
        return 1, "rule:title+body"
    if naming >= 3 and share >= 1 / 3:
        return 1, "rule:spread"
    if not in_title and naming == 0 and context == 0:
        return 0, "rule:none"
    if not in_title and 1 <= naming <= 2 and share < 0.15 and context <= 1:
        return 0, "rule:passing"
    return None, "review"


# -- training and held-out evaluation (file edge around analysis.covid) -----------------

DEFAULT_MODEL_PATH = (
    Path(__file__).resolve().parents[2] / "analysis" / "models" / "covid_model.json"
)
#: Share of the labelled set held out from training and tuning, chosen by a stable hash.
HELD_OUT_SHARE = 0.3


def is_held_out(doc: LabelledDoc) -> bool:
    """Stable split by :attr:`LabelledDoc.group` (a ReINTEL user's posts stay together):
    the same document is always on the same side, on every machine."""
    import hashlib

    key = doc.group or f"{doc.dataset}:{doc.doc_id}"
    digest = hashlib.sha1(key.encode()).digest()
    return digest[0] / 256 < HELD_OUT_SHARE


def covid_texts_and_labels(
    data_dir: Path, labels_path: Path = DEFAULT_LABELS_PATH, *, part: str = "all"
) -> tuple[list[tuple[str, str]], list[int]]:
    """(title, text) pairs and labels for ``part`` = "all", "train" or "test"."""
    if part not in ("all", "train", "test"):
        raise ValueError(f"part must be all, train or test, not {part!r}")
    docs = load_covid_dataset(data_dir, labels_path)
    if part != "all":
        docs = [d for d in docs if is_held_out(d) == (part == "test")]
    return [(d.title, d.text) for d in docs], [d.label for d in docs]


def precision_recall(predicted: list[bool], labels: list[int]) -> tuple[float, float]:
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if not p and y)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def _figures(flags: list[bool], labels: list[int]) -> dict[str, float]:
    p, r = precision_recall(flags, labels)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"n": len(labels), "positives": sum(labels), "precision": round(p, 3),
            "recall": round(r, 3), "f1": round(f1, 3)}  # fmt: skip


def evaluate_parts(model, lexicon, docs: list[LabelledDoc]) -> dict[str, dict[str, float]]:
    """Precision/recall/F1 of ``model`` on ``docs``, overall and per dataset."""
    from analysis.covid import detect_covid

    flags = [
        detect_covid(d.text, d.title, lexicon=lexicon, model=model, lang="vi").flag for d in docs
    ]
    out = {"all": _figures(flags, [d.label for d in docs])}
    for dataset in sorted({d.dataset for d in docs}):
        chosen = [i for i, d in enumerate(docs) if d.dataset == dataset]
        out[dataset] = _figures([flags[i] for i in chosen], [docs[i].label for i in chosen])
    return out


def cross_validate_covid(lexicon, docs: list[LabelledDoc], folds: int = 5, seed: int = 1) -> dict:
    """Grouped K-fold figures of the recipe on ``docs`` (the train part: model selection)."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    from analysis.covid import detect_covid
    from analysis.covid_training import train_covid_model

    y = np.array([d.label for d in docs])
    groups = [d.group for d in docs]
    flags = [False] * len(docs)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(y, y, groups):
        model = train_covid_model(
            [(docs[i].title, docs[i].text) for i in train_idx],
            y[train_idx].tolist(),
            lexicon=lexicon,
            groups=[groups[i] for i in train_idx],
        )
        for i in test_idx:
            flags[i] = detect_covid(
                docs[i].text, docs[i].title, lexicon=lexicon, model=model, lang="vi"
            ).flag
    out = {"all": _figures(flags, y.tolist()), "folds": folds, "grouped_by": "user/document"}
    for dataset in sorted({d.dataset for d in docs}):
        chosen = [i for i, d in enumerate(docs) if d.dataset == dataset]
        out[dataset] = _figures([flags[i] for i in chosen], [docs[i].label for i in chosen])
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.training.covid_data DATA_DIR [--cv] [--write]``: train, report, save.

    The model is fitted on the train part only, so the held-out figures (and ``misinfo
    evaluate --task covid``) are on documents and ReINTEL users it has never seen.
    ``--build-labels READING.csv`` first rewrites the label file from a reading pass.
    """
    import argparse
    import json

    import yaml

    from analysis.covid import CovidLexicon
    from analysis.covid_training import train_covid_model
    from config import BUNDLED_DIR

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("data_dir", type=Path, nargs="?", default=Path("../shared/data"))
    parser.add_argument("--write", action="store_true", help=f"save to {DEFAULT_MODEL_PATH}")
    parser.add_argument("--cv", action="store_true", help="grouped 5-fold CV on the train part")
    parser.add_argument("--build-labels", type=Path, help="reading pass CSV to rebuild labels from")
    args = parser.parse_args(argv)
    if args.build_labels:
        write_labels(build_labels(args.build_labels, args.data_dir))
        print(f"wrote {DEFAULT_LABELS_PATH}")
    with (BUNDLED_DIR / "lexicons" / "covid.yaml").open(encoding="utf-8") as handle:
        lexicon = CovidLexicon.from_mapping(yaml.safe_load(handle))
    docs = load_covid_dataset(args.data_dir)
    train = [d for d in docs if not is_held_out(d)]
    test = [d for d in docs if is_held_out(d)]
    info: dict = {
        "source": "crawler/training/covid_data.py on analysis/data/covid_labels.csv",
        "train_size": len(train),
        "train_reintel_users": len({d.group for d in train if d.dataset == "reintel"}),
        "held_out_reintel_users": len({d.group for d in test if d.dataset == "reintel"}),
    }
    if args.cv:
        info["cv_train_part"] = cross_validate_covid(lexicon, train)
        print("CV on the train part:", json.dumps(info["cv_train_part"]))
    model = train_covid_model(
        [(d.title, d.text) for d in train],
        [d.label for d in train],
        lexicon=lexicon,
        groups=[d.group for d in train],
    )
    info["held_out"] = evaluate_parts(model, lexicon, test)
    print("held-out part:", json.dumps(info["held_out"]))
    if args.write:
        mapping = {**model.to_mapping(), "info": info}
        DEFAULT_MODEL_PATH.write_text(
            json.dumps(mapping, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"wrote {DEFAULT_MODEL_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
