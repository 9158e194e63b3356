"""What every case store does the same way: load a record, apply the rule, save it, audit it.

Editing a subject, moving or updating a case, answering a tip and reading their histories
are one sequence on every backend: read the record inside the store's scope, let the pure
functions of :mod:`index.cases` check the role, the transition and the expected version,
then write it back guarded by that version (a :class:`~index.errors.ConflictError` when
someone else wrote meanwhile) and append the audit entry. The stores (``SqliteCases``,
``ElasticCases``) inherit this class and supply the primitives at its bottom: how a scope
opens, how a record is read and written. The rules and the order of steps live once, here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from index.case_evidence import document_snapshot, site_snapshot, split_item_ref
from index.cases import (
    Case,
    CaseError,
    Tip,
    answer_tip,
    case_audit_id,
    move_case,
    subject_audit_id,
    tip_audit_id,
    update_case,
    update_subject,
)
from index.documents import Document
from index.errors import NotFound
from index.evidence import evidence_of
from index.review import AuditEntry, ReviewItem, item_id, utcnow
from index.subjects import WEBSITE, Subject, SubjectRef

__all__ = ["POST_QUEUES", "CaseWorkflow"]

#: Review queues whose items are about one post (a case snapshot carries their verdicts).
POST_QUEUES = ("covid", "claim", "tips")

#: What a store's scope yields to its primitives: a connection, or nothing (Elasticsearch).
Scope = Any


class CaseWorkflow(ABC):
    """The shared half of the case-store methods; a store supplies the primitives."""

    # -- subjects ------------------------------------------------------------------------------

    def subject_update(
        self,
        subject_id: str,
        user: str,
        *,
        expected_version: str | int,
        name: str | None = None,
        licence: str | None = None,
        owner: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> Subject:
        with self._writing("subject_update") as scope:
            before = self._load_subject(scope, subject_id)
            after = update_subject(
                before,
                user,
                name=name,
                licence=licence,
                owner=owner,
                note=note,
                expected_version=expected_version,
                now=now or utcnow(),
            )
            self._save_subject(scope, before, after)
            self._append_audit(
                scope,
                subject_audit_id(subject_id),
                after.updated_at,
                user,
                "update",
                "",
                before.state(),
                after.state(),
            )
        return self.subject_get(subject_id)

    def subject_history(self, subject_id: str) -> list[AuditEntry]:
        with self._reading("subject_history") as scope:
            self._load_subject(scope, subject_id)
            return self._history_of(scope, subject_audit_id(subject_id))

    # -- cases ---------------------------------------------------------------------------------

    def case_move(
        self,
        case_id: str,
        user: str,
        role: str,
        status: str,
        *,
        expected_version: str | int,
        note: str = "",
        fine: int | None = None,
        decision: str = "",
        decision_date: str | None = None,
        now: datetime | None = None,
    ) -> Case:
        with self._writing("case_move") as scope:
            before = self._load_case(scope, case_id)
            after = move_case(
                before,
                user,
                role,
                status,
                note=note,
                fine=fine,
                decision=decision,
                decision_date=decision_date,
                expected_version=expected_version,
                now=now or utcnow(),
            )
            return self._save_case(scope, before, after, "move")

    def case_update(
        self,
        case_id: str,
        user: str,
        *,
        expected_version: str | int,
        legal_basis: str | None = None,
        add_items: list[str] | None = None,
        note: str = "",
        now: datetime | None = None,
    ) -> Case:
        with self._writing("case_update") as scope:
            before = self._load_case(scope, case_id)
            snapshots = []
            if add_items:
                subject = self._load_subject(scope, before.subject)
                snapshots = self._snapshots(scope, subject, add_items)
            after = update_case(
                before,
                user,
                legal_basis=legal_basis,
                add_items=snapshots,
                note=note,
                expected_version=expected_version,
                now=now or utcnow(),
            )
            return self._save_case(scope, before, after, "update")

    def case_history(self, case_id: str) -> list[AuditEntry]:
        with self._reading("case_history") as scope:
            case = self._load_case(scope, case_id)
            return self._history_of(scope, case_audit_id(case.id))

    def _snapshots(self, scope: Scope, subject: Subject, refs: list[str]) -> list[dict[str, Any]]:
        """What a case keeps of each item: a site's profile or a post with its verdicts and
        evidence, as they are now (a document id or a review item id each)."""
        snapshots = []
        for ref in dict.fromkeys(refs):
            queue, target = split_item_ref(ref.strip())
            if queue == "site":
                ref_subject = SubjectRef(subject.id, subject.kind, target)
                if subject.kind != WEBSITE or not ref_subject.matches(target, "", "news"):
                    raise CaseError(f"site {target} is not part of subject {subject.id}")
                item = self._review_item(scope, item_id("site", target))
                profile = self._site_profile(scope, target)
                if item is None and profile is None:
                    raise NotFound(f"no site profile or review item for {target}")
                snapshots.append(site_snapshot(target, profile, item))
                continue
            doc = self._document(scope, target)
            if doc is None:
                raise NotFound(f"no document {target!r} (give a document id or a review item id)")
            if not subject.ref().matches(doc.site, doc.url, doc.kind):
                raise CaseError(
                    f"document {doc.id} ({doc.url}) was not published by subject {subject.id}"
                )
            items = [
                item
                for queue_name in POST_QUEUES
                if (item := self._review_item(scope, item_id(queue_name, doc.id))) is not None
            ]
            snapshots.append(document_snapshot(doc, items, evidence_of(self, doc.id)))
        return snapshots

    # -- tips ----------------------------------------------------------------------------------

    def tip_answer(
        self,
        tip_id: str,
        user: str,
        answer: str,
        *,
        expected_version: str | int,
        now: datetime | None = None,
    ) -> Tip:
        with self._writing("tip_answer") as scope:
            before = self._load_tip(scope, tip_id)
            after = answer_tip(
                before, user, answer, expected_version=expected_version, now=now or utcnow()
            )
            self._save_tip_answer(scope, before, after)
            self._append_audit(
                scope,
                tip_audit_id(before.id),
                after.updated_at,
                user,
                "answer",
                after.answer,
                before.state(),
                after.state(),
            )
        return self.tip_get(tip_id)

    def tip_history(self, tip_id: str) -> list[AuditEntry]:
        with self._reading("tip_history") as scope:
            tip = self._load_tip(scope, tip_id)
            return self._history_of(scope, tip_audit_id(tip.id))

    # -- what a store supplies -----------------------------------------------------------------

    @abstractmethod
    def subject_get(self, subject_id: str) -> Subject: ...

    @abstractmethod
    def tip_get(self, tip_id: str) -> Tip: ...

    @abstractmethod
    def _writing(self, operation: str) -> AbstractContextManager[Scope]:
        """The scope of one change (a transaction, or error mapping) named ``operation``."""

    @abstractmethod
    def _reading(self, operation: str) -> AbstractContextManager[Scope]: ...

    @abstractmethod
    def _load_subject(self, scope: Scope, subject_id: str) -> Subject:
        """The subject, or :class:`~index.errors.NotFound`."""

    @abstractmethod
    def _load_case(self, scope: Scope, case_id: str) -> Case: ...

    @abstractmethod
    def _load_tip(self, scope: Scope, tip_id: str) -> Tip: ...

    @abstractmethod
    def _save_subject(self, scope: Scope, before: Subject, after: Subject) -> None:
        """Write ``after`` if the stored subject is still ``before`` (else ConflictError)."""

    @abstractmethod
    def _save_case(self, scope: Scope, before: Case, after: Case, action: str) -> Case:
        """Write ``after`` over ``before`` guarded by its version, audit ``action``; the case
        as stored (with its new version)."""

    @abstractmethod
    def _save_tip_answer(self, scope: Scope, before: Tip, after: Tip) -> None: ...

    @abstractmethod
    def _append_audit(
        self,
        scope: Scope,
        audit_id: str,
        at: str,
        user: str,
        action: str,
        note: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None: ...

    @abstractmethod
    def _history_of(self, scope: Scope, audit_id: str) -> list[AuditEntry]: ...

    @abstractmethod
    def _review_item(self, scope: Scope, review_id: str) -> ReviewItem | None: ...

    @abstractmethod
    def _site_profile(self, scope: Scope, site: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def _document(self, scope: Scope, doc_id: str) -> Document | None: ...
