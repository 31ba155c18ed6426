"""issuance.outgoing-documents — văn bản đi: numbered, issued, number voided, recalled.

Keyed by the outgoing register id, so the numbers of one register stay in order. ``Code`` is
always ``format_code(CodeNumber, CodeNotation)``, e.g. "05/QĐ-UBND".
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import Id, Recipient, StoredAttachment, SubjectText, Year
from qlvb_contracts.topics import Payload


class _Numbered(Payload):
    """Fields of a number taken from an outgoing register (sổ văn bản đi)."""

    register_id: Id
    year: Year
    CodeNumber: int = Field(ge=1)
    """From 01 on 1 January, per register."""
    CodeNotation: ref.Notation
    Code: str
    """Số, ký hiệu as printed, e.g. "05/QĐ-UBND"."""

    @model_validator(mode="after")
    def _code_matches(self) -> _Numbered:
        expected = ref.format_code(self.CodeNumber, self.CodeNotation)
        if self.Code != expected:
            raise ValueError(
                f"Code {self.Code!r} does not match CodeNumber/CodeNotation {expected!r}"
            )
        return self

    def aggregate_key(self) -> str:
        return self.register_id


class OutgoingDocumentNumbered(_Numbered):
    """Cấp số: the clerk numbered and dated the finalized document (seed Đ8)."""

    EVENT_TYPE = "outgoing_document.numbered"
    SCHEMA_VERSION = 1

    outgoing_document_id: Id
    IssuedDate: date
    TypeName: str = Field(min_length=1)
    Subject: SubjectText
    case_id: Id | None = None
    draft_id: Id | None = None


class OutgoingDocumentIssued(_Numbered):
    """Phát hành: stamped, signed and sent on paper and electronically."""

    EVENT_TYPE = "outgoing_document.issued"
    SCHEMA_VERSION = 1

    outgoing_document_id: Id
    IssuedDate: date
    DocumentId: ref.DocumentIdentifier | None = None
    """Our edXML DocumentId, set when it went out electronically."""
    TypeName: str = Field(min_length=1)
    Subject: SubjectText
    SignerInfo: Signer
    Priority: ref.Urgency = ref.Urgency.NORMAL
    DueDate: date | None = None
    PageAmount: int | None = Field(default=None, ge=0)
    IssuedAmount: int | None = Field(default=None, ge=0)
    """Số lượng bản."""
    incoming_document_ids: list[Id] = Field(default_factory=list)
    """The incoming documents it answers; they become processed (seed Đ11, Đ14)."""
    work_file_id: Id | None = None
    case_id: Id | None = None
    To: list[Recipient] = Field(min_length=1)
    attachments: list[StoredAttachment] = Field(default_factory=list)
    """The issued file, its appendices and any clean copy (seed Đ8.2)."""


class OutgoingDocumentNumberVoided(_Numbered):
    """A spoiled number is voided with a reason; it is never reused or deleted."""

    EVENT_TYPE = "outgoing_document.number_voided"
    SCHEMA_VERSION = 1

    reason: str = Field(min_length=1)
    outgoing_document_id: Id | None = None


class OutgoingDocumentRecalled(_Numbered):
    """Thu hồi: an issued document is withdrawn; electronic recipients get a recall package."""

    EVENT_TYPE = "outgoing_document.recalled"
    SCHEMA_VERSION = 1

    outgoing_document_id: Id
    reason: str = Field(min_length=1)
    DocumentId: ref.DocumentIdentifier | None = None
