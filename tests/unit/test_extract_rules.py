"""The extraction rules one by one: dates, names, JSON-LD, lead, page type, per-site rules.

Small hand-written pages; the real and synthetic pages are in test_realpages.py and
test_extract_styles.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.extract.article import extract_page
from crawler.extract.authors import OrgNames, is_person_name, split_names
from crawler.extract.dates import VIETNAM_TZ, parse_iso, parse_shown_date
from crawler.extract.html import parse_html
from crawler.extract.jsonld import read_linked_data
from crawler.extract.lead import PRESS_PREFIX
from crawler.extract.pagetype import PageEvidence, judge_page
from crawler.extract.rules import SiteRules
from crawler.resources.sources import SourcesError, load_sources

NOW = datetime(2026, 3, 8, 10, 0, tzinfo=VIETNAM_TZ)
BODY = " ".join(
    [
        "Sáng nay, Sở Y tế cho biết tình hình dịch bệnh trên địa bàn đã được kiểm soát, số ca",
        "mắc mới giảm liên tục trong hai tuần qua nhờ các biện pháp phòng chống quyết liệt.",
    ]
)


def page(head: str = "", body: str = "", title: str = "Tiêu đề bài viết thử nghiệm") -> str:
    paragraphs = "".join(f"<p>{BODY} Đoạn {i}.</p>" for i in range(5))
    return (
        f"<html><head><title>{title}</title>{head}</head><body>"
        f"<nav class='menu'><a href='/a'>Thời sự</a><a href='/b'>Sức khỏe</a></nav>"
        f"<div class='article'><h1>{title}</h1>{body}"
        f"<div class='content'>{paragraphs}</div></div>"
        f"<div class='footer'>Giấy phép số 1/GP-BTTTT</div></body></html>"
    )


# -- dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07-03-2026 - 00:01 AM", datetime(2026, 3, 7, 0, 1, tzinfo=VIETNAM_TZ)),
        ("06-03-2026 - 12:30 PM", datetime(2026, 3, 6, 12, 30, tzinfo=VIETNAM_TZ)),
        ("24-03-2013 - 10:45 PM", datetime(2013, 3, 24, 22, 45, tzinfo=VIETNAM_TZ)),
        ("Thứ năm, 28/11/2019 | 09:15 GMT+7", datetime(2019, 11, 28, 9, 15, tzinfo=VIETNAM_TZ)),
        ("Thứ Năm, 09:15, 28/11/2019", datetime(2019, 11, 28, 9, 15, tzinfo=VIETNAM_TZ)),
        ("15h30 ngày 28/11/2019", datetime(2019, 11, 28, 15, 30, tzinfo=VIETNAM_TZ)),
        ("ngày 28 tháng 11 năm 2019 lúc 9:05", datetime(2019, 11, 28, 9, 5, tzinfo=VIETNAM_TZ)),
        ("2026-03-07T08:52:11.000 +07:00", datetime(2026, 3, 7, 8, 52, 11, tzinfo=VIETNAM_TZ)),
        ("2025-10-11T10:02:08+0700", datetime(2025, 10, 11, 10, 2, 8, tzinfo=VIETNAM_TZ)),
        ("Đăng lúc 2019-12-02 08:00:00", datetime(2019, 12, 2, 8, 0, tzinfo=VIETNAM_TZ)),
    ],
)
def test_printed_dates(text, expected):
    shown = parse_shown_date(text, now=NOW)
    assert shown is not None and shown.value == expected and not shown.relative


def test_a_header_date_bar_is_a_date_not_an_age():
    """ "Ngày 07 tháng 03 năm 2026" once read as "07 tháng" = 7 months ago."""
    shown = parse_shown_date("Thứ Bảy, Ngày 07 tháng 03 năm 2026", now=NOW)
    assert shown.value == datetime(2026, 3, 7, tzinfo=VIETNAM_TZ)
    assert not shown.has_time and not shown.relative


def test_relative_only_when_the_text_says_so():
    assert parse_shown_date("2 giờ trước", now=NOW).value == NOW - timedelta(hours=2)
    assert parse_shown_date("Cập nhật 5 phút trước", now=NOW).relative
    assert parse_shown_date("3 ngày", now=NOW).value == NOW - timedelta(days=3)  # a post's age
    assert parse_shown_date("Tuyển sinh 3 ngày cuối tuần", now=NOW) is None
    assert parse_iso("2026-03-07T08:01:00Z", now=NOW) == datetime(2026, 3, 7, 8, 1, tzinfo=UTC)


def test_a_page_that_prints_only_an_age_is_dated_from_the_fetch_time():
    html = page(body="<span class='time'>2 giờ trước</span><p class='sapo'>Tóm tắt.</p>")
    assert extract_page(html, "http://x.vn/a", fetched_at=NOW).published_at == NOW - timedelta(
        hours=2
    )


def test_an_absolute_date_wins_over_an_age_and_a_date_bar():
    html = page(
        body="<span class='ago'>2 giờ trước</span><span class='date'>07/03/2026 08:47</span>"
    ).replace("<body>", "<body><div class='topbar'>Thứ Hai, 09/03/2026</div>")
    for fetched in (NOW, NOW + timedelta(days=200)):
        published = extract_page(html, "http://x.vn/a", fetched_at=fetched).published_at
        assert published == datetime(2026, 3, 7, 8, 47, tzinfo=VIETNAM_TZ)


def test_a_structured_time_in_the_wrong_zone_is_corrected_by_the_printed_one():
    head = '<meta property="article:published_time" content="2019-11-28T09:15:00Z">'
    html = page(head=head, body="<time>28/11/2019 09:15</time>")
    published = extract_page(html, "http://x.vn/a", fetched_at=NOW).published_at
    assert published == datetime(2019, 11, 28, 9, 15, tzinfo=VIETNAM_TZ)
    # A structured date that agrees with the page (same instant) is kept as it is.
    html = page(head=head.replace("09:15:00Z", "02:15:00Z"), body="<time>28/11/2019 09:15</time>")
    assert extract_page(html, "http://x.vn/a", fetched_at=NOW).published_at == datetime(
        2019, 11, 28, 2, 15, tzinfo=UTC
    )


# -- names ---------------------------------------------------------------------------------
ORGS = OrgNames(["VnExpress", "Báo điện tử Dân Trí", "TUOI TRE ONLINE"], "vnexpress.net")


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("Theo Hồ Hương", ["Hồ Hương"]),
        ("THUẬN VĂN - LÊ ÁNH", ["THUẬN VĂN", "LÊ ÁNH"]),
        ("Hà Thu (tổng hợp)", ["Hà Thu"]),
        ("Bài và ảnh: Quang Long", ["Quang Long"]),
        ("Nguyên Minh - 07/03/2026 08:47", ["Nguyên Minh"]),
        ("Theo Hương Giang (Dân Việt)", ["Hương Giang"]),
        ("Minh Ngọc/VOV.VN", ["Minh Ngọc"]),
        ("Minh Anh, Hoàng Hà và Lê Văn Tám", ["Minh Anh", "Hoàng Hà", "Lê Văn Tám"]),
        ("NH&amp;#7852;T XUÂN", ["NHẬT XUÂN"]),
        ("VnExpress", []),
        ("NLD.COM.VN", []),
        ("baochinhphu.vn", []),
        ("Dân Trí", []),
        ("Theo TTXVN", []),
        ("Theo Tiền Phong", []),
        ("Trí Thức Trẻ", []),
        ("Xem các bài viết của tác giả", []),
        ("Facebook", []),
    ],
)
def test_bylines_give_persons_only(byline, names):
    assert split_names(byline, ORGS) == names


def test_a_person_is_not_mistaken_for_a_paper_with_other_tone_marks():
    assert is_person_name("Nguyễn Tiến Phong") and not is_person_name("Tiền Phong")
    assert is_person_name("Nguyễn Văn Hòa") and is_person_name("Nguyễn Thế Thảo")


# -- JSON-LD ---------------------------------------------------------------------------------
def _ld(*blocks: str) -> str:
    return "".join(f'<script type="application/ld+json">{block}</script>' for block in blocks)


@pytest.mark.parametrize(
    "block",
    ["42", '{"@graph": 5}', '"text"', "null", "[1, [2, [3]]]", '{"@type": "NewsArticle", "a": ',
     '{"@type": "NewsArticle", "author": 7, "datePublished": 5, "headline": ["x"]}',
     '{"@type": "BreadcrumbList", "itemListElement": "x"}'],
)  # fmt: skip
def test_hostile_json_ld_loses_the_field_never_the_page(block):
    html = page(head=_ld(block), body="<span class='date'>07/03/2026 08:47</span>")
    extracted = extract_page(html, "http://x.vn/a", fetched_at=NOW)
    assert extracted.is_article and extracted.title == "Tiêu đề bài viết thử nghiệm"
    assert extracted.published_at == datetime(2026, 3, 7, 8, 47, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "chỉ là chữ",
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>',
        "<html><body>" + "<div>" * 3000 + "<p>chữ</p>" + "</div>" * 3000 + "</body></html>",
        "\x00\x01<html>\x00</html>",
        _ld("[" * 5000 + "]" * 5000),
        '<html><head><meta property="og:url" content="http://[bad">'
        '<link rel="canonical" href="http://x:99999/"></head><body><h1>Tiêu đề rất dài của bài</h1>'
        '<a href="http://[::1">x</a><a class="cate" href="http://x:99999/">Mục</a></body></html>',
        "<frameset><frame src='a.html'></frameset>",
    ],
    ids=["empty", "blank", "text", "xml", "deep", "nul", "deep-json", "bad-urls", "frameset"],
)
def test_hostile_pages_never_crash(html):
    extracted = extract_page(html, "http://x.vn/a", fetched_at=NOW)
    assert not extracted.is_article


def test_json_ld_graph_people_and_breadcrumb():
    block = """{"@context": "https://schema.org", "@graph": [
      {"@type": "WebPage", "mainEntity": {"@type": "NewsArticle",
        "author": [{"@type": "Person", "name": "NH&amp;#7852;T XU&#194;N"},
                   {"@type": "Organization", "name": "Báo Tuổi Trẻ"}, "Nghi Vũ"],
        "datePublished": "2026-03-07T08:01:00+07:00"}},
      {"@type": "BreadcrumbList", "itemListElement": [[{"position": 2, "name": "Tài chính"}],
        [{"position": 1, "name": "Kinh doanh"}]]}]}"""
    linked = read_linked_data(parse_html(page(head=_ld(block))))
    assert linked.people() == ["NHẬT XUÂN", "Nghi Vũ"]
    assert linked.breadcrumb == ["Kinh doanh", "Tài chính"]
    assert linked.text("datePublished").startswith("2026-03-07")


def test_the_publisher_is_never_the_author():
    head = (
        '<meta name="author" content="NLD.COM.VN"><meta property="og:site_name" content="Báo X">'
        + _ld('{"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Báo X"}}')
    )
    assert extract_page(page(head=head), "http://nld.com.vn/a", fetched_at=NOW).authors == []


# -- lead, body ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["(Dân trí) - Giá vàng", "(PLO)- VKSND", "TPO - Sau tin đồn", "VOV.VN - Các tỉnh",
             "GD&TĐ - Tin nhắn", "(NLĐO)- Không ít"],
)  # fmt: skip
def test_press_prefixes(text):
    assert PRESS_PREFIX.match(text)


def test_the_lead_outside_the_body_opens_the_text_once():
    sapo = "(Dân trí) - Bộ Y tế khẳng định thông tin uống nước ấm diệt virus là sai sự thật."
    head = f'<meta name="description" content="{sapo}">'
    html = page(head=head, body=f"<h2>{sapo}</h2>")
    extracted = extract_page(html, "http://x.vn/a", fetched_at=NOW)
    assert extracted.lead == sapo
    assert extracted.text.startswith(sapo) and extracted.text.count(sapo) == 1


def test_teasers_and_markers_stay_out_of_the_body():
    related = (
        "<div class='box'><h3>Tin liên quan</h3><a href='/x'>Một bài khác về dịch bệnh</a></div>"
        "<p><a href='/y'>Xem thêm: Hà Nội phát hiện thêm ca bệnh mới trong ngày</a></p>"
        # An in-body teaser: a headline link beside another article's summary.
        "<div class='vc-box'><a href='/z'>Người dân đổ xô đi mua khẩu trang sau tin đồn</a>"
        "<p>Nhiều hiệu thuốc hết hàng chỉ sau một buổi tối vì tin đồn thất thiệt.</p></div>"
    )
    html = page().replace("Đoạn 2.</p>", f"Đoạn 2.</p>{related}")
    text = extract_page(html, "http://x.vn/a", fetched_at=NOW).text
    assert "Đoạn 4." in text
    assert "Tin liên quan" not in text and "Một bài khác" not in text and "Xem thêm" not in text
    assert "Người dân đổ xô" not in text


def test_the_closing_byline_is_an_author_not_text():
    html = page().replace(
        "Đoạn 4.</p>", "Đoạn 4.</p><p style='text-align:right'><strong>Lê Phương</strong></p>"
    )
    extracted = extract_page(html, "http://x.vn/a", fetched_at=NOW)
    assert extracted.authors == ["Lê Phương"] and "Lê Phương" not in extracted.text


# -- page type ------------------------------------------------------------------------------
def test_no_single_signal_decides():
    article = PageEvidence(
        url="http://x.vn/a", headline_matches_title=True, headline_element=True, has_date=True,
        body_chars=2000, paragraphs=8, og_type="website", json_ld_article=True,
    )  # fmt: skip
    assert judge_page(article)[0]  # a government article declared "website"
    front = PageEvidence(
        url="http://x.vn/kinh-doanh", body_chars=3000, paragraphs=10, og_type="article",
        teasers=30, body_link_ratio=0.4,
    )  # fmt: skip
    assert not judge_page(front)[0]  # a section front declared "article"
    assert not judge_page(PageEvidence(url="http://x.vn/a", body_chars=50, og_type="article"))[0]
    assert not judge_page(PageEvidence(url="http://x.vn/", body_chars=5000, has_date=True))[0]


# -- per-site rules ------------------------------------------------------------------------
def test_site_rules_replace_the_generic_reading():
    html = page(
        body=(
            "<div class='tac-gia-x'>Phóng viên: Minh Anh</div>"
            "<span data-ts='2026-03-07T08:47:00+07:00'>hôm kia</span>"
            "<div class='quang-cao-x'>Mua ngay kẻo lỡ!</div>"
        )
    ).replace("<div class='content'>", "<div class='content'><div class='quang-cao-x'>QC</div>")
    rules = SiteRules.from_config(
        {
            "author": ".tac-gia-x",
            "published": "//span[@data-ts]/@data-ts",
            "drop": [".quang-cao-x"],
            "section": "nav.menu a:nth-child(2)::text",
        }
    )
    extracted = extract_page(html, "http://x.vn/a", fetched_at=NOW, rules=rules)
    assert extracted.authors == ["Minh Anh"]
    assert extracted.published_at == datetime(2026, 3, 7, 8, 47, tzinfo=VIETNAM_TZ)
    assert extracted.section == "Sức khỏe"
    assert "Mua ngay" not in extracted.text and "QC" not in extracted.text


def test_site_rules_are_validated_on_load(tmp_path: Path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: x\n    feeds: ['https://x.vn/rss']\n"
        "    extract: {body: 'div.detail-content', lead: '//h2[@class=\"sapo\"]'}\n",
        encoding="utf-8",
    )
    assert load_sources(path)[0].extract.compiled().body
    for bad, message in (
        ("{body: 'div[class='}", "field 'extract.body': not a valid CSS selector"),
        ("{lead: '//h2[@x='}", "field 'extract.lead': not a valid XPath"),
        ("{headline: h1}", "field 'extract.headline': unknown key"),
    ):
        path.write_text(
            f"sources:\n  - name: x\n    feeds: ['https://x.vn/rss']\n    extract: {bad}\n",
            encoding="utf-8",
        )
        with pytest.raises(SourcesError) as error:
            load_sources(path)
        assert message in str(error.value) and "\n" not in str(error.value)
