"""The analyse() entry point and the public names of the analysis package."""

from __future__ import annotations

import pytest

import analysis
from analysis.analyse import AnalysisResources, PostInput, Thresholds, analyse
from crawler.app import App
from crawler.resources.analysis import load_analysis_resources


@pytest.fixture(scope="module")
def resources() -> AnalysisResources:
    return load_analysis_resources(App(config_dir=None))


def test_exported_members() -> None:
    """Like httpx's test: __all__ lists exactly the public names the package exposes."""
    exported = set(analysis.__all__)
    public = {
        name
        for name, value in vars(analysis).items()
        if not name.startswith("_") and not isinstance(value, type(analysis))
    }
    assert exported == public
    assert len(exported) == len(analysis.__all__)  # no duplicates
    for name in exported:
        assert hasattr(analysis, name)


def test_covid_post_full_shape(resources: AnalysisResources) -> None:
    post = PostInput(
        title="Hà Nội thêm 5 ca Covid-19",
        text="Bộ Y tế cho biết Hà Nội ghi nhận thêm 5 ca mắc Covid-19. Các F1 đã được cách ly tập trung.",
        engagement={"likes": 10, "comments": 2, "shares": 1},
        published_at="2021-04-30T20:00:00",
    )
    out = analyse(post, resources).to_dict()
    assert set(out) == {"lang", "entities", "covid", "claim", "segmented"}
    assert out["lang"] == "vi"
    assert {"text": "Hà Nội", "type": "LOC"} in out["entities"]
    assert out["covid"]["flag"] is True
    assert "Covid-19" in out["covid"]["terms"]
    assert {"score", "flag", "matches", "signals"} <= set(out["claim"])
    assert "Hà_Nội" in out["segmented"].split()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The Covid-19 outbreak is spreading fast and the hospitals are full", "en"),
        ("ok", "unknown"),
    ],
)
def test_non_vietnamese_is_marked_not_scored(
    text: str, lang: str, resources: AnalysisResources
) -> None:
    out = analyse(PostInput(text=text), resources).to_dict()
    assert out["lang"] == lang
    assert out["covid"] == {"score": 0.0, "flag": False, "terms": [], "reason": f"language:{lang}"}
    assert out["claim"]["flag"] is False and out["claim"]["reason"] == f"language:{lang}"
    assert out["entities"] == []


def test_input_is_normalised_before_analysis(resources: AnalysisResources) -> None:
    import unicodedata

    decomposed = unicodedata.normalize(
        "NFD", "Thuỷ điện Hoà Bình xả lũ, người dân cần chú ý an toàn"
    )
    out = analyse(PostInput(text=decomposed), resources).to_dict()
    assert "Hòa_Bình" in out["segmented"] or "Hòa" in out["segmented"]
    assert unicodedata.is_normalized("NFC", out["segmented"])


def test_thresholds_decide_the_flag(resources: AnalysisResources) -> None:
    post = PostInput(text="Dịch cô vít đang lan ở Hà Nội, mọi người đeo khẩu trang nha")
    assert analyse(post, resources).covid["flag"] is True
    strict = analyse(post, resources, thresholds=Thresholds(covid=0.9999))
    assert strict.covid["flag"] is False
    assert strict.covid["score"] == analyse(post, resources).covid["score"]


def test_empty_text(resources: AnalysisResources) -> None:
    out = analyse(PostInput(text=""), resources).to_dict()
    assert out["lang"] == "unknown" and out["segmented"] == ""


def test_a_batch_gives_each_post_its_own_analysis(resources: AnalysisResources) -> None:
    from analysis.analyse import analyse_batch

    posts = [
        PostInput(
            title="Hà Nội thêm 5 ca Covid-19",
            text="Bộ Y tế cho biết Hà Nội ghi nhận thêm 5 ca mắc Covid-19.",
            engagement={"likes": 10, "shares": 1},
            published_at="2021-04-30T20:00:00",
        ),
        PostInput(text="The Covid-19 outbreak is spreading fast and the hospitals are full"),
        PostInput(text=""),
        PostInput(text="KHẨN CẤP chia sẻ ngay: uống nước chanh nóng diệt virus corona!!!"),
        PostInput(text="Dịch cô vít đang lan ở Hà Nội, mọi người đeo khẩu trang nha"),
        PostInput(
            text="Ông Putin ca ngợi những thành tựu vĩ đại của Liên Xô", title="Tin thế giới"
        ),
    ]
    batch = [a.to_dict() for a in analyse_batch(posts, resources)]
    assert batch == [analyse(post, resources).to_dict() for post in posts]
    assert batch[::-1] == [a.to_dict() for a in analyse_batch(posts[::-1], resources)]
    assert [a["lang"] for a in batch] == ["vi", "en", "unknown", "vi", "vi", "vi"]
    assert analyse_batch([], resources) == []
