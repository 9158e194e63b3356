"""Posts per second of the full ``misinfo analyze`` path against tokenisation alone.

Both are measured in the same run on the same texts, so the ratio holds across machines:
``python bench/analysis.py [DATA] [--posts N]`` (DATA: ReINTEL's train.csv by default).
Target: the full analysis costs at most 1.5x underthesea ``word_tokenize`` alone.

The full path is ``analyze_lines`` (JSON in, JSON out) fed the chunk's lines, which it
analyses as one batch, stage by stage, as ``misinfo analyze`` does with its input.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.text import normalize_text  # noqa: E402
from crawler.app import App  # noqa: E402
from crawler.cli.analyze import analyze_lines  # noqa: E402
from crawler.resources.analysis import load_analysis_resources  # noqa: E402

#: Posts per alternation between the two measured paths.
CHUNK = 20
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "reintel" / "train.csv"


def read_posts(path: Path, limit: int) -> list[dict[str, object]]:
    csv.field_size_limit(sys.maxsize)
    posts: list[dict[str, object]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row.get("post_message") or ""
            if not text.strip() or row.get("label") not in ("0", "1"):
                continue
            engagement = {}
            for key, column in (("likes", "num_like_post"), ("comments", "num_comment_post"),
                                ("shares", "num_share_post")):  # fmt: skip
                value = (row.get(column) or "").strip()
                if value.isdigit():
                    engagement[key] = int(value)
            posts.append({"id": row["id"], "text": text, "engagement": engagement})
            if len(posts) >= limit:
                break
    return posts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?", default=DEFAULT_DATA)
    parser.add_argument("--posts", type=int, default=500)
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"{args.data}: not found (give the path to reintel/train.csv)")
    posts = read_posts(args.data, args.posts)
    lines = [json.dumps(p, ensure_ascii=False) for p in posts]
    resources = load_analysis_resources(App(config_dir=None))

    from underthesea import word_tokenize

    # warm both paths (model loading is not what we measure)
    list(analyze_lines(lines[:5], resources))
    word_tokenize("Khởi động mô hình tách từ.")

    # The module (``analysis.analyse`` the attribute is the function it exports): its
    # ``score_claims`` is the name the analysis calls the claim layer by.
    analyse_module = importlib.import_module("analysis.analyse")

    claim_s = 0.0
    real_score_claims = analyse_module.score_claims

    def timed_score_claims(*args, **kwargs):  # what the claim layer (analysis.claims) costs
        nonlocal claim_s
        t0 = time.process_time()
        try:
            return real_score_claims(*args, **kwargs)
        finally:
            claim_s += time.process_time() - t0

    # Interleave the two paths chunk by chunk and count this process's CPU time, so other
    # work on the machine (load that comes and goes) does not tilt the ratio. Each chunk is
    # one batch of analyze_lines (default batch size 32), as ``misinfo analyze`` reads it.
    tokenise_s = full_s = 0.0
    written = 0
    analyse_module.score_claims = timed_score_claims
    try:
        for start in range(0, len(posts), CHUNK):
            chunk = posts[start : start + CHUNK]
            t0 = time.process_time()
            for post in chunk:
                word_tokenize(normalize_text(str(post["text"])))
            t1 = time.process_time()
            written += sum(1 for _ in analyze_lines(lines[start : start + CHUNK], resources))
            t2 = time.process_time()
            tokenise_s += t1 - t0
            full_s += t2 - t1
    finally:
        analyse_module.score_claims = real_score_claims

    n = len(posts)
    print(f"posts: {n} ({written} analysed) from {args.data}")
    print(f"load average: {os.getloadavg()[0]:.2f} (other work on the machine)")
    print(f"word_tokenize alone : {n / tokenise_s:8.1f} posts/s ({tokenise_s:.2f} s CPU)")
    print(f"misinfo analyze path: {n / full_s:8.1f} posts/s ({full_s:.2f} s CPU)")
    print(f"ratio full/tokenise : {full_s / tokenise_s:.2f}x (target <= 1.5x)")
    print(f"  of which analysis.claims.score_claims: {claim_s:.2f} s")
    print(f"  ratio without the claim layer     : {(full_s - claim_s) / tokenise_s:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
