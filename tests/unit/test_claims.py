"""Likely-false-claim scoring: known-claim matching, signals, the combined score."""

from __future__ import annotations

import json
import unicodedata

import pytest

from analysis.claim_model import ClaimExample, train_claim_classifier
from analysis.claims import (
    DEFAULT_CLAIM_THRESHOLD,
    ClaimResources,
    combine,
    score_claim,
)
from analysis.known_claims import KnownClaimIndex, text_units
from analysis.signals import detect_signals, signal_strength
from config import BUNDLED_DIR


@pytest.fixture(scope="module")
def index() -> KnownClaimIndex:
    lines = (BUNDLED_DIR / "known_false_claims.jsonl").read_text(encoding="utf-8").splitlines()
    return KnownClaimIndex.from_records(json.loads(line) for line in lines if line.strip())


@pytest.fixture(scope="module")
def resources(index: KnownClaimIndex) -> ClaimResources:
    return ClaimResources(known_claims=index)


@pytest.mark.parametrize(
    ("text", "claim_id"),
    [
        ("Mọi người ơi, uống nước muối ấm giúp chữa khỏi cô vít đấy!", "salt-water-gargle"),
        ("uong nuoc muoi am giup chua khoi co vit", "salt-water-gargle"),
        ("Ăn vài tép tỏi sống mỗi sáng là không bao giờ nhiễm corona.", "garlic-prevents"),
        (
            "Đêm nay trực thăng sẽ rải thuốc khử trùng, nhà nào cũng phải đóng cửa.",
            "helicopter-spraying",
        ),
        ("Tiêm vaccine covid xong là bị vô sinh đó mấy chị ơi", "vaccine-infertility"),
        ("Sóng 5G chính là thủ phạm phát tán virus corona!", "5g-spreads-virus"),
        ("Bệnh viện đang giấu hàng trăm ca F0 mà không công bố.", "hidden-f0"),
        ("Hãy hít sâu rồi nín thở 10 giây, nếu không ho là không nhiễm virus.", "breath-hold-test"),
    ],
)
def test_paraphrased_known_claims_match_with_evidence(resources, text, claim_id):
    result = score_claim(text=text, resources=resources)
    assert result.matches, text
    best = result.matches[0]
    assert best.claim.id == claim_id
    assert best.similarity >= 0.5
    assert best.evidence and best.evidence in text
    assert result.flag  # a strong match flags on its own
    as_dict = result.to_dict()["matches"][0]
    assert {"claim", "similarity", "verdict", "source", "date"} <= set(as_dict)
    assert as_dict["verdict"] in {"false", "misleading"}


@pytest.mark.parametrize(
    "text",
    [
        "Bộ Y tế khuyến cáo rửa tay bằng xà phòng thường xuyên để phòng dịch.",
        "Bộ Y tế khuyến cáo người dân đeo khẩu trang khi ra đường.",
        "Ăn tỏi mỗi ngày tốt cho tim mạch, theo các chuyên gia dinh dưỡng.",
        "Hôm nay trời nắng nóng, nhiệt độ lên tới 38 độ C ở Hà Nội.",
        "Công ty ra mắt điện thoại hỗ trợ mạng 5G tại Việt Nam.",
        "Hơn 1 triệu liều vắc xin Covid-19 đã được tiêm tại TP.HCM trong tuần qua.",
        "Giá vàng hôm nay tăng mạnh.",
    ],
)
def test_unrelated_or_sound_health_advice_does_not_match(resources, text):
    result = score_claim(text=text, resources=resources)
    assert result.matches == []
    assert not result.flag


def test_refuting_sentence_is_not_matched_as_spreading(resources):
    text = "Tin giả: súc miệng bằng nước muối không chữa được Covid-19, Bộ Y tế khẳng định."
    assert score_claim(text=text, resources=resources).matches == []


def test_title_is_matched_too(resources):
    result = score_claim(
        title="Uống nước chanh ấm diệt virus corona",
        text="Bài viết chia sẻ kinh nghiệm.",
        resources=resources,
    )
    assert result.matches[0].claim.id == "lemon-alkaline"
    assert result.matches[0].evidence == "Uống nước chanh ấm diệt virus corona"


def test_tokens_are_used_when_given(resources):
    text = "Uống nước muối ấm giúp chữa khỏi cô vít."
    tokens = ["Uống", "nước_muối", "ấm", "giúp", "chữa", "khỏi", "cô", "vít", "."]
    units = text_units(text, "", tokens)
    assert "nước_muối" in units[0].terms
    with_tokens = score_claim(text=text, resources=resources, tokens=tokens)
    assert with_tokens.matches[0].claim.id == "salt-water-gargle"


