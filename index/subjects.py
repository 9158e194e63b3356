"""Subjects: who published. A website (by registrable domain) or a social account (by
profile URL on a platform), the unit a case is opened against.

Subjects are created automatically when their first document is stored (each backend calls
:func:`subject_refs` on every upsert batch) and keep what analysts enter by hand: a display
name, a general-information licence number, owner details. Counts (documents, flagged,
confirmed) are computed when read, from the documents and review items the subject matches
(:class:`SubjectRef`), so they never drift.

Keys:

* website: the registrable domain of the document's host (``tin.baoabc.com.vn`` ->
  ``baoabc.com.vn``; a host without a public suffix, such as the demo's
  ``doisongxanh.localhost``, is its own key). A website matches every host under it.
* account: ``host/first-path-segment`` of the post URL (``facebook.com/tintuc24hnews``),
  ``host/groups/<name>`` for groups, and ``host/`` when the permalink names no profile
  (``mxh.localhost/p/p01``: the page the source crawls is the account). An account
  matches every post URL under its profile path.

This module is pure (no I/O); the public-suffix list is the snapshot tldextract ships.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from index.errors import NotFound

__all__ = [
    "ACCOUNT",
    "CONFIRMED_VERDICTS",
    "SUBJECT_KINDS",
    "WEBSITE",
    "Subject",
    "SubjectRef",
    "account_key",
    "registrable_domain",
    "resolve_subject",
    "subject_ref",
    "subject_refs",
]

WEBSITE = "website"
ACCOUNT = "account"
SUBJECT_KINDS = (WEBSITE, ACCOUNT)
#: Post verdicts that confirm an item (a false or misleading claim).
CONFIRMED_VERDICTS = ("false", "misleading")
#: Special-use names (RFC 6761) treated as public suffixes: ``tin.demo.localhost`` belongs
#: to ``demo.localhost``.
_SPECIAL_SUFFIXES = frozenset({"localhost", "test", "example", "invalid"})
#: First path segments of permalinks that do not name a profile.
_NOT_PROFILES = frozenset(
    {
        "",
        "p",
        "post",
        "posts",
        "permalink",
        "permalink.php",
        "story.php",
        "photo",
        "photo.php",
        "photos",
        "watch",
        "video",
        "videos",
        "reel",
        "reels",
        "status",
        "share",
        "s",
        "t",
        "v",
        "events",
        "hashtag",
        "search",
        "story",
        "stories",
    }
)


@lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract

    # The bundled snapshot only: nothing is fetched at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _host(url_or_host: str) -> str:
    value = (url_or_host or "").strip()
    if "://" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        host = ""
    return host.lower().rstrip(".").removeprefix("www.")


@lru_cache(maxsize=4096)
def registrable_domain(url_or_host: str) -> str:
    """``tin.baoabc.com.vn`` -> ``baoabc.com.vn``; hosts without a known public suffix
    (IP addresses, intranet names) are returned as they are; under a special-use name
    (``localhost``, ``test``) the last two labels count."""
    host = _host(url_or_host)
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    parts = _extractor()(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    labels = host.split(".")
    if labels[-1] in _SPECIAL_SUFFIXES and len(labels) > 2:
        return ".".join(labels[-2:])
    return host


def account_key(url: str) -> str:
    """The profile a post URL belongs to, as ``host/path`` (see the module docstring)."""
    # Plain string work, not urlsplit: the period report calls this for every social post.
    rest = (url or "").strip()
    scheme = rest.find("://")
    if scheme < 0:
        return ""
    rest = rest[scheme + 3 :]
    for stop in "?#":
        rest = rest.partition(stop)[0]
    authority, _, path = rest.partition("/")
    host = authority.rpartition("@")[2].partition(":")[0].lower()
    host = host.removeprefix("www.").removeprefix("m.")
    if not host:
        return ""
    segments = [segment for segment in path.split("/") if segment]
    if not segments or segments[0].lower() in _NOT_PROFILES:
        return f"{host}/"
    first = segments[0].lower()
    if first in ("groups", "pages", "channel", "c", "user") and len(segments) > 1:
        return f"{host}/{first}/{segments[1].lower()}"
    if first == "profile.php":
        return f"{host}/"
    return f"{host}/{first}"


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """A subject's key and kind, with what it matches: hosts (websites) or a URL path
    prefix (accounts, ``host/path`` without scheme)."""

    id: str
    kind: str
    site: str
    #: The document's host (a website may span several).
    host: str = ""

    def matches(self, site: str, url: str, kind: str | None = None) -> bool:
        """Whether a document or review item (its site, URL and kind) belongs here."""
        if self.kind == WEBSITE:
            host = _host(site)
            return (kind in (None, "news")) and (host == self.id or host.endswith("." + self.id))
        if kind not in (None, "social"):
            return False
        key = account_key(url)
        return key == self.id


def subject_ref(site: str, url: str, kind: str) -> SubjectRef | None:
    """The subject a document belongs to (``None`` when it has no usable host)."""
    if kind == "social":
        key = account_key(url)
        return SubjectRef(key, ACCOUNT, _host(site) or key.split("/")[0]) if key else None
    host = _host(site) or _host(url)
    if not host:
        return None
    return SubjectRef(registrable_domain(host), WEBSITE, host, host)


def subject_refs(docs: Iterable[Any]) -> dict[str, SubjectRef]:
    """Distinct subjects of documents (anything with ``site``, ``url``, ``kind``), by id;
    a website keeps every host seen (as ``host``, one per call: the first)."""
    found: dict[str, SubjectRef] = {}
    for doc in docs:
        ref = subject_ref(doc.site, doc.url, doc.kind)
        if ref is not None and ref.id not in found:
            found[ref.id] = ref
    return found


@dataclass(slots=True, kw_only=True)
class Subject:
    """A website or social account, with analyst-entered details and computed counts."""

    id: str
    kind: str
    #: Display name: entered, else the register's, else the id.
    name: str = ""
    #: Hosts seen under a website (one for an account: the platform).
    sites: list[str] = field(default_factory=list)
    #: A general-information licence number (or any licence reference) an analyst entered.
    licence: str = ""
    #: Owner details, free text (organisation, person, address, contact).
    owner: str = ""
    note: str = ""
    created_at: str = ""
    updated_at: str = ""
    updated_by: str = ""
    #: Optimistic-concurrency token, as for review items.
    version: str | int = 0
    # -- computed when read (not stored) --------------------------------------------------
    documents: int = 0
    flagged: int = 0
    confirmed: int = 0
    cases: int = 0
    #: The highest newspaper-style score among the subject's site profiles, its evidence.
    style_score: float | None = None
    style_flag: bool = False
    style_evidence: list[str] = field(default_factory=list)
    #: Press-register entry when the domain is listed: ``{"name", "kind", "licensed", "note"}``.
    register: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        if self.kind == WEBSITE:
            return f"https://{self.id}/"
        return f"https://{self.id}"

    def state(self) -> dict[str, Any]:
        """The fields an analyst edits (what the audit log records)."""
        return {"name": self.name, "licence": self.licence, "owner": self.owner, "note": self.note}

    def ref(self) -> SubjectRef:
        return SubjectRef(self.id, self.kind, self.sites[0] if self.sites else self.id)

    def search_query(self) -> str:
        """A query-language search for the subject's documents (websites: its hosts)."""
        if self.kind == WEBSITE:
            hosts = self.sites or [self.id]
            return " OR ".join(f"site:{host}" for host in hosts)
        return f"site:{self.sites[0] if self.sites else self.id.split('/')[0]}"

    def licence_label(self) -> str:
        """What is known of the licence, for tables: entered, else the register's kind."""
        if self.licence:
            return self.licence
        if self.register:
            kind = self.register.get("kind", "")
            return f"register: {kind}" + (
                " (licensed press)" if self.register.get("licensed") else ""
            )
        return ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["url"] = self.url
        return data


def resolve_subject(store: Any, text: str) -> Any:
    """A subject by id, or by any URL or host it covers; ``NotFound`` otherwise."""
    text = text.strip()
    candidates = [text.removesuffix("/") if "/" not in text.rstrip("/") else text]
    if "://" in text:
        candidates += [account_key(text), registrable_domain(text)]
    else:
        candidates += [registrable_domain(text), text.rstrip("/") + "/"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            return store.subject_get(candidate)
        except NotFound:
            continue
    raise NotFound(f"no subject {text!r}: see `misinfo subjects` (a domain or a profile URL)")
