"""Author names from bylines: every person, never the publisher.

Bylines come as "Theo Hồ Hương", "THUẬN VĂN - LÊ ÁNH", "Hà Thu (tổng hợp)", "Bài và ảnh:
Minh Anh", "Nguyên Minh - 07/03/2026 08:47"; metadata adds the site itself ("VnExpress",
"NLD.COM.VN", "baochinhphu.vn"), which is a publisher, not an author.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from crawler.extract.jsonld import unescape

__all__ = ["OrgNames", "is_person_name", "split_names"]

_PREFIX = re.compile(
    r"^\s*(?:(?:bài|ảnh|video|clip|đồ họa|đồ hoạ|thực hiện|bài và ảnh|bài, ảnh|ảnh và bài|"
    r"biên tập|ghi chép|nội dung|trình bày|written by)\s*[:.\-–]\s*"
    # Roles need no colon: "Phóng viên Lê Hoàng", "PV Minh Anh", "Theo Hồ Hương".
    r"|(?:phóng viên|pv|ctv|btv|cộng tác viên|biên tập viên|tác giả|người viết|theo|by)"
    r"(?:\s*[:.\-–]\s*|\s+))+",
    re.I,
)
#: A closing parenthesis names a source or a role: "(tổng hợp)", "(TTXVN)", "(Dân Việt)".
_SUFFIX = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")
_SEPARATORS = re.compile(
    r"\s*(?:,|;|/|\||&|\s+-\s+|\s+–\s+|\s+—\s+|\s+và\s+|\s+and\s+|\n)\s*", re.I
)
_DATE_TAIL = re.compile(r"\s*[-–|,]?\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}.*$")
_DOMAIN = re.compile(r"\b[\w-]+\.(?:vn|com|net|org|info|gov|edu)\b", re.I)
#: Words that make a name an organisation, a role or a placeholder, not a person.
_NOT_PERSON = re.compile(
    r"\b(?:báo|tạp chí|đài|truyền hình|thông tấn|cổng thông tin|trang tin|tòa soạn|toà soạn|"
    r"ban biên tập|biên tập viên|công ty|tập đoàn|online|news|media|corp|group|jsc|admin|"
    r"administrator|nhiều tác giả|ẩn danh|khách|guest|editor|reporter|phóng viên|cộng tác viên|"
    r"nhóm|ttxvn|vnexpress|vietnamnet|reuters|afp|bbc|cnn|xinhua|bloomberg|ap|ttx|vov|vtv|"
    r"vtc|htv|sggp|nld|tto|tno|tpo|plo|zing|znews|kenh14|soha|cafef|cafebiz|vneconomy|baomoi|"
    r"facebook|zalo|twitter|linkedin|e?mail|messenger|instagram|youtube|tiktok|google|telegram|"
    r"pinterest|copy|link|print|share|rss)\b",
    re.I,
)
#: Vietnamese family names: a byline of three words or more starts with one ("Lê Văn Tám");
#: "Trí Thức Trẻ" or "Sức Khỏe Đời Sống" are publications. Two-word pen names need none.
SURNAMES = frozenset(
    [
        "nguyễn",
        "trần",
        "lê",
        "phạm",
        "hoàng",
        "huỳnh",
        "phan",
        "vũ",
        "võ",
        "đặng",
        "bùi",
        "đỗ",
        "hồ",
        "ngô",
        "dương",
        "lý",
        "đinh",
        "đào",
        "trương",
        "lương",
        "mai",
        "trịnh",
        "tạ",
        "đoàn",
        "lâm",
        "chu",
        "phùng",
        "quách",
        "cao",
        "tô",
        "hà",
        "kiều",
        "lưu",
        "thái",
        "tăng",
        "từ",
        "văn",
        "vương",
        "châu",
        "thân",
        "la",
        "triệu",
        "khúc",
        "giang",
        "tôn",
        "đồng",
        "mạc",
        "nghiêm",
        "lại",
        "âu",
        "đàm",
        "bạch",
        "doãn",
        "hứa",
        "diệp",
        "ông",
        "quan",
        "thạch",
        "kim",
        "nông",
        "lò",
        "lục",
        "phó",
        "tiêu",
        "vi",
        "hàn",
        "lã",
        "ninh",
        "hầu",
        "giáp",
        "thi",
        "khổng",
        "trình",
        "viên",
        "đới",
        "mạnh",
        "khương",
        "tống",
        "hàng",
        "biện",
        "trang",
        "đoàn",
        "đàng",
        "lộc",
        "vòng",
        "ung",
        "yên",
    ]
)
#: Papers often credited as a source ("Theo Tiền Phong"), matched with their diacritics so
#: that a person called "Tiến Phong" or "Văn Hòa" is still a person.
_PRESS = re.compile(
    r"\b(?:tiền phong|thanh niên|tuổi trẻ|dân trí|lao động|dân việt|nhân dân|sài gòn giải phóng|"
    r"hà nội mới|an ninh thủ đô|pháp luật|tri thức trẻ|sức khỏe|sức khoẻ|đời sống|gia đình|"
    r"kinh tế|đầu tư|giáo dục|thời đại|nông nghiệp|văn hóa|văn hoá|thể thao|tin tức|thời sự|"
    r"báo mới|vietnamplus|vietnam plus|công thương|xây dựng|môi trường)\b"
)
_WORD = re.compile(r"^[^\W\d_][^\W\d_.'’\-]*(?:[.'’\-][^\W\d_]*)*\.?$")
_MAX_WORDS = 5


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _compact(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", _fold(text))


class OrgNames:
    """The publisher's names (site name, domain, JSON-LD organisations): never authors."""

    def __init__(self, names: Iterable[str], domain: str):
        self.compact = {_compact(name) for name in names if _compact(name)}
        host = domain.lower().removeprefix("www.")
        self.compact |= {_compact(host), _compact(host.split(".")[0])}
        self.compact.discard("")

    def is_named(self, name: str) -> bool:
        """``name`` is exactly one of the publisher's names (a section called "Pháp luật"
        is not the paper "Pháp Luật TP.HCM")."""
        return _compact(name) in self.compact

    def __contains__(self, name: str) -> bool:
        key = _compact(name)
        if not key:
            return True
        return any(key == org or (len(key) >= 5 and key in org) for org in self.compact)


