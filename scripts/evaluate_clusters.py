#!/usr/bin/env python3
"""Score near-duplicate clustering on the labelled set of ``scripts/build_cluster_eval.py``.

    python scripts/evaluate_clusters.py [--data ../shared/data] [--store sqlite|memory]
                                        [--threshold T] [--containment C]

Regenerates every item's text from the shared data and its recipe, stores the items in
order of "publication" (one small batch after another, as crawls would) in a fresh SQLite
store in a temporary directory (``--store memory``: the clustering rule alone, without a
store), then prints pairwise precision and recall of "same cluster", the figures per kind
of copy, and how many same-topic pairs of different stories ended up merged.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.near_duplicate_eval import CopyRecipe, make_copy, pairwise_scores  # noqa: E402
from analysis.text import normalize_text  # noqa: E402
from crawler.training.covid_data import iter_dantri, iter_reintel  # noqa: E402
from index.clusters import Clusterer, ClusterSettings, MemorySketchIndex  # noqa: E402
from index.documents import Document  # noqa: E402

ITEMS_FILE = REPO / "analysis" / "data" / "cluster_eval.csv"
PAIRS_FILE = REPO / "analysis" / "data" / "cluster_eval_same_topic.csv"
BATCH = 20
START = datetime(2020, 3, 1, tzinfo=UTC)


def load_texts(data: Path) -> dict[str, str]:
    texts = {f"dantri:{doc_id}": f"{title}\n{body}" for doc_id, title, body in iter_dantri(data)}
    texts.update({f"reintel:{doc_id}": text for doc_id, _user, text in iter_reintel(data)})
    return texts


def build_items(data: Path, items_file: Path = ITEMS_FILE) -> tuple[list[dict], dict[str, str]]:
    """The set's rows in publication order, each with its ``text``; and item -> story."""
    with items_file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    sources = load_texts(data)
    originals = {row["item"]: sources[row["origin"]] for row in rows if not row["recipe"]}
    for row in rows:
        original = sources[row["origin"]]
        if row["recipe"]:
            pool = originals[row["donor"]].split()
            text = make_copy(original, CopyRecipe.from_text(row["recipe"]), pool)
        else:
            text = original
        row["text"] = normalize_text(text)
        row["minute"] = int(row["minute"])
    rows.sort(key=lambda row: (row["minute"], row["item"]))
    return rows, {row["item"]: row["story"] for row in rows}


def as_document(row: dict) -> Document:
    moment = (START + timedelta(minutes=row["minute"])).isoformat()
    is_news = row["origin"].startswith("dantri:")
    title, _, body = (
        row["text"].partition("\n") if is_news and not row["recipe"] else ("", "", row["text"])
    )
    return Document(
        id=row["item"],
        url=f"https://eval.invalid/{row['item']}",
        canonical_url=f"https://eval.invalid/{row['item']}",
        source="eval",
        site=f"site{zlib.crc32(row['item'].encode()) % 7}.invalid",
        kind="news" if is_news else "post",
        title=title,
        text=body,
        published_at=moment,
        fetched_at=moment,
    )


def cluster_in_memory(rows: list[dict], settings: ClusterSettings) -> dict[str, str]:
    index = MemorySketchIndex(settings.params.num_perm)
    clusterer = Clusterer(settings)
    docs = [as_document(row) for row in rows]
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        for doc in batch:
            index.add_text(doc.id, f"{doc.title}\n{doc.text}" if doc.title else doc.text)
        clusterer.assign(batch, index)
    return dict(index.members())


def cluster_in_sqlite(rows: list[dict], settings: ClusterSettings) -> dict[str, str]:
    from index.sqlite import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "index.db", clusters=settings)
        try:
            docs = [as_document(row) for row in rows]
            for start in range(0, len(docs), BATCH):
                store.upsert(docs[start : start + BATCH])
            return {doc.id: store.get(doc.id).cluster_id for doc in docs}
        finally:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--containment", type=float)
    parser.add_argument(
        "--set",
        type=Path,
        default=ITEMS_FILE.parent,
        help="Directory of the set's CSV files (scripts/build_cluster_eval.py --out).",
    )
    args = parser.parse_args(argv)
    overrides = {}
    if args.threshold is not None:
        overrides["threshold"] = args.threshold
    if args.containment is not None:
        overrides["containment"] = args.containment
    settings = ClusterSettings.from_mapping(overrides)

    rows, truth = build_items(args.data, args.set / ITEMS_FILE.name)
    started = time.perf_counter()
    cluster = cluster_in_memory if args.store == "memory" else cluster_in_sqlite
    predicted = cluster(rows, settings)
    elapsed = time.perf_counter() - started
    scores = pairwise_scores(truth, predicted)
    stories = len(set(truth.values()))
    print(
        f"{len(rows)} items, {stories} stories; threshold {settings.threshold}, "
        f"containment {settings.containment}; {args.store} store, {elapsed:.1f} s"
    )
    print(
        f"pairwise precision {scores.precision:.3f}, recall {scores.recall:.3f} "
        f"({scores.correct_pairs} of {scores.true_pairs} true pairs found, "
        f"{scores.predicted_pairs} pairs predicted)"
    )
    # Recall per kind of copy: is the copy in its original's cluster?
    original_of = {row["story"]: row["item"] for row in rows if not row["recipe"]}
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        if not row["recipe"]:
            continue
        recipe = CopyRecipe.from_text(row["recipe"])
        kinds = ["all"]
        if recipe.excerpt:
            kinds.append("excerpt of an article (containment)")
        elif recipe.frame:
            kinds.append("post quoted in an article")
        else:
            band = (
                "edits 0-10%"
                if recipe.edit < 0.1
                else "edits 10-25%"
                if recipe.edit < 0.25
                else "edits 25-40%"
            )
            kinds.append(band)
        if recipe.strip:
            kinds.append("diacritics removed")
        if recipe.reorder:
            kinds.append("reordered")
        if recipe.prefix >= 0:
            kinds.append("prefix added")
        same = predicted[row["item"]] == predicted[original_of[row["story"]]]
        for kind in kinds:
            total[kind] += 1
            found[kind] += same
    for kind in total:
        print(
            f"  copy in its original's cluster, {kind}: {found[kind]}/{total[kind]} ({found[kind] / total[kind]:.3f})"
        )
    with (args.set / PAIRS_FILE.name).open(encoding="utf-8", newline="") as handle:
        pairs = list(csv.DictReader(handle))
    merged = [pair for pair in pairs if predicted[pair["item_a"]] == predicted[pair["item_b"]]]
    print(f"same-topic pairs of different stories merged: {len(merged)} of {len(pairs)}")
    for pair in merged[:10]:
        print(f"  {pair['item_a']} + {pair['item_b']} ({pair['topic']}, Jaccard {pair['jaccard']})")
    wrong = Counter()
    for cluster_id in set(predicted.values()):
        members = [item for item, c in predicted.items() if c == cluster_id]
        stories_in = {truth[item] for item in members}
        if len(stories_in) > 1:
            wrong[len(stories_in)] += 1
    if wrong:
        print(
            f"clusters mixing stories: {sum(wrong.values())} ({dict(wrong)} by number of stories)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
