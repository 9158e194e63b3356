"""WARC records of what the crawl fetched, with warcio, in rotating gzip files.

* :class:`Exchange`: one HTTP request and its response as fetched (headers, body, time, IP).
* :func:`exchange_records`: the ``response`` and ``request`` records of an exchange as gzip
  members (one member per record, so any record can be read alone at its offset).
* :class:`RotatingWarcWriter`: appends exchanges to ``<dir>/<prefix>-NNNNN.warc.gz``, starting
  a new file (with its ``warcinfo`` record) past ``max_bytes``; returns where each went.
* :class:`WarcExtension`: the Scrapy side. On ``item_scraped`` (the item passed every
  pipeline, so it is stored as a document) it writes the item's response once, into
  ``<data dir>/warc/<source>/<run>/``, and records an :class:`~index.evidence.EvidenceFile`
  pointer (file, offset, length, SHA-256 of those bytes, record id) for the document.
  ``MM_WARC_MODE`` = ``flagged`` keeps only pages that were flagged.

Scrapy hands over the body decoded (gzip/deflate/br undone, chunks joined), so the
archived HTTP headers say so: ``Content-Encoding`` and ``Transfer-Encoding`` become
``X-Archive-Orig-*`` headers (the convention of pywb and Webrecorder's tools) and
``Content-Length`` is the archived body's length, which is what replay needs.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from index.evidence import EvidenceFile

__all__ = [
    "WARC_MODES",
    "Exchange",
    "RecordSpan",
    "RotatingWarcWriter",
    "WarcExtension",
    "exchange_records",
    "tool_versions",
    "warcinfo_record",
]

log = logging.getLogger(__name__)

WARC_MODES = ("all", "flagged", "off")
WARC_VERSION = "1.1"
#: Headers that describe the bytes on the wire, not the (decoded) body archived.
_WIRE_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
#: Beside a run's WARC files: every pointer recorded (JSON lines), and a mark while some
#: still wait for the store.
POINTERS_FILE = "pointers.jsonl"
PENDING_MARK = "POINTERS_PENDING"
#: Responses whose WARC span is reused for the next items (a social page yields many posts).
_RECENT_RESPONSES = 8


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def tool_versions() -> dict[str, str]:
    """Versions of the tools that wrote a record (kept with every evidence file)."""
    return {
        "misinfo-monitor": _package_version("misinfo-monitor"),
        "warcio": _package_version("warcio"),
        "scrapy": _package_version("scrapy"),
    }


@dataclass(slots=True, kw_only=True)
class Exchange:
    """One HTTP request and response, as fetched."""

    url: str
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    ip_address: str | None = None
    protocol: str = "HTTP/1.1"
    reason: str = ""
    #: The body is the DOM a browser rendered (scrapy-playwright), not the bytes served.
    rendered: bool = False


@dataclass(frozen=True, slots=True)
class RecordSpan:
    """Where an exchange's records went: file, offset, length, digest of those bytes."""

    path: Path
    offset: int
    length: int
    sha256: str
    record_id: str


def _archived_headers(headers: list[tuple[str, str]], body_length: int) -> list[tuple[str, str]]:
    kept = []
    for name, value in headers:
        if name.lower() in _WIRE_HEADERS:
            if name.lower() != "content-length":
                kept.append((f"X-Archive-Orig-{name}", value))
            continue
        kept.append((name, value))
    kept.append(("Content-Length", str(body_length)))
    return kept


def _warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _member(writer_output: io.BytesIO, record: Any, writer: WARCWriter) -> bytes:
    start = writer_output.tell()
    writer.write_record(record)
    return writer_output.getvalue()[start:]


