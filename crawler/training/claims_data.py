"""Labelled posts for the likely-false classifier: the ReINTEL CSV and simple CSV/JSONL files.

ReINTEL rows are ``id,user_name,post_message,timestamp_post,num_like_post,num_comment_post,
num_share_post,label``. Some rows are malformed: an unquoted message with commas spilled into
the following columns, pushing the numbers right (and the trailing counts off the row). They are
repaired by finding the first Unix timestamp after the message; counts written as ``unknown`` or
empty are missing, not zero. Rows whose label is not 0/1 are skipped and counted.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis.claim_model import ClaimExample

__all__ = [
    "DEFAULT_REINTEL_RELATIVE",
    "LabelledPost",
    "LoadReport",
    "default_reintel_path",
    "read_labelled_posts",
    "read_reintel_csv",
]

DEFAULT_REINTEL_RELATIVE = Path("reintel") / "train.csv"
_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
_MIN_TIMESTAMP = 1e9  # 2001-09-09: anything smaller is a count, not a posting time
_COUNT_COLUMNS = ("likes", "comments", "shares")
_REINTEL_COUNT_NAMES = ("num_like_post", "num_comment_post", "num_share_post")


@dataclass(frozen=True, slots=True)
class LabelledPost:
    """A post with its label (1 = unreliable) and where it came from."""

    id: str
    user: str
    text: str
    label: int
    timestamp: float | None = None
    engagement: dict[str, int] = field(default_factory=dict)

    def example(self) -> ClaimExample:
        return ClaimExample(
            text=self.text,
            engagement=self.engagement or None,
            timestamp=self.timestamp,
            group=self.user,
        )


@dataclass
class LoadReport:
    rows: int = 0
    repaired: int = 0
    skipped: int = 0


def default_reintel_path() -> Path:
    """``$MISINFO_SHARED_DATA/reintel/train.csv``, else ``../shared/data/...`` beside the repo."""
    if env := os.environ.get("MISINFO_SHARED_DATA"):
        return Path(env) / DEFAULT_REINTEL_RELATIVE
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / DEFAULT_REINTEL_RELATIVE


def _number(value: str) -> float | None:
    return float(value) if value and _NUMBER.match(value) else None


def _count(value: str | None) -> int | None:
    number = _number(value or "")
    return int(number) if number is not None and number >= 0 else None


def _engagement(counts: list[str | None]) -> dict[str, int]:
    result: dict[str, int] = {}
    for name, raw in zip(_COUNT_COLUMNS, counts, strict=False):
        value = _count(raw)
        if value is not None:
            result[name] = value
    return result


def _parse_reintel_row(row: list[str], report: LoadReport) -> LabelledPost | None:
    if len(row) < 4 or row[-1].strip() not in {"0", "1"}:
        report.skipped += 1
        return None
    post_id, user, label = row[0], row[1], int(row[-1])
    middle = row[2:-1]  # message, then timestamp and counts
    timestamp_at = 1
    if len(middle) != 5 or (middle[1].strip() and _number(middle[1]) is None):
        candidates = [
            i
            for i in range(1, len(middle))
            if (value := _number(middle[i])) is not None and value >= _MIN_TIMESTAMP
        ]
        if not candidates:
            report.skipped += 1
            return None
        timestamp_at = candidates[0]
        report.repaired += 1
    text = ",".join(middle[:timestamp_at])
    timestamp = _number(middle[timestamp_at])
    counts = middle[timestamp_at + 1 : timestamp_at + 4]
    return LabelledPost(post_id, user, text, label, timestamp, _engagement(counts))


def read_reintel_csv(path: Path) -> tuple[list[LabelledPost], LoadReport]:
    """Read ReINTEL-format rows, repairing spilled messages; see the module docstring."""
    report = LoadReport()
    posts: list[LabelledPost] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return posts, report
        for row in reader:
            if not row:
                continue
            report.rows += 1
            post = _parse_reintel_row(row, report)
            if post is not None:
                posts.append(post)
    return posts, report


def _from_mapping(record: dict, index: int) -> LabelledPost | None:
    text = record.get("text") or record.get("post_message") or ""
    title = record.get("title") or ""
    label = str(record.get("label", "")).strip()
    if label not in {"0", "1"} or not (text or title):
        return None
    engagement_raw = record.get("engagement")
    if isinstance(engagement_raw, dict):
        engagement = _engagement([str(engagement_raw.get(k, "")) for k in _COUNT_COLUMNS])
    else:
        engagement = _engagement([record.get(k) for k in _REINTEL_COUNT_NAMES])
    timestamp = _number(str(record.get("timestamp_post") or record.get("timestamp") or ""))
    full_text = f"{title}\n{text}".strip() if title else text
    return LabelledPost(
        str(record.get("id", index)),
        str(record.get("user_name") or record.get("user") or ""),
        full_text,
        int(label),
        timestamp,
        engagement,
    )


def read_labelled_posts(path: Path) -> tuple[list[LabelledPost], LoadReport]:
    """Read a labelled CSV (ReINTEL columns, or ``text,label``) or JSONL (``text``, ``label``)."""
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        report = LoadReport()
        posts: list[LabelledPost] = []
        with path.open(encoding="utf-8") as handle:
            for index, line in enumerate(handle):
                if not line.strip():
                    continue
                report.rows += 1
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    report.skipped += 1
                    continue
                post = _from_mapping(record, index) if isinstance(record, dict) else None
                if post is None:
                    report.skipped += 1
                else:
                    posts.append(post)
        return posts, report
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    if header and header[0] == "id" and "post_message" in header:
        return read_reintel_csv(path)
    report = LoadReport()
    posts = []
    with path.open(encoding="utf-8", newline="") as handle:
        for index, record in enumerate(csv.DictReader(handle)):
            report.rows += 1
            post = _from_mapping(record, index)
            if post is None:
                report.skipped += 1
            else:
                posts.append(post)
    return posts, report
