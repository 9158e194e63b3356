"""Evidence bundles as WACZ (Webrecorder's packaging of web archives), and their check.

A bundle follows the WACZ 1.1.1 layout, so ReplayWeb.page and other players open it::

    archive/data.warc.gz        every archived request/response of the documents
    indexes/index.cdx           CDXJ index of the response records (sorted)
    pages/pages.jsonl           one page per document (url, ts, title, text)
    evidence/<doc id>/...       document.json (the analysis with its evidence), text.txt,
                                review.json (decisions and their history), audit.json,
                                checks.json, files.json, screenshot and DOM files
    datapackage.json            every file above with its sha256 and size
    datapackage-digest.json     sha256 of datapackage.json, and optionally a signature

Entries are stored uncompressed (players read WARC ranges). :func:`verify_wacz` re-checks
every digest, that no file is missing or extra, the optional Ed25519 signature over the
datapackage digest, and finally rebuilds the zip from what it read and compares it byte
for byte with the file: an altered byte anywhere, headers included, fails verification.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.warc import tool_versions, warcinfo_record
from index.documents import Document
from index.evidence import Check, EvidenceFile
from index.review import AuditEntry

__all__ = [
    "BundleDocument",
    "BundleReport",
    "VerifyReport",
    "surt",
    "verify_wacz",
    "write_wacz",
]

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"
#: Zip entry time of every file: the bundle's bytes depend on its content only.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SUFFIX = {"screenshot": ".png", "dom": ".html"}


@dataclass(slots=True)
class BundleDocument:
    document: Document
    files: list[tuple[EvidenceFile, bytes]]
    review: list[dict[str, Any]] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


@dataclass(slots=True)
class BundleReport:
    path: Path
    sha256: str
    documents: int
    records: int
    files: int
    signed: bool


@dataclass(slots=True)
class VerifyReport:
    ok: bool
    problems: list[str]
    resources: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    signature: str = "none"
    created: str = ""


def surt(url: str) -> str:
    """The SURT form CDX indexes sort by: ``localhost,songhong:8765)/path?b=1&a=2`` ->
    host labels reversed, lower-cased, ``www.`` dropped, query parameters sorted."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    key = ",".join(reversed(host.split(".")))
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{key}){(parts.path or '/').lower()}" + (f"?{query.lower()}" if query else "")


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _timestamp(iso: str) -> str:
    return (
        datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    )


def _warc_and_index(docs: list[BundleDocument], created: str) -> tuple[bytes, bytes, int]:
    """One WARC of every ``warc`` file's records (each copied byte for byte after a
    warcinfo record of the bundle) and its CDXJ index."""
    parts = [warcinfo_record(WARC_NAME, {"software": _software(), "created": created})]
    seen: set[str] = set()
    for doc in docs:
        for item, data in doc.files:
            if item.kind == "warc" and item.sha256 not in seen:
                seen.add(item.sha256)
                parts.append(data)
    warc = b"".join(parts)
    lines = []
    records = 0
    iterator = ArchiveIterator(io.BytesIO(warc))
    for record in iterator:
        if record.rec_type != "response":
            record.content_stream().read()
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        date = record.rec_headers.get_header("WARC-Date")
        http = record.http_headers
        mime = (http.get_header("Content-Type") or "").split(";")[0].strip() if http else ""
        status = http.get_statuscode() if http else ""
        digest = record.rec_headers.get_header("WARC-Payload-Digest") or ""
        record.content_stream().read()
        offset = iterator.get_record_offset()
        length = iterator.get_record_length()
        entry = {
            "url": url,
            "mime": mime,
            "status": status,
            "digest": digest,
            "length": str(length),
            "offset": str(offset),
            "filename": WARC_NAME,
        }
        lines.append(f"{surt(url)} {_timestamp(date)} {json.dumps(entry, sort_keys=True)}")
        records += 1
    return warc, ("\n".join(sorted(lines)) + "\n").encode("utf-8") if lines else b"", records


