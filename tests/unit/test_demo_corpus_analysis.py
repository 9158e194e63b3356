"""The detectors on the demo sites' hand-labelled articles (``topic`` in the content files).

The demo corpus is original text written for these sites, never seen in training, with one
topic per article: a check of what an analyst sees first when running ``misinfo demo``.
"""

from __future__ import annotations

import json

import pytest

from analysis.analyse import PostInput, analyse
from crawler.app import App
from crawler.demosite import CONTENT_DIR
from crawler.resources.analysis import load_analysis_resources

COVID_TOPICS = {"covid", "covid_rumour"}
NOT_COVID = {"dengue", "measles", "swine_fever", "passing_covid", "other"}


@pytest.fixture(scope="module")
def analysed() -> list[tuple[dict, dict]]:
    resources = load_analysis_resources(App())
    results = []
    for name in ("songhong", "tonghop24", "doisongxanh"):
        for line in (CONTENT_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            article = json.loads(line)
            post = PostInput(text="\n".join(article["body"]), title=article["title"])
            results.append((article, analyse(post, resources).to_dict()))
    return results


def test_no_covid_flag_on_other_diseases_or_passing_mentions(analysed):
    wrong = [
        (article["topic"], article["title"], result["covid"]["terms"])
        for article, result in analysed
        if article["topic"] in NOT_COVID and result["covid"]["flag"]
    ]
    assert not wrong


def test_covid_articles_are_flagged_with_their_terms(analysed):
    covid = [(article, result) for article, result in analysed if article["topic"] in COVID_TOPICS]
    assert len(covid) >= 15
    missed = [article["title"] for article, result in covid if not result["covid"]["flag"]]
    assert not missed
    assert all(result["covid"]["terms"] for _, result in covid)


def test_claim_flags_carry_evidence_and_single_out_the_rumours(analysed):
    flagged = [(a, r) for a, r in analysed if r["claim"]["flag"]]
    assert all(r["claim"]["matches"] or r["claim"]["signals"] for _, r in flagged)
    wrong = [a["title"] for a, _ in flagged if a["topic"] != "covid_rumour"]
    assert not wrong, "news reporting on rumours, or honest articles, flagged as false claims"
    missed = [
        a["title"] for a, r in analysed if a["topic"] == "covid_rumour" and not r["claim"]["flag"]
    ]
    assert not missed


def test_paraphrased_known_claims_on_the_social_page_are_matched():
    resources = load_analysis_resources(App())
    posts = [
        json.loads(line)
        for line in (CONTENT_DIR / "social.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    matched = {}
    for post in posts:
        result = analyse(PostInput(text=post["text"]), resources).to_dict()
        for match in result["claim"]["matches"]:
            matched.setdefault(match["id"], []).append(post["id"])
    # The two paraphrases written for the demo: salt water cures, vaccines cause infertility.
    assert "salt-water-gargle" in matched and "vaccine-infertility" in matched
    rumours = {post["id"] for post in posts if post["topic"] == "covid_rumour"}
    assert {pid for ids in matched.values() for pid in ids} <= rumours
