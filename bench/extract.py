"""Extraction on real Vietnamese news pages: the project against plain trafilatura.

``python bench/extract.py [REALPAGES] [--rounds N]`` (REALPAGES: ``../shared/data/realpages``
by default: ``pages/<id>.html``, ``truth/<id>.json``, ``negatives/*.html``, gzip allowed). Both extractors
run on the same pages in the same run; the table gives, per field, the project's score next
to ``trafilatura.bare_extraction(html, url=..., with_metadata=True)``'s, per site and overall,
then pages per second of each (CPU time, the two alternating page by page).

Scores (``crawler.extract.eval``): title exact (NFC, whitespace collapsed); authors: every
person found, and exactly the persons (no publisher), on bylined pages, and none on the page
without a byline; date equal to the minute (and to the day); section exact; lead contained
in the body; body token F1; clutter phrases found in the body (want 0); then whether the
articles are stored and the section fronts are not (the project only: trafilatura does not
judge page types).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from crawler.extract.article import extract_page  # noqa: E402
from crawler.extract.dates import parse_iso  # noqa: E402
from crawler.extract.eval import (  # noqa: E402
    FieldScores,
    Truth,
    load_truths,
    read_negatives,
    read_page,
    score_page,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "realpages"
#: Pages are judged as fetched just after the newest of them was published.
FETCHED_AT = datetime(2026, 3, 8, tzinfo=UTC)


def project(html: str, truth: Truth) -> tuple[FieldScores, bool]:
    page = extract_page(html, truth.url, fetched_at=FETCHED_AT)
    scores = score_page(
        truth,
        title=page.title,
        authors=page.authors,
        published=page.published_at,
        section=page.section,
        text=page.text,
    )
    return scores, page.is_article


def plain(html: str, truth: Truth) -> FieldScores:
    document = trafilatura.bare_extraction(html, url=truth.url, with_metadata=True)
    authors = [name.strip() for name in (document.author or "").split(";") if name.strip()]
    # trafilatura gives article:section as a category, "Thời sự,Chính trị": its first label.
    categories = [part.strip() for c in document.categories or [] for part in c.split(",")]
    return score_page(
        truth,
        title=document.title or "",
        authors=authors,
        published=parse_iso(document.date, now=FETCHED_AT) if document.date else None,
        section=categories[0] if categories else "",
        text=document.text or "",
    )


def _count(scores: list[FieldScores], name: str) -> str:
    return f"{sum(bool(getattr(s, name)) for s in scores)}/{len(scores)}"


def _authors(scores: list[FieldScores], truths: list[Truth], name: str) -> str:
    bylined = [getattr(s, name) for s, t in zip(scores, truths, strict=True) if t.authors]
    return f"{sum(bylined)}/{len(bylined)}"


def _unsigned(scores: list[FieldScores], truths: list[Truth]) -> str:
    unsigned = [s.authors_exact for s, t in zip(scores, truths, strict=True) if not t.authors]
    return f"{sum(unsigned)}/{len(unsigned)}"


def _f1(scores: list[FieldScores]) -> str:
    return f"{sum(s.f1 for s in scores) / len(scores):.3f}"


def _clutter(scores: list[FieldScores]) -> str:
    return str(sum(len(s.clutter) for s in scores))


def overall_table(ours: list[FieldScores], theirs: list[FieldScores], truths: list[Truth]) -> str:
    rows = [
        ("title exact", lambda s: _count(s, "title")),
        ("authors: every person found (bylined pages)", lambda s: _authors(s, truths, "authors")),
        (
            "authors: exactly the persons (bylined pages)",
            lambda s: _authors(s, truths, "authors_exact"),
        ),
        ("no author where the page has no byline", lambda s: _unsigned(s, truths)),
        ("published date to the minute", lambda s: _count(s, "date")),
        ("published date to the day", lambda s: _count(s, "day")),
        ("section", lambda s: _count(s, "section")),
        ("lead (sapo) in the body", lambda s: _count(s, "lead")),
        ("body token F1, mean", _f1),
        ("clutter phrases in the body", _clutter),
    ]
    lines = ["| field | misinfo-monitor | plain trafilatura |", "|---|---|---|"]
    lines += [f"| {label} | {render(ours)} | {render(theirs)} |" for label, render in rows]
    return "\n".join(lines)


def site_table(
    ours: dict[str, FieldScores], theirs: dict[str, FieldScores], truths: list[Truth]
) -> str:
    by_site: dict[str, list[Truth]] = defaultdict(list)
    for truth in truths:
        by_site[truth.site].append(truth)
    lines = [
        "| site (pages) | title | authors exact | date to the minute | section | lead | body F1 | clutter |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for site, group in sorted(by_site.items()):
        mine = [ours[t.id] for t in group]
        plain_ = [theirs[t.id] for t in group]
        cells = [
            f"{_count(mine, 'title')} / {_count(plain_, 'title')}",
            f"{_count(mine, 'authors_exact')} / {_count(plain_, 'authors_exact')}",
            f"{_count(mine, 'date')} / {_count(plain_, 'date')}",
            f"{_count(mine, 'section')} / {_count(plain_, 'section')}",
            f"{_count(mine, 'lead')} / {_count(plain_, 'lead')}",
            f"{_f1(mine)} / {_f1(plain_)}",
            f"{_clutter(mine)} / {_clutter(plain_)}",
        ]
        lines.append(f"| {site} ({len(group)}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?", default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (default 3)")
    args = parser.parse_args()
    if not (args.data / "truth").is_dir():
        parser.error(f"{args.data}: no truth/ folder (give the path to the real-page set)")
    truths = load_truths(args.data)
    pages = {t.id: read_page(args.data, t.id) for t in truths}
    negatives = read_negatives(args.data)

    ours: dict[str, FieldScores] = {}
    theirs: dict[str, FieldScores] = {}
    stored: dict[str, bool] = {}
    for truth in truths:
        ours[truth.id], stored[truth.id] = project(pages[truth.id], truth)
        theirs[truth.id] = plain(pages[truth.id], truth)
    fronts_stored = []
    for name, html in negatives.items():
        page = extract_page(html, f"https://example.test/{name}", fetched_at=FETCHED_AT)
        if page.is_article:
            fronts_stored.append(name)

    print(overall_table([ours[t.id] for t in truths], [theirs[t.id] for t in truths], truths))
    print("\nPer site, misinfo-monitor / plain trafilatura:\n")
    print(site_table(ours, theirs, truths))
    print()
    print(f"Articles stored: {sum(stored.values())}/{len(stored)}; section fronts stored: "
          f"{len(fronts_stored)}/{len(negatives)} {fronts_stored or ''}")  # fmt: skip
    worst = min((ours[t.id].f1 - theirs[t.id].f1, t.id) for t in truths)
    print(f"Body F1, project minus trafilatura, lowest page: {worst[0]:+.3f} ({worst[1]})")

    # Timing: the two extractors alternate page by page, CPU time, after one warm-up pass.
    work = [(pages[t.id], t) for t in truths] + [(html, None) for html in negatives.values()]
    own_s = plain_s = 0.0
    for html, _ in work[:2]:
        extract_page(html, "https://example.test/a", fetched_at=FETCHED_AT)
        trafilatura.bare_extraction(html, url="https://example.test/a", with_metadata=True)
    for _ in range(args.rounds):
        for html, truth in work:
            url = truth.url if truth else "https://example.test/list"
            start = time.process_time()
            extract_page(html, url, fetched_at=FETCHED_AT)
            own_s += time.process_time() - start
            start = time.process_time()
            trafilatura.bare_extraction(html, url=url, with_metadata=True)
            plain_s += time.process_time() - start
    count = len(work) * args.rounds
    print(
        f"\nSpeed over {len(work)} pages x {args.rounds} rounds (CPU time): misinfo-monitor "
        f"{count / own_s:.1f} pages/s, plain trafilatura {count / plain_s:.1f} pages/s "
        f"({plain_s / own_s:.2f}x); load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