def _software() -> str:
    tools = tool_versions()
    return f"misinfo-monitor {tools['misinfo-monitor']} (warcio {tools['warcio']})"


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    """Entries in order, stored, fixed times: the same entries give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def _resource(path: str, data: bytes) -> dict[str, Any]:
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }


def _load_signing_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def write_wacz(
    out: Path, docs: list[BundleDocument], *, signing_key: Path | None = None
) -> BundleReport:
    """Write the bundle of ``docs`` to ``out`` (replaced atomically)."""
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    warc, index, records = _warc_and_index(docs, created)
    entries: list[tuple[str, bytes]] = [(f"archive/{WARC_NAME}", warc)]
    if index:
        entries.append(("indexes/index.cdx", index))
    pages = [{"format": "json-pages-1.0", "id": "pages", "title": "Evidence"}]
    other: list[tuple[str, bytes]] = []
    file_count = 0
    for bundle in docs:
        doc = bundle.document
        base = f"evidence/{doc.id}"
        pages.append(
            {
                "id": doc.id,
                "url": doc.url,
                "ts": (doc.fetched_at or created).replace("+00:00", "Z"),
                "title": doc.title,
                "text": doc.text,
            }
        )
        data = doc.to_dict()
        data.pop("segmented", None)
        other += [
            (f"{base}/document.json", _json_bytes(data)),
            (f"{base}/text.txt", (doc.text + "\n").encode("utf-8")),
            (f"{base}/review.json", _json_bytes(bundle.review)),
            (f"{base}/audit.json", _json_bytes([asdict(entry) for entry in bundle.audit])),
            (f"{base}/checks.json", _json_bytes([check.to_dict() for check in bundle.checks])),
            (f"{base}/files.json", _json_bytes([item.to_dict() for item, _ in bundle.files])),
        ]
        for item, content in bundle.files:
            file_count += 1
            if item.kind in _SUFFIX:
                other.append((f"{base}/{item.kind}-{item.sha256}{_SUFFIX[item.kind]}", content))
    entries.append(
        (
            "pages/pages.jsonl",
            "".join(json.dumps(page, ensure_ascii=False) + "\n" for page in pages).encode("utf-8"),
        )
    )
    entries += other
    main = docs[0].document if docs else None
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": f"misinfo-monitor evidence: {', '.join(d.document.id for d in docs)}",
        "description": "Archived pages, captures, analysis, review decisions and audit trail",
        "created": created,
        "software": _software(),
        "mainPageUrl": main.url if main else "",
        "mainPageDate": (main.fetched_at or created).replace("+00:00", "Z") if main else "",
        "resources": [_resource(name, data) for name, data in entries],
    }
    package_bytes = _json_bytes(package)
    package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
    digest: dict[str, Any] = {"path": "datapackage.json", "hash": package_hash}
    if signing_key is not None:
        key = _load_signing_key(signing_key)
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        digest["signedData"] = {
            "hash": package_hash,
            "created": created,
            "software": _software(),
            "alg": "Ed25519",
            "publicKey": base64.b64encode(public).decode("ascii"),
            "signature": base64.b64encode(key.sign(package_hash.encode("ascii"))).decode("ascii"),
        }
    entries += [
        ("datapackage.json", package_bytes),
        ("datapackage-digest.json", _json_bytes(digest)),
    ]
    blob = _zip(entries)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.part")
    temp.write_bytes(blob)
    temp.replace(out)
    return BundleReport(
        path=out,
        sha256=hashlib.sha256(blob).hexdigest(),
        documents=len(docs),
        records=records,
        files=file_count,
        signed=signing_key is not None,
    )


def verify_wacz(path: Path, *, public_key: bytes | None = None) -> VerifyReport:
    """Check every digest of the bundle at ``path``; ``public_key`` (raw Ed25519) makes a
    signature by that key required."""
    problems: list[str] = []
    report = VerifyReport(ok=False, problems=problems)
    blob = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        names = [info.filename for info in archive.infolist()]
        contents = {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, KeyError) as exc:
        problems.append(f"not a readable zip: {exc}")
        return report
    except Exception as exc:  # zlib/CRC errors surface as several exception types
        problems.append(f"not a readable zip: {type(exc).__name__}: {exc}")
        return report
    try:
        digest = json.loads(contents["datapackage-digest.json"])
        package_bytes = contents["datapackage.json"]
        package = json.loads(package_bytes)
    except (KeyError, ValueError) as exc:
        problems.append(f"datapackage files missing or invalid: {exc}")
        return report
    actual = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
    if digest.get("hash") != actual or digest.get("path") != "datapackage.json":
        problems.append("datapackage.json does not match datapackage-digest.json")
    report.created = str(package.get("created", ""))
    listed = set()
    for resource in package.get("resources", []):
        name = resource.get("path", "")
        listed.add(name)
        data = contents.get(name)
        if data is None:
            problems.append(f"{name}: listed but missing")
            continue
        if resource.get("hash") != "sha256:" + hashlib.sha256(data).hexdigest():
            problems.append(f"{name}: sha256 does not match")
        if resource.get("bytes") != len(data):
            problems.append(f"{name}: size does not match")
        report.resources.append(resource)
    for name in names:
        if name not in listed and name not in ("datapackage.json", "datapackage-digest.json"):
            problems.append(f"{name}: not listed in datapackage.json")
    signed = digest.get("signedData")
    if signed:
        report.signature = _check_signature(signed, actual, problems, public_key)
    elif public_key is not None:
        problems.append("bundle is not signed, a signature was required")
    if _zip([(name, contents[name]) for name in names]) != blob:
        problems.append("zip structure altered (headers or layout differ from the content)")
    try:
        report.pages = [
            json.loads(line) for line in contents.get("pages/pages.jsonl", b"").splitlines()[1:]
        ]
        warc = contents.get(f"archive/{WARC_NAME}", b"")
        for record in ArchiveIterator(io.BytesIO(warc), check_digests=True):
            if record.rec_type in ("response", "request", "resource"):
                record.content_stream().read()
                report.records.append(
                    {
                        "type": record.rec_type,
                        "url": record.rec_headers.get_header("WARC-Target-URI"),
                        "date": record.rec_headers.get_header("WARC-Date"),
                        "digest_ok": record.digest_checker.passed is not False,
                    }
                )
                if record.digest_checker.passed is False:
                    problems.append(f"WARC record digest fails: {report.records[-1]['url']}")
    except Exception as exc:  # warcio raises several types on a damaged archive
        problems.append(f"WARC unreadable: {type(exc).__name__}: {exc}")
    report.ok = not problems
    return report


def _check_signature(
    signed: dict[str, Any], actual: str, problems: list[str], required: bytes | None
) -> str:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = base64.b64decode(signed["publicKey"])
        signature = base64.b64decode(signed["signature"])
        if signed.get("hash") != actual:
            problems.append("signature covers another datapackage digest")
        Ed25519PublicKey.from_public_bytes(public).verify(signature, actual.encode("ascii"))
    except (KeyError, ValueError, InvalidSignature) as exc:
        problems.append(f"signature invalid: {type(exc).__name__}")
        return "invalid"
    if required is not None and public != required:
        problems.append("signed by another key than the one required")
    return "Ed25519 key " + hashlib.sha256(public).hexdigest()[:16]
