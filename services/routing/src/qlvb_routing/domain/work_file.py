"""Hồ sơ công việc (work file): ties many documents together (Đ11 c.3, Đ13, Đ14.1).

Documents are linked, never copied: one document may sit in several files. Each link gets the
next ordinal in the file automatically; an ordinal is never reused, so an unlinked document
keeps its number in the file's history. The reply follow-up (theo dõi hồi báo) stays on until the
creator closes the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from qlvb_contracts.payloads.routing import (
    LinkedDocumentKind,
    WorkFileClosed,
    WorkFileDocumentLinked,
    WorkFileDocumentUnlinked,
    WorkFileOpened,
)
from qlvb_contracts.topics import Payload
from qlvb_routing.domain.errors import Conflict, Invalid, NotAllowed, NotFound
from qlvb_routing.domain.model import Acting, new_id


class WorkFileState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class LinkedDocument:
    """A document in the file, at its ordinal (DocOrdinal)."""

    ordinal: int
    document_id: str
    kind: LinkedDocumentKind
    linked_at: datetime
    linked_by: str | None
    DocumentId: str | None = None
    Subject: str | None = None
    unlinked_at: datetime | None = None
    unlink_reason: str | None = None

    @property
    def linked(self) -> bool:
        return self.unlinked_at is None


@dataclass
class WorkFile:
    work_file_id: str
    Title: str
    Creator: str
    StartDate: date
    created_at: datetime
    FileCode: str | None = None
    Maintenance: str | None = None
    Description: str | None = None
    unit_id: str | None = None
    case_id: str | None = None
    follow_up: bool = True
    state: WorkFileState = WorkFileState.OPEN
    EndDate: date | None = None
    summary: str | None = None
    documents: list[LinkedDocument] = field(default_factory=list)
    events: list[Payload] = field(default_factory=list, repr=False)

    @classmethod
    def open(
        cls,
        *,
        title: str,
        creator: str,
        today: date,
        now: datetime,
        file_code: str | None = None,
        maintenance: str | None = None,
        description: str | None = None,
        unit_id: str | None = None,
        case_id: str | None = None,
    ) -> WorkFile:
        if not title.strip():
            raise Invalid("a work file needs a title (tiêu đề hồ sơ)")
        wf = cls(
            work_file_id=new_id(),
            Title=title,
            Creator=creator,
            StartDate=today,
            created_at=now,
            FileCode=file_code,
            Maintenance=maintenance,
            Description=description,
            unit_id=unit_id,
            case_id=case_id,
        )
        wf.events.append(
            WorkFileOpened(
                work_file_id=wf.work_file_id,
                FileCode=file_code,
                Title=title,
                Creator=creator,
                StartDate=today,
                Maintenance=maintenance,
                Description=description,
                follow_up=True,
                case_id=case_id,
                unit_id=unit_id,
            )
        )
        return wf

    def linked_documents(self, kind: LinkedDocumentKind | None = None) -> list[LinkedDocument]:
        return [d for d in self.documents if d.linked and (kind is None or d.kind is kind)]

    def require_keeper(self, who: Acting) -> None:
        """Only the specialist who keeps the file (or someone acting for them) changes it."""
        if who.user != self.Creator:
            raise NotAllowed(
                f"work file {self.work_file_id} is kept by {self.Creator}; only they, or someone "
                "acting for them, may change it",
                slug="not-keeper",
            )

    def link(
        self,
        who: Acting | None,
        *,
        document_id: str,
        kind: LinkedDocumentKind,
        now: datetime,
        document_identifier: str | None = None,
        subject: str | None = None,
    ) -> LinkedDocument:
        """Gắn văn bản vào hồ sơ. ``who`` None is the system (an issued reply joins the file,
        even a closed one, so the file shows what answered it)."""
        if who is not None:
            self.require_keeper(who)
            if self.state is WorkFileState.CLOSED:
                raise Conflict(f"work file {self.work_file_id} is closed")
        if any(d.document_id == document_id for d in self.linked_documents()):
            raise Conflict(f"document {document_id} is already in work file {self.work_file_id}")
        ordinal = max((d.ordinal for d in self.documents), default=0) + 1
        doc = LinkedDocument(
            ordinal=ordinal,
            document_id=document_id,
            kind=kind,
            linked_at=now,
            linked_by=who.user if who else None,
            DocumentId=document_identifier,
            Subject=subject,
        )
        self.documents.append(doc)
        self.events.append(
            WorkFileDocumentLinked(
                work_file_id=self.work_file_id,
                document_id=document_id,
                document_kind=kind,
                DocOrdinal=ordinal,
                DocumentId=document_identifier,
                Subject=subject,
            )
        )
        return doc

    def unlink(self, who: Acting, *, document_id: str, reason: str | None, now: datetime) -> None:
        self.require_keeper(who)
        if self.state is WorkFileState.CLOSED:
            raise Conflict(f"work file {self.work_file_id} is closed")
        doc = next((d for d in self.linked_documents() if d.document_id == document_id), None)
        if doc is None:
            raise NotFound(f"document {document_id} is not in work file {self.work_file_id}")
        doc.unlinked_at, doc.unlink_reason = now, reason
        self.events.append(
            WorkFileDocumentUnlinked(
                work_file_id=self.work_file_id,
                document_id=document_id,
                document_kind=doc.kind,
                reason=reason,
            )
        )

    def close(self, who: Acting, *, summary: str | None, today: date) -> None:
        """Kết thúc hồ sơ: ends the reply follow-up (Đ11 c.3)."""
        self.require_keeper(who)
        if self.state is WorkFileState.CLOSED:
            raise Conflict(f"work file {self.work_file_id} is already closed")
        self.state, self.follow_up = WorkFileState.CLOSED, False
        self.EndDate, self.summary = today, summary
        self.events.append(
            WorkFileClosed(
                work_file_id=self.work_file_id,
                EndDate=today,
                DocTotal=len(self.linked_documents()),
                summary=summary,
            )
        )
