"""Evidence pieces without a crawl: the metadata contract on both stores, WARC records, the
URL rules of captures and checks, takedown classification, WACZ bundles and signatures."""

from __future__ import annotations

import base64
import io
import os
import sqlite3
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.bundle import BundleDocument, surt, verify_wacz, write_wacz
from crawler.evidence.checks import classify
from crawler.evidence.fetch import UrlPolicy, UrlRefused, fetch
from crawler.evidence.warc import Exchange, RotatingWarcWriter, exchange_records
from crawler.resources.store import open_app_store
from index.documents import Document
from index.evidence import Check, EvidenceFile, audit_item_id, checks_of, evidence_of
from index.evidence_files import LocalFileStore
from index.review import AuditEntry
from index.sqlite import SqliteStore

ES_URL = os.environ.get("MISINFO_ES_URL")


def _exchange(url: str = "http://news.example.vn/a/1.html", body: bytes = b"") -> Exchange:
    body = body or "<html><title>Tin đồn</title><h1>Tiêm vắc xin gây vô sinh</h1></html>".encode()
    return Exchange(
        url=url,
        status=200,
        response_headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
        ],
        body=body,
        fetched_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        request_headers=[("User-Agent", "misinfo-monitor/0.1")],
        ip_address="203.0.113.7",
    )


def _file(doc_id: str, n: int, kind: str = "screenshot") -> EvidenceFile:
    return EvidenceFile(
        id=f"{doc_id}:{kind}:{n}",
        doc_id=doc_id,
        kind=kind,
        sha256=f"{n:064x}",
        size=10 + n,
        captured_at=f"2026-11-30T08:0{n}:00+00:00",
        url="http://news.example.vn/a/1.html",
        captured_by="analyst1",
        origin="capture",
        tools={"chromium": "1"},
    )


# -- the metadata contract, on both stores ---------------------------------------------------


@pytest.fixture
def store(each_store):
    return each_store


def test_first_removals_are_counted_once_in_their_period(store):
    """The period report's "removals confirmed": a document's first removal only, in the
    period it happened."""
    meta = store.evidence()
    for check_id, doc_id, day, status in [
        ("doc1:check:0", "doc1", "01", "online-unchanged"),
        ("doc1:check:1", "doc1", "02", "removed"),
        ("doc1:check:2", "doc1", "05", "removed"),  # found removed again: not a new removal
        ("doc2:check:0", "doc2", "03", "online-changed"),
        ("doc2:check:1", "doc2", "04", "removed"),
        ("doc3:check:0", "doc3", "09", "removed"),  # after the period
    ]:
        meta.add_check(
            Check(
                id=check_id,
                doc_id=doc_id,
                checked_at=f"2026-12-{day}T00:00:00+00:00",
                url=f"http://news.example.vn/{doc_id}.html",
                status=status,
            )
        )
    until = "2026-12-08T00:00:00+00:00"
    assert meta.first_removals_between("2026-12-02T00:00:00+00:00", until) == [
        "doc1:check:1",
        "doc2:check:1",
    ]
    assert meta.first_removals_between("2026-12-03T00:00:00+00:00", until) == ["doc2:check:1"]


def test_removals_beyond_one_page_of_hits_are_all_counted(store, monkeypatch):
    """Elasticsearch answers a page of hits at a time: the removals of a long period are
    read page after page, none cut at the result window (here a page of 2)."""
    from index import elastic_evidence

    monkeypatch.setattr(elastic_evidence, "_MAX_HITS", 2)
    meta = store.evidence()
    for number in range(5):
        meta.add_check(
            Check(
                id=f"doc{number}:check:0",
                doc_id=f"doc{number}",
                checked_at=f"2026-12-0{number + 1}T00:00:00+00:00",
                url=f"http://news.example.vn/doc{number}.html",
                status="removed",
            )
        )
    found = meta.first_removals_between("2026-12-01T00:00:00+00:00", "2026-12-08T00:00:00+00:00")
    assert found == [f"doc{number}:check:0" for number in range(5)]


