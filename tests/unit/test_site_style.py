"""Newspaper-style ("báo hóa") site scoring: page signals, register matching, site verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.site_style import (
    DEFAULT_THRESHOLD,
    FlaggedSites,
    PageSignals,
    PressRegister,
    page_signals,
    score_site,
    signals_from_fields,
    site_profile_from_pages,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"

REGISTER = PressRegister.from_csv_text(
    "domain,name,kind,source,note\n"
    "songhong.localhost,Báo Sông Hồng,newspaper,demo,demo site\n"
    "tuoitre.vn,Tuổi Trẻ,newspaper,docbao,\n"
    "hanoi.gov.vn,Cổng TTĐT Hà Nội,government_portal,docbao,\n"
    "24h.com.vn,24h,general_info,docbao,verify\n"
)
FLAGGED = FlaggedSites.from_csv_text(
    "domain,reported,report_url\n"
    "tapchilamdep.com,domain resembling a press agency,https://thoidai.com.vn/bao-cao.html\n"
)

# -- hand-written pages ----------------------------------------------------------------------

SONGHONG_ARTICLE = """<!doctype html><html lang="vi"><head>
<title>Hà Nội mở rộng tuyến buýt điện - Báo Sông Hồng</title>
<meta property="og:site_name" content="Báo Sông Hồng">
<meta property="og:type" content="article">
<meta property="article:section" content="Thời sự">
<meta name="author" content="Phóng viên Minh Châu">
</head><body>
<header><a class="logo" href="/"><img src="/logo.png" alt="Báo Sông Hồng"></a>
<nav><a href="/thoi-su/">Thời sự</a> <a href="/phap-luat/">Pháp luật</a></nav></header>
<article><h1>Hà Nội mở rộng tuyến buýt điện</h1>
<p>Sáng 20/11, thành phố đưa thêm 40 xe buýt điện vào khai thác trên các tuyến nội đô.</p>
<p>Phóng viên ghi nhận hành khách khá hài lòng với xe mới, sạch và êm.</p>
<p>Đơn vị vận hành cho biết sẽ tiếp tục thay thế xe cũ trong năm tới.</p>
<p>Minh Châu</p></article>
<footer><p>Giấy phép hoạt động báo điện tử số 215/GP-BTTTT do Bộ Thông tin và Truyền thông cấp ngày 12/5/2021</p>
<p>Tổng biên tập: Trần Quốc Hưng</p><p>Tòa soạn: 45 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội</p></footer>
</body></html>"""

DOISONGXANH_ARTICLE = """<!doctype html><html lang="vi"><head>
<title>Điều tra: Đường dây cho vay nặng lãi núp bóng cửa hàng điện thoại | Báo Đời Sống Xanh</title>
<meta property="og:type" content="article">
</head><body>
<div class="top-logo">Báo Đời Sống Xanh</div>
<ul class="breadcrumb"><li><a href="/">Trang chủ</a></li><li><a href="/phap-luat/">Pháp luật</a></li></ul>
<article>
<h1>Điều tra: Đường dây cho vay nặng lãi núp bóng cửa hàng điện thoại</h1>
<p class="author">Phóng viên Lê Hoàng</p>
<p>Nhận được phản ánh của bạn đọc, phóng viên đã đóng vai người cần vay tiền gấp.</p>
<p>Chỉ sau vài câu hỏi, nhân viên cửa hàng đưa phóng viên lên tầng hai. Bạn đọc có thể liên hệ tòa soạn.</p>
<p>Báo Đời Sống Xanh đã chuyển toàn bộ tài liệu cho cơ quan công an.</p>
</article>
<div class="site-footer">
<p>Giấy phép thiết lập trang thông tin điện tử tổng hợp số 142/GP-TTĐT do Sở Thông tin và Truyền thông Hà Nội cấp</p>
<p>Tòa soạn: 27 Nguyễn Khang, Cầu Giấy, Hà Nội</p><p>Tổng biên tập: Phạm Đức Thắng</p>
</div></body></html>"""

TONGHOP_ARTICLE = """<!doctype html><html lang="vi"><head>
<title>Cảnh báo chiêu lừa đảo mạo danh nhân viên điện lực - Tổng Hợp 24h</title>
<meta property="og:site_name" content="Tổng Hợp 24h">
<meta property="og:type" content="article">
</head><body>
<header><h1 class="site-title">Tổng Hợp 24h</h1></header>
<main><article>
<h1>Cảnh báo chiêu lừa đảo mạo danh nhân viên điện lực</h1>
<span class="byline">Minh Khoa (tổng hợp)</span>
<p>Tổng công ty Điện lực vừa cảnh báo tình trạng mạo danh nhân viên để chiếm đoạt tiền.</p>
<p>Ngành điện khẳng định không thu tiền qua tài khoản cá nhân.</p>
<p>(Theo <a href="https://tuoitre.vn/">Tuổi Trẻ</a>)</p>
</article></main>
<footer>Giấy phép thiết lập trang thông tin điện tử tổng hợp số 88/GP-TTĐT do Sở Thông tin và Truyền thông Hà Nội cấp.
Chịu trách nhiệm nội dung: Nguyễn Thanh Bình</footer>
</body></html>"""


def _page(
    *,
    site_name: str,
    title: str,
    author: str,
    section: str,
    paragraphs: list[str],
    footer: list[str],
) -> str:
    """A plain article page in the shape the demo sites use."""
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    foot = "".join(f"<p>{line}</p>" for line in footer)
    return (
        f'<html><head><title>{title} - {site_name}</title><meta property="og:type" content="article">'
        f'<meta property="og:site_name" content="{site_name}"></head><body>'
        f'<header class="masthead"><a class="logo">{site_name}</a></header>'
        f'<nav class="breadcrumb"><a href="/">Trang chủ</a><a href="/{section}/">{section}</a></nav>'
        f'<article><h1>{title}</h1><div class="author">{author}</div>{body}</article>'
        f"<footer>{foot}</footer></body></html>"
    )


DOISONG_FOOTER = [
    "Giấy phép thiết lập trang thông tin điện tử tổng hợp số 142/GP-TTĐT do Sở Thông tin và Truyền thông Hà Nội cấp",
    "Tòa soạn: 27 Nguyễn Khang, Cầu Giấy, Hà Nội",
    "Tổng biên tập: Phạm Đức Thắng",
]
TONGHOP_FOOTER = [
    "Giấy phép thiết lập trang thông tin điện tử tổng hợp số 88/GP-TTĐT do Sở Thông tin và Truyền thông Hà Nội cấp",
    "Chịu trách nhiệm nội dung: Nguyễn Thanh Bình",
]
SONGHONG_FOOTER = [
    "Giấy phép hoạt động báo điện tử số 215/GP-BTTTT do Bộ Thông tin và Truyền thông cấp ngày 12/5/2021",
    "Tổng biên tập: Trần Quốc Hưng",
    "Tòa soạn: 45 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
]
STORY = [
    "Sáng nay, người dân trong khu phố phản ánh tình trạng rác thải ùn ứ nhiều ngày.",
    "Bà Hạnh cho biết cả tuần không thấy xe thu gom rác vào ngõ.",
    "Chính quyền phường cho biết sẽ kiểm tra và xử lý trong tuần này.",
]


def _doisong_pages(n: int = 6) -> list[PageSignals]:
    authors = ["Phóng viên Lê Hoàng", "Nhóm PV", "Phóng viên Ngọc Ánh"]
    sections = ["Thời sự", "Pháp luật", "Đời sống"]
    return [
        page_signals(
            _page(
                site_name="Báo Đời Sống Xanh",
                title=f"Phản ánh số {i}",
                author=authors[i % 3],
                section=sections[i % 3],
                paragraphs=[*STORY, "Báo Đời Sống Xanh sẽ tiếp tục thông tin."],
                footer=DOISONG_FOOTER,
            ),
            f"http://doisongxanh.localhost/bai-{i}",
        )
        for i in range(n)
    ]


def _tonghop_pages(n: int = 6) -> list[PageSignals]:
    credits = ["Nguồn: Tuổi Trẻ", "(Theo VnExpress)", "Nguồn: Thanh Niên"]
    return [
        page_signals(
            _page(
                site_name="Tổng Hợp 24h",
                title=f"Cảnh báo lừa đảo số {i}",
                author="Hải Yến (tổng hợp)",
                section="Thời sự" if i % 2 else "Đời sống",
                paragraphs=[*STORY, credits[i % 3]],
                footer=TONGHOP_FOOTER,
            ),
            f"http://tonghop24.localhost/bai-{i}",
        )
        for i in range(n)
    ]


def _songhong_pages(n: int = 6) -> list[PageSignals]:
    return [
        page_signals(
            _page(
                site_name="Báo Sông Hồng",
                title=f"Tin thời sự số {i}",
                author="Phóng viên Minh Châu",
                section="Thời sự",
                paragraphs=STORY,
                footer=SONGHONG_FOOTER,
            ),
            f"https://www.songhong.localhost/thoi-su/bai-{i}",
        )
        for i in range(n)
    ]


# -- page signals ----------------------------------------------------------------------------


def test_page_signals_newspaper_style_page() -> None:
    signals = page_signals(DOISONGXANH_ARTICLE, "http://doisongxanh.localhost/phap-luat/dieu-tra")
    assert signals.is_article
    assert signals.press_name == "Báo Đời Sống Xanh"
    assert signals.licence == "general_info"
    assert "142/GP-TTĐT" in signals.licence_text
    assert set(signals.masthead_terms) == {"Tòa soạn", "Tổng biên tập"}
    assert signals.author == "Phóng viên Lê Hoàng"
    assert signals.reporter_byline
    assert signals.attribution == ""
    assert signals.section == "Pháp luật"
    assert signals.press_section


def test_page_signals_licensed_newspaper() -> None:
    signals = page_signals(SONGHONG_ARTICLE, "https://songhong.localhost/thoi-su/buyt-dien")
    assert signals.press_name == "Báo Sông Hồng"
    assert signals.press_name_where == "title"
    assert signals.licence == "press"
    assert signals.licence_text.startswith("Giấy phép hoạt động báo điện tử số 215/GP-BTTTT")
    assert signals.reporter_byline
    assert signals.section == "Thời sự"


def test_page_signals_honest_aggregator() -> None:
    signals = page_signals(TONGHOP_ARTICLE, "http://tonghop24.localhost/doi-song/lua-dao")
    assert signals.press_name == ""  # "Cảnh báo" in the title is not a newspaper name
    assert signals.site_name == "Tổng Hợp 24h"
    assert signals.licence == "general_info"
    assert signals.masthead_terms == ()
    assert signals.attribution == "Tuổi Trẻ"
    assert signals.compiled_byline and not signals.reporter_byline
    assert signals.section == "doi-song"  # from the URL when the page names no section


def test_masthead_words_in_article_body_do_not_count() -> None:
    html = (
        "<html><head><title>Tin mới - Trang Tin Nhanh</title></head><body><article>"
        "<p>Bạn đọc gửi thư về tòa soạn, Tổng biên tập đã trả lời.</p><p>Đoạn hai.</p><p>Đoạn ba.</p>"
        "</article></body></html>"
    )
    assert page_signals(html, "http://tintuc.example/a/b").masthead_terms == ()


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        (["Nội dung bài.", "Nguồn: Tuổi Trẻ"], "Tuổi Trẻ"),
        (["Nội dung bài.", "(Theo VnExpress)"], "VnExpress"),
        (["Nội dung bài.", "Theo Thanh Niên"], "Thanh Niên"),
        (["Nội dung bài kết thúc ở đây. (Theo VTV)"], "VTV"),
        (["Nội dung bài.", "nguồn: Bộ Y tế."], "Bộ Y tế"),
        (["Theo Viện Pasteur TP.HCM, từ đầu năm đến nay có hơn 60.000 ca sốt xuất huyết."], ""),
        (["Nội dung bài.", "Theo dõi chúng tôi trên mạng xã hội"], ""),
        (["Nội dung bài.", "Phóng viên Báo Đời Sống Xanh ghi."], ""),
    ],
)
def test_attribution(paragraphs: list[str], expected: str) -> None:
    signals = signals_from_fields(url="http://x.example/a", text="\n".join(paragraphs))
    assert signals.attribution == expected


@pytest.mark.parametrize(
    ("name", "is_press"),
    [
        ("Báo Đời Sống Xanh", True),
        ("BÁO ĐỜI SỐNG XANH", True),
        ("Tạp chí Làm Đẹp", True),
        ("Thời báo Kinh tế Sài Gòn", True),
        ("Tin tức 24h News", True),
        ("Saigon Times", True),
        ("Tổng Hợp 24h", False),
        ("Cảnh báo lừa đảo", False),
        ("Cảnh Báo Giao Thông", False),
        ("Báo cáo thường niên", False),
        ("Cộng đồng Hỏi đáp Sức khỏe", False),
        ("WordPress Việt Nam", False),
    ],
)
def test_press_name(name: str, is_press: bool) -> None:  # as a page/group name
    signals = signals_from_fields(url="http://x.example/", site_name=name)
    assert bool(signals.press_name) is is_press


def test_page_signals_round_trip_through_dict() -> None:
    signals = page_signals(DOISONGXANH_ARTICLE, "http://doisongxanh.localhost/phap-luat/x")
    assert PageSignals.from_dict(signals.to_dict()) == signals
    assert isinstance(signals.to_dict()["masthead_terms"], list)


def test_page_signals_survives_empty_and_broken_html() -> None:
    assert page_signals("", "http://x.example/") == PageSignals(url="http://x.example/")
    assert page_signals("<p>Nguồn: <b>không đóng thẻ", "http://x.example/").press_name == ""


# -- register --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "domain"),
    [
        ("tuoitre.vn", "tuoitre.vn"),
        ("www.tuoitre.vn", "tuoitre.vn"),
        ("https://WWW.TuoiTre.vn:443/thoi-su/abc.htm", "tuoitre.vn"),
        ("m.tuoitre.vn", "tuoitre.vn"),
        ("congnghe.tuoitre.vn.", "tuoitre.vn"),
        ("www.songhong.localhost", "songhong.localhost"),
        ("nottuoitre.vn", None),
        ("tuoitre.vn.example.com", None),
        ("facebook.com/groups/tuoitre.vn", None),
        ("", None),
    ],
)
def test_register_lookup_matches_subdomains_only(site: str, domain: str | None) -> None:
    entry = REGISTER.lookup(site)
    assert (entry.domain if entry else None) == domain


def test_bundled_register_and_flagged_lists() -> None:
    register = PressRegister.from_csv_text((CONFIG / "press_register.csv").read_text("utf-8"))
    flagged = FlaggedSites.from_csv_text((CONFIG / "flagged_sites.csv").read_text("utf-8"))
    assert len(register) > 200 and len(flagged) == 10
    assert register.lookup("songhong.localhost").kind == "newspaper"
    assert register.lookup("www.vnexpress.net").licensed
    for not_press in ("facebook.com", "baomoi.com", "viblo.asia", "doisongxanh.localhost"):
        assert register.lookup(not_press) is None, not_press
    for row in (CONFIG / "flagged_sites.csv").read_text("utf-8").splitlines()[1:]:
        domain = row.split(",")[0]
        assert register.lookup(domain) is None, f"{domain} is flagged but in the register"
        assert flagged.lookup("www." + domain).report_url.startswith("https://")


# -- site scores -----------------------------------------------------------------------------


def test_newspaper_style_site_is_flagged_with_evidence() -> None:
    result = score_site(_doisong_pages(), site="doisongxanh.localhost", register=REGISTER)
    assert result.flag
    assert result.score >= 0.8
    assert not result.in_register
    assert result.pages == 6
    evidence = "\n".join(result.evidence)
    assert "tự xưng 'Báo Đời Sống Xanh' trong tiêu đề (6/6 trang)" in evidence
    assert "footer: giấy phép trang thông tin điện tử tổng hợp (6/6 trang)" in evidence
    assert "giấy phép trang tin tổng hợp nhưng trình bày như cơ quan báo chí" in evidence
    assert "'Tòa soạn'" in evidence and "'Tổng biên tập'" in evidence
    assert "bài viết có 'Phóng viên' (6/6), không ghi nguồn (6/6)" in evidence
    assert "không có trong danh bạ báo chí" in evidence


def test_licensed_newspaper_in_register_is_not_flagged() -> None:
    pages = _songhong_pages()
    result = score_site(pages, site="songhong.localhost", register=REGISTER)
    assert not result.flag
    assert result.score < 0.15
    assert result.in_register
    assert (
        result.evidence[0] == "có trong danh bạ báo chí: Báo Sông Hồng (newspaper), điểm nhân 0.1"
    )
    # It does look like a newspaper: the register is what keeps it low.
    assert result.signals["press_name"] == 1.0 and result.signals["masthead"] == 1.0


def test_same_newspaper_unknown_to_register_is_left_for_review() -> None:
    # A real newspaper missing from the (incomplete) register: its press-licence footer halves
    # the score, below the threshold, and the evidence asks for a check.
    result = score_site(_songhong_pages(), site="baomoinoi.example", register=REGISTER)
    assert not result.flag
    assert 0.3 <= result.score < DEFAULT_THRESHOLD
    assert "cần đối chiếu" in result.evidence[0]


def test_honest_aggregator_is_not_flagged() -> None:
    result = score_site(_tonghop_pages(), site="tonghop24.localhost", register=REGISTER)
    assert not result.flag
    assert result.score < 0.1
    evidence = "\n".join(result.evidence)
    assert "ghi nguồn (6/6: " in evidence and "Tuổi Trẻ" in evidence
    assert "tác giả ghi 'tổng hợp'/'biên tập' (6/6)" in evidence
    assert "tự xưng" not in evidence
    assert result.signals["no_attribution"] == 0.0


def test_social_page_calling_itself_news_is_flagged() -> None:
    posts = [
        signals_from_fields(
            url=f"https://facebook.com/tintuc24hnews/posts/{i}",
            site_name="Tin tức 24h News",
            text=text,
            author="Tin tức 24h News",
        )
        for i, text in enumerate(
            [
                "NÓNG: Phát hiện ổ dịch lạ ở Hà Đông, hàng trăm người nhập viện.",
                "Súc miệng nước muối ấm mỗi ngày giúp khỏi hẳn Covid-19, bác sĩ xác nhận.",
                "Giá xăng sẽ giảm mạnh từ tuần sau, người dân chú ý.",
            ]
        )
    ]
    result = score_site(posts, site="facebook.com/tintuc24hnews", register=REGISTER)
    assert result.flag
    assert not result.in_register
    assert "trang mạng xã hội tự xưng 'Tin tức 24h News'" in "\n".join(result.evidence)


def test_ordinary_social_group_is_not_flagged() -> None:
    posts = [
        signals_from_fields(
            url=f"http://social.localhost/p{i}",
            site_name="Cộng đồng Hỏi đáp Sức khỏe",
            text="Cả nhà ơi cho mình hỏi bé sốt 38 độ có nên cho uống hạ sốt ko ạ?",
            author="Mẹ Bống",
        )
        for i in range(5)
    ]
    result = score_site(posts, site="social.localhost", register=REGISTER)
    assert not result.flag
    assert result.score <= 0.2


@pytest.mark.parametrize("site", ["doisongxanh.localhost", "www.doisongxanh.localhost"])
def test_www_prefix_does_not_change_the_verdict(site: str) -> None:
    result = score_site(_doisong_pages(), site=site, register=REGISTER)
    assert result.flag and result.site == site


def test_www_host_of_licensed_newspaper_matches_register() -> None:
    result = score_site(_songhong_pages(), site="www.songhong.localhost", register=REGISTER)
    assert result.in_register and not result.flag


def test_government_portal_is_trusted_but_general_info_entry_is_not() -> None:
    pages = _doisong_pages(3)
    assert score_site(pages, site="hanoi.gov.vn", register=REGISTER).in_register
    general = score_site(pages, site="www.24h.com.vn", register=REGISTER)
    assert not general.in_register and general.flag
    assert any("danh bạ ghi là trang thông tin tổng hợp" in line for line in general.evidence)


def test_site_named_by_press_report_is_flagged_even_without_pages() -> None:
    result = score_site([], site="www.tapchilamdep.com", register=REGISTER, flagged=FLAGGED)
    assert result.flag
    assert result.pages == 0
    assert result.evidence[0] == (
        "bị báo chí nêu tên: domain resembling a press agency (https://thoidai.com.vn/bao-cao.html)"
    )
    assert any("tên miền giống tên cơ quan báo chí ('tapchilamdep')" in e for e in result.evidence)
    assert not score_site([], site="tonghop24.localhost", register=REGISTER, flagged=FLAGGED).flag


def test_score_accepts_stored_dicts_and_threshold() -> None:
    stored = [page.to_dict() for page in _doisong_pages()]
    from_dicts = score_site(stored, site="doisongxanh.localhost", register=REGISTER)
    assert from_dicts == score_site(
        _doisong_pages(), site="doisongxanh.localhost", register=REGISTER
    )
    strict = score_site(stored, site="doisongxanh.localhost", register=REGISTER, threshold=0.99)
    assert not strict.flag and strict.score == from_dicts.score


def test_site_profile_dict_shape() -> None:
    profile = site_profile_from_pages(
        _doisong_pages(2), site="doisongxanh.localhost", register=REGISTER, flagged=FLAGGED
    )
    assert set(profile) == {"site", "score", "flag", "evidence", "pages"}
    assert profile["site"] == "doisongxanh.localhost" and profile["pages"] == 2
    assert profile["flag"] is True and 0.0 <= profile["score"] <= 1.0
    assert all(isinstance(line, str) for line in profile["evidence"])


@pytest.mark.parametrize(
    ("byline", "author", "reporter", "compiled"),
    [
        (
            '<p class="reporter author"><em>Phóng viên: Lê Hoàng</em></p>',
            "Phóng viên: Lê Hoàng",
            True,
            False,
        ),
        ('<p class="author"><strong>Minh Châu</strong></p>', "Minh Châu", False, False),
        (
            '<div class="comments"><p class="comment-author"><strong>Đặng Quốc Bảo</strong></p></div>'
            '<span class="byline">Theo <span class="byline-name">Hải Yến (tổng hợp)</span></span>',
            "Hải Yến (tổng hợp)",
            False,
            True,
        ),
    ],
)
def test_byline_text_inside_nested_elements(
    byline: str, author: str, reporter: bool, compiled: bool
) -> None:
    html = (
        '<html><head><meta property="og:type" content="article"><title>Tin - Trang X</title></head>'
        f"<body><article>{byline}<p>Đoạn một.</p><p>Đoạn hai.</p></article></body></html>"
    )
    signals = page_signals(html, "http://x.example/thoi-su/tin")
    assert (signals.author, signals.reporter_byline, signals.compiled_byline) == (
        author,
        reporter,
        compiled,
    )


# -- `misinfo sites` -------------------------------------------------------------------------


@pytest.fixture
def app_with_profiles(tmp_path: Path):
    from crawler.app import App

    app = App(data_dir=tmp_path)
    from crawler.resources.store import open_app_store

    store = open_app_store(app)
    try:
        for site, pages in (
            ("tonghop24.localhost", _tonghop_pages(3)),
            ("doisongxanh.localhost", _doisong_pages(3)),
            ("songhong.localhost", _songhong_pages(3)),
        ):
            store.upsert_site(site_profile_from_pages(pages, site=site, register=REGISTER))
    finally:
        store.close()
    return app


def _run_sites(app, *args: str):
    from click.testing import CliRunner

    from crawler.cli.sites import sites_command

    return CliRunner().invoke(sites_command, list(args), obj=app, catch_exceptions=False)


def test_sites_json_lists_profiles_highest_score_first(app_with_profiles) -> None:
    import json

    result = _run_sites(app_with_profiles, "--json")
    assert result.exit_code == 0
    profiles = json.loads(result.output)
    assert [p["site"] for p in profiles] == [
        "doisongxanh.localhost",
        "songhong.localhost",
        "tonghop24.localhost",
    ]
    assert profiles[0]["flag"] is True and profiles[0]["pages"] == 3
    assert "không ghi nguồn (3/3)" in " ".join(profiles[0]["evidence"])
    flagged = json.loads(_run_sites(app_with_profiles, "--json", "--flagged").output)
    assert [p["site"] for p in flagged] == ["doisongxanh.localhost"]


def test_sites_table_and_evidence(app_with_profiles) -> None:
    table = _run_sites(app_with_profiles).output.splitlines()
    assert table[0].split() == ["SITE", "SCORE", "FLAG", "PAGES", "EVIDENCE"]
    assert table[1].startswith("doisongxanh.localhost") and " yes " in table[1]
    assert "tự xưng 'Báo Đời Sống Xanh'" in table[1]
    full = _run_sites(app_with_profiles, "--evidence").output
    assert "- có trong danh bạ báo chí: Báo Sông Hồng (newspaper)" in full


def test_sites_without_an_index_says_how_to_start(tmp_path: Path) -> None:
    from crawler.app import App

    app = App(data_dir=tmp_path / "empty")
    assert _run_sites(app, "--json").output.strip() == "[]"
    assert "misinfo crawl" in _run_sites(app).output
    assert not (tmp_path / "empty").exists()  # listing must not create a data directory


def test_sites_command_is_registered_in_the_cli(app_with_profiles) -> None:
    from click.testing import CliRunner

    from crawler.cli import main

    result = CliRunner().invoke(
        main, ["--data-dir", str(app_with_profiles.data_dir), "sites", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"doisongxanh.localhost"' in result.output


@pytest.mark.parametrize(
    ("site", "press_domain"),
    [
        ("www.tapchilamdep.com", True),
        ("tintuc24hnews.com.vn", True),
        ("m.baodoisong.net.vn", True),
        ("facebook.com/baodoisongxanh", True),
        ("news.otofun.net", False),  # a "news." subdomain of a forum: the name is "otofun"
        ("baohiemxahoi.vn", False),  # bảo hiểm, not báo
        ("facebook.com/groups/hoidapsuckhoe", False),
        ("doisongxanh.localhost", False),
    ],
)
def test_press_like_domain_name(site: str, press_domain: bool) -> None:
    result = score_site([], site=site, register=REGISTER)
    assert result.signals["press_domain"] == (1.0 if press_domain else 0.0)
