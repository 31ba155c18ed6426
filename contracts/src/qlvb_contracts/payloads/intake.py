"""intake.incoming-documents — văn bản đến: received, registered, returned, rejected.

Keyed by the incoming document id. An electronic document is first ``received`` (it waits in the
electronic inbox), then ``registered`` by a clerk with one action; a paper one is registered
directly. A malformed one is ``returned`` with a return slip; an out-of-scope one is ``rejected``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import Field

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import ResponseTarget, Signer
from qlvb_contracts.envelope import UtcDatetime
from qlvb_contracts.payloads.common import Id, StoredAttachment, SubjectText, Year
from qlvb_contracts.topics import Payload


class Channel(StrEnum):
    """How the document reached the office; both share one arrival-number series."""

    PAPER = "paper"
    ELECTRONIC = "electronic"


class RefusalCategory(StrEnum):
    """Why a document is refused rather than registered."""

    CONFIDENTIAL = "confidential"
    """Văn bản mật — outside the system's scope (seed Đ2)."""
    COMPLAINT = "complaint"
    """Đơn khiếu nại, tố cáo — outside the system's scope (seed Đ2)."""
    INVALID = "invalid"
    """Fails the authenticity or integrity check, or is unreadable."""
    UNKNOWN_SENDER = "unknown_sender"
    """The OrganId is not in the agency directory."""
    MISADDRESSED = "misaddressed"
    """Gửi sai nơi nhận."""


class IncomingDocumentReceived(Payload):
    """An agency's electronic document arrived and waits in the electronic inbox (status 01)."""

    EVENT_TYPE = "incoming_document.received"
    SCHEMA_VERSION = 1

    incoming_document_id: Id
    received_at: UtcDatetime
    source_format: Literal["edxml", "exchange_document"]
    source_message_id: str | None = None
    """message_id of the JSON envelope; None for raw edXML (DocumentId identifies it)."""
    DocumentId: ref.DocumentIdentifier
    OrganId: ref.OrganIdentifier
    """The sender (From/OrganId)."""
    OrganName: str = Field(min_length=1)
    CodeNumber: str = Field(min_length=1)
    CodeNotation: str = Field(min_length=1)
    TypeName: str = Field(min_length=1)
    Subject: str = Field(min_length=1)
    PromulgationDate: date
    Priority: ref.Urgency = ref.Urgency.NORMAL
    DueDate: date | None = None
    BussinessDocType: ref.BusinessDocType = ref.BusinessDocType.NEW
    ResponseFor: list[ResponseTarget] = Field(default_factory=list)
    """Our documents this one answers."""
    attachments: list[StoredAttachment] = Field(default_factory=list)

    def aggregate_key(self) -> str:
        return self.incoming_document_id


class IncomingDocumentRegistered(Payload):
    """Vào sổ văn bản đến: the document has its arrival number and goes to its first handlers."""

    EVENT_TYPE = "incoming_document.registered"
    SCHEMA_VERSION = 1

    incoming_document_id: Id
    register_id: Id
    """Sổ văn bản đến."""
    year: Year
    ArrivalNumber: int = Field(ge=1)
    """Số đến: from 1 on 1 January, one series for paper and electronic."""
    ArrivalDate: UtcDatetime
    """When the document arrived (ngày đến, with the time, which the SLA counts from)."""
    channel: Channel
    CodeNumber: str = Field(min_length=1)
    """The issuer's number as written ("05"); text, because it is theirs."""
    CodeNotation: str = Field(min_length=1)
    OrganName: str = Field(min_length=1)
    """Cơ quan ban hành."""
    OrganId: ref.OrganIdentifier | None = None
    """The sender's OrganId when known (always for electronic documents)."""
    DocumentId: ref.DocumentIdentifier | None = None
    """Set for electronic documents; the dedup key."""
    TypeName: str = Field(min_length=1)
    Subject: SubjectText
    PromulgationDate: date
    SignerInfo: Signer | None = None
    Priority: ref.Urgency = ref.Urgency.NORMAL
    DueDate: date | None = None
    PageAmount: int | None = Field(default=None, ge=0)
    ToPlaces: list[str] = Field(default_factory=list)
    """Nơi nhận as written on the document."""
    first_handlers: list[Id] = Field(min_length=1)
    """User ids the clerk passes the document to."""
    attachments: list[StoredAttachment] = Field(default_factory=list)
    """The electronic files, or the scan of a paper document."""
    notes: str | None = None
    backfilled: bool = False
    """Entered after an outage; occurred_at and ArrivalDate are the true times (seed Đ3.4)."""
    sla_deadline: UtcDatetime
    """Register-and-forward deadline: ArrivalDate + the configured working hours (seed Đ6: 4)."""
    sla_met: bool

    def aggregate_key(self) -> str:
        return self.incoming_document_id


class IncomingDocumentReturned(Payload):
    """Trả lại: malformed (no number, date or seal); a return slip goes back to the sender."""

    EVENT_TYPE = "incoming_document.returned"
    SCHEMA_VERSION = 1

    incoming_document_id: Id
    channel: Channel
    reason: str = Field(min_length=1)
    return_slip_object_key: str = Field(min_length=1)
    """Phiếu trả, signed by the head of HC-TC."""
    signed_by: Id | None = None
    OrganName: str | None = None
    OrganId: ref.OrganIdentifier | None = None
    DocumentId: ref.DocumentIdentifier | None = None
    CodeNumber: str | None = None
    CodeNotation: str | None = None
    Subject: str | None = None

    def aggregate_key(self) -> str:
        return self.incoming_document_id


class IncomingDocumentRejected(Payload):
    """Từ chối: out of scope or not acceptable; electronic senders get status 02."""

    EVENT_TYPE = "incoming_document.rejected"
    SCHEMA_VERSION = 1

    incoming_document_id: Id
    channel: Channel
    category: RefusalCategory
    reason: str = Field(min_length=1)
    OrganName: str | None = None
    OrganId: ref.OrganIdentifier | None = None
    DocumentId: ref.DocumentIdentifier | None = None

    def aggregate_key(self) -> str:
        return self.incoming_document_id
