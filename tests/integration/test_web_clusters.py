"""The rumour-spread pages of the UI in-process: clusters, a cluster's spread, the post
link, collapsed search, trending, watches and alerts, the whole-cluster verdict."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from index.documents import Document, document_id
from index.sqlite import SqliteStore
from index.web import UserStore, create_app
from index.web.security import CONTENT_SECURITY_POLICY

PASSWORD = "mat-khau-an-toan"
SECRET = "c" * 48
NOW = datetime.now(UTC).replace(microsecond=0)
RUMOUR = (
    "Cảnh báo khẩn: uống nước chanh nóng pha mật ong lúc đói sẽ giết chết virus corona trước "
    "khi nó xuống phổi, không cần tiêm vắc xin. Bác sĩ bệnh viện tỉnh đã xác nhận cách này "
    "chữa khỏi cho hàng trăm người. Hãy chia sẻ cho người thân và bạn bè biết ngay hôm nay."
)
XSS = "<script>alert('xss-cluster')</script>"


def _post(site: str, slug: str, text: str, hours_ago: float, **fields) -> Document:
    url = f"https://{site}/{slug}"
    when = (NOW - timedelta(hours=hours_ago)).isoformat()
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source=site.split(".")[0],
        site=site,
        kind="post",
        text=text,
        published_at=when,
        fetched_at=when,
        **fields,
    )


ORIGINAL = _post(
    "tinnong24h.localhost",
    "chanh-mat-ong",
    RUMOUR,
    30,
    title=f"Chanh mật ong diệt virus {XSS}",
    flags=["claim"],
    scores={"claim": 0.9},
    analysis={"claim": {"score": 0.9, "flag": True}},
    engagement={"likes": 10},
)
COPIES = [
    _post("facebook.localhost", f"group/{n}", prefix + RUMOUR, hours, author=f"Tài khoản {n}")
    for n, (prefix, hours) in enumerate([("Chia sẻ: ", 5), ("Nóng: ", 3), ("", 1)])
]
OTHER = _post(
    "songhong.localhost",
    "mua-lon",
    "Mưa lớn kéo dài khiến nhiều tuyến phố ở Hà Nội ngập sâu, giao thông ùn tắc vào giờ cao "
    "điểm sáng nay, nhiều phương tiện chết máy giữa đường.",
    2,
    title="Hà Nội mưa lớn",
)


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(tmp_path / "index.db")
    store.upsert([ORIGINAL, OTHER])
    store.upsert(COPIES)
    yield store
    store.close()


@pytest.fixture
def lan(store, tmp_path):
    users = UserStore(
        tmp_path / "state.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    users.add("lan", PASSWORD, "analyst")
    app = create_app(store_factory=lambda: store, users=users, secret_key=SECRET)
    with TestClient(app) as client:
        token = _csrf(client.get("/login").text)
        client.post(
            "/login",
            data={"username": "lan", "password": PASSWORD, "csrf_token": token, "next": "/"},
        )
        client.csrf = _csrf(client.get("/alerts").text)  # type: ignore[attr-defined]
        yield client


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def cluster_id(store) -> str:
    return store.get(ORIGINAL.id).cluster_id


def test_the_clusters_page_lists_the_rumour_escaped(lan, store):
    page = lan.get("/clusters")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert f'href="/clusters/{cluster_id(store)}"' in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    row = page.text.split(f'href="/clusters/{cluster_id(store)}"')[1].split("</tr>")[0]
    assert '<td class="num">4</td>' in row  # four posts
    assert "Hà Nội mưa lớn" not in page.text  # a story of its own is no cluster
    assert "Hà Nội mưa lớn" not in lan.get("/clusters?flagged=1&since=24h").text


def test_the_cluster_page_shows_first_post_timeline_and_members(lan, store):
    page = lan.get(f"/clusters/{cluster_id(store)}")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and 'class="spread"' in html
    assert html.count('class="dot ') == 4
    assert html.count('class="site-row"') == 2  # two sites
    assert 'class="dot first"' in html
    first_post = html.split('class="first-post"')[1].split("</section>")[0]
    assert "tinnong24h.localhost" in first_post
    assert html.count('class="member"') == 4
    assert "jaccard" in html and "started the cluster" in html
    assert "<script>alert" not in html
    assert lan.get("/clusters/nope").status_code == 404
    data = lan.get(f"/api/clusters/{cluster_id(store)}").json()
    assert data["size"] == 4 and data["members"][0]["site"] == "tinnong24h.localhost"


def test_the_post_page_links_to_its_cluster(lan, store):
    page = lan.get(f"/posts/{COPIES[0].id}")
    assert f'href="/clusters/{cluster_id(store)}"' in page.text
    assert "one of 4 copies" in page.text


def test_search_carries_cluster_sizes_and_collapses_clusters(lan, store):
    api = lan.get("/api/search", params={"q": "chanh mat ong"}).json()
    assert api["total"] == 4
    assert {hit["cluster_size"] for hit in api["hits"]} == {4}
    assert {hit["cluster_id"] for hit in api["hits"]} == {cluster_id(store)}
    full = lan.get("/", params={"q": "chanh mat ong"}).text
    assert full.count('<li class="hit"') == 4
    collapsed = lan.get("/", params={"q": "chanh mat ong", "collapse": "1"}).text
    assert collapsed.count('<li class="hit"') == 1
    assert "+3 copies" in collapsed
    assert "collapse=1" in collapsed  # links keep the choice
    assert (
        lan.get("/", params={"q": f"cluster:{cluster_id(store)}"}).text.count('<li class="hit"')
        == 4
    )


def test_verdict_for_the_whole_cluster(lan, store):
    response = lan.post(
        f"/clusters/{cluster_id(store)}/decide",
        data={"csrf_token": lan.csrf, "verdict": "false", "note": "Bộ Y tế bác bỏ"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = lan.get(response.headers["location"]).text
    assert "false applied to the cluster: 4 decided" in page
    for doc in (ORIGINAL, *COPIES):
        assert store.get(doc.id).review_status == "false"
        assert store.review_history(f"claim:{doc.id}")[-1].user == "lan"
    assert store.get(OTHER.id).review_status == "none"
    bad = lan.post(
        f"/clusters/{cluster_id(store)}/decide",
        data={"csrf_token": lan.csrf, "verdict": "confirmed"},
    )
    assert "not a verdict" in bad.text
    assert (
        lan.post(f"/clusters/{cluster_id(store)}/decide", data={"verdict": "false"}).status_code
        == 403
    )  # no CSRF token


def test_a_travelled_verdict_links_the_decision_on_the_item_page(lan, store):
    [item] = store.review_list("claim")
    store.review_decide(item.id, "hoa", "false", "sai sự thật", expected_version=item.version)
    copy_item = f"claim:{COPIES[1].id}"
    page = lan.get(f"/queues/claim/items/{copy_item}").text
    link = page.split('class="cluster-verdict"')[1].split("</li>")[0]
    assert f'/queues/claim/items/{item.id}"' in link and "hoa" in link


def test_trending_page(lan, store):
    page = lan.get("/trends")
    assert page.status_code == 200
    trending = page.text.split('class="trend-clusters"')[1].split("</table>")[0]
    assert f'href="/clusters/{cluster_id(store)}"' in trending  # three copies today, none before
    assert "×" in trending
    assert lan.get("/trends?window=bogus").status_code == 200


def test_watches_and_alerts(lan, store):
    response = lan.post(
        "/watches",
        data={"csrf_token": lan.csrf, "query": "mưa lớn OR ngập", "name": "Ngập", "next": "/alerts"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    bad = lan.post("/watches", data={"csrf_token": lan.csrf, "query": "a AND (", "next": "/alerts"})
    assert "not saved" in bad.text
    [watch] = store.watch_list()
    assert (watch.name, watch.created_by) == ("Ngập", "lan")
    store.upsert(
        [_post("baomoi.localhost", "ngap", "Nhiều tuyến phố ngập sâu sau mưa lớn chiều qua.", 0.5)]
    )
    page = lan.get("/alerts").text
    assert "Ngập" in page and "baomoi.localhost" in page and "waiting" in page
    lan.post(f"/watches/{watch.id}/delete", data={"csrf_token": lan.csrf})
    assert store.watch_list() == []
    search = lan.get("/", params={"q": "covid"}).text
    assert 'action="/watches"' in search  # "watch this search"