@pytest.mark.parametrize(
    ("text", "name", "evidence"),
    [
        ("KHẨN CẤP: virus mới xuất hiện", "sensational", "KHẨN CẤP"),
        ("khan cap: virus moi xuat hien", "sensational", "khan cap"),
        ("Sốc với clip này", "sensational", "Sốc"),
        ("Đọc xong nhớ chia sẻ ngay cho mọi người", "share_call", "chia sẻ ngay"),
        ("doc xong nho share gap nhe", "share_call", "share gap"),
        ("Hãy lan tỏa thông tin này", "share_call", "Hãy lan tỏa"),
        ("Một bác sĩ giấu tên cho biết", "unnamed_source", "bác sĩ giấu tên"),
        ("theo nguon tin mat thi", "unnamed_source", "nguon tin mat"),
        ("Người trong ngành cho biết sự việc", "unnamed_source", "Người trong ngành cho biết"),
        ("Bài thuốc này chữa khỏi 100% bệnh", "miracle_cure", "chữa khỏi 100%"),
        ("day la than duoc, khong can di vien", "miracle_cure", "than duoc"),
        ("Thật không thể tin được!!!", "excessive_punctuation", "!!!"),
        ("Có thật không???", "excessive_punctuation", "???"),
    ],
)
def test_signals_with_and_without_diacritics(text, name, evidence):
    signals = detect_signals(text)
    assert any(s.name == name and s.evidence == evidence for s in signals), signals


@pytest.mark.parametrize(
    "text",
    [
        "Tắm nước nóng giúp thư giãn sau giờ làm.",  # "nóng" as temperature
        "Bệnh nhân bị sốc phản vệ đã được cấp cứu kịp thời.",  # medical term
        "Ngành nông nghiệp tăng trưởng 3% trong quý.",  # folded "nong" is not "nóng"
        "Bộ Y tế khuyến cáo rửa tay bằng xà phòng.",
    ],
)
def test_no_signal_in_plain_text(text):
    assert detect_signals(text) == []


def test_excessive_caps_needs_enough_letters():
    assert detect_signals("CHÚ Ý") == []
    shouting = "CẢNH BÁO CHO NHỮNG AI ĐANG SỬ DỤNG ĐIỆN THOẠI VÀO BAN ĐÊM NHÉ MỌI NGƯỜI"
    caps = [s for s in detect_signals(shouting) if s.name == "excessive_caps"]
    assert caps and "capitals" in caps[0].evidence


def test_signal_strength_is_bounded_and_counts_kinds_once():
    many = detect_signals("khẩn cấp khẩn cấp!!! chia sẻ ngay, thần dược, bác sĩ giấu tên")
    assert 0.8 < signal_strength(many) < 1.0
    assert signal_strength([]) == 0.0


def test_signals_alone_never_flag(resources):
    text = "KHẨN CẤP!!! Hãy chia sẻ ngay. Một bác sĩ giấu tên nói đây là thần dược chữa khỏi 100%"
    result = score_claim(text=text, resources=resources)
    assert result.signals
    assert 0.0 < result.score < DEFAULT_CLAIM_THRESHOLD
    assert not result.flag


@pytest.mark.parametrize(
    ("match", "classifier", "signals"),
    [(0, None, 0), (1, 1, 1), (0.3, 0.2, 0.5), (0, 1, 1), (1, None, 0), (0.0, 0.0, 1.0)],
)
def test_combined_score_is_bounded_and_monotone(match, classifier, signals):
    score = combine(match, classifier, signals)
    assert 0.0 <= score <= 1.0
    assert combine(min(1.0, match + 0.1), classifier, signals) >= score


def test_empty_text_and_no_resources():
    result = score_claim(text="", resources=None)
    assert result.to_dict() == {
        "score": 0.0,
        "flag": False,
        "matches": [],
        "signals": [],
        "classifier": None,
    }


@pytest.fixture(scope="module")
def tiny_classifier():
    unreliable = [
        f"KHẨN CẤP chia sẻ ngay: uống {herb} chữa khỏi virus {n}!!!"
        for n, herb in enumerate(["tỏi", "gừng", "chanh", "nước muối", "sả", "rượu"] * 4)
    ]
    reliable = [
        f"Sở Y tế thông báo lịch tiêm chủng tại phường {n}, người dân mang theo căn cước."
        for n in range(24)
    ]
    examples = [
        ClaimExample(text, {"likes": 5 + i, "shares": 40}) for i, text in enumerate(unreliable)
    ]
    examples += [
        ClaimExample(text, {"likes": 50 + i, "shares": 1}) for i, text in enumerate(reliable)
    ]
    return train_claim_classifier(examples, [1] * 24 + [0] * 24)


