"""Known-claims file format, validation and the append line formatter."""

from __future__ import annotations

import json

import pytest

from analysis.known_claims import (
    KnownClaimError,
    KnownClaimIndex,
    append_known_claim,
    parse_known_claim,
)
from config import BUNDLED_DIR
from crawler.app import App, ConfigError
from crawler.resources.claims import load_claim_resources, load_known_claims

VALID = {
    "id": "tea-cures-covid",
    "claim": "Uống trà xanh nóng chữa khỏi Covid-19",
    "verdict": "false",
    "source": "Bộ Y tế",
    "date": "2021-08-15",
    "aliases": ["Trà xanh diệt virus corona"],
    "keywords": ["trà xanh|chè xanh", "chữa|diệt", "covid|corona|virus"],
}


def test_bundled_file_is_valid_and_seeded():
    records = load_known_claims(BUNDLED_DIR / "known_false_claims.jsonl")
    assert len(records) >= 25
    ids = [record.id for record in records]
    assert len(ids) == len(set(ids))
    for record in records:
        assert record.verdict in {"false", "misleading"}
        assert record.source and record.keywords and record.aliases
        assert record.source_url is None or record.source_url.startswith("https://")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Bad Id"}, "'id'"),
        ({"verdict": "true"}, "'verdict'"),
        ({"date": "15/08/2021"}, "'date'"),
        ({"date": "2021-02-30"}, "real date"),
        ({"claim": ""}, "'claim'"),
        ({"source": None}, "'source'"),
        ({"aliases": "one string"}, "'aliases'"),
        ({"keywords": ["ok", ""]}, "'keywords'"),
        ({"source_url": "ftp://example.invalid/x"}, "'source_url'"),
        ({"extra": 1}, "unknown field"),
    ],
)
def test_invalid_records_name_the_field(change, message):
    record = {**VALID, **change}
    with pytest.raises(KnownClaimError, match=message):
        parse_known_claim(record)


def test_text_is_normalised_to_nfc():
    decomposed = "Uo\u0302\u0301ng tra\u0300 xanh"  # "Uống trà xanh" in NFD
    claim = parse_known_claim({**VALID, "claim": decomposed})
    assert claim.claim == "Uống trà xanh"


def test_append_returns_one_valid_jsonl_line():
    line = append_known_claim(VALID, existing_ids=["salt-water-gargle"])
    assert line.endswith("\n") and line.count("\n") == 1
    record = json.loads(line)
    assert parse_known_claim(record).id == "tea-cures-covid"
    assert "trà xanh" in line  # written as UTF-8, not \\u escapes


def test_append_rejects_duplicate_ids():
    with pytest.raises(KnownClaimError, match="already"):
        append_known_claim(VALID, existing_ids=["tea-cures-covid"])


def test_index_rejects_duplicate_ids():
    with pytest.raises(KnownClaimError, match="duplicate"):
        KnownClaimIndex.from_records([VALID, VALID])


def test_appended_claim_is_matched_after_reload(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    bundled = (BUNDLED_DIR / "known_false_claims.jsonl").read_text(encoding="utf-8")
    ids = [json.loads(line)["id"] for line in bundled.splitlines() if line.strip()]
    (config_dir / "known_false_claims.jsonl").write_text(
        bundled + append_known_claim(VALID, ids), encoding="utf-8"
    )
    (config_dir / "settings.yaml").write_text(
        f"analysis:\n  claim_model: {tmp_path / 'none.joblib'}\n", encoding="utf-8"
    )
    app = App(config_dir=config_dir, data_dir=tmp_path / "data")
    index = KnownClaimIndex.from_records(
        load_known_claims(app.config_path("known_false_claims.jsonl"))
    )
    assert "tea-cures-covid" in index.ids
    from analysis.claims import ClaimResources, score_claim

    result = score_claim(
        text="Mẹo hay: uống chè xanh nóng là chữa khỏi corona.",
        resources=ClaimResources(known_claims=index),
    )
    assert result.matches[0].claim.id == "tea-cures-covid"
    # a configured model that does not exist is an error, not a silent fallback
    from crawler.resources.claims import ResourceError

    with pytest.raises(ResourceError, match="not found"):
        load_claim_resources(app)


def test_bad_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "known_false_claims.jsonl"
    path.write_text(json.dumps(VALID, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r":2: not valid JSON"):
        load_known_claims(path)
    path.write_text(json.dumps({**VALID, "verdict": "maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r":1: 'verdict'"):
        load_known_claims(path)


def test_duplicate_ids_across_files_are_a_config_error(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    line = json.dumps(VALID, ensure_ascii=False) + "\n"
    (config_dir / "known_false_claims.jsonl").write_text(line + line, encoding="utf-8")
    app = App(config_dir=config_dir, data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="duplicate id: tea-cures-covid"):
        load_claim_resources(app)


@pytest.mark.parametrize("min_similarity", [0.2, 0.35, 0.45, 0.6])
def test_prefilter_keeps_every_match_of_full_matching(min_similarity):
    """match_text's bounds only skip work: comparing every unit with every claim agrees."""
    from analysis.known_claims import text_units
    from analysis.text import normalize_text, segment_words

    index = KnownClaimIndex.from_records(
        load_known_claims(BUNDLED_DIR / "known_false_claims.jsonl")
    )
    texts = [f"Nghe nói {c.claim.lower()}. Mọi người chia sẻ nhé!" for c in index.claims[:8]]
    texts += [alias for c in index.claims[8:16] for alias in c.aliases[:1]]
    texts += [
        "Bộ Y tế khẳng định uống nước chanh không chữa được Covid-19, đây là tin giả.",
        "Hôm nay trời nắng, tôi đi chợ mua tỏi và gừng về nấu canh.",
        "uong nuoc muoi am moi sang de diet virus corona trong hong",
    ]
    found = 0
    for raw in texts:
        text = normalize_text(raw)
        tokens = segment_words(text)
        fast = index.match_text(text, "", tokens, min_similarity=min_similarity)
        units = text_units(text, "", tokens)
        full = index.match_units(units, min_similarity=min_similarity)
        assert [(m.claim.id, m.similarity) for m in fast] == [
            (m.claim.id, m.similarity) for m in full
        ]
        found += len(full)
    assert found >= len(texts) // 2  # the texts do match claims at these thresholds
