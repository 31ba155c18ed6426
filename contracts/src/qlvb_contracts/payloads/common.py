"""Building blocks shared by payloads of several topics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Base64Content, MessageHeader

Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""An aggregate, user or unit id: a UUID string or a username."""

SubjectText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
"""Trích yếu: at most 500 characters in a register (NĐ 30/2020, Phụ lục VI)."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""Lower-case hex SHA-256 of the stored bytes."""

Year = Annotated[int, Field(ge=2000, le=2100)]

INLINE_ATTACHMENT_MAX_BYTES = 512 * 1024
"""Larger files go by claim-check: a Kafka message must stay well under the broker's limit."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StoredAttachment(_Part):
    """A file in the producing service's bucket; others fetch it through that service's
    presigned URL after an access check, never by the key alone."""

    object_key: str = Field(min_length=1)
    sha256: Sha256
    content_type: str = Field(min_length=1)
    size: int = Field(ge=0)
    AttachmentName: str | None = None
    """The name to show and to download as; never used to build a path."""


class Recipient(_Part):
    """Nơi nhận: an external agency (OrganId known → can go electronically) or an internal unit."""

    OrganName: str = Field(min_length=1)
    OrganId: ref.OrganIdentifier | None = None
    unit_id: Id | None = None


class ResponseLink(_Part):
    """An incoming document that an outgoing one answers (becomes edXML ResponseFor)."""

    incoming_document_id: Id
    DocumentId: ref.DocumentIdentifier | None = None
    """Set when the incoming document came electronically."""
    OrganId: ref.OrganIdentifier | None = None
    Code: str | None = None
    """Its số, ký hiệu, e.g. "1234/STC-QLNS"."""
    PromulgationDate: date | None = None


class InlineAttachment(_Part):
    """A small attachment carried in the message itself, base64 in JSON."""

    kind: Literal["inline"] = "inline"
    AttachmentName: str | None = None
    Description: str | None = None
    content_type: str = Field(min_length=1)
    content: Base64Content = Field(repr=False)

    @field_validator("content")
    @classmethod
    def _small(cls, value: bytes) -> bytes:
        if len(value) > INLINE_ATTACHMENT_MAX_BYTES:
            raise ValueError(
                f"inline attachment of {len(value)} bytes exceeds {INLINE_ATTACHMENT_MAX_BYTES}; "
                "send it by claim-check"
            )
        return value


class ClaimCheckAttachment(_Part):
    """A large attachment uploaded to the inbound bucket first; the message carries its address."""

    kind: Literal["claim_check"] = "claim_check"
    AttachmentName: str | None = None
    Description: str | None = None
    bucket: str = Field(min_length=1)
    object_key: str = Field(min_length=1)
    sha256: Sha256
    size: int = Field(ge=0)
    content_type: str = Field(min_length=1)


PackageAttachment = Annotated[InlineAttachment | ClaimCheckAttachment, Field(discriminator="kind")]


class DocumentPackage(MessageHeader):
    """The edXML MessageHeader fields as JSON, plus the package's business kind and files."""

    BussinessDocType: ref.BusinessDocType = ref.BusinessDocType.NEW
    BussinessDocReason: str | None = None
    attachments: list[PackageAttachment] = Field(default_factory=list)