def test_classifier_probability_is_in_the_result(index, tiny_classifier):
    resources = ClaimResources(known_claims=index, classifier=tiny_classifier)
    bad = score_claim(
        text="KHẨN CẤP chia sẻ ngay: uống gừng chữa khỏi virus!!!", resources=resources
    )
    good = score_claim(text="Sở Y tế thông báo lịch tiêm chủng tại phường 3.", resources=resources)
    assert bad.classifier is not None and good.classifier is not None
    assert 0.0 <= good.classifier < bad.classifier <= 1.0
    assert bad.score > good.score


def test_missing_engagement_is_neutral(tiny_classifier):
    resources = ClaimResources(classifier=tiny_classifier)
    text = "Sở Y tế thông báo lịch tiêm chủng tại phường 3."
    without = score_claim(text=text, resources=resources, engagement=None)
    empty = score_claim(text=text, resources=resources, engagement={})
    partial = score_claim(text=text, resources=resources, engagement={"likes": 10})
    assert without.classifier == empty.classifier
    for result in (without, empty, partial):
        assert 0.0 <= result.score <= 1.0


def _varied_examples() -> list[ClaimExample]:
    """~50 posts that exercise every feature: engagement present, partial or missing,
    posting times, URLs, capitals, "!", hashtags, text without diacritics, decomposed
    Unicode, unseen words and other scripts."""
    texts = [
        "KHẨN CẤP chia sẻ ngay: uống gừng chữa khỏi virus!!!",
        "Sở Y tế thông báo lịch tiêm chủng tại phường 3.",
        "uong nuoc muoi am chua khoi co vit, share gap cho moi nguoi",
        "Xem chi tiết tại https://example.vn/tin-tuc?id=12 và www.bocongan.gov.vn #covid #tingia",
        unicodedata.normalize("NFD", "Hà Nội ghi nhận thêm 12 ca mắc mới trong cộng đồng"),
        "THỦ TƯỚNG YÊU CẦU PHONG TỎA TOÀN QUỐC TỪ 0H NGÀY MAI???",
        "The outbreak is spreading fast and the hospitals are full",
        "新型冠状病毒肺炎疫情 ✅ 🙏",
        "a",
        "Bệnh viện Bạch Mai tạm dừng tiếp nhận bệnh nhân, người nhà làm trong bệnh viện cho biết",
    ]
    engagements = [None, {}, {"likes": 3}, {"likes": 120, "comments": 4, "shares": 900}]
    timestamps = [None, 1_584_000_000.0, 1_600_000_000.0 + 3600 * 13]
    examples = []
    for index, text in enumerate(texts):
        for variant in range(5):
            engagement = engagements[(index + variant) % len(engagements)]
            timestamp = timestamps[(index * 5 + variant) % len(timestamps)]
            body = text if variant < 3 else f"{text} {text.upper()} !!"
            examples.append(ClaimExample(body, engagement, timestamp))
    return examples


def test_classifier_batch_equals_one_post_at_a_time(tiny_classifier):
    examples = _varied_examples()
    batch = tiny_classifier.predict_proba(examples)
    assert len(examples) == 50
    assert ((batch >= 0) & (batch <= 1)).all()
    one = [tiny_classifier.predict_one(example) for example in examples]
    assert one == pytest.approx(list(batch), abs=1e-12, rel=0)


def test_classifier_uses_given_tokens_like_its_own_segmentation(tiny_classifier):
    from dataclasses import replace

    from analysis.claim_features import with_tokens

    examples = _varied_examples()
    segmented = with_tokens(examples)
    assert all(e.tokens is not None for e in segmented)
    assert tiny_classifier.predict_proba(segmented) == pytest.approx(
        tiny_classifier.predict_proba(examples), abs=1e-12, rel=0
    )
    # different words give a different text view: the tokens are really read
    other = [replace(e, tokens=("khẩn_cấp", "chia_sẻ", "ngay")) for e in segmented[:5]]
    assert (
        tiny_classifier.predict_proba(other).tolist()
        != tiny_classifier.predict_proba(segmented[:5]).tolist()
    )


