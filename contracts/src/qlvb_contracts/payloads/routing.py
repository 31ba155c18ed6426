"""routing.events — handling cases, tasks, drafts, leaders' directions and work files.

Keyed by the handling case id, except work-file events, keyed by the work file id. The actor of
each act (and whom it was done for) is in the envelope, not repeated here.

A task ends with ``task.forwarded``, ``task.filed_for_reference`` or ``task.processing_slip``
when the handler does so, or with ``task.completed`` for any other reason (the reply was issued,
the work file was closed). ``case_completed`` says the incoming document is now processed.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import (
    Id,
    Recipient,
    ResponseLink,
    StoredAttachment,
    SubjectText,
)
from qlvb_contracts.topics import Payload


class TaskRole(StrEnum):
    LEAD = "lead"
    """Chủ trì xử lý."""
    SUPPORT = "support"
    """Phối hợp."""
    INFORMATION = "information"
    """Để biết."""


class WaitingReason(StrEnum):
    """Why a task waits (seed Đ12)."""

    RELATED_FILES = "related_files"
    """Chờ hồ sơ, tài liệu liên quan."""
    VERIFICATION = "verification"
    """Chờ xác minh."""
    MEETING = "meeting"
    """Chờ họp."""
    OTHER = "other"


class TaskOutcome(StrEnum):
    REPLY_ISSUED = "reply_issued"
    """The outgoing document answering it was issued (seed Đ11)."""
    WORK_FILE_CLOSED = "work_file_closed"
    CLOSED_BY_LEADER = "closed_by_leader"


class LinkedDocumentKind(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    OTHER = "other"
    """A working paper, minutes or draft kept in the file."""


class CaseOpened(Payload):
    """A handling case starts: usually for a registered incoming document; without one for an
    outgoing document drafted on the office's own initiative (seed Đ13)."""

    EVENT_TYPE = "case.opened"
    SCHEMA_VERSION = 1

    case_id: Id
    incoming_document_id: Id | None = None
    work_file_id: Id | None = None
    Subject: SubjectText
    Priority: ref.Urgency = ref.Urgency.NORMAL
    DueDate: date | None = None

    def aggregate_key(self) -> str:
        return self.case_id


class TaskAssigned(Payload):
    """Phân công: a user gets a task on the case."""

    EVENT_TYPE = "task.assigned"
    SCHEMA_VERSION = 1

    case_id: Id
    task_id: Id
    assignee: Id
    role: TaskRole = TaskRole.LEAD
    DueDate: date | None = None
    instruction: str | None = None
    parent_task_id: Id | None = None
    """The task this one was passed on from."""
    kind: str | None = None
    """Either "handling" (xử lý) or "approval" (duyệt dự thảo); None from older producers."""
    draft_id: Id | None = None
    """For an approval task: the draft to approve."""

    def aggregate_key(self) -> str:
        return self.case_id


class TaskForwarded(Payload):
    """Chuyển tiếp: the handler passes the document on; their task ends, a new one starts."""

    EVENT_TYPE = "task.forwarded"
    SCHEMA_VERSION = 1

    case_id: Id
    task_id: Id
    to_user: Id
    new_task_id: Id
    note: str | None = None
    forced: bool = False
    """Passed on by the records admin for a handler who did not (seed Đ9)."""

    def aggregate_key(self) -> str:
        return self.case_id


class TaskFiledForReference(Payload):
    """Lưu tham khảo: the handler only needed to know; the task ends."""

    EVENT_TYPE = "task.filed_for_reference"
    SCHEMA_VERSION = 1

    case_id: Id
    task_id: Id
    note: str | None = None
    case_completed: bool = False

    def aggregate_key(self) -> str:
        return self.case_id


class TaskProcessingSlip(Payload):
    """Phiếu xử lý văn bản: why no action is needed or what was done; ends the handling."""

    EVENT_TYPE = "task.processing_slip"
    SCHEMA_VERSION = 1

    case_id: Id
    task_id: Id
    content: str = Field(min_length=1)
    answered_by_code: str | None = None
    """Số, ký hiệu of an outgoing document that already answered the request (seed Đ14)."""
    slip: StoredAttachment | None = None
    case_completed: bool = False

    def aggregate_key(self) -> str:
        return self.case_id


class TaskWaiting(Payload):
    """The task waits for something, with a summary (seed Đ12)."""

    EVENT_TYPE = "task.waiting"
    SCHEMA_VERSION = 1

    case_id: Id
    task_id: Id
    reason: WaitingReason
    summary: str = Field(min_length=1)
    until: date | None = None

    def aggregate_key(self) -> str:
        return self.case_id


class TaskCompleted(Payload):
    """A task ended for a reason other than the handler's own forward / file / slip."""

    EVENT_TYPE = "task.completed"
    SCHEMA_VERSION = 1

    case_id: Id
    task_id: Id
    outcome: TaskOutcome
    outgoing_document_id: Id | None = None
    work_file_id: Id | None = None
    case_completed: bool = False

    def aggregate_key(self) -> str:
        return self.case_id


