"""The analyst web UI in-process (Starlette TestClient) over a small seeded SQLite store."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from crawler.app import App
from crawler.cli.web import (
    known_claims_appender,
    load_secret_key,
    users_group,
)
from index.documents import Document, document_id
from index.sqlite import SqliteStore
from index.store import Bucket
from index.web import UserStore, create_app
from index.web.params import ParamError, SearchParams, roll_up
from index.web.security import CONTENT_SECURITY_POLICY, LoginRateLimiter, safe_next, safe_url

PASSWORD = "mat-khau-an-toan"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
SECRET = "k" * 48
XSS_TITLE = "Cảnh báo <script>alert('xss-title')</script> lừa đảo"
XSS_AUTHOR = "<img src=x onerror=alert('xss-author')>"
XSS_TEXT = (
    "Tin nhắn có nội dung <a href=\"javascript:alert('xss-link')\">bấm vào đây</a> để nhận thưởng. "
    "Một số trang còn chèn </textarea><script>alert('xss-body')</script> vào biểu mẫu."
)
SHARED_SENTENCE = (
    "Uống nước muối ấm mỗi sáng giúp chữa khỏi Covid-19 chỉ sau ba ngày mà không cần đến bệnh viện"
)


def _doc(site: str, slug: str, **fields) -> Document:
    url = fields.pop("url", f"https://{site}/{slug}")
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=fields.pop("source", site.split(".")[0]),
        site=site,
        fetched_at="2026-11-26T08:00:00+07:00",
        **fields,
    )


CLAIM_ANALYSIS = {
    "claim": {
        "score": 0.91,
        "flag": True,
        "matches": [
            {
                "claim": "Súc miệng bằng nước muối ấm giúp chữa khỏi Covid-19",
                "similarity": 0.83,
                "verdict": "false",
                "source": "Bộ Y tế",
                "date": "2020-02-01",
                "evidence": SHARED_SENTENCE,
            }
        ],
        "signals": [{"name": "urgency", "evidence": "chia sẻ ngay"}],
        "classifier": 0.77,
    },
    "covid": {"score": 0.88, "flag": True, "terms": ["covid-19", "bệnh viện"]},
}

DOCS = [
    _doc(
        "songhong.localhost",
        "ha-noi-mua",
        title="Hà Nội mưa lớn, nhiều tuyến phố ngập",
        text="Mưa lớn kéo dài khiến nhiều tuyến phố ở Hà Nội ngập sâu, giao thông ùn tắc giờ cao điểm.",
        author="Nguyễn Văn An",
        section="Thời sự",
        published_at="2026-11-20T07:00:00+07:00",
    ),
    _doc(
        "songhong.localhost",
        "da-nang-du-lich",
        title="Đà Nẵng đón khách du lịch quốc tế",
        text="Đà Nẵng đón hàng nghìn khách quốc tế trong dịp lễ hội pháo hoa, các khách sạn kín phòng.",
        section="Du lịch",
        published_at="2026-11-21T09:00:00+07:00",
    ),
    _doc(
        "tinnong24h.localhost",
        "nuoc-muoi",
        kind="post",
        title="Chia sẻ ngay: nước muối chữa Covid",
        text=SHARED_SENTENCE + ". Hãy chia sẻ ngay cho người thân.",
        published_at="2026-11-22T10:00:00+07:00",
        flags=["claim", "covid"],
        scores={"claim": 0.91, "covid": 0.88},
        analysis=CLAIM_ANALYSIS,
    ),
    _doc(
        "baomoi24.localhost",
        "nuoc-muoi-copy",
        title="Bí quyết nước muối",
        text="Theo một bài đăng, " + SHARED_SENTENCE + ". Nhiều người đã thử.",
        published_at="2026-11-23T10:00:00+07:00",
        flags=["covid"],
        scores={"covid": 0.8, "claim": 0.4},
        analysis={"covid": {"score": 0.8, "flag": True, "terms": ["covid-19"]}},
    ),
    _doc(
        "tonghop24.localhost",
        "bai-viet-thu-nghiem-an-toan",
        url="javascript:alert('xss-url')",
        title=XSS_TITLE,
        author=XSS_AUTHOR,
        text=XSS_TEXT,
        published_at="2026-11-25T10:00:00+07:00",
        flags=["claim"],
        scores={"claim": 0.7},
        analysis={
            "claim": {
                "score": 0.7,
                "flag": True,
                "matches": [],
                "signals": [
                    {"name": "<b>sig</b>", "evidence": "<script>alert('xss-signal')</script>"}
                ],
                "classifier": None,
            }
        },
    ),
]
SITE_PROFILE = {
    "site": "tinnong24h.localhost",
    "score": 0.82,
    "flag": True,
    "evidence": [
        "tên 'Báo Tin Nóng 24h' trong tiêu đề (5/5 trang)",
        "<script>alert('xss-site')</script>",
    ],
    "pages": 5,
}
RUNS = [
    {
        "source": "songhong",
        "trigger": "manual",
        "started_at": "2026-11-26T08:00:00+07:00",
        "finished_at": "2026-11-26T08:01:00+07:00",
        "status": "ok",
        "fetched": 64,
        "new": 60,
        "updated": 2,
        "unchanged": 2,
        "failed": 0,
        "errors": [],
    },
    {
        "source": "tonghop24",
        "trigger": "scheduled",
        "started_at": "2026-11-26T09:00:00+07:00",
        "finished_at": "2026-11-26T09:00:05+07:00",
        "status": "failed",
        "fetched": 0,
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "errors": ["connection refused: <script>alert('xss-run')</script>"],
    },
]


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(tmp_path / "index.db")
    store.upsert(DOCS)
    store.upsert_site(SITE_PROFILE)
    yield store
    store.close()


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    users = UserStore(tmp_path / "state.db", hasher=FAST_HASHER)
    users.add("lan", PASSWORD, "analyst")
    users.add("hoa", PASSWORD, "analyst")
    users.add("minh", PASSWORD, "admin")
    return users


@pytest.fixture
def appended() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def app(store, users, appended):
    def append(text: str, source: str) -> str:
        if "bad" in text:
            raise ValueError("'claim' must be a non-empty string")
        appended.append((text, source))
        return f"claim-{len(appended)}"

    return create_app(
        store_factory=lambda: store,
        users=users,
        secret_key=SECRET,
        runs_provider=lambda: RUNS,
        known_claims_appender=append,
    )


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str = "lan", password: str = PASSWORD) -> str:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/queues").text)


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def lan(app):
    with TestClient(app) as client:
        client.csrf = login(client, "lan")  # type: ignore[attr-defined]
        yield client


def _concrete(path: str) -> str:
    return (
        path.replace("{doc_id}", DOCS[2].id)
        .replace("{queue}", "claim")
        .replace("{item_id}", f"claim:{DOCS[2].id}")
        .replace("{site}", "songhong.localhost")
    )


def _routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                found.append((method, _concrete(route.path)))
    return found


# -- access control ----------------------------------------------------------------------------


def test_every_route_but_login_needs_a_session(client, app):
    routes = _routes(app)
    assert ("GET", "/") in routes and (
        "POST",
        f"/queues/claim/items/claim:{DOCS[2].id}/decide",
    ) in routes
    for method, path in routes:
        response = client.request(method, path, follow_redirects=False)
        if path == "/login":
            assert response.status_code in (200, 403), (method, path)  # POST: no CSRF token
        elif path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next="), (method, path)
    assert client.get("/static/app.css").status_code == 200


def test_login_then_logout(client):
    token = csrf_of(client.get("/login?next=/sites").text)
    wrong = client.post(
        "/login", data={"username": "lan", "password": "sai-mat-khau", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Wrong user name or password" in wrong.text
    ok = client.post(
        "/login",
        data={"username": "LAN", "password": PASSWORD, "csrf_token": token, "next": "/sites"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/sites"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "lan (analyst)" in page.text
    logout = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/search").status_code == 401


def test_login_redirect_stays_on_this_site(client):
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "username": "lan",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
    assert (
        safe_next("https://evil.example/") == "/" and safe_next("/queues/claim") == "/queues/claim"
    )


def test_failed_logins_are_rate_limited(client):
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        response = client.post(
            "/login", data={"username": "hoa", "password": "nope-nope", "csrf_token": token}
        )
        assert response.status_code == 401
    blocked = client.post(
        "/login", data={"username": "hoa", "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    limiter = LoginRateLimiter(per_user=2, per_address=10, window_seconds=60)
    limiter.failed("a", "1.2.3.4", now=0)
    limiter.failed("a", "1.2.3.4", now=1)
    assert limiter.blocked("a", "1.2.3.4", now=2) == pytest.approx(58)
    assert limiter.blocked("a", "1.2.3.4", now=61) == 0


def test_deleted_account_loses_its_session(lan, users):
    with sqlite3.connect(users.path) as conn:  # an admin removes the account by hand
        conn.execute("DELETE FROM users WHERE username = 'lan'")
    assert lan.get("/", follow_redirects=False).status_code == 303


def test_every_post_form_refuses_a_missing_or_wrong_csrf_token(lan, app):
    posts = [path for method, path in _routes(app) if method == "POST"]
    assert len(posts) >= 7
    for path in posts:
        for data in ({}, {"csrf_token": "forged"}):
            response = lan.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, data)
    # The same forms pass the check with the session's token (whatever they then decide);
    # logging out ends the session, so it goes last.
    for path in sorted(posts, key=lambda path: path == "/logout"):
        response = lan.post(path, data={"csrf_token": lan.csrf}, follow_redirects=False)
        assert response.status_code in (200, 303, 401), path
        if path != "/login":
            assert response.status_code == 303, path


def test_security_headers_on_every_response(client, lan):
    for response in (
        client.get("/login"),
        lan.get("/"),
        lan.get("/posts/nope"),
        lan.get("/static/app.js"),
    ):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in lan.get("/").text.replace(
        '<script src="/static/app.js" defer></script>', ""
    )


# -- search ------------------------------------------------------------------------------------


def _total(html: str) -> int:
    match = re.search(r'data-total="(\d+)"', html)
    assert match, html[:500]
    return int(match.group(1))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Hà Nội", 1),
        ("ha noi", 1),
        ("da nang", 1),
        ("Đà Nẵng", 1),
        ("nuoc muoi", 2),
        ('"nước muối ấm"', 2),
        ("flags:covid", 2),
        ("", len(DOCS)),
    ],
)
def test_search_with_and_without_diacritics(lan, query, expected):
    response = lan.get("/", params={"q": query})
    assert response.status_code == 200
    assert _total(response.text) == expected
    if query == "ha noi":
        assert "<mark>Hà</mark> <mark>Nội</mark>" in response.text


def test_bad_query_is_a_readable_message(lan):
    response = lan.get("/", params={"q": 'title:"unclosed'})
    assert response.status_code == 400
    assert "cannot parse query" in response.text or "query" in response.text
    assert "Traceback" not in response.text
    assert (
        lan.get("/api/search", params={"q": "nosuchfield:x"})
        .json()["error"]
        .startswith("unknown field")
    )
    assert lan.get("/", params={"from": "yesterday"}).status_code == 400


def test_filters_and_facets_change_counts(lan):
    everything = lan.get("/").text
    assert _total(everything) == 5
    assert 'href="/?site=songhong.localhost"' in everything
    narrowed = lan.get("/", params={"site": "songhong.localhost"}).text
    assert _total(narrowed) == 2
    assert "site: songhong.localhost ×" in narrowed
    both = lan.get(
        "/", params=[("site", "songhong.localhost"), ("site", "baomoi24.localhost")]
    ).text
    assert _total(both) == 3
    assert _total(lan.get("/", params={"kind": "post"}).text) == 1
    assert _total(lan.get("/", params={"flags": "claim", "q": "nuoc muoi"}).text) == 1
    assert _total(lan.get("/", params={"from": "2026-11-22", "to": "2026-11-23"}).text) == 2
    newest = lan.get("/", params={"sort": "newest"}).text
    assert newest.index("tonghop24.localhost") < newest.index("Hà Nội mưa lớn")


def test_histogram_bars_link_to_their_dates(lan):
    html = lan.get("/", params={"q": "nuoc muoi"}).text
    assert '<svg class="histogram"' in html
    assert "from=2026-11-22&amp;to=2026-11-22" in html


def test_api_search_shape(lan):
    data = lan.get("/api/search", params={"q": "ha noi"}).json()
    assert data["total"] == 1
    assert data["hits"][0]["title"] == DOCS[0].title
    assert ["Hà", True] in data["hits"][0]["snippet"]
    assert {"source", "site", "kind", "flags", "review_status"} <= set(data["facets"])
    assert data["histogram"] == [{"key": "2026-11-20", "count": 1}]


def test_export_streams_csv_and_jsonl(lan):
    response = lan.get("/export", params={"q": "nuoc muoi", "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["site"] for row in rows} == {"tinnong24h.localhost", "baomoi24.localhost"}
    lines = lan.get("/export", params={"format": "jsonl"}).text.splitlines()
    assert len(lines) == len(DOCS)
    assert {json.loads(line)["id"] for line in lines} == {doc.id for doc in DOCS}
    assert lan.get("/export", params={"format": "xml"}).status_code == 400
    assert lan.get("/export", params={"q": "(", "format": "csv"}).status_code == 400


def test_export_defuses_spreadsheet_formulas(lan, store):
    store.upsert([_doc("a.localhost", "f", title='=HYPERLINK("http://x")', text="công thức")])
    rows = list(csv.DictReader(io.StringIO(lan.get("/export", params={"q": "cong thuc"}).text)))
    assert rows[0]["title"].startswith("'=")


def test_search_params_round_trip():
    params = SearchParams.from_query(
        [("q", "hà nội"), ("site", "a"), ("site", "b"), ("sort", "newest"), ("page", "2")]
    )
    assert SearchParams.from_query(params.items()) == params
    assert params.with_filter("kind", "post").page == 1
    assert params.without_filter("site", "a").filters == {"site": ("b",)}
    assert "format=csv" in params.export_url("csv") and "page=" not in params.export_url("csv")
    with pytest.raises(ParamError):
        SearchParams.from_query([("sort", "random")])
    with pytest.raises(ParamError):
        SearchParams.from_query([("from", "2026-02-30")])


def test_histogram_rolls_days_up_to_weeks_and_months():
    days = [Bucket(f"2026-01-{day:02d}", 1) for day in range(1, 32)]
    assert roll_up(days)[0] == "day"
    interval, bars = roll_up(days, max_bars=10)
    assert interval == "week" and bars[0] == ("2025-12-29", "2026-01-04", 4)
    interval, bars = roll_up(days, max_bars=3)
    assert interval == "month" and bars == [("2026-01-01", "2026-01-31", 31)]


def test_histogram_keeps_empty_periods_between_posts():
    # The store's daily histogram is filled: a wide search has many empty days.
    days = [Bucket("2025-11-03", 2), *(Bucket(f"2025-11-{d:02d}", 0) for d in range(4, 31))]
    days += [Bucket(f"2025-12-{d:02d}", 0) for d in range(1, 32)] + [Bucket("2026-01-01", 5)]
    interval, bars = roll_up(days, max_bars=8)
    assert interval == "month"
    assert bars == [
        ("2025-11-01", "2025-11-30", 2),
        ("2025-12-01", "2025-12-31", 0),
        ("2026-01-01", "2026-01-31", 5),
    ]
    interval, bars = roll_up(days, max_bars=9)
    assert interval == "week" and len(bars) == 9 and sum(n for _, _, n in bars) == 7
    assert bars[0] == ("2025-11-03", "2025-11-09", 2) and bars[4][2] == 0


# -- posts -----------------------------------------------------------------------------------


def test_post_page_shows_evidence_duplicates_and_review(lan):
    html = lan.get(f"/posts/{DOCS[2].id}").text
    assert "Súc miệng bằng nước muối ấm giúp chữa khỏi Covid-19" in html
    assert "0.83" in html and "Bộ Y tế" in html
    assert "Classifier probability: 0.77" in html
    assert "urgency" in html and "chia sẻ ngay" in html
    assert "covid-19" in html
    assert "2026-11-22 10:00" in html and "First seen" in html
    assert (
        'rel="noopener noreferrer"' in html
        and 'href="https://tinnong24h.localhost/nuoc-muoi"' in html
    )
    duplicates = html[html.index("Same text elsewhere") :]
    assert f"/posts/{DOCS[3].id}" in duplicates and "baomoi24.localhost" in duplicates
    assert "claim queue" in html and "covid queue" in html
    assert lan.get("/posts/does-not-exist").status_code == 404


def test_api_post(lan):
    data = lan.get(f"/api/posts/{DOCS[2].id}").json()
    assert data["id"] == DOCS[2].id
    assert data["near_duplicates"]["documents"][0]["id"] == DOCS[3].id
    assert {entry["item"]["queue"] for entry in data["review"]} == {"claim", "covid"}
    assert lan.get("/api/posts/nope").status_code == 404


# -- hostile content ---------------------------------------------------------------------------


def _script_free(html: str) -> str:
    return html.replace('<script src="/static/app.js" defer></script>', "").replace(
        '<script src="/static/queue.js" defer></script>', ""
    )


def test_crawled_markup_is_escaped_everywhere(lan):
    hostile = DOCS[4]
    pages = {
        "search": lan.get("/", params={"q": "lua dao"}).text,
        "search-all": lan.get("/").text,
        "post": lan.get(f"/posts/{hostile.id}").text,
        "queue": lan.get("/queues/claim").text,
        "item": lan.get(f"/queues/claim/items/claim:{hostile.id}").text,
        "site": lan.get("/sites/tinnong24h.localhost").text,
        "sites": lan.get("/sites").text,
        "status": lan.get("/status").text,
    }
    for name, html in pages.items():
        clean = _script_free(html)
        assert "<script" not in clean, name
        assert "<img" not in clean, name
        assert "onerror=" not in clean.replace("onerror=alert(&#39;xss-author&#39;)", ""), name
        assert 'href="javascript:' not in clean.lower(), name
    assert "&lt;script&gt;alert(&#39;xss-title&#39;)&lt;/script&gt;" in pages["post"]
    assert "&lt;img src=x onerror=alert(&#39;xss-author&#39;)&gt;" in pages["post"]
    # The javascript: URL is shown as text, not a link.
    assert 'class="unsafe-url"' in pages["post"]
    api = lan.get(f"/api/posts/{hostile.id}")
    assert api.headers["content-type"].startswith("application/json")


def test_safe_url_only_allows_http():
    assert safe_url("https://a.vn/x") == "https://a.vn/x"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url(" JaVaScRiPt:alert(1)") is None
    assert safe_url("data:text/html,x") is None
    assert safe_url("//a.vn") is None


# -- queues --------------------------------------------------------------------------------------


def _item_version(client: TestClient, queue: str, item: str) -> str:
    html = client.get(f"/queues/{queue}/items/{item}").text
    match = re.search(r'name="version" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_queues_page_counts(lan):
    html = lan.get("/queues").text
    assert re.search(r'data-queue="claim">.*?open-count">2<', html, re.S)
    assert re.search(r'data-queue="covid">.*?open-count">2<', html, re.S)
    assert re.search(r'data-queue="site">.*?open-count">1<', html, re.S)
    queue = lan.get("/queues/claim").text
    # Priority order (score and recency): the newer hostile post comes first.
    assert queue.index(f'data-item="claim:{DOCS[4].id}"') < queue.index(
        f'data-item="claim:{DOCS[2].id}"'
    )
    assert '<script src="/static/queue.js" defer></script>' in queue
    assert lan.get("/queues/nope").status_code == 404


def test_claim_decide_conflict_and_audit(app, lan, appended):
    item = f"claim:{DOCS[2].id}"
    base = f"/queues/claim/items/{item}"
    claimed = lan.post(base + "/claim", data={"csrf_token": lan.csrf}, follow_redirects=True)
    assert "claimed" in claimed.text

    # A second analyst in another browser (no lifespan of its own: the app is already up).
    hoa = TestClient(app)
    hoa_token = login(hoa, "hoa")
    taken = hoa.post(base + "/claim", data={"csrf_token": hoa_token, "next": base})
    assert taken.status_code == 200 and "is claimed by lan" in taken.text
    stale_version = _item_version(hoa, "claim", item)

    version = _item_version(lan, "claim", item)
    decided = lan.post(
        base + "/decide",
        data={
            "csrf_token": lan.csrf,
            "verdict": "false",
            "note": "Bộ Y tế đã bác bỏ",
            "version": version,
        },
    )
    assert decided.status_code == 200
    # A false claim verdict offers to add the claim to the known claims.
    assert "Add to the known false claims?" in decided.text

    late = hoa.post(
        base + "/decide",
        data={"csrf_token": hoa_token, "verdict": "true", "version": stale_version, "next": base},
    )
    assert late.status_code == 200 and "changed since you read it" in late.text

    # Reopening someone else's decision needs an admin (hoa gets no reopen form).
    assert 'action="' + base + '/reopen"' not in hoa.get(base).text
    refused = hoa.post(
        base + "/reopen",
        data={"csrf_token": hoa_token, "version": _item_version(lan, "claim", item), "next": base},
    )
    assert "only an admin or the analyst who decided it" in refused.text

    added = lan.post(
        base + "/known-claim",
        data={"csrf_token": lan.csrf, "claim": "Nước muối chữa khỏi Covid-19", "source": "Bộ Y tế"},
    )
    assert "added known false claim claim-1" in added.text
    assert appended == [("Nước muối chữa khỏi Covid-19", "Bộ Y tế")]
    rejected = lan.post(
        base + "/known-claim",
        data={"csrf_token": lan.csrf, "claim": "bad claim", "source": "x", "next": base},
    )
    assert "must be a non-empty string" in rejected.text

    page = lan.get(base).text
    history = page[page.index('<table class="history">') :]
    assert "audit-claim" in history and "audit-decide" in history
    assert "Bộ Y tế đã bác bỏ" in history and "false" in history
    post = lan.get(f"/posts/{DOCS[2].id}").text
    assert "audit-decide" in post
    assert "review: false" in lan.get("/", params={"q": "nuoc muoi chia se"}).text

    minh = TestClient(app)
    token = login(minh, "minh")
    reopened = minh.post(
        base + "/reopen",
        data={
            "csrf_token": token,
            "version": _item_version(minh, "claim", item),
            "note": "xem lại",
        },
    )
    assert "reopened" in reopened.text
    assert "audit-reopen" in minh.get(base).text


def test_bad_verdict_and_unknown_item_are_messages(lan):
    base = f"/queues/covid/items/covid:{DOCS[3].id}"
    version = _item_version(lan, "covid", f"covid:{DOCS[3].id}")
    response = lan.post(
        base + "/decide", data={"csrf_token": lan.csrf, "verdict": "maybe", "version": version}
    )
    assert response.status_code == 200 and "is not a verdict for the covid queue" in response.text
    missing = lan.post("/queues/covid/items/covid:nope/claim", data={"csrf_token": lan.csrf})
    assert missing.status_code == 200 and "no review item" in missing.text
    assert lan.get("/queues/covid/items/covid:nope").status_code == 404


def test_skip_moves_an_item_last_for_that_analyst_only(lan):
    first = f"claim:{DOCS[4].id}"
    html = lan.get("/queues/claim").text
    assert html.index(f'data-item="{first}"') < html.index(f'data-item="claim:{DOCS[2].id}"')
    lan.post(f"/queues/claim/items/{first}/skip", data={"csrf_token": lan.csrf})
    html = lan.get("/queues/claim").text
    assert html.index(f'data-item="claim:{DOCS[2].id}"') < html.index(f'data-item="{first}"')
    assert "skipped" in html


def test_session_cookie_stays_small(lan, store):
    long_title = "Tin nóng " * 200
    store.upsert([_doc("dai.localhost", "dai", title=long_title, text="x", flags=["claim"])])
    item = f"claim:{_doc('dai.localhost', 'dai').id}"
    for number in range(60):
        lan.post(f"/queues/claim/items/claim:{number:024x}/skip", data={"csrf_token": lan.csrf})
    lan.post(f"/queues/claim/items/{item}/claim", data={"csrf_token": lan.csrf})
    assert len(lan.cookies["misinfo_session"]) < 3800
    assert lan.get("/", follow_redirects=False).status_code == 200


# -- sites and status ------------------------------------------------------------------------


def test_sites_and_site_page(lan):
    listing = lan.get("/sites").text
    assert "tinnong24h.localhost" in listing and "0.82" in listing
    site = lan.get("/sites/tinnong24h.localhost").text
    assert "Báo Tin Nóng 24h" in site
    assert DOCS[2].title in site  # its flagged post
    assert "site queue" in site
    assert lan.get("/sites/nowhere.example").status_code == 404


def test_status_page_shows_runs_and_errors(lan):
    html = lan.get("/status").text
    assert 'data-source="songhong"' in html and "64" in html
    assert "run-failed" in html and "connection refused" in html


# -- accounts and CLI wiring ---------------------------------------------------------------------


def test_user_store_rules(tmp_path):
    users = UserStore(tmp_path / "u.db", hasher=FAST_HASHER)
    users.add("Lan.Nguyen", PASSWORD)
    assert users.authenticate("lan.nguyen", PASSWORD).role == "analyst"
    assert users.authenticate("lan.nguyen", "wrong-password") is None
    assert users.authenticate("ghost", PASSWORD) is None
    from index.web import UserError, UserExists

    with pytest.raises(UserExists):
        users.add("lan.nguyen", PASSWORD)
    with pytest.raises(UserError, match="role"):
        users.add("x", PASSWORD, "root")
    with pytest.raises(UserError, match="at least"):
        users.add("y", "short")
    with pytest.raises(UserError, match="user name"):
        users.add("a b", PASSWORD)
    with sqlite3.connect(users.path) as conn:
        stored = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_users_add_command(tmp_path):
    runner = CliRunner()
    app = App(data_dir=tmp_path / "data")
    result = runner.invoke(
        users_group, ["add", "lan", "--role", "admin"], input=PASSWORD + "\n", obj=app
    )
    assert result.exit_code == 0, result.output
    assert "created admin lan" in result.output
    again = runner.invoke(users_group, ["add", "lan"], input=PASSWORD + "\n", obj=app)
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(
        users_group, ["add", "x", "--role", "root"], input=PASSWORD + "\n", obj=app
    )
    assert bad_role.exit_code != 0 and "root" in bad_role.output
    short = runner.invoke(users_group, ["add", "x"], input="abc\n", obj=app)
    assert short.exit_code != 0 and "at least 8" in short.output
    listed = runner.invoke(users_group, ["list"], obj=app)
    assert "lan\tadmin" in listed.output


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    key = load_secret_key(tmp_path)
    assert len(key) >= 32 and load_secret_key(tmp_path) == key
    mode = stat.S_IMODE((tmp_path / "web_secret_key").stat().st_mode)
    assert mode == 0o600


def test_known_claims_appender_writes_a_valid_record(tmp_path):
    from crawler.resources.claims import (
        confirmed_claims_path,
        load_claim_resources,
        load_known_claims,
    )

    app = App(data_dir=tmp_path / "data")  # no config directory needed
    append = known_claims_appender(app)
    new_id = append("Tỏi ngâm rượu chữa khỏi Covid-19", "Bộ Y tế, 2026-11-26")
    records = load_known_claims(confirmed_claims_path(app))
    assert [(r.id, r.claim) for r in records] == [(new_id, "Tỏi ngâm rượu chữa khỏi Covid-19")]
    with pytest.raises(ValueError, match="already"):
        append("Tỏi ngâm rượu chữa khỏi Covid-19", "again")
    # The confirmed claim is matched from now on, beside the curated ones.
    bundled = len(load_known_claims(App().config_path("known_false_claims.jsonl")))
    assert len(load_claim_resources(app).known_claims) == bundled + 1
