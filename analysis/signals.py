"""Rule-based wording signals of likely-false posts, each with the text that triggered it.

Patterns are written in Vietnamese with diacritics. Each is matched twice: on the lower-cased
text as written, and in folded form (no diacritics) on the folded text, because rumours are
often typed without accents ("chia se ngay"). Short words that become ambiguous once folded
("sốc" / "sóc", "nóng" / "nông") are only matched with their diacritics or in a folded
context that keeps them unambiguous ("tin nong", "cuc soc").

Folding keeps one character per character for NFC Vietnamese text, so a match found on the
folded text is reported with the original spelling.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from analysis.text import fold_diacritics, letter_counts

__all__ = [
    "DEFAULT_CAPS_MIN_LETTERS",
    "DEFAULT_CAPS_RATIO",
    "DEFAULT_SIGNAL_WEIGHTS",
    "Signal",
    "detect_signals",
    "signal_strength",
]

DEFAULT_CAPS_RATIO = 0.6
DEFAULT_CAPS_MIN_LETTERS = 30
DEFAULT_MAX_EVIDENCE_CHARS = 120
#: How much each kind of signal adds to :func:`signal_strength` (one count per kind).
DEFAULT_SIGNAL_WEIGHTS = {
    "miracle_cure": 0.8,
    "unnamed_source": 0.6,
    "share_call": 0.5,
    "sensational": 0.4,
    "excessive_caps": 0.3,
    "excessive_punctuation": 0.3,
}


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    evidence: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "evidence": self.evidence}


# Phrases matched with and without diacritics ("\s+" between words, word boundaries around).
_PHRASES: dict[str, tuple[str, ...]] = {
    "sensational": (
        "khẩn cấp",
        "cực kỳ nguy hiểm",
        "cực kì nguy hiểm",
        "kinh hoàng",
        "rùng mình",
        "chấn động",
        "cảnh báo khẩn",
        "tin mật",
        "sự thật kinh hoàng",
        "không thể tin nổi",
        "báo động đỏ",
        "đọc ngay",
        "gấp gấp",
    ),
    "share_call": (
        "chia sẻ ngay",
        "share ngay",
        "share gấp",
        "chia sẻ gấp",
        "hãy lan tỏa",
        "hãy chia sẻ",
        "lan tỏa ngay",
        "chia sẻ rộng rãi",
        "chia sẻ cho mọi người",
        "share cho mọi người",
        "chia sẻ cho người thân",
        "share cho người thân",
        "đọc xong hãy share",
        "đọc được thì share",
        "copy và chia sẻ",
        "tiếp tay chia sẻ",
        "chia sẻ để mọi người cùng biết",
    ),
    "unnamed_source": (
        "bác sĩ giấu tên",
        "nguồn tin mật",
        "người trong ngành cho biết",
        "người trong ngành tiết lộ",
        "theo nguồn tin riêng",
        "một nguồn tin giấu tên",
        "xin giấu tên",
        "đề nghị giấu tên",
        "người nhà làm trong bệnh viện",
        "bạn tôi làm ở bệnh viện",
        "bạn mình làm ở bệnh viện",
        "người quen làm ở bệnh viện",
        "nghe nói",
        "tin nội bộ",
        "nguồn tin nội bộ",
    ),
    "miracle_cure": (
        "chữa khỏi 100%",
        "khỏi 100%",
        "hiệu quả 100%",
        "thần dược",
        "bài thuốc dân gian",
        "không cần đi viện",
        "không cần đến bệnh viện",
        "không cần dùng thuốc",
        "khỏi hoàn toàn",
        "đặc trị",
        "bách bệnh",
        "chữa bách bệnh",
        "thuốc tiên",
        "khỏi ngay lập tức",
        "tiêu diệt virus",
        "diệt sạch virus",
    ),
}

# Ambiguous once folded ("sốc"/"sóc", "nóng"/"nông"), and "sốc phản vệ" is a medical term:
# matched only as written (lower-cased, with diacritics) or folded in a disambiguating context.
_ACCENTED_EXTRA = {
    "sensational": re.compile(
        r"(?<!\w)(?:cực sốc|sốc(?!\s+(?:phản\s+vệ|nhiễm|nhiệt|tim|thuốc))|tin nóng|nóng hổi)(?!\w)"
        r"|(?<!\w)nóng\s*[:!]|\[\s*nóng\s*\]"
    ),
}
_FOLDED_EXTRA = {
    "sensational": re.compile(r"(?<!\w)(?:tin nong|cuc soc|qua soc|tin soc|nong hoi)(?!\w)"),
}


def _phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str]:
    parts = [re.escape(p).replace(r"\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True)]
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)", re.IGNORECASE)


_ACCENTED = {name: _phrase_regex(phrases) for name, phrases in _PHRASES.items()}
_FOLDED = {
    name: _phrase_regex(tuple(fold_diacritics(p) for p in phrases))
    for name, phrases in _PHRASES.items()
}
#: The same patterns without ``re.IGNORECASE``, for haystacks free of :data:`_CASE_EXCEPTIONS`:
#: the phrases are lower-case and both haystacks are lower-cased, so only those characters
#: could match a letter case-insensitively and not exactly (twice as fast to scan).
_ACCENTED_EXACT = {name: re.compile(pattern.pattern) for name, pattern in _ACCENTED.items()}
_FOLDED_EXACT = {name: re.compile(pattern.pattern) for name, pattern in _FOLDED.items()}
_PUNCTUATION = re.compile(r"[!?]{3,}|(?:[!?]\s*){4,}")


def _evidence(text: str, start: int, end: int) -> str:
    return text[start:end][:DEFAULT_MAX_EVIDENCE_CHARS].strip()


_RUN = re.compile(r"\w+")
#: Characters that ``re.IGNORECASE`` matches to a letter of the phrases although their
#: ``str.lower()`` is not that letter (found by scanning every code point against every
#: letter of :data:`_PHRASES` in both spellings): texts with them skip the pre-check.
_CASE_EXCEPTIONS = frozenset("İıſ")


def _runs(phrase: str) -> frozenset[str]:
    return frozenset(_RUN.findall(phrase))


#: Per kind, the word runs of each phrase as written and folded. Every run of a phrase is a
#: whole word run of the text where it matches (the phrase is bounded by ``(?<!\w)``,
#: ``(?!\w)`` and whitespace), so a kind none of whose phrases has all its runs among the
#: text's cannot match and its case-insensitive scans are skipped.
_ACCENTED_RUNS = {name: [_runs(p) for p in phrases] for name, phrases in _PHRASES.items()}
_FOLDED_RUNS = {
    name: [_runs(fold_diacritics(p)) for p in phrases] for name, phrases in _PHRASES.items()
}
#: A literal every match of the extra patterns contains.
_ACCENTED_EXTRA_LITERALS = {"sensational": ("sốc", "nóng")}
_FOLDED_EXTRA_LITERALS = {"sensational": ("nong", "soc")}


def _has_case_exception(text: str) -> bool:
    # one substring search per character, not a set look-up per character of the text
    return any(char in text for char in _CASE_EXCEPTIONS)


def _may_match(runs: list[frozenset[str]], words: set[str] | None) -> bool:
    return words is None or any(phrase <= words for phrase in runs)


def _phrase_signals(text: str, folded: str, aligned: bool) -> list[Signal]:
    lowered = text.lower()
    lowered_words: set[str] | None = None
    folded_words: set[str] | None = None
    accented, folded_patterns = _ACCENTED, _FOLDED
    if not _has_case_exception(text):
        lowered_words = set(_RUN.findall(lowered))
        folded_words = set(_RUN.findall(folded))  # folding lower-cases already
        if not (_has_case_exception(lowered) or _has_case_exception(folded)):
            accented, folded_patterns = _ACCENTED_EXACT, _FOLDED_EXACT
    found: list[Signal] = []
    for name in _PHRASES:
        patterns = []
        if _may_match(_ACCENTED_RUNS[name], lowered_words):
            patterns.append((accented[name], lowered))
        if _may_match(_FOLDED_RUNS[name], folded_words):
            patterns.append((folded_patterns[name], folded))
        if name in _ACCENTED_EXTRA and any(w in lowered for w in _ACCENTED_EXTRA_LITERALS[name]):
            patterns.append((_ACCENTED_EXTRA[name], lowered))
        if name in _FOLDED_EXTRA and any(w in folded for w in _FOLDED_EXTRA_LITERALS[name]):
            patterns.append((_FOLDED_EXTRA[name], folded))
        seen_spans: set[tuple[int, int]] = set()
        for pattern, haystack in patterns:
            for match in pattern.finditer(haystack):
                span = match.span()
                if span in seen_spans:
                    continue
                seen_spans.add(span)
                source = text if (haystack is lowered or aligned) else folded
                found.append(Signal(name, _evidence(source, *span)))
    return found


def _caps_signal(text: str) -> Signal | None:
    letters, upper = letter_counts(text)
    if letters < DEFAULT_CAPS_MIN_LETTERS:
        return None
    if upper / letters < DEFAULT_CAPS_RATIO:
        return None
    line = max((ln for ln in text.splitlines() if ln.strip()), key=_upper_count)
    evidence = f"{round(100 * upper / letters)}% capitals: {line.strip()}"
    return Signal("excessive_caps", evidence[:DEFAULT_MAX_EVIDENCE_CHARS])


def _upper_count(line: str) -> int:
    return sum(1 for ch in line if ch.isupper())


def detect_signals(text: str) -> list[Signal]:
    """Every wording signal in ``text`` (normalised), each with its matched text, in order.

    Repeated matches of the same phrase are reported once.
    """
    if not text.strip():
        return []
    folded = fold_diacritics(text)
    aligned = len(folded) == len(text)
    signals = _phrase_signals(text, folded, aligned)
    if caps := _caps_signal(text):
        signals.append(caps)
    # every match holds at least three "!" or "?": most posts have fewer and skip the scan
    if text.count("!") + text.count("?") >= 3:
        for match in _PUNCTUATION.finditer(text):
            signals.append(Signal("excessive_punctuation", match.group().strip()))
    unique: dict[tuple[str, str], Signal] = {}
    for signal in signals:
        unique.setdefault((signal.name, signal.evidence.lower()), signal)
    return list(unique.values())


def signal_strength(signals: list[Signal]) -> float:
    """``1 - exp(-sum of weights)`` over the distinct kinds present: in [0, 1)."""
    total = sum(DEFAULT_SIGNAL_WEIGHTS.get(name, 0.0) for name in {s.name for s in signals})
    return 1.0 - math.exp(-total)
