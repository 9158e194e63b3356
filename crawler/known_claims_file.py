"""Analyst-confirmed false claims: appended to a file in the data directory.

The bundled (or user-configured) ``known_false_claims.jsonl`` is curated by hand; claims an
analyst confirms in review go to ``<data dir>/known_false_claims.confirmed.jsonl`` and are
loaded beside it, so confirming never writes into the installed package.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

from analysis.known_claims import append_known_claim
from analysis.text import fold_diacritics
from crawler.app import App

__all__ = ["CONFIRMED_CLAIMS_FILE", "add_confirmed_claim", "confirmed_claims_path"]

CONFIRMED_CLAIMS_FILE = "known_false_claims.confirmed.jsonl"


def confirmed_claims_path(app: App):
    return app.data_dir / CONFIRMED_CLAIMS_FILE


def _claim_id(claim: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold_diacritics(claim)).strip("-")[:48].strip("-")
    digest = hashlib.sha1(claim.encode("utf-8")).hexdigest()[:6]
    return f"confirmed-{slug or 'claim'}-{digest}"


def add_confirmed_claim(app: App, *, claim: str, source: str, note: str = "") -> str:
    """Validate and append one confirmed claim; returns its id."""
    path = confirmed_claims_path(app)
    existing: list[str] = []
    if path.exists():
        existing = [
            json.loads(line)["id"]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    record = {
        "id": _claim_id(claim),
        "claim": claim,
        "verdict": "false",
        "source": f"{source}{': ' + note if note else ''}",
        "date": datetime.now(UTC).date().isoformat(),
        "aliases": [],
        "keywords": [],
    }
    line = append_known_claim(record, existing)
    app.ensure_data_dir()
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
    return record["id"]
