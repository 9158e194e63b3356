"""Build ``config/press_register.csv`` and ``config/flagged_sites.csv`` from the shared press data.

Usage::

    python scripts/build_press_register.py ../shared/data/press [--out config]

Inputs (in the given directory):

* ``docbao_vn_news_sites.csv``: 231 domains from the open-source crawler docbao's site configs.
  It is a crawler's list, not the official licence register: some entries are blogs, forums,
  a Facebook page or foreign sites, and several display names are wrong. The curation tables
  below (drops, kinds, name fixes) are the reviewed decisions; the script applies them so the
  register can be rebuilt when the source list changes.
* ``flagged_sites_from_press_reports.csv``: domains that press reports named as unlicensed or
  press-imitating sites. They are never put in the register; they go to ``flagged_sites.csv``
  with the report URL, as evidence for the site-style score.

The demo newspaper ``songhong.localhost`` is appended so the demo's licensed newspaper is
recognised. Output rows are sorted by domain so rebuilds diff cleanly.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from pathlib import Path

REGISTER_COLUMNS = ("domain", "name", "kind", "source", "note")
FLAGGED_COLUMNS = ("domain", "reported", "report_url")

#: Entries of the docbao list that are not Vietnamese press, with the reason.
DROPPED: dict[str, str] = {
    "artificialintelligence-news.com": "foreign English-language AI news site",
    "codeaholicguy.com": "personal programming blog",
    "toidicodedao.com": "personal programming blog",
    "vhnam.github.io": "personal blog on GitHub Pages",
    "vuilaptrinh.com": "personal programming blog",
    "viblo.asia": "developer community platform (user posts)",
    "topdev.vn": "recruitment company's blog",
    "tinhte.vn": "technology forum (user posts)",
    "facebook.com": "one Facebook page; the whole social network must never count as press",
    "baomoi.com": "news aggregator (re-publishes press articles), not a press agency",
    "m.baomoi.com": "mobile host of the baomoi.com aggregator",
}

#: Entries kept but not press agencies: official state portals ("cổng thông tin điện tử").
GOVERNMENT_SUFFIX = ".gov.vn"

#: Sites believed to hold a general-information licence (trang thông tin điện tử tổng hợp)
#: rather than a press licence. Kept so the analysis can say so; never treated as licensed press.
GENERAL_INFO: dict[str, str] = {
    "24h.com.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "kenh14.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "soha.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "cafef.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "cafebiz.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "genk.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "khampha.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "megafun.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "thethao247.vn": "general-information site (TTĐTTH), not a press agency; verify",
    "khoahoc.tv": "general-information site (TTĐTTH), not a press agency; verify",
    "vietbao.vn": "aggregator with a general-information licence; verify",
    "news.otofun.net": "news section of a car forum; verify",
}

BROADCASTERS = {"vtv.vn", "vov.vn", "voh.com.vn", "vtc.vn", "thhp.vn"}

#: Magazines (tạp chí) whose display name does not say so.
MAGAZINES = {
    "bazaarvietnam.vn",
    "doanhnhansaigon.vn",
    "golfandlife.com.vn",
    "herworldvietnam.vn",
    "noithatmagazine.vn",
    "thuonghieucongluan.com.vn",
}

#: Display names in the source list that are wrong or garbled.
NAME_FIXES: dict[str, str] = {
    "24h.com.vn": "24h",
    "baobinhphuoc.com.vn": "Báo Bình Phước điện tử",
    "baodongthap.vn": "Đồng Tháp Online",
    "ictnews.vietnamnet.vn": "ICTNews",
    "kinhdoanhvatiepthi.vn": "Kinh doanh và Tiếp thị",
    "kinhtedothi.vn": "Kinh tế & Đô thị",
    "motthegioi.vn": "Một Thế Giới",
    "thanhnien.vn": "Thanh Niên",
    "enternews.vn": "Diễn đàn Doanh nghiệp",
    "genk.vn": "GenK",
    "idesign.vn": "iDesign",
}

DEMO_ENTRIES = (
    {
        "domain": "songhong.localhost",
        "name": "Báo Sông Hồng",
        "kind": "newspaper",
        "source": "demo",
        "note": "demo site",
    },
)


def clean_name(name: str) -> str:
    """NFC, single spaces, no stray edge spaces (the source has "Báo  Cao Bằng ")."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip()


def classify(domain: str, name: str) -> tuple[str, str]:
    """Return (kind, note) for a kept docbao entry."""
    if domain.endswith(GOVERNMENT_SUFFIX):
        return "government_portal", "official state portal, not a press agency"
    if domain in GENERAL_INFO:
        return "general_info", GENERAL_INFO[domain]
    if domain in BROADCASTERS:
        return "broadcaster", ""
    if domain in MAGAZINES or name.lower().startswith("tạp chí"):
        return "magazine", ""
    return "newspaper", ""


def build_register(docbao_rows: list[dict[str, str]], flagged: set[str]) -> list[dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for row in docbao_rows:
        domain = row["domain"].strip().lower().removeprefix("www.")
        if not domain or domain in DROPPED:
            continue
        if domain in flagged:
            print(
                f"note: {domain} is in the flagged list, left out of the register", file=sys.stderr
            )
            continue
        name = NAME_FIXES.get(domain) or clean_name(row.get("name", "")) or domain
        kind, note = classify(domain, name)
        rows[domain] = {
            "domain": domain,
            "name": name,
            "kind": kind,
            "source": "docbao",
            "note": note,
        }
    for entry in DEMO_ENTRIES:
        rows[entry["domain"]] = dict(entry)
    return [rows[domain] for domain in sorted(rows)]


def build_flagged(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """One row per domain; "same report: ..." is spelt out so each row reads on its own."""
    first_domain_by_url: dict[str, str] = {}
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        domain = row.get("domain", "").strip().lower().removeprefix("www.")
        if not domain:
            continue
        url = row["source_url_in_stored_pages_corpus"].strip()
        reported = clean_name(row["what_was_reported"])
        first = first_domain_by_url.setdefault(url, domain)
        if reported.lower().startswith("same report"):
            reported = re.sub(
                r"^same report", f"named in the same report as {first}", reported, flags=re.I
            )
        out[domain] = {"domain": domain, "reported": reported, "report_url": url}
    return [out[domain] for domain in sorted(out)]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    # No comment lines: plain CSV that any reader (csv.DictReader, spreadsheets) takes as is.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("press_dir", type=Path, help="directory with the shared press CSVs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "config")
    args = parser.parse_args(argv)

    docbao = _read(args.press_dir / "docbao_vn_news_sites.csv")
    flagged = build_flagged(_read(args.press_dir / "flagged_sites_from_press_reports.csv"))
    register = build_register(docbao, {row["domain"] for row in flagged})

    _write(
        args.out / "press_register.csv",
        REGISTER_COLUMNS,
        register,
    )
    _write(
        args.out / "flagged_sites.csv",
        FLAGGED_COLUMNS,
        flagged,
    )
    kinds: dict[str, int] = {}
    for row in register:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    dropped = sorted(domain for domain in DROPPED if any(r["domain"] == domain for r in docbao))
    print(f"register: {len(register)} rows {dict(sorted(kinds.items()))}")
    print(f"dropped: {len(dropped)} ({', '.join(dropped)})")
    print(f"flagged: {len(flagged)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
