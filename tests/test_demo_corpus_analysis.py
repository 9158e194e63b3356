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
from crawler.resources import load_analysis_resources

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


def test_rumours_score_higher_than_covid_news(analysed):
    rumours = [r["claim"]["score"] for a, r in analysed if a["topic"] == "covid_rumour"]
    news = [r["claim"]["score"] for a, r in analysed if a["topic"] == "covid"]
    assert (
        min(rumours) > max(news) - 0.05 or sum(rumours) / len(rumours) > sum(news) / len(news) + 0.2
    )
    assert all(r["claim"]["flag"] for a, r in analysed if a["topic"] == "covid_rumour")
