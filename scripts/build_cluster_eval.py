#!/usr/bin/env python3
"""Build the labelled near-duplicate set (ids and recipes only) from the shared data.

    python scripts/build_cluster_eval.py [--data ../shared/data] [--seed 16]

Picks real Dantri articles and ReINTEL posts as originals, gives each 0 to 4 copies made by
a recipe (:mod:`analysis.near_duplicate_eval`), and writes

* ``analysis/data/cluster_eval.csv``: one row per item: ``item, story, origin, recipe,
  donor, minute`` (``origin`` names the shared text, ``recipe`` is empty for an original,
  ``donor`` the item whose words edits insert, ``minute`` when it is "published");
* ``analysis/data/cluster_eval_same_topic.csv``: pairs of originals that are different
  stories on one topic (the most alike pairs of a Dantri section, and of Covid posts), to
  check that they are not merged.

Originals are distinct stories: a candidate sharing a run of :data:`SAME_STORY_RUN` words
or more with an original already picked (a repost in ReINTEL, a follow-up in Dantri) is
left out, since nothing labels whether such texts are one story. The same seed gives the
same files; ``scripts/evaluate_clusters.py`` regenerates the texts from them.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.near_duplicate_eval import (  # noqa: E402
    PREFIXES,
    SUFFIXES,
    CopyRecipe,
    longest_shared_run,
)
from analysis.near_duplicates import shingle_hashes, words  # noqa: E402
from crawler.training.covid_data import iter_dantri, iter_reintel  # noqa: E402

NEWS = 300
POSTS = 300
#: Originals sharing this many consecutive words are taken for one story.
SAME_STORY_RUN = 20
MIN_POST_WORDS = 25
#: Posts quoted inside an article ("frame" recipes) are at least this long, so the two
#: framing sentences (shared by many copies of different stories) are not most of the text.
FRAME_MIN_WORDS = 60
MAX_POST_WORDS = 800
COPIES = (0, 1, 1, 2, 2, 3, 4)
SAME_TOPIC_NEWS_PAIRS = 150
SAME_TOPIC_POST_PAIRS = 50
OUT_DIR = REPO / "analysis" / "data"
ITEMS_FILE = OUT_DIR / "cluster_eval.csv"
PAIRS_FILE = OUT_DIR / "cluster_eval_same_topic.csv"
#: Thirty days of "publication" minutes for the originals.
WINDOW_MINUTES = 30 * 24 * 60


def _overlap(a, b) -> float:
    import numpy as np

    if len(a) == 0 or len(b) == 0:
        return 0.0
    shared = int(np.isin(a, b, assume_unique=True).sum())
    return shared / min(len(a), len(b))


def pick_originals(
    candidates: list[tuple[str, str]], count: int, rng: random.Random, picked: list
) -> list[tuple[str, str]]:
    """Up to ``count`` of ``candidates`` (origin, text), in random order, none sharing a
    passage with an original picked before (``picked`` holds (origin, text, shingles))."""
    order = list(candidates)
    rng.shuffle(order)
    chosen = []
    for origin, text in order:
        if len(chosen) == count:
            break
        hashes = shingle_hashes(words(text))
        clash = False
        for _, other, other_hashes in picked:
            # Cheap filter first: texts sharing a long run share many word pairs.
            if _overlap(hashes, other_hashes) >= 0.05 and (
                longest_shared_run(text, other) >= SAME_STORY_RUN
            ):
                clash = True
                break
        if clash:
            continue
        picked.append((origin, text, hashes))
        chosen.append((origin, text))
    return chosen


def recipe_for(kind: str, text: str, rng: random.Random) -> CopyRecipe:
    excerpt = rng.randint(2, 4) if kind == "news" and rng.random() < 0.3 else 0
    # An article quoting a post: the post is most of it (FRAME_MIN_WORDS).
    frame = kind == "post" and len(text.split()) >= FRAME_MIN_WORDS and rng.random() < 0.25
    if excerpt or frame:
        # A quote stays close to what it quotes.
        edit = round(rng.uniform(0.0, 0.15), 3)
    elif rng.random() < 0.85:
        edit = round(rng.uniform(0.05, 0.40), 3)
    else:
        edit = 0.0
    return CopyRecipe(
        seed=rng.randrange(1 << 30),
        edit=edit,
        reorder=rng.random() < 0.35,
        prefix=rng.randrange(len(PREFIXES)) if rng.random() < 0.5 else -1,
        suffix=rng.randrange(len(SUFFIXES)) if rng.random() < 0.25 else -1,
        strip=rng.random() < 0.25,
        excerpt=excerpt,
        frame=frame,
    )


def same_topic_pairs(originals: list[tuple[str, str, str]]) -> list[tuple[str, str, str, float]]:
    """The most alike pairs of originals within a Dantri section, and among Covid posts."""
    import numpy as np

    def jaccard(a, b) -> float:
        shared = int(np.isin(a, b, assume_unique=True).sum())
        return shared / (len(a) + len(b) - shared) if len(a) + len(b) else 0.0

    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for item, origin, text in originals:
        if origin.startswith("dantri:"):
            topic = "dantri-" + origin.split("_")[1]
        elif "covid" in " ".join(words(text)) or "corona" in " ".join(words(text)):
            topic = "covid-posts"
        else:
            continue
        groups.setdefault(topic, []).append((item, shingle_hashes(words(text))))
    scored: dict[str, list[tuple[float, str, str]]] = {}
    for topic, members in groups.items():
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                value = jaccard(members[i][1], members[j][1])
                scored.setdefault(topic, []).append((value, members[i][0], members[j][0]))
    news = sorted(
        (
            (*entry, topic)
            for topic, values in scored.items()
            if topic != "covid-posts"
            for entry in values
        ),
        reverse=True,
    )[:SAME_TOPIC_NEWS_PAIRS]
    posts = sorted(scored.get("covid-posts", []), reverse=True)[:SAME_TOPIC_POST_PAIRS]
    pairs = [(a, b, topic, round(value, 4)) for value, a, b, topic in news]
    pairs += [(a, b, "covid-posts", round(value, 4)) for value, a, b in posts]
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help="Directory for the two CSV files."
    )
    args = parser.parse_args(argv)
    items_file = args.out / ITEMS_FILE.name
    pairs_file = args.out / PAIRS_FILE.name
    rng = random.Random(args.seed)

    news = [
        (f"dantri:{doc_id}", f"{title}\n{body}") for doc_id, title, body in iter_dantri(args.data)
    ]
    posts = [
        (f"reintel:{doc_id}", text)
        for doc_id, _user, text in iter_reintel(args.data)
        if MIN_POST_WORDS <= len(text.split()) <= MAX_POST_WORDS
    ]
    picked: list = []
    chosen = [("news", *entry) for entry in pick_originals(news, NEWS, rng, picked)]
    chosen += [("post", *entry) for entry in pick_originals(posts, POSTS, rng, picked)]

    rows = []
    originals = []
    for number, (_, origin, text) in enumerate(chosen):
        story = f"s{number:04d}"
        minute = rng.randrange(WINDOW_MINUTES)
        item = f"{story}-0"
        rows.append(
            {
                "item": item,
                "story": story,
                "origin": origin,
                "recipe": "",
                "donor": "",
                "minute": minute,
            }
        )
        originals.append((item, origin, text))
    for number, (kind, origin, text) in enumerate(chosen):
        story = f"s{number:04d}"
        start = rows[number]["minute"]
        for copy in range(1, rng.choice(COPIES) + 1):
            donor = rng.choice(originals)[0]
            rows.append(
                {
                    "item": f"{story}-{copy}",
                    "story": story,
                    "origin": origin,
                    "recipe": recipe_for(kind, text, rng).to_text(),
                    "donor": donor,
                    "minute": start + rng.randint(10, 5 * 24 * 60),
                }
            )
    args.out.mkdir(parents=True, exist_ok=True)
    with items_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["item", "story", "origin", "recipe", "donor", "minute"]
        )
        writer.writeheader()
        writer.writerows(rows)
    pairs = same_topic_pairs(originals)
    with pairs_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_a", "item_b", "topic", "jaccard"])
        writer.writerows(pairs)
    copies = len(rows) - len(chosen)
    print(
        f"{len(chosen)} originals ({sum(k == 'news' for k, *_ in chosen)} articles, "
        f"{sum(k == 'post' for k, *_ in chosen)} posts), {copies} copies -> {items_file}"
    )
    print(f"{len(pairs)} same-topic pairs of different stories -> {pairs_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
