"""Subjects, cases and tips on Elasticsearch, as a mixin of
:class:`~index.elastic.ElasticsearchStore` (indices ``subjects``, ``cases``, ``tips``).

The rules are :mod:`index.cases`' (pure). As in :mod:`index.elastic_review`, a record's
version is ``"<seq_no>:<primary_term>"`` and every write of a read record goes through
``if_seq_no``/``if_primary_term`` (two analysts: the second gets ``ConflictError``). New
cases and tips take the next free number with ``op_type=create`` (a lost race retries with
the next one). Audit entries go to the store's ``audit`` alias (``case:<id>``, ``tip:<id>``,
``subject:<id>``), created only, ordered by ``seq``.

Size: the Elasticsearch side of three record kinds that share the numbering, the audit
writer and the hit conversions, plus the report's inputs and the migration hooks; the
sequence of each change is :mod:`index.case_workflow`'s, the rules :mod:`index.cases`'.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from elasticsearch import ConflictError as EsConflictError
from elasticsearch import NotFoundError, helpers

from index.case_evidence import (
    SubjectCounter,
    apply_profiles,
    sort_subjects,
    tip_review_item,
)
from index.case_workflow import POST_QUEUES, CaseWorkflow
from index.cases import (
    CASE_STATUSES,
    TIP_CHANNELS,
    TIP_STATUSES,
    Case,
    CaseError,
    Tip,
    case_audit_id,
    local_day,
    new_case,
    parse_day,
    record_number,
    subject_audit_id,
    tip_audit_id,
    tip_status,
)
from index.documents import Document
from index.elastic_client import mapped_errors
from index.elastic_review import parse_version, version_token
from index.errors import ConflictError, NotFound
from index.review import AuditEntry, ReviewItem, format_time, item_id, utcnow
from index.subjects import CONFIRMED_VERDICTS, Subject, SubjectRef, subject_ref

__all__ = ["ElasticCaseTransfer", "ElasticCases", "register_documents"]

_SUBJECT_FIELDS = (
    "id",
    "kind",
    "name",
    "sites",
    "licence",
    "owner",
    "note",
    "created_at",
    "updated_at",
    "updated_by",
)
_CASE_FIELDS = tuple(f.name for f in fields(Case) if f.name != "version")
_TIP_FIELDS = tuple(f.name for f in fields(Tip) if f.name != "version")
_PAGE = 10_000


class _Sequence:
    """Strictly increasing nanosecond stamps (audit order within this writer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


_SEQUENCE = _Sequence()


def _version(hit: dict[str, Any]) -> str:
    return version_token(hit["_seq_no"], hit["_primary_term"])


def _subject(hit: dict[str, Any]) -> Subject:
    source = hit["_source"]
    return Subject(
        **{name: source.get(name) or ("" if name != "sites" else []) for name in _SUBJECT_FIELDS},
        version=_version(hit),
    )


def _case(hit: dict[str, Any]) -> Case:
    source = {name: hit["_source"].get(name) for name in _CASE_FIELDS}
    source["items"] = source["items"] or []
    source["evidence"] = (source["evidence"] or {}).get("value") or []
    for name in ("legal_basis", "note", "decision", "title", "subject_kind"):
        source[name] = source[name] or ""
    return Case(**source, version=_version(hit))


def _case_source(case: Case) -> dict[str, Any]:
    source = {name: getattr(case, name) for name in _CASE_FIELDS}
    source["evidence"] = {"value": case.evidence}
    source["number"] = int(case.id)
    return source


def _tip(hit: dict[str, Any]) -> Tip:
    source = {name: hit["_source"].get(name) for name in _TIP_FIELDS}
    for name in ("note", "reporter", "fetch_error", "answer", "created_by", "updated_by"):
        source[name] = source[name] or ""
    return Tip(**source, version=_version(hit))


def _tip_source(tip: Tip) -> dict[str, Any]:
    source = {name: getattr(tip, name) for name in _TIP_FIELDS}
    source["number"] = int(tip.id)
    return source


def _entry(source: dict[str, Any]) -> AuditEntry:
    source = dict(source)
    source.pop("seq", None)
    return AuditEntry(**source)


def register_documents(store: Any, docs: list[Document], now: datetime) -> None:
    """The upsert hook: create the subjects of ``docs`` not seen yet (by this process or
    in the index), add hosts newly seen under a website."""
    refs = [ref for doc in docs if (ref := subject_ref(doc.site, doc.url, doc.kind))]
    store._register_subjects(refs, now)


class ElasticCases(CaseWorkflow):
    """The :class:`~index.cases.CaseStore` methods of the Elasticsearch store."""

    client: Any
    names: Any
    refresh: Any
    _review: Any

    def _ensure(self) -> None: ...

    def _alias(self, kind: str) -> str:
        return self.names.alias(kind)

    @property
    def _write_refresh(self) -> bool:
        # Human actions read back at once (as review writes).
        return bool(self.refresh)

    # -- the primitives of CaseWorkflow ------------------------------------------------------------

    def _writing(self, operation: str) -> AbstractContextManager[None]:
        return mapped_errors(operation)

    def _reading(self, operation: str) -> AbstractContextManager[None]:
        return mapped_errors(operation)

    def _load_subject(self, scope: None, subject_id: str) -> Subject:
        return self._subject_hit(subject_id)

    def _load_case(self, scope: None, case_id: str) -> Case:
        return self._case_hit(case_id)

    def _load_tip(self, scope: None, tip_id: str) -> Tip:
        return self._tip_hit(tip_id)

    def _save_subject(self, scope: None, before: Subject, after: Subject) -> None:
        seq_no, term = parse_version(before.version)
        try:
            self.client.update(
                index=self._alias("subjects"),
                id=before.id,
                doc={
                    **after.state(),
                    "updated_at": after.updated_at,
                    "updated_by": after.updated_by,
                },
                if_seq_no=seq_no,
                if_primary_term=term,
                refresh=self._write_refresh,
            )
        except EsConflictError as exc:
            raise ConflictError(f"subject {before.id} changed meanwhile; reload") from exc

    def _save_tip_answer(self, scope: None, before: Tip, after: Tip) -> None:
        seq_no, term = parse_version(before.version)
        try:
            self.client.update(
                index=self._alias("tips"),
                id=before.id,
                doc={
                    "status": "answered",
                    "answer": after.answer,
                    "answered_at": after.answered_at,
                    "answered_by": after.answered_by,
                    "updated_at": after.updated_at,
                    "updated_by": after.updated_by,
                },
                if_seq_no=seq_no,
                if_primary_term=term,
                refresh=self._write_refresh,
            )
        except EsConflictError as exc:
            raise ConflictError(f"tip {before.id} changed meanwhile; reload") from exc

    def _append_audit(
        self,
        scope: None,
        audit_id: str,
        at: str,
        user: str,
        action: str,
        note: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self._audit(audit_id, at, user, action, note, before, after)

    def _history_of(self, scope: None, audit_id: str) -> list[AuditEntry]:
        return self._history(audit_id)

    def _review_item(self, scope: None, review_id: str) -> ReviewItem | None:
        return self._review.get(review_id)

    def _site_profile(self, scope: None, site: str) -> dict[str, Any] | None:
        return self.get_site(site)

    def _document(self, scope: None, doc_id: str) -> Document | None:
        return self.get(doc_id)

    # -- audit ---------------------------------------------------------------------------------

    def _audit(
        self,
        audit_id: str,
        at: str,
        user: str,
        action: str,
        note: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self.client.index(
            index=self._alias("audit"),
            op_type="create",
            document={
                "item_id": audit_id,
                "seq": _SEQUENCE.next(),
                "at": at,
                "user": user,
                "action": action,
                "note": note,
                "before": before,
                "after": after,
            },
            refresh=self._write_refresh,
        )

    def _search_audit(self, query: dict[str, Any]) -> list[AuditEntry]:
        self._ensure()
        with mapped_errors("audit"):
            return [
                _entry(hit["_source"])
                for hit in helpers.scan(
                    self.client,
                    index=self._alias("audit"),
                    query={"query": query, "sort": [{"seq": "asc"}]},
                    preserve_order=True,
                )
            ]

    def _history(self, audit_id: str) -> list[AuditEntry]:
        return self._search_audit({"term": {"item_id": audit_id}})

    # -- subjects ------------------------------------------------------------------------------

    _known_subjects: dict[str, set[str]] | None = None

    def _register_subjects(self, refs: Iterable[SubjectRef], now: datetime) -> None:
        wanted: dict[str, tuple[str, set[str]]] = {}
        for ref in refs:
            kind, hosts = wanted.setdefault(ref.id, (ref.kind, set()))
            if ref.site:
                hosts.add(ref.site)
        if self._known_subjects is None:
            self._known_subjects = {}
        known = self._known_subjects
        new = {
            key: value
            for key, value in wanted.items()
            if key not in known or not value[1] <= known[key]
        }
        if not new:
            return
        stamp = format_time(now)
        found = self.client.mget(index=self._alias("subjects"), ids=list(new))
        stored = {doc["_id"]: doc for doc in found["docs"] if doc.get("found")}
        for key, (kind, hosts) in new.items():
            hit = stored.get(key)
            if hit is None:
                sites = sorted(hosts)
                try:
                    self.client.create(
                        index=self._alias("subjects"),
                        id=key,
                        document={
                            "id": key,
                            "kind": kind,
                            "name": "",
                            "sites": sites,
                            "licence": "",
                            "owner": "",
                            "note": "",
                            "created_at": stamp,
                            "updated_at": stamp,
                            "updated_by": "system",
                        },
                        refresh=self._write_refresh,
                    )
                except EsConflictError:
                    known[key] = set()  # created meanwhile by another writer: re-read next time
                    continue
                self._audit(
                    subject_audit_id(key),
                    stamp,
                    "system",
                    "create",
                    "first document stored",
                    None,
                    {"kind": kind, "sites": sites},
                )
                known[key] = set(sites)
                continue
            have = set(hit["_source"].get("sites") or [])
            if not hosts <= have:
                try:
                    self.client.update(
                        index=self._alias("subjects"),
                        id=key,
                        doc={"sites": sorted(have | hosts)},
                        if_seq_no=hit["_seq_no"],
                        if_primary_term=hit["_primary_term"],
                        refresh=self._write_refresh,
                    )
                except EsConflictError:
                    continue  # another writer changed it: the next batch adds the host
            known[key] = have | hosts

    def _subject_hit(self, subject_id: str) -> Subject:
        self._ensure()
        try:
            hit = self.client.get(index=self._alias("subjects"), id=subject_id)
        except NotFoundError:
            raise NotFound(f"no subject {subject_id!r} (see `misinfo subjects`)") from None
        return _subject(hit.body)

    def _fill_subjects(self, subjects: list[Subject]) -> None:
        counter = SubjectCounter()
        documents = self._alias("documents")
        response = self.client.search(
            index=documents,
            size=0,
            query={"bool": {"must_not": [{"term": {"kind": "social"}}]}},
            aggs={
                "sites": {
                    "terms": {"field": "site", "size": _PAGE},
                    "aggs": {"flagged": {"filter": {"terms": {"flags": ["covid", "claim"]}}}},
                }
            },
        )
        for bucket in response["aggregations"]["sites"]["buckets"]:
            key = counter.key(bucket["key"], "", "news")
            counter.add(counter.documents, key, bucket["doc_count"])
            counter.add(counter.flagged, key, bucket["flagged"]["doc_count"])
        for hit in helpers.scan(
            self.client,
            index=documents,
            query={"query": {"term": {"kind": "social"}}, "_source": ["url", "flags"]},
        ):
            key = counter.key("", hit["_source"].get("url", ""), "social")
            counter.add(counter.documents, key)
            if {"covid", "claim"} & set(hit["_source"].get("flags") or []):
                counter.add(counter.flagged, key)
        decided = self.client.search(
            index=self._alias("review"),
            size=_PAGE,
            query={
                "bool": {
                    "filter": [
                        {"term": {"status": "decided"}},
                        {
                            "bool": {
                                "should": [
                                    {
                                        "bool": {
                                            "filter": [
                                                {"terms": {"queue": list(POST_QUEUES)}},
                                                {"terms": {"verdict": list(CONFIRMED_VERDICTS)}},
                                            ]
                                        }
                                    },
                                    {
                                        "bool": {
                                            "filter": [
                                                {"term": {"queue": "site"}},
                                                {"term": {"verdict": "confirmed"}},
                                            ]
                                        }
                                    },
                                ]
                            }
                        },
                    ]
                }
            },
            source_includes=["queue", "target_id", "site", "url"],
        )
        post_targets = {}
        for hit in decided["hits"]["hits"]:
            source = hit["_source"]
            if source["queue"] == "site":
                counter.add(counter.confirmed, counter.key(source["target_id"], "", "news"))
            else:
                post_targets.setdefault(source["target_id"], source)
        kinds = self._kinds(list(post_targets))
        confirmed_docs: dict[str, str] = {}
        for target, source in post_targets.items():
            confirmed_docs[target] = counter.key(
                source["site"], source["url"], kinds.get(target, "news")
            )
        for key in confirmed_docs.values():
            counter.add(counter.confirmed, key)
        cases = self.client.search(
            index=self._alias("cases"),
            size=0,
            aggs={"subjects": {"terms": {"field": "subject", "size": _PAGE}}},
        )
        per_case = {b["key"]: b["doc_count"] for b in cases["aggregations"]["subjects"]["buckets"]}
        counter.fill(subjects, per_case)
        apply_profiles(subjects, {profile["site"]: profile for profile in self.list_sites()})

    def _kinds(self, doc_ids: list[str]) -> dict[str, str]:
        kinds: dict[str, str] = {}
        for start in range(0, len(doc_ids), 1000):
            found = self.client.mget(
                index=self._alias("documents"),
                ids=doc_ids[start : start + 1000],
                source_includes=["kind"],
            )
            kinds.update(
                {
                    doc["_id"]: doc["_source"].get("kind", "news")
                    for doc in found["docs"]
                    if doc.get("found")
                }
            )
        return kinds

    def list_sites(self) -> list[dict[str, Any]]: ...  # the store's

    def subject_list(self, *, flagged: bool = False) -> list[Subject]:
        self._ensure()
        with mapped_errors("subject_list"):
            subjects = [
                _subject(hit)
                for hit in helpers.scan(
                    self.client,
                    index=self._alias("subjects"),
                    query={"query": {"match_all": {}}, "seq_no_primary_term": True},
                )
            ]
            self._fill_subjects(subjects)
        return sort_subjects(subjects, flagged=flagged)

    def subject_get(self, subject_id: str) -> Subject:
        with mapped_errors("subject_get"):
            subject = self._subject_hit(subject_id)
            self._fill_subjects([subject])
        return subject

    # -- cases ---------------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None: ...  # the store's

    def get_site(self, site: str) -> dict[str, Any] | None: ...  # the store's

    def _next_number(self, kind: str) -> int:
        response = self.client.search(
            index=self._alias(kind), size=1, sort=[{"number": "desc"}], source_includes=["number"]
        )
        hits = response["hits"]["hits"]
        return int(hits[0]["_source"]["number"]) + 1 if hits else 1

    def _create_numbered(self, kind: str, build: Any) -> Any:
        """Create ``build(number)`` at the next free number (retrying a lost race)."""
        for _ in range(20):
            number = self._next_number(kind)
            record, source = build(number)
            try:
                response = self.client.create(
                    index=self._alias(kind), id=str(number), document=source, refresh=True
                )
            except EsConflictError:
                continue
            record.version = version_token(response["_seq_no"], response["_primary_term"])
            return record
        raise CaseError(f"could not allocate a {kind} number; try again")

    def case_open(
        self,
        subject_id: str,
        user: str,
        *,
        items: list[str],
        note: str = "",
        legal_basis: str = "",
        title: str = "",
        now: datetime | None = None,
    ) -> Case:
        now = now or utcnow()
        with mapped_errors("case_open"):
            subject = self._subject_hit(subject_id)
            snapshots = self._snapshots(None, subject, items)

            def build(number: int) -> tuple[Case, dict[str, Any]]:
                case = new_case(
                    str(number),
                    subject,
                    user,
                    items=snapshots,
                    note=note,
                    legal_basis=legal_basis,
                    title=title,
                    now=now,
                )
                return case, _case_source(case)

            case = self._create_numbered("cases", build)
            self._audit(
                case_audit_id(case.id), case.opened_at, user, "open", case.note, None, case.state()
            )
        return case

    def _case_hit(self, case_id: str) -> Case:
        self._ensure()
        number = record_number(case_id, "case")
        try:
            hit = self.client.get(index=self._alias("cases"), id=str(number))
        except NotFoundError:
            raise NotFound(f"no case {case_id!r}") from None
        return _case(hit.body)

    def case_get(self, case_id: str) -> Case:
        with mapped_errors("case_get"):
            return self._case_hit(case_id)

    def case_list(
        self,
        *,
        status: str | None = None,
        subject: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Case]:
        if status is not None and status not in CASE_STATUSES:
            raise CaseError(f"unknown case status {status!r} (known: {', '.join(CASE_STATUSES)})")
        self._ensure()
        filters = [
            {"term": {name: value}}
            for name, value in (("status", status), ("subject", subject))
            if value
        ]
        with mapped_errors("case_list"):
            response = self.client.search(
                index=self._alias("cases"),
                query={"bool": {"filter": filters}},
                sort=[{"updated_at": "desc"}, {"number": "desc"}],
                from_=offset,
                size=limit,
                seq_no_primary_term=True,
            )
        return [_case(hit) for hit in response["hits"]["hits"]]

    def _save_case(self, scope: None, before: Case, after: Case, action: str) -> Case:
        seq_no, term = parse_version(before.version)
        try:
            response = self.client.index(
                index=self._alias("cases"),
                id=before.id,
                document=_case_source(after),
                if_seq_no=seq_no,
                if_primary_term=term,
                refresh=self._write_refresh,
            )
        except EsConflictError as exc:
            current = self._case_hit(before.id)
            raise ConflictError(
                f"case {before.id} changed meanwhile: {current.updated_by} at {current.updated_at}"
            ) from exc
        after = replace(
            after, version=version_token(response["_seq_no"], response["_primary_term"])
        )
        self._audit(
            case_audit_id(after.id),
            after.updated_at,
            after.updated_by,
            action,
            after.note,
            before.state(),
            after.state(),
        )
        return after

    # -- tips ----------------------------------------------------------------------------------

    def _with_review(self, tips: list[Tip]) -> list[Tip]:
        ids = [tip.review_item for tip in tips if tip.review_item]
        items = self._review.existing(ids) if ids else {}
        for tip in tips:
            item = items.get(tip.review_item or "")
            tip.status = tip_status(tip.status, item.status if item else None)
            tip.verdict = item.verdict if item else None
        return tips

    def tip_add(
        self,
        url: str,
        user: str,
        *,
        note: str = "",
        channel: str = "web",
        reporter: str = "",
        received_at: str | None = None,
        doc_id: str | None = None,
        fetch_error: str = "",
        now: datetime | None = None,
    ) -> Tip:
        if channel not in TIP_CHANNELS:
            raise CaseError(f"unknown channel {channel!r} (known: {', '.join(TIP_CHANNELS)})")
        now = now or utcnow()
        stamp = format_time(now)
        received = parse_day(received_at, "received date") or local_day(now)
        self._ensure()
        with mapped_errors("tip_add"):
            doc = None
            if doc_id is not None:
                doc = self.get(doc_id)
                if doc is None:
                    raise NotFound(f"no document {doc_id!r} for the tip")

            def build(number: int) -> tuple[Tip, dict[str, Any]]:
                tip = Tip(
                    id=str(number),
                    url=url,
                    note=note.strip(),
                    channel=channel,
                    reporter=reporter.strip(),
                    received_at=received,
                    doc_id=doc_id,
                    review_item=item_id("tips", doc_id) if doc_id else None,
                    fetch_error=fetch_error,
                    created_at=stamp,
                    created_by=user,
                    updated_at=stamp,
                    updated_by=user,
                )
                return tip, _tip_source(tip)

            tip = self._create_numbered("tips", build)
            if doc is not None:
                same = self.client.search(
                    index=self._alias("tips"),
                    query={"term": {"doc_id": doc.id}},
                    sort=[{"number": "asc"}],
                    size=1000,
                )
                reports = [
                    {
                        "tip": hit["_source"]["id"],
                        "note": hit["_source"].get("note") or "",
                        "channel": hit["_source"]["channel"],
                        "received_at": str(hit["_source"]["received_at"])[:10],
                    }
                    for hit in same["hits"]["hits"]
                ]
                item = tip_review_item(doc, reports, now)
                if not self._review.enqueue([item]):
                    current = self._review.get(item.id)
                    if current is not None and current.status == "open":
                        # Another report on a queued page: attach it to the open item.
                        self._review.save(
                            current,
                            replace(current, evidence=item.evidence),
                            "attach",
                            f"tip {tip.id}",
                        )
            self._audit(
                tip_audit_id(tip.id),
                stamp,
                user,
                "receive",
                note.strip(),
                None,
                {
                    "status": "received",
                    "received_at": received,
                    "doc_id": doc_id,
                    "url": url,
                    "channel": channel,
                },
            )
        return self.tip_get(tip.id)

    def _tip_hit(self, tip_id: str) -> Tip:
        self._ensure()
        number = record_number(tip_id, "tip")
        try:
            hit = self.client.get(index=self._alias("tips"), id=str(number))
        except NotFoundError:
            raise NotFound(f"no tip {tip_id!r}") from None
        return self._with_review([_tip(hit.body)])[0]

    def tip_get(self, tip_id: str) -> Tip:
        with mapped_errors("tip_get"):
            return self._tip_hit(tip_id)

    def tip_list(
        self, *, status: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[Tip]:
        if status is not None and status not in TIP_STATUSES:
            raise CaseError(f"unknown tip status {status!r} (known: {', '.join(TIP_STATUSES)})")
        self._ensure()
        with mapped_errors("tip_list"):
            response = self.client.search(
                index=self._alias("tips"),
                sort=[{"received_at": "desc"}, {"number": "desc"}],
                size=_PAGE,
                seq_no_primary_term=True,
            )
            tips = self._with_review([_tip(hit) for hit in response["hits"]["hits"]])
        if status:
            tips = [tip for tip in tips if tip.status == status]
        return tips[offset : offset + limit]

    # -- report inputs ---------------------------------------------------------------------------

    def audit_between(self, since: str, until: str) -> list[AuditEntry]:
        return self._search_audit(
            {
                "bool": {
                    "filter": [{"range": {"at": {"gte": since, "lt": until}}}],
                    "must_not": [{"term": {"action": "enqueue"}}],
                }
            }
        )

    def audit_entries(self, prefix: str, action: str) -> list[AuditEntry]:
        return self._search_audit(
            {"bool": {"filter": [{"prefix": {"item_id": prefix}}, {"term": {"action": action}}]}}
        )

    def _enqueued(self, since: str, until: str) -> Iterator[dict[str, Any]]:
        self._ensure()
        query = {
            "bool": {
                "filter": [
                    {"range": {"at": {"gte": since, "lt": until}}},
                    {"term": {"action": "enqueue"}},
                    {"bool": {"should": [{"prefix": {"item_id": f"{q}:"}} for q in POST_QUEUES]}},
                ]
            }
        }
        for hit in helpers.scan(
            self.client,
            index=self._alias("audit"),
            query={"query": query, "_source": ["item_id", "at"]},
        ):
            yield hit["_source"]

    def flag_rows(self, since: str, until: str) -> list[tuple[str, str, str, str, str, str]]:
        with mapped_errors("flag_rows"):
            entries = list(self._enqueued(since, until))
            meta = self.item_meta([entry["item_id"] for entry in entries])
        rows = []
        for entry in entries:
            info = meta.get(entry["item_id"])
            queue, _, target = entry["item_id"].partition(":")
            if info is None:
                continue
            rows.append(
                (queue, target, entry["at"], info["site"], info["url"], info.get("kind") or "news")
            )
        return rows

    def item_meta(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(item_ids))
        with mapped_errors("item_meta"):
            for start in range(0, len(ids), 1000):
                response = self.client.mget(
                    index=self._alias("review"),
                    ids=ids[start : start + 1000],
                    source_includes=["queue", "target_id", "site", "url", "created_at", "title"],
                )
                for doc in response["docs"]:
                    if doc.get("found"):
                        found[doc["_id"]] = dict(doc["_source"])
            kinds = self._kinds([m["target_id"] for m in found.values() if m["queue"] != "site"])
        for meta in found.values():
            meta["kind"] = kinds.get(meta["target_id"])
        return found

    def crawled_sites(self, since: str, until: str) -> list[tuple[str, str, str, int]]:
        from index.subjects import account_key

        self._ensure()
        period = {"range": {"fetched_at": {"gte": since, "lt": until}}}
        with mapped_errors("crawled_sites"):
            response = self.client.search(
                index=self._alias("documents"),
                size=0,
                query={"bool": {"filter": [period], "must_not": [{"term": {"kind": "social"}}]}},
                aggs={"sites": {"terms": {"field": "site", "size": _PAGE}}},
            )
            rows = [
                (bucket["key"], "news", "", bucket["doc_count"])
                for bucket in response["aggregations"]["sites"]["buckets"]
            ]
            per_account: dict[tuple[str, str], int] = {}
            for hit in helpers.scan(
                self.client,
                index=self._alias("documents"),
                query={
                    "query": {"bool": {"filter": [period, {"term": {"kind": "social"}}]}},
                    "_source": ["site", "url"],
                },
            ):
                key = (hit["_source"]["site"], account_key(hit["_source"]["url"]))
                per_account[key] = per_account.get(key, 0) + 1
        return rows + [(site, "social", key, n) for (site, key), n in per_account.items()]


class ElasticCaseTransfer:
    """``misinfo index migrate`` hooks: subjects, cases and tips exactly as stored."""

    client: Any
    names: Any

    def _ensure(self) -> None: ...

    def _scan(self, kind: str) -> list[dict[str, Any]]:
        return list(
            helpers.scan(
                self.client,
                index=self.names.alias(kind),
                query={"query": {"match_all": {}}, "seq_no_primary_term": True},
            )
        )

    def export_case_records(self) -> dict[str, list[Any]]:
        self._ensure()
        with mapped_errors("export_case_records"):
            return {
                "subjects": [_subject(hit) for hit in self._scan("subjects")],
                "cases": [_case(hit) for hit in self._scan("cases")],
                "tips": [_tip(hit) for hit in self._scan("tips")],
            }

    def import_case_records(self, records: dict[str, list[Any]]) -> int:
        self._ensure()
        actions: list[dict[str, Any]] = []
        for subject in records.get("subjects", []):
            source = {name: getattr(subject, name) for name in _SUBJECT_FIELDS}
            actions.append(
                {
                    "_op_type": "index",
                    "_index": self.names.alias("subjects"),
                    "_id": subject.id,
                    "_source": source,
                }
            )
        for case in records.get("cases", []):
            actions.append(
                {
                    "_op_type": "index",
                    "_index": self.names.alias("cases"),
                    "_id": str(int(case.id)),
                    "_source": _case_source(case),
                }
            )
        for tip in records.get("tips", []):
            stored = replace(
                tip, status="answered" if tip.status == "answered" else "received", verdict=None
            )
            actions.append(
                {
                    "_op_type": "index",
                    "_index": self.names.alias("tips"),
                    "_id": str(int(tip.id)),
                    "_source": _tip_source(stored),
                }
            )
        written = 0
        with mapped_errors("import_case_records"):
            for ok, result in helpers.streaming_bulk(
                self.client, actions, raise_on_error=False, max_retries=3, refresh=True
            ):
                if not ok:
                    raise CaseError(f"could not import a case record: {result}")
                written += 1
        return written
