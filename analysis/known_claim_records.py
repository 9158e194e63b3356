"""Known false claims as records: one line of ``known_false_claims.jsonl``, validated and
normalised, and the line to append for a claim an analyst confirmed (the caller writes it).
Matching text against them is :mod:`analysis.known_claims`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date as _date

from analysis.text import normalize_text

__all__ = [
    "VERDICTS",
    "KnownClaim",
    "KnownClaimError",
    "append_known_claim",
    "parse_known_claim",
]

VERDICTS = ("false", "misleading")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class KnownClaimError(ValueError):
    """A known-claim record is invalid; the message names the field."""


@dataclass(frozen=True, slots=True)
class KnownClaim:
    id: str
    claim: str
    verdict: str
    source: str
    date: str
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    source_url: str | None = None

    def to_record(self) -> dict:
        record: dict = {
            "id": self.id,
            "claim": self.claim,
            "verdict": self.verdict,
            "source": self.source,
        }
        if self.source_url:
            record["source_url"] = self.source_url
        record |= {
            "date": self.date,
            "aliases": list(self.aliases),
            "keywords": list(self.keywords),
        }
        return record


def _text_field(record: dict, name: str, *, required: bool = True) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise KnownClaimError(f"'{name}' must be a non-empty string")
    return normalize_text(value)


def _list_field(record: dict, name: str) -> tuple[str, ...]:
    value = record.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise KnownClaimError(f"'{name}' must be a list of non-empty strings")
    return tuple(normalize_text(v) for v in value)


def parse_known_claim(record: dict) -> KnownClaim:
    """Validate one record and return it normalised (NFC text, checked id/verdict/date)."""
    if not isinstance(record, dict):
        raise KnownClaimError("a known claim must be a JSON object")
    unknown = set(record) - {
        "id",
        "claim",
        "verdict",
        "source",
        "source_url",
        "date",
        "aliases",
        "keywords",
    }
    if unknown:
        raise KnownClaimError(f"unknown field(s): {', '.join(sorted(unknown))}")
    claim_id = record.get("id")
    if not isinstance(claim_id, str) or not _ID.match(claim_id):
        raise KnownClaimError("'id' must be lower-case letters, digits and '-' (2-80 chars)")
    verdict = record.get("verdict")
    if verdict not in VERDICTS:
        raise KnownClaimError(f"'verdict' must be one of {', '.join(VERDICTS)}")
    day = record.get("date")
    if not isinstance(day, str) or not _DATE.match(day):
        raise KnownClaimError("'date' must be YYYY-MM-DD")
    try:
        _date.fromisoformat(day)
    except ValueError as exc:
        raise KnownClaimError(f"'date' is not a real date: {day}") from exc
    source_url = _text_field(record, "source_url", required=False) or None
    if source_url and not source_url.startswith(("http://", "https://")):
        raise KnownClaimError("'source_url' must be an http(s) URL")
    return KnownClaim(
        id=claim_id,
        claim=_text_field(record, "claim"),
        verdict=verdict,
        source=_text_field(record, "source"),
        date=day,
        aliases=_list_field(record, "aliases"),
        keywords=_list_field(record, "keywords"),
        source_url=source_url,
    )


def append_known_claim(record: dict, existing_ids: Iterable[str] = ()) -> str:
    """Validate ``record`` and return the JSONL line (with newline) to append to the file.

    The caller (an analyst decision at the edge) writes the line; ids must stay unique.
    """
    claim = parse_known_claim(record)
    if claim.id in set(existing_ids):
        raise KnownClaimError(f"'id' {claim.id} is already in the known-claims file")
    return json.dumps(claim.to_record(), ensure_ascii=False) + "\n"