def is_person_name(name: str, orgs: OrgNames | None = None) -> bool:
    """1 to 5 capitalised words, no digits, no organisation words, not the publisher."""
    words = name.split()
    if not words or len(words) > _MAX_WORDS or len(name) > 60:
        return False
    lowered = unicodedata.normalize("NFC", name).lower()
    if _DOMAIN.search(name) or _PRESS.search(lowered):
        return False
    if _NOT_PERSON.search(lowered) or _NOT_PERSON.search(_fold(name)):
        return False
    if not all(_WORD.match(word) and word[0].isupper() for word in words):
        return False
    # A lone upper-case word of 2-5 letters is an acronym ("TTXVN", "PV"), not a name.
    if len(words) == 1 and words[0].isupper() and len(words[0]) <= 5:
        return False
    if len(words) >= 3 and words[0].lower() not in SURNAMES:
        return False
    return not (orgs is not None and name in orgs)


def clean_name(raw: str) -> str:
    name = unescape(raw)
    name = _DATE_TAIL.sub("", name)
    name = _PREFIX.sub("", name).strip(" .,:;-–—|")
    name = _SUFFIX.sub("", name).strip(" .,:;-–—|")
    return name


def split_names(raw: str, orgs: OrgNames | None = None) -> list[str]:
    """The persons named in a byline text, in order, without duplicates."""
    text = unescape(raw)
    text = _DATE_TAIL.sub("", text)
    text = _PREFIX.sub("", text)
    names: list[str] = []
    for part in _SEPARATORS.split(text):
        name = clean_name(part)
        if name and is_person_name(name, orgs) and _fold(name) not in {_fold(n) for n in names}:
            names.append(name)
    return names