def test_classifier_reads_no_private_library_attributes():
    """The model runs through scikit-learn's public API only (robust to upgrades)."""
    import inspect
    import re

    from analysis import calibration, claim_features, claim_model, claim_training, claim_views

    for module in (claim_model, claim_features, calibration, claim_training, claim_views):
        source = inspect.getsource(module)
        assert not re.findall(r"\w\._[a-z]\w*", source), module.__name__


def test_claim_post_with_title_and_tokens_scores_as_without_tokens(index, tiny_classifier):
    from analysis.text import normalize_text, segment_words

    resources = ClaimResources(known_claims=index, classifier=tiny_classifier)
    title, text = "Tin khẩn", "KHẨN CẤP chia sẻ ngay: uống gừng chữa khỏi virus!!!"
    tokens = segment_words(normalize_text(text))
    with_tokens = score_claim(title=title, text=text, tokens=tokens, resources=resources)
    without = score_claim(title=title, text=text, resources=resources)
    assert with_tokens.classifier == pytest.approx(without.classifier, abs=1e-12)


def test_token_alignment_survives_tokenizer_splits():
    text = "Khu đất rộng 65ha. Uống nước muối ấm giúp chữa khỏi cô vít."
    tokens = ["Khu", "đất", "rộng", "65", "ha", ".", "Uống", "nước_muối", "ấm", "giúp"]
    tokens += ["chữa", "khỏi", "cô", "vít", "."]
    units = text_units(text, "", tokens)
    assert units[1].text.startswith("Uống") and "nước_muối" in units[1].terms
    assert not any("_" in term for term in units[0].terms)


def test_exact_case_signal_patterns_find_what_case_insensitive_ones_find(monkeypatch):
    from analysis import signals as signals_module
    from analysis.text import fold_diacritics

    texts = []
    for phrases in signals_module._PHRASES.values():
        for phrase in phrases:
            for variant in (phrase.upper(), phrase.title(), fold_diacritics(phrase).upper()):
                texts.append(f"Tin này: {variant} nhé, ĐỌC KỸ TRƯỚC KHI CHIA SẺ")
    texts += ["CHIA ſẺ NGAY", "chıa sẻ ngay", "TİN SỐC", "tin ẛoc nong hoi", "KHẨN CẤP!!! Chia sẻ"]
    fast = [signals_module.detect_signals(text) for text in texts]
    monkeypatch.setattr(signals_module, "_ACCENTED_EXACT", signals_module._ACCENTED)
    monkeypatch.setattr(signals_module, "_FOLDED_EXACT", signals_module._FOLDED)
    assert [signals_module.detect_signals(text) for text in texts] == fast
    assert sum(1 for found in fast if found) > len(texts) // 2


def test_without_a_match_the_score_is_the_calibrated_probability(index, tiny_classifier):
    """``claim_threshold`` then reads as a probability: signals are evidence, not extra score."""
    resources = ClaimResources(known_claims=index, classifier=tiny_classifier)
    for text in (
        "KHẨN CẤP chia sẻ ngay: uống gừng chữa khỏi virus!!!",
        "Sở Y tế thông báo lịch tiêm chủng tại phường 3.",
    ):
        result = score_claim(text=text, resources=resources)
        assert not result.matches
        assert result.score == pytest.approx(result.classifier)
    assert combine(0.6, 0.5, 1.0) == pytest.approx(1 - 0.4 * 0.5)
    assert combine(0.0, None, 1.0) == pytest.approx(0.35)  # signals count only without a model


def test_cached_character_view_is_checked_against_scikit_learn(tiny_classifier, monkeypatch):
    """The fast character view is used only while it gives the library's own probabilities."""
    import copy

    from analysis.claim_views import CharView

    examples = _varied_examples()
    model = copy.deepcopy(tiny_classifier)
    model.__dict__.pop("_chars", None)
    reference = model.proba_with(examples, False, None)
    # float32 TF-IDF rounding apart, the same numbers (the check allows 1e-6)
    assert model.predict_proba(examples) == pytest.approx(reference, abs=1e-6, rel=0)
    assert isinstance(model.__dict__["_chars"], CharView)  # checked and kept

    broken = copy.deepcopy(tiny_classifier)
    broken.__dict__.pop("_chars", None)
    real = CharView.transform
    monkeypatch.setattr(CharView, "transform", lambda self, texts: real(self, texts) * 2)
    with pytest.warns(RuntimeWarning, match="differs from scikit-learn"):
        scores = broken.predict_proba(examples)
    assert broken.__dict__["_chars"] is None  # the library's path from now on
    assert scores == pytest.approx(reference, abs=1e-12, rel=0)
