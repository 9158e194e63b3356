"""Covid detector: Covid vs other diseases, passing mentions, obfuscations, the labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from analysis.covid import (
    DEFAULT_COVID_MODEL,
    CovidLexicon,
    CovidModel,
    covid_features,
    detect_covid,
)
from analysis.covid_training import train_covid_model
from config import BUNDLED_DIR

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def lexicon() -> CovidLexicon:
    with (BUNDLED_DIR / "lexicons" / "covid.yaml").open(encoding="utf-8") as handle:
        return CovidLexicon.from_mapping(yaml.safe_load(handle))


@pytest.fixture(scope="module", params=["default", "trained"])
def model(request: pytest.FixtureRequest) -> CovidModel:
    if request.param == "default":
        return DEFAULT_COVID_MODEL
    data = json.loads((REPO / "analysis" / "models" / "covid_model.json").read_text("utf-8"))
    return CovidModel.from_mapping(data)


COVID_POSTS = [
    (
        "Hà Nội thêm 5 ca mắc Covid-19 trong cộng đồng",
        "Tối 30/4, Bộ Y tế ghi nhận thêm 5 ca mắc Covid-19 tại Hà Nội. Các trường hợp F1 "
        "đã được đưa đi cách ly tập trung và lấy mẫu xét nghiệm PCR. Người dân cần khai báo "
        "y tế và thực hiện nghiêm thông điệp 5K.",
    ),
    ("", "Dịch cô vít đang lan ở Hà Nội, mọi người đeo khẩu trang và hạn chế ra đường nha"),
    ("", "dich covid o ha noi dang lan rong, nhieu nguoi phai cach ly tap trung, F0 tang nhanh"),
    ("", "Biến chủng Omicron lây nhanh hơn Delta, Bộ Y tế khuyến cáo tiêm mũi tăng cường vắc xin."),
    ("", "Test nhanh kháng nguyên dương tính thì F0 có cần xét nghiệm PCR lại không?"),
]

OTHER_DISEASES = [
    # dengue
    "Số ca sốt xuất huyết tại Hà Nội tăng mạnh, dịch bệnh lan rộng ở nhiều quận. Người dân "
    "cần diệt bọ gậy, phát quang bụi rậm, ngủ màn để phòng muỗi vằn. Bệnh viện quá tải.",
    # measles
    "Dịch bệnh sởi bùng phát ở nhiều tỉnh phía Bắc, hàng trăm trẻ nhập viện. Bộ Y tế "
    "khuyến cáo cha mẹ đưa trẻ đi tiêm vắc xin sởi đầy đủ, cách ly trẻ mắc bệnh.",
    # African swine fever
    "Dịch tả lợn châu Phi xuất hiện tại 20 tỉnh thành, hàng nghìn con lợn bị tiêu hủy. "
    "Cơ quan thú y lập chốt kiểm dịch, phun khử khuẩn và phong tỏa ổ dịch.",
    # hand, foot and mouth disease and flu
    "Bệnh tay chân miệng và cúm mùa gia tăng ở trẻ nhỏ, các trường mầm non tăng cường "
    "khử khuẩn, phụ huynh cần cho trẻ rửa tay bằng xà phòng.",
]

PASSING_MENTION = (
    "Kinh tế phục hồi mạnh mẽ",
    "Năm nay xuất khẩu tăng 20% sau đại dịch Covid-19. Doanh nghiệp mở rộng sản xuất, thị "
    "trường chứng khoán lập đỉnh mới, ngân hàng tăng trưởng tín dụng hai con số. Bất động "
    "sản sôi động trở lại, nhiều dự án khu đô thị mới được phê duyệt. Du lịch nội địa "
    "khởi sắc, các hãng hàng không tăng chuyến. Giá vàng và tỷ giá ổn định, lạm phát được "
    "kiểm soát dưới 4%. Các chuyên gia dự báo tăng trưởng GDP cả năm đạt 6,5%, nhờ đầu tư "
    "công được đẩy mạnh và dòng vốn FDI vào các khu công nghiệp phía Bắc tăng mạnh.",
)


@pytest.mark.parametrize(("title", "text"), COVID_POSTS)
def test_covid_posts_are_flagged_with_terms(
    title: str, text: str, lexicon: CovidLexicon, model: CovidModel
) -> None:
    result = detect_covid(text, title, lexicon=lexicon, model=model)
    assert result.flag, (result.score, result.terms)
    assert result.terms and all(term in f"{title}\n{text}" for term in result.terms)


@pytest.mark.parametrize("text", OTHER_DISEASES)
def test_other_diseases_alone_are_not_flagged(
    text: str, lexicon: CovidLexicon, model: CovidModel
) -> None:
    result = detect_covid(text, lexicon=lexicon, model=model)
    assert not result.flag
    assert result.score == 0.0
    assert result.terms == []


def test_passing_mention_scores_below_threshold(lexicon: CovidLexicon, model: CovidModel) -> None:
    title, text = PASSING_MENTION
    result = detect_covid(text, title, lexicon=lexicon, model=model)
    assert result.score < model.threshold
    assert not result.flag
    # "sau đại dịch Covid-19" sets the time: the name is backdrop, not evidence
    features = covid_features(text, title, lexicon=lexicon)
    assert features.values["background"] > 0 and not features.eligible


def test_teencode_terms_are_quoted_as_written(lexicon: CovidLexicon) -> None:
    result = detect_covid("Dịch cô vít ở Hà Nội, c0vid lan nhanh quá", lexicon=lexicon)
    assert "cô vít" in result.terms
    assert "c0vid" in result.terms


def test_english_text_is_not_scored(lexicon: CovidLexicon) -> None:
    text = "The Covid-19 outbreak is spreading fast and the hospitals in the city are full"
    result = detect_covid(text, lexicon=lexicon)
    assert (result.score, result.flag, result.reason) == (0.0, False, "language:en")


def test_title_mention_weighs_more_than_body(lexicon: CovidLexicon) -> None:
    body = PASSING_MENTION[1]
    in_title = covid_features(body, "Covid-19 và kinh tế", lexicon=lexicon).values
    assert in_title["title"] == 1.0
    assert (
        detect_covid(body, "Covid-19 và kinh tế", lexicon=lexicon).score
        > detect_covid(body, "Kinh tế", lexicon=lexicon).score
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"specific": {"Covid": -1}}, "weight"),
        ({"specifc": {"Covid": 1}}, "unknown group"),
        ({"specific": {"!!!": 1}}, "no letters"),
        ([1, 2], "mapping"),
    ],
)
def test_lexicon_errors_name_the_problem(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CovidLexicon.from_mapping(data)  # type: ignore[arg-type]


def test_model_round_trip_and_errors() -> None:
    again = CovidModel.from_mapping(DEFAULT_COVID_MODEL.to_mapping())
    assert again.coefficients == DEFAULT_COVID_MODEL.coefficients
    with pytest.raises(ValueError, match="unknown feature"):
        CovidModel.from_mapping({"coefficients": {"nope": 1}, "intercept": 0})
    with pytest.raises(ValueError, match="intercept"):
        CovidModel.from_mapping({"coefficients": {}})


def test_training_is_deterministic_and_learns(lexicon: CovidLexicon) -> None:
    examples = [("", text) for _, text in COVID_POSTS] + [PASSING_MENTION] * 3
    examples += [("", "Giá vàng hôm nay, chứng khoán giảm. Covid-19 không ảnh hưởng nhiều.")]
    labels = [1] * len(COVID_POSTS) + [0, 0, 0, 0]
    first = train_covid_model(examples, labels, lexicon=lexicon)
    second = train_covid_model(examples, labels, lexicon=lexicon)
    assert first.coefficients == second.coefficients
    assert first.coefficients["density"] > 0


@pytest.fixture(scope="module")
def trained() -> CovidModel:
    data = json.loads((REPO / "analysis" / "models" / "covid_model.json").read_text("utf-8"))
    return CovidModel.from_mapping(data)


#: Each kind of miss issue #12 lists, as a social post would say it, with the words that
#: must be quoted as evidence. Written for these tests (not from the labelled set).
MISSED_KINDS = [
    (
        "quarantine",
        "Cả xóm mình phải cách ly tại chỗ 14 ngày, không ai được ra khỏi nhà",
        "cách ly",
    ),
    (
        "lockdown",
        "Từ 0h đêm nay thành phố phong tỏa toàn bộ, nội bất xuất, ngoại bất nhập",
        "phong tỏa",
    ),
    (
        "outbreak cluster",
        "Ổ dịch ở bệnh viện vẫn đang lan rộng, nguy cơ bùng phát dịch trở lại rất cao",
        "Ổ dịch",
    ),
    (
        "numbered patient",
        "Bệnh nhân thứ 34 đã đi qua rất nhiều nơi ở Bình Thuận",
        "Bệnh nhân thứ 34",
    ),
    ("numbered patient", "BN17 đã được xuất viện sau nhiều ngày điều trị", "BN17"),
    (
        "contact tracing",
        "Ngành y tế đang khẩn trương truy vết những người tiếp xúc gần với ca nhiễm",
        "truy vết",
    ),
    (
        "entry ban",
        "Việt Nam tạm dừng nhập cảnh đối với người nước ngoài từ ngày 22/3 để phòng dịch",
        "nhập cảnh",
    ),
    (
        "repatriation flight",
        "Chuyến bay đưa công dân về nước từ Mỹ đã hạ cánh, hành khách được đưa đi cách ly",
        "chuyến bay đưa công dân",
    ),
    (
        "school closure",
        "Học sinh Hà Nội tiếp tục nghỉ học đến hết tháng 4, các trường chuyển sang học trực tuyến",
        "học trực tuyến",
    ),
    ("masks", "Từ hôm nay ra đường bắt buộc đeo khẩu trang, ai không đeo sẽ bị phạt", "khẩu trang"),
    (
        "5K message",
        "Mọi người nhớ thực hiện thông điệp 5K của Bộ Y tế để bảo vệ bản thân nhé",
        "5K",
    ),
    ("Wuhan", "Thành phố Vũ Hán vừa dỡ bỏ lệnh phong tỏa sau 76 ngày", "Vũ Hán"),
    ("teencode", "Cô Vid19 lại về rồi mọi người ơi, cẩn thận nhé", "Cô Vid19"),
    ("teencode", "co vy dang lay lan nhanh lam, moi nguoi han che ra duong nha", "co vy"),
    ("teencode", "vi rut no 19 nguy hiem lam, moi nguoi giu gin suc khoe", "vi rut no 19"),
    (
        "no diacritics",
        "virus corona lay qua duong ho hap, moi nguoi nho deo khau trang khi ra ngoai",
        "virus corona",
    ),
    ("greeting", "Chúc cả nhà sạch dịch Corona, mạnh khỏe bình an", "Corona"),
]


@pytest.mark.parametrize(("kind", "text", "evidence"), MISSED_KINDS)
def test_each_kind_of_miss_is_flagged_with_evidence(
    kind: str, text: str, evidence: str, lexicon: CovidLexicon, trained: CovidModel
) -> None:
    result = detect_covid(text, lexicon=lexicon, model=trained, lang="vi")
    assert result.flag, (kind, result.score, result.terms)
    assert any(evidence.lower() in term.lower() for term in result.terms), (kind, result.terms)


@pytest.mark.parametrize(
    "text",
    [
        "Tàu phớ 5k một bát, ngon mà rẻ, cả nhà qua ủng hộ quán em nhé",
        "Áo thun 10k một cái, size M, L đủ màu, ship toàn quốc",
        "Chạy bộ 5k mỗi sáng giúp bạn khỏe hơn, giảm cân hiệu quả",
    ],
)
def test_money_and_size_shorthands_are_not_the_5k_message(
    text: str, lexicon: CovidLexicon, trained: CovidModel
) -> None:
    result = detect_covid(text, lexicon=lexicon, model=trained, lang="vi")
    assert not result.flag, (result.score, result.terms)
    assert not any("5k" in term.lower() or "10k" in term.lower() for term in result.terms)


@pytest.mark.parametrize("text", OTHER_DISEASES)
def test_other_diseases_alone_never_flag_even_with_measures(
    text: str, lexicon: CovidLexicon, trained: CovidModel
) -> None:
    # quarantine, masks and "dịch" next to another named disease are that disease's
    with_measures = f"{text} Người dân cần đeo khẩu trang, cách ly người bệnh, phòng dịch."
    result = detect_covid(with_measures, lexicon=lexicon, model=trained, lang="vi")
    assert (result.flag, result.score, result.terms) == (False, 0.0, [])


def test_numbered_patient_patterns_do_not_fire_on_other_numbers(lexicon: CovidLexicon) -> None:
    features = covid_features("Bệnh nhân nam 45 tuổi nhập viện vì đau bụng", lexicon=lexicon)
    assert features.values["specific"] == 0.0
    found = covid_features("Bệnh nhân số 91 là phi công người Anh", lexicon=lexicon)
    assert found.values["specific"] > 0 and "Bệnh nhân số 91" in found.terms


def test_word_model_reads_folded_words(trained: CovidModel) -> None:
    from analysis.covid_model import ngrams
    from analysis.text import canonical_forms

    assert trained.words is not None and trained.coefficients["words"] > 0
    accented = trained.words.decision(ngrams(canonical_forms("Dịch bệnh đang lan").forms))
    folded = trained.words.decision(ngrams(canonical_forms("dich benh dang lan").forms))
    assert accented == folded


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="needs ../shared/data")
def test_held_out_precision_and_recall(lexicon: CovidLexicon, trained: CovidModel) -> None:
    from crawler.training.covid_data import covid_texts_and_labels, precision_recall

    texts, labels = covid_texts_and_labels(SHARED_DATA, part="test")
    flags = [detect_covid(t, ti, lexicon=lexicon, model=trained, lang="vi").flag for ti, t in texts]
    precision, recall = precision_recall(flags, labels)
    assert precision >= 0.93 and recall >= 0.93, (precision, recall)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="needs ../shared/data")
def test_labelled_set_reads_every_reintel_post_and_splits_by_user() -> None:
    from crawler.training.covid_data import is_held_out, load_covid_dataset

    docs = load_covid_dataset(SHARED_DATA)
    reintel = [d for d in docs if d.dataset == "reintel"]
    assert len(reintel) == 3494 and len({d.doc_id for d in reintel}) == 3494
    sides: dict[str, set[bool]] = {}
    for doc in reintel:
        sides.setdefault(doc.group, set()).add(is_held_out(doc))
    assert all(len(side) == 1 for side in sides.values())
    held = sum(1 for d in docs if is_held_out(d))
    assert 0.25 < held / len(docs) < 0.4
    assert {d.how for d in docs if d.dataset == "dantri" and d.label == 0} >= {
        "rule:no-epidemic-vocabulary",
        "read",
    }