def exchange_records(exchange: Exchange) -> tuple[bytes, str]:
    """The gzip members of the exchange's ``response`` then ``request`` record, and the
    response's ``WARC-Record-ID``."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    reason = exchange.reason or _reason(exchange.status)
    warc_headers = {"WARC-Date": _warc_date(exchange.fetched_at)}
    if exchange.ip_address:
        warc_headers["WARC-IP-Address"] = exchange.ip_address
    if exchange.rendered:  # a named field of our own (WARC 1.1 allows them): say so
        warc_headers["Misinfo-Body"] = "rendered DOM (Chromium via scrapy-playwright)"
    response = writer.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(exchange.body),
        length=len(exchange.body),
        warc_headers_dict=dict(warc_headers),
        http_headers=StatusAndHeaders(
            f"{exchange.status} {reason}".strip(),
            _archived_headers(exchange.response_headers, len(exchange.body)),
            protocol=exchange.protocol,
        ),
    )
    record_id = response.rec_headers.get_header("WARC-Record-ID")
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_headers = list(exchange.request_headers)
    if not any(name.lower() == "host" for name, _ in request_headers):
        request_headers.insert(0, ("Host", parts.netloc))
    request = writer.create_warc_record(
        exchange.url,
        "request",
        payload=io.BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        warc_headers_dict={
            **{k: v for k, v in warc_headers.items() if k != "Misinfo-Body"},
            "WARC-Concurrent-To": record_id,
        },
        http_headers=StatusAndHeaders(
            f"{exchange.method} {target} {exchange.protocol}",
            request_headers,
            is_http_request=True,
        ),
    )
    return _member(out, response, writer) + _member(out, request, writer), record_id


def warcinfo_record(filename: str, info: dict[str, str]) -> bytes:
    """A ``warcinfo`` record (the first record of every file), as one gzip member."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    writer.write_record(writer.create_warcinfo_record(filename, info))
    return out.getvalue()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class RotatingWarcWriter:
    """Append exchanges to ``directory/<prefix>-NNNNN.warc.gz``; a new file past
    ``max_bytes``. Each record is flushed as written, so a killed crawl leaves whole
    records behind (and readers can use them at once)."""

    def __init__(self, directory: Path, prefix: str, *, max_bytes: int, info: dict[str, str]):
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.info = info
        self._serial = 0
        self._handle: io.BufferedWriter | None = None
        self._path: Path | None = None

    def _open(self) -> io.BufferedWriter:
        if self._handle is not None and self._handle.tell() < self.max_bytes:
            return self._handle
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._path = self.directory / f"{self.prefix}-{self._serial:05d}.warc.gz"
            self._serial += 1
            if not self._path.exists():
                break
        self._handle = self._path.open("xb")
        self._handle.write(warcinfo_record(self._path.name, self.info))
        return self._handle

    def write(self, exchange: Exchange) -> RecordSpan:
        data, record_id = exchange_records(exchange)
        handle = self._open()
        offset = handle.tell()
        handle.write(data)
        handle.flush()
        assert self._path is not None
        return RecordSpan(
            self._path, offset, len(data), hashlib.sha256(data).hexdigest(), record_id
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _headers(headers: Any) -> list[tuple[str, str]]:
    """Scrapy ``Headers`` (bytes names, lists of bytes values) as text pairs."""
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


def exchange_from_response(response: Any, fetched_at: datetime) -> Exchange:
    """An :class:`Exchange` from a Scrapy response and the request that got it."""
    request = response.request
    ip = getattr(response, "ip_address", None)
    return Exchange(
        url=response.url,
        status=response.status,
        response_headers=_headers(response.headers),
        body=response.body,
        fetched_at=fetched_at,
        method=request.method if request is not None else "GET",
        request_headers=_headers(request.headers) if request is not None else [],
        request_body=request.body if request is not None else b"",
        ip_address=str(ip) if ip is not None else None,
        protocol=getattr(response, "protocol", None) or "HTTP/1.1",
        rendered=bool(request is not None and request.meta.get("playwright")),
    )


def _flagged(item: Any) -> bool:
    analysis = getattr(item, "analysis", None) or {}
    return any((analysis.get(name) or {}).get("flag") for name in ("covid", "claim"))


def _fetched_at(item: Any) -> datetime:
    value = getattr(item, "fetched_at", None)
    if value:
        try:
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


class WarcExtension:
    """Write the response of every stored document to the run's WARC files."""

    def __init__(self, crawler: Crawler, *, data_dir: Path, mode: str, max_bytes: int):
        self.crawler = crawler
        self.data_dir = data_dir
        self.mode = mode
        self.max_bytes = max_bytes
        self.writer: RotatingWarcWriter | None = None
        self.run = ""
        self.run_dir = data_dir
        self.pending: list[EvidenceFile] = []
        self._recent: list[tuple[Any, RecordSpan]] = []
        self._tools = tool_versions()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcExtension:
        settings = crawler.settings
        if not settings.getbool("MM_WARC_ENABLED"):
            raise NotConfigured("MM_WARC_ENABLED is off")
        mode = settings.get("MM_WARC_MODE")
        if mode not in WARC_MODES:
            raise NotConfigured(f"MM_WARC_MODE {mode!r} is not one of {', '.join(WARC_MODES)}")
        if mode == "off":
            raise NotConfigured("MM_WARC_MODE is off")
        data_dir = settings.get("MM_DATA_DIR")
        if not data_dir:
            raise NotConfigured("MM_DATA_DIR is not set")
        extension = cls(
            crawler,
            data_dir=Path(data_dir),
            mode=mode,
            max_bytes=settings.getint("MM_WARC_MAX_BYTES"),
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any) -> None:
        started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run = f"{started}-{os.getpid()}"
        source = spider.name
        self.run_dir = self.data_dir / "warc" / source / self.run
        self._replay_pending(self.data_dir / "warc" / source)
        self.writer = RotatingWarcWriter(
            self.run_dir,
            f"{source}-{self.run}",
            max_bytes=self.max_bytes,
            info={
                "software": f"misinfo-monitor/{self._tools['misinfo-monitor']} "
                f"(warcio {self._tools['warcio']}, scrapy {self._tools['scrapy']})",
                "format": "WARC File Format 1.1",
                "hostname": socket.gethostname(),
                "isPartOf": f"{source}/{self.run}",
            },
        )

    def _span(self, response: Any, fetched_at: datetime) -> RecordSpan:
        for seen, span in self._recent:
            if seen is response:
                return span
        assert self.writer is not None
        span = self.writer.write(exchange_from_response(response, fetched_at))
        self._recent = [*self._recent[-(_RECENT_RESPONSES - 1) :], (response, span)]
        stats = self.crawler.stats
        stats.inc_value("mm/warc/records")
        stats.inc_value("mm/warc/bytes", span.length)
        return span

    def item_scraped(self, item: Any, response: Any, spider: Any) -> None:
        if self.writer is None or response is None or not hasattr(item, "canonical_url"):
            return
        if self.mode == "flagged" and not _flagged(item):
            self.crawler.stats.inc_value("mm/warc/skipped_unflagged")
            return
        from index import document_id

        fetched_at = _fetched_at(item)
        span = self._span(response, fetched_at)
        doc_id = document_id(item.canonical_url)
        redirects = response.request.meta.get("redirect_urls") if response.request else None
        self.pending.append(
            EvidenceFile(
                id=f"{doc_id}:warc:{span.sha256[:20]}",
                doc_id=doc_id,
                kind="warc",
                sha256=span.sha256,
                size=span.length,
                captured_at=fetched_at.astimezone(UTC).isoformat(timespec="seconds"),
                url=redirects[0] if redirects else response.url,
                final_url=response.url,
                http_status=response.status,
                origin="crawl",
                capture_id=self.run,
                captured_by="crawler",
                path=span.path.relative_to(self.data_dir).as_posix(),
                offset=span.offset,
                length=span.length,
                record_id=span.record_id,
                content_type="application/warc",
                tools=self._tools,
            )
        )
        if len(self.pending) >= 50:
            self._flush()

    def _flush(self) -> None:
        """Record the pending pointers in the store, and beside the WARC files in
        ``pointers.jsonl`` (a store that is away gets them from there on the next run)."""
        if not self.pending:
            return
        from crawler.pipelines import crawler_store
        from index.errors import SearchError
        from index.evidence import evidence_store

        batch, self.pending = self.pending, []
        with (self.run_dir / POINTERS_FILE).open("a", encoding="utf-8") as out:
            for item in batch:
                out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
        try:
            evidence_store(crawler_store(self.crawler)).add_files(batch)
        except SearchError as exc:
            (self.run_dir / PENDING_MARK).touch()
            self.crawler.stats.inc_value("mm/warc/pointers_pending", len(batch))
            log.warning("%d WARC pointers wait in %s: %s", len(batch), self.run_dir, exc)

    def _replay_pending(self, source_dir: Path) -> None:
        """Pointers an earlier run could not record (store away): record them now."""
        from crawler.pipelines import crawler_store
        from index.errors import SearchError
        from index.evidence import evidence_store

        for mark in sorted(source_dir.glob(f"*/{PENDING_MARK}")):
            lines = (mark.parent / POINTERS_FILE).read_text(encoding="utf-8").splitlines()
            files = [EvidenceFile.from_dict(json.loads(line)) for line in lines if line]
            try:
                evidence_store(crawler_store(self.crawler)).add_files(files)
            except SearchError as exc:
                log.warning("WARC pointers of %s still wait: %s", mark.parent.name, exc)
                return
            mark.unlink()
            self.crawler.stats.inc_value("mm/warc/pointers_replayed", len(files))

    def spider_closed(self, spider: Any) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self._recent = []