class DraftSubmitted(Payload):
    """Trình dự thảo: draft and proposal (tờ trình) sent to the approver."""

    EVENT_TYPE = "draft.submitted"
    SCHEMA_VERSION = 1

    case_id: Id
    draft_id: Id
    revision: int = Field(ge=1)
    """1 for the first submission, +1 after each return."""
    submitted_to: Id
    work_file_id: Id | None = None
    incoming_document_ids: list[Id] = Field(default_factory=list)
    TypeName: str = Field(min_length=1)
    Subject: SubjectText
    draft: StoredAttachment
    proposal: StoredAttachment | None = None

    def aggregate_key(self) -> str:
        return self.case_id


class DraftReturned(Payload):
    """The approver sends the draft back with comments."""

    EVENT_TYPE = "draft.returned"
    SCHEMA_VERSION = 1

    case_id: Id
    draft_id: Id
    revision: int = Field(ge=1)
    returned_to: Id
    comment: str = Field(min_length=1)

    def aggregate_key(self) -> str:
        return self.case_id


class DraftApproved(Payload):
    """An approver agrees; it goes on to ``next_approver`` or, if None, to finalization."""

    EVENT_TYPE = "draft.approved"
    SCHEMA_VERSION = 1

    case_id: Id
    draft_id: Id
    revision: int = Field(ge=1)
    comment: str | None = None
    next_approver: Id | None = None

    def aggregate_key(self) -> str:
        return self.case_id


class DirectionRecorded(Payload):
    """Bút phê / ý kiến chỉ đạo of a leader, often recorded by their secretary (seed Đ15)."""

    EVENT_TYPE = "direction.recorded"
    SCHEMA_VERSION = 1

    case_id: Id
    direction_id: Id
    leader: Id
    text: str = Field(min_length=1)
    incoming_document_id: Id | None = None
    DueDate: date | None = None
    return_to: Id | None = None
    """The specialist the case goes back to."""

    def aggregate_key(self) -> str:
        return self.case_id


class WorkFileOpened(Payload):
    """Lập hồ sơ công việc (fields of NĐ 30/2020, Phụ lục VI)."""

    EVENT_TYPE = "work_file.opened"
    SCHEMA_VERSION = 1

    work_file_id: Id
    FileCode: str | None = None
    """Mã hồ sơ, when the catalog gives one."""
    Title: str = Field(min_length=1)
    Creator: Id
    StartDate: date
    Maintenance: str | None = None
    """Thời hạn bảo quản."""
    Description: str | None = None
    follow_up: bool = True
    """Theo dõi hồi báo: stays on until the creator closes the file (seed Đ11)."""
    case_id: Id | None = None
    unit_id: Id | None = None

    def aggregate_key(self) -> str:
        return self.work_file_id


class WorkFileDocumentLinked(Payload):
    """A document joins the file (no copy; one document may sit in several files)."""

    EVENT_TYPE = "work_file.document_linked"
    SCHEMA_VERSION = 1

    work_file_id: Id
    document_id: Id
    document_kind: LinkedDocumentKind
    DocOrdinal: int = Field(ge=1)
    """Its ordinal in the file, given automatically."""
    DocumentId: ref.DocumentIdentifier | None = None
    Subject: str | None = None

    def aggregate_key(self) -> str:
        return self.work_file_id


class WorkFileDocumentUnlinked(Payload):
    EVENT_TYPE = "work_file.document_unlinked"
    SCHEMA_VERSION = 1

    work_file_id: Id
    document_id: Id
    document_kind: LinkedDocumentKind
    reason: str | None = None

    def aggregate_key(self) -> str:
        return self.work_file_id


class WorkFileClosed(Payload):
    """Kết thúc hồ sơ; ends the reply follow-up."""

    EVENT_TYPE = "work_file.closed"
    SCHEMA_VERSION = 1

    work_file_id: Id
    EndDate: date
    DocTotal: int = Field(ge=0)
    PageTotal: int | None = Field(default=None, ge=0)
    summary: str | None = None

    def aggregate_key(self) -> str:
        return self.work_file_id


class DocumentFinalizedForIssuance(Payload):
    """Văn bản hoàn thành: approved and signed, handed to the clerks for numbering and issuing."""

    EVENT_TYPE = "document.finalized_for_issuance"
    SCHEMA_VERSION = 1

    case_id: Id
    draft_id: Id
    approved_by: Id
    """The leader who approved and signs."""
    work_file_id: Id | None = None
    responds_to: list[ResponseLink] = Field(default_factory=list)
    """The incoming documents it answers; they become processed when it is issued."""
    document: StoredAttachment
    """The approved, signed file."""
    Appendixes: list[str] = Field(default_factory=list)
    """Declared appendices; the clerk checks they are complete (seed Đ8)."""
    TypeName: str = Field(min_length=1)
    CodeNotation: ref.Notation | None = None
    """Proposed ký hiệu, e.g. "UBND-VX"; the clerk confirms it when numbering."""
    Subject: SubjectText
    SignerInfo: Signer
    Priority: ref.Urgency = ref.Urgency.NORMAL
    DueDate: date | None = None
    PageAmount: int | None = Field(default=None, ge=0)
    To: list[Recipient] = Field(min_length=1)
    """Proposed recipients."""

    def aggregate_key(self) -> str:
        return self.case_id