def test_evidence_metadata_contract(store):
    meta = store.evidence()
    first, later = _file("doc1", 1), _file("doc1", 2, "warc")
    assert meta.add_files([later, first, _file("doc2", 3)]) == 3
    # Immutable: the same id again keeps what was recorded first.
    changed = EvidenceFile.from_dict({**first.to_dict(), "sha256": "f" * 64})
    assert meta.add_files([changed]) == 0
    assert [f.id for f in evidence_of(store, "doc1")] == [first.id, later.id]
    assert meta.get_file(first.id).sha256 == first.sha256
    assert meta.get_file(first.id).tools == {"chromium": "1"}
    assert meta.docs_with_files(["doc1", "doc2", "doc3"], "screenshot") == {"doc1", "doc2"}

    for n, status in enumerate(["online-unchanged", "removed"]):
        meta.add_check(
            Check(
                id=f"doc1:check:{n}",
                doc_id="doc1",
                checked_at=f"2026-12-0{n + 1}T00:00:00+00:00",
                url="http://news.example.vn/a/1.html",
                status=status,
                http_status=200 if n == 0 else 410,
            )
        )
    assert [c.status for c in checks_of(store, "doc1")] == ["online-unchanged", "removed"]
    assert meta.last_checks(["doc1", "doc2"]) == {"doc1": "2026-12-02T00:00:00+00:00"}

    meta.set_watch("doc2", True, user="analyst1", reason="viral", at="2026-12-01T00:00:00+00:00")
    assert [w.doc_id for w in meta.watches()] == ["doc2"]
    meta.set_watch("doc2", False, user="analyst2", reason="", at="2026-12-02T00:00:00+00:00")
    assert meta.watches() == [] and meta.watch_state("doc2").by == "analyst2"

    entry = AuditEntry(
        item_id=audit_item_id("doc1"), at="2026-12-01T00:00:00+00:00", user="a", action="view"
    )
    meta.audit(entry)
    assert [e.action for e in meta.audit_history("doc1")] == ["view"]

    # Migration hooks: everything out, nothing twice in.
    assert len(list(meta.export_files())) == 3
    exported = list(meta.export_checks())
    assert sorted(c.id for c in exported) == ["doc1:check:0", "doc1:check:1"]
    assert meta.import_checks(exported) == 0
    assert [w.doc_id for w in meta.export_watches()] == ["doc2"]


def test_sqlite_evidence_rows_cannot_be_changed_or_deleted(tmp_path):
    store = SqliteStore(tmp_path / "index.db")
    store.evidence().add_files([_file("doc1", 1)])
    store.close()
    conn = sqlite3.connect(tmp_path / "index.db")
    for sql in ("UPDATE evidence_files SET sha256 = 'x'", "DELETE FROM evidence_files"):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
    conn.close()


# -- WARC records ------------------------------------------------------------------------------


def test_warc_records_keep_request_response_time_and_address(tmp_path):
    writer = RotatingWarcWriter(tmp_path, "src-run", max_bytes=1024 * 1024, info={"software": "t"})
    spans = [writer.write(_exchange()), writer.write(_exchange("http://news.example.vn/b"))]
    writer.close()
    data = spans[0].path.read_bytes()
    records = list(
        ArchiveIterator(io.BytesIO(data[spans[0].offset : spans[0].offset + spans[0].length]))
    )
    assert [r.rec_type for r in records] == ["response", "request"]
    response, request = records
    assert response.rec_headers.get_header("WARC-IP-Address") == "203.0.113.7"
    assert response.rec_headers.get_header("WARC-Date").startswith("2026-11-30T08:00:00")
    assert response.http_headers.get_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert response.http_headers.get_header("Content-Encoding") is None
    assert request.rec_headers.get_header("WARC-Concurrent-To") == spans[0].record_id
    assert request.http_headers.get_header("Host") == "news.example.vn"
    # The file starts with warcinfo; the second exchange follows the first.
    assert spans[1].offset == spans[0].offset + spans[0].length
    assert response.rec_headers.get_header("Misinfo-Body") is None
    rendered = _exchange()
    rendered.rendered = True
    data, _ = exchange_records(rendered)
    first = next(iter(ArchiveIterator(io.BytesIO(data))))
    assert first.rec_headers.get_header("Misinfo-Body").startswith("rendered DOM")


