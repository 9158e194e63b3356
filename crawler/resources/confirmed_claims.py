"""Analyst-confirmed false claims: appended to a file in the data directory.

The curated ``known_false_claims.jsonl`` (bundled, or the user's config directory) is edited
by hand; claims an analyst confirms in review (CLI or web UI) go to
``<data dir>/known_false_claims.confirmed.jsonl`` and are loaded beside it
(``crawler.resources.claims``), so a confirmation never writes into the installed package and
works without a config directory.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

from analysis.known_claims import append_known_claim
from analysis.text import fold_diacritics
from crawler.app import App

__all__ = ["CONFIRMED_CLAIMS_FILE", "add_confirmed_claim", "confirmed_claims_path"]

CONFIRMED_CLAIMS_FILE = "known_false_claims.confirmed.jsonl"
_append_lock = threading.Lock()


def confirmed_claims_path(app: App) -> Path:
    return app.data_dir / CONFIRMED_CLAIMS_FILE


def _claim_id(claim: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold_diacritics(claim)).strip("-")[:48].strip("-")
    digest = hashlib.sha1(claim.encode("utf-8")).hexdigest()[:6]
    return f"confirmed-{slug or 'claim'}-{digest}"


def add_confirmed_claim(app: App, *, claim: str, source: str, note: str = "") -> str:
    """Validate and append one confirmed claim; returns its id.

    Raises ``analysis.known_claims.KnownClaimError`` (a ``ValueError``) for an invalid record
    or a claim already known, and ``ConfigError`` when an existing claims file is broken.
    """
    from crawler.resources.claims import KNOWN_CLAIMS_FILE, load_known_claims

    path = confirmed_claims_path(app)
    with _append_lock:
        existing = [known.id for known in load_known_claims(app.config_path(KNOWN_CLAIMS_FILE))]
        if path.exists():
            existing += [known.id for known in load_known_claims(path)]
        record = {
            "id": _claim_id(claim),
            "claim": claim,
            "verdict": "false",
            "source": f"{source}: {note}" if note else source,
            "date": datetime.now(UTC).date().isoformat(),
            "aliases": [],
            "keywords": [],
        }
        line = append_known_claim(record, existing)
        app.ensure_data_dir()
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
    return record["id"]