def test_warc_files_rotate(tmp_path):
    writer = RotatingWarcWriter(tmp_path, "src-run", max_bytes=1, info={})
    paths = {writer.write(_exchange()).path for _ in range(3)}
    writer.close()
    assert len(paths) == 3


# -- what captures and checks may fetch ---------------------------------------------------------


class _Redirector(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_url_policy_keeps_captures_on_the_sources_hosts():
    policy = UrlPolicy(domains=("songhong.localhost",))
    policy.check("http://songhong.localhost:8765/a.html")
    policy.check("https://m.songhong.localhost/a.html")
    for url in (
        "file:///etc/passwd",
        "ftp://songhong.localhost/x",
        "http://127.0.0.1:9200/_cluster/health",
        "http://169.254.169.254/latest/meta-data/",
        "http://songhong.localhost.evil.example/",
    ):
        with pytest.raises(UrlRefused):
            policy.check(url)
    assert policy.allows_resource("data:image/png;base64,AAAA")
    assert policy.allows_resource("http://songhong.localhost/static/site.css")
    assert not policy.allows_resource("http://127.0.0.1:9200/")
    assert not policy.allows_resource("http://other.localhost/")
    assert not policy.allows_resource("http://10.0.0.5/admin")


def test_a_redirect_off_the_source_is_refused():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        policy = UrlPolicy(domains=("127.0.0.1",))
        with pytest.raises(UrlRefused, match=r"169\.254\.169\.254"):
            fetch(f"http://127.0.0.1:{server.server_port}/post", policy, user_agent="t", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


# -- takedown classification ---------------------------------------------------------------------

CAPTURED = "Tiêm vắc xin Covid-19 gây vô sinh ở phụ nữ trẻ.\nHãy chia sẻ ngay cho mọi người."
PAGE = "<html><body><article><h1>Tin</h1><p>{}</p></article></body></html>"


@pytest.mark.parametrize(
    ("status", "html", "expected"),
    [
        (404, "", "removed"),
        (410, "", "removed"),
        (503, "", "unreachable"),
        (None, "", "unreachable"),
        (200, PAGE.format("Nội dung không tồn tại hoặc đã bị gỡ bỏ."), "removed"),
        (200, PAGE.format(CAPTURED.replace("\n", " ")), "online-unchanged"),
        (
            200,
            PAGE.format("Bài đã được sửa: tiêm vắc xin an toàn, không gây vô sinh."),
            "online-changed",
        ),
    ],
)
def test_classify(status, html, expected):
    from crawler.resources.evidence import DEFAULT_REMOVED_PATTERNS

    verdict = classify(
        http_status=status,
        html=html,
        url="http://news.example.vn/a/1.html",
        captured_text=CAPTURED,
        redirected=False,
        removed_patterns=DEFAULT_REMOVED_PATTERNS,
    )
    assert verdict.status == expected
    if expected == "online-changed":
        assert "-Tiêm vắc xin Covid-19" in verdict.diff and "+" in verdict.diff


# -- bundles ------------------------------------------------------------------------------------


def _bundle_docs(tmp_path: Path) -> list[BundleDocument]:
    data, record_id = exchange_records(_exchange())
    doc = Document(
        id="doc1",
        url="http://news.example.vn/a/1.html",
        canonical_url="http://news.example.vn/a/1.html",
        source="demo",
        site="news.example.vn",
        title="Tiêm vắc xin gây vô sinh",
        text=CAPTURED,
        fetched_at="2026-11-30T08:00:00+00:00",
        flags=["claim"],
        analysis={"claim": {"score": 0.9, "flag": True}},
    )
    files = LocalFileStore(tmp_path / "data")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    key, digest = files.put(png, suffix=".png")
    warc = EvidenceFile.from_dict({**_file("doc1", 1, "warc").to_dict(), "record_id": record_id})
    shot = EvidenceFile.from_dict({**_file("doc1", 2).to_dict(), "sha256": digest, "path": key})
    return [BundleDocument(document=doc, files=[(warc, data), (shot, files.read(key))])]


def test_bundle_verifies_and_any_changed_byte_fails(tmp_path):
    out = tmp_path / "b.wacz"
    report = write_wacz(out, _bundle_docs(tmp_path))
    assert report.records == 1 and not report.signed
    verified = verify_wacz(out)
    assert verified.ok, verified.problems
    assert [page["url"] for page in verified.pages] == ["http://news.example.vn/a/1.html"]
    blob = out.read_bytes()
    for position in range(0, len(blob), max(1, len(blob) // 150)):
        changed = bytearray(blob)
        changed[position] ^= 0x20
        out.write_bytes(bytes(changed))
        assert not verify_wacz(out).ok, f"byte {position} changed and still verified"


def test_bundle_indexes_and_pages_follow_wacz(tmp_path):
    import json
    import zipfile

    out = tmp_path / "b.wacz"
    write_wacz(out, _bundle_docs(tmp_path))
    with zipfile.ZipFile(out) as archive:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        package = json.loads(archive.read("datapackage.json"))
        cdx = archive.read("indexes/index.cdx").decode().splitlines()
        pages = archive.read("pages/pages.jsonl").decode().splitlines()
    assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
    assert cdx[0].startswith("vn,example,news)/a/1.html 20261130080000 {")
    assert json.loads(pages[0])["format"] == "json-pages-1.0"
    assert surt("http://www.Example.vn:8080/A?b=2&a=1") == "vn,example:8080)/a?a=1&b=2"


def test_signed_bundle(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out = tmp_path / "signed.wacz"
    assert write_wacz(out, _bundle_docs(tmp_path), signing_key=pem).signed
    report = verify_wacz(out, public_key=public)
    assert report.ok and report.signature.startswith("Ed25519")
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert not verify_wacz(out, public_key=other).ok
    unsigned = tmp_path / "unsigned.wacz"
    write_wacz(unsigned, _bundle_docs(tmp_path))
    assert verify_wacz(unsigned).ok and not verify_wacz(unsigned, public_key=public).ok
    runner = CliRunner()
    from crawler.cli import main

    result = runner.invoke(
        main, ["evidence", "verify", str(out), "--public-key", base64.b64encode(other).decode()]
    )
    assert result.exit_code == 1 and "FAILED" in result.output


# -- the command line ---------------------------------------------------------------------------


def test_evidence_commands_give_one_line_errors(tmp_path):
    from crawler.cli import main

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    for args in (
        ["evidence", "capture", "nosuchdoc"],
        ["evidence", "check", "nosuchdoc"],
        ["evidence", "bundle", "nosuchdoc", "-o", str(tmp_path / "x.wacz")],
        ["evidence", "list", "nosuchdoc"],
    ):
        result = runner.invoke(main, [*data, *args])
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: no document 'nosuchdoc'"), result.output
        assert "Traceback" not in result.output
    result = runner.invoke(main, [*data, "evidence", "bundle", "x", "-o", str(tmp_path / "x.zip")])
    assert result.exit_code == 2 and ".wacz" in result.output
    not_zip = tmp_path / "junk.wacz"
    not_zip.write_bytes(b"not a zip")
    result = runner.invoke(main, [*data, "evidence", "verify", str(not_zip)])
    assert result.exit_code == 1 and "not a readable zip" in result.output


def test_migrate_store_carries_evidence(tmp_path):
    from crawler.cli.index import migrate_store

    source, target = SqliteStore(tmp_path / "a.db"), SqliteStore(tmp_path / "b.db")
    try:
        meta = source.evidence()
        meta.add_files([_file("doc1", 1), _file("doc1", 2, "warc")])
        meta.add_check(
            Check(
                id="doc1:check:1",
                doc_id="doc1",
                checked_at="2026-12-01T00:00:00+00:00",
                url="http://news.example.vn/a/1.html",
                status="removed",
                http_status=404,
            )
        )
        meta.set_watch("doc1", True, user="a1", reason="viral", at="2026-12-01T00:00:00+00:00")
        meta.audit(
            AuditEntry(
                item_id=audit_item_id("doc1"),
                at="2026-12-01T00:00:00+00:00",
                user="a1",
                action="capture",
            )
        )
        first = migrate_store(source, target)
        assert (first.evidence_files, first.evidence_checks) == (2, 1)
        copied = target.evidence()
        assert [f.id for f in copied.files("doc1")] == [f.id for f in meta.files("doc1")]
        assert [c.status for c in copied.checks("doc1")] == ["removed"]
        assert copied.watch_state("doc1").watched
        assert [e.action for e in copied.audit_history("doc1")] == ["capture"]
        again = migrate_store(source, target)
        assert (again.evidence_files, again.evidence_checks) == (0, 0)
    finally:
        source.close()
        target.close()


@pytest.mark.parametrize(("mode", "archived"), [("all", 2), ("flagged", 1)])
def test_warc_extension_archives_stored_items(tmp_path, mode, archived):
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.evidence.warc import WarcExtension
    from crawler.items import PostItem
    from index import document_id

    crawler = get_crawler(
        settings_dict={
            "MM_WARC_ENABLED": True,
            "MM_WARC_MODE": mode,
            "MM_WARC_MAX_BYTES": 1 << 20,
            "MM_DATA_DIR": str(tmp_path),
            "MM_INDEX_URI": f"sqlite:///{tmp_path / 'index.db'}",
        }
    )
    extension = WarcExtension.from_crawler(crawler)

    class Spider:
        name = "demo-src"

    extension.spider_opened(Spider())
    items = []
    for n, flagged in enumerate((True, False)):
        url = f"http://news.example.vn/a/{n}.html"
        response = HtmlResponse(
            url, body=f"<h1>Bài {n}</h1>".encode(), encoding="utf-8", request=Request(url)
        )
        item = PostItem(
            url=url,
            canonical_url=url,
            source="demo-src",
            site="news.example.vn",
            fetched_at="2026-11-30T08:00:00+00:00",
            analysis={"claim": {"flag": flagged, "score": 0.9 if flagged else 0.1}},
        )
        extension.item_scraped(item, response, Spider())
        items.append(item)
    extension.spider_closed(Spider())
    from crawler.pipelines import crawler_store

    store = crawler_store(crawler)
    try:
        files = store.evidence().files()
    finally:
        store.close()
    assert len(files) == archived
    (first,) = [f for f in files if f.doc_id == document_id(items[0].canonical_url)]
    assert first.path.startswith("warc/demo-src/") and first.path.endswith(".warc.gz")
    span = (tmp_path / first.path).read_bytes()[first.offset : first.offset + first.length]
    (response, _request) = list(ArchiveIterator(io.BytesIO(span)))
    assert response.rec_headers.get_header("WARC-Target-URI") == items[0].url
    assert crawler.stats.get_value("mm/warc/records") == archived
    with pytest.raises(Exception, match="MM_WARC_MODE is off"):
        WarcExtension.from_crawler(
            get_crawler(settings_dict={"MM_WARC_ENABLED": True, "MM_WARC_MODE": "off"})
        )


def test_warc_pointers_wait_for_a_store_that_is_away(tmp_path, monkeypatch):
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.evidence.warc import PENDING_MARK, WarcExtension
    from crawler.items import PostItem
    from crawler.pipelines import crawler_store
    from index.errors import StoreUnavailable
    from index.sqlite_evidence import SqliteEvidence

    settings = {
        "MM_WARC_ENABLED": True,
        "MM_WARC_MODE": "all",
        "MM_DATA_DIR": str(tmp_path),
        "MM_INDEX_URI": f"sqlite:///{tmp_path / 'index.db'}",
    }

    class Spider:
        name = "src"

    def crawl(urls: list[str]) -> object:
        crawler = get_crawler(settings_dict=settings)
        extension = WarcExtension.from_crawler(crawler)
        extension.spider_opened(Spider())
        for url in urls:
            response = HtmlResponse(url, body=b"<h1>x</h1>", encoding="utf-8", request=Request(url))
            item = PostItem(url=url, canonical_url=url, source="src", site="news.example.vn")
            extension.item_scraped(item, response, Spider())
        extension.spider_closed(Spider())
        crawler_store(crawler).close()
        return crawler

    original = SqliteEvidence.add_files

    def away(self, files):
        raise StoreUnavailable("store away")

    monkeypatch.setattr(SqliteEvidence, "add_files", away)
    first = crawl(["http://news.example.vn/a/1.html", "http://news.example.vn/a/2.html"])
    assert first.stats.get_value("mm/warc/pointers_pending") == 2
    assert len(list(tmp_path.glob(f"warc/src/*/{PENDING_MARK}"))) == 1
    monkeypatch.setattr(SqliteEvidence, "add_files", original)
    second = crawl(["http://news.example.vn/a/3.html"])
    assert second.stats.get_value("mm/warc/pointers_replayed") == 2
    assert not list(tmp_path.glob(f"warc/src/*/{PENDING_MARK}"))
    store = SqliteStore(tmp_path / "index.db")
    try:
        assert len(store.evidence().files()) == 3
    finally:
        store.close()


def test_what_the_service_captures_and_checks_next(tmp_path):
    from datetime import timedelta

    from crawler.app import App
    from crawler.evidence.service import EvidenceService
    from index.review import item_id

    store = SqliteStore(tmp_path / "index.db")
    docs = [
        Document(
            id=f"doc{n}",
            url=f"http://news.example.vn/a/{n}.html",
            canonical_url=f"http://news.example.vn/a/{n}.html",
            source="nosuchsource",
            site="news.example.vn",
            title=f"Bài {n}",
            text="Tiêm vắc xin gây vô sinh.",
            flags=["claim"] if n < 3 else [],
            scores={"claim": 0.9 if n < 3 else 0.1},
        )
        for n in range(4)
    ]
    store.upsert(docs)
    app = App(data_dir=tmp_path)
    service = EvidenceService(app, store)
    try:
        # Queued posts without a screenshot are captured next; doc3 was never flagged.
        store.evidence().add_files([_file("doc0", 1)])
        assert sorted(service.pending_captures()) == ["doc1", "doc2"]
        # Confirmed ("false") and watched posts are checked, each once per interval.
        item = store.review_get(item_id("claim", "doc1"))
        store.review_decide(item.id, "a1", "false", expected_version=item.version)
        service.watch("doc3", "a2", reason="viral")
        assert sorted(service.due()) == ["doc1", "doc3"]
        store.evidence().add_check(
            Check(
                id="doc1:check:x",
                doc_id="doc1",
                checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
                url=docs[1].url,
                status="online-unchanged",
            )
        )
        assert service.due() == ["doc3"]
        later = datetime.now(UTC) + timedelta(seconds=service.settings.check_interval + 1)
        assert sorted(service.due(later)) == ["doc1", "doc3"]
        service.watch("doc3", "a2", watched=False)
        assert service.due() == []
        assert [e.action for e in store.evidence().audit_history("doc3")] == ["watch", "unwatch"]
    finally:
        store.close()


def test_the_run_worker_records_due_checks(tmp_path):
    from crawler.app import App
    from crawler.evidence.service import EvidenceService
    from crawler.service.evidence_jobs import EvidenceWorker

    text = "Uống nước muối đặc chữa khỏi Covid-19, hãy chia sẻ cho mọi người cùng biết."

    class Article(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = PAGE.format(text).encode()
            self.send_response(200 if self.path == "/a/1.html" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Article)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        "evidence: {capture_on_flag: false, check_retries: 0}\n", encoding="utf-8"
    )
    app = App(config_dir=config, data_dir=tmp_path / "data")
    store = open_app_store(app)
    try:
        store.upsert(
            [
                Document(
                    id=f"doc{n}",
                    url=f"{base}/a/{n}.html",
                    canonical_url=f"{base}/a/{n}.html",
                    source="gone-source",
                    site="127.0.0.1",
                    text=text,
                )
                for n in (1, 2)
            ]
        )
        service = EvidenceService(app, store)
        service.watch("doc1", "a1")
        service.watch("doc2", "a1")
    finally:
        store.close()
    try:
        assert EvidenceWorker(app).run_once() == (0, 2)
        assert EvidenceWorker(app).run_once() == (0, 0)  # checked: not due for a day
    finally:
        server.shutdown()
        server.server_close()
    store = open_app_store(app)
    try:
        assert [c.status for c in checks_of(store, "doc1")] == ["online-unchanged"]
        (removed,) = checks_of(store, "doc2")
        assert removed.status == "removed" and removed.http_status == 404
        assert removed.checked_by == "scheduler" and removed.response_sha256
    finally:
        store.close()
