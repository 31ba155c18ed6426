"""Events and status packages built from intake's records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Organization, ResponseTarget, Signer, StaffContact
from qlvb_contracts.payloads.common import StoredAttachment
from qlvb_contracts.payloads.exchange_status import StatusPackage
from qlvb_contracts.payloads.intake import Channel, IncomingDocumentRegistered
from qlvb_intake.settings import Settings


def stored_attachments(rows: list[Row[Any]]) -> list[StoredAttachment]:
    return [
        StoredAttachment(
            object_key=a.object_key,
            sha256=a.sha256,
            content_type=a.content_type,
            size=a.size,
            AttachmentName=a.name,
        )
        for a in rows
        if not a.superseded
    ]


def registered_event(doc: Row[Any], attachments: list[Row[Any]]) -> IncomingDocumentRegistered:
    return IncomingDocumentRegistered(
        incoming_document_id=doc.id,
        register_id=doc.register_id,
        year=doc.year,
        ArrivalNumber=doc.arrival_number,
        ArrivalDate=doc.received_at,
        channel=Channel(doc.channel),
        CodeNumber=doc.code_number,
        CodeNotation=doc.code_notation,
        OrganName=doc.organ_name,
        OrganId=doc.organ_id,
        DocumentId=doc.document_id,
        TypeName=doc.type_name,
        Subject=doc.subject,
        PromulgationDate=doc.promulgation_date,
        SignerInfo=Signer.model_validate(doc.signer) if doc.signer else None,
        Priority=ref.Urgency(doc.priority),
        DueDate=doc.due_date,
        PageAmount=doc.page_amount,
        ToPlaces=doc.to_places,
        first_handlers=doc.first_handlers,
        attachments=stored_attachments(attachments),
        notes=doc.notes,
        backfilled=doc.backfilled,
        sla_deadline=doc.sla_deadline,
        sla_met=doc.sla_met,
    )


def status_package(
    settings: Settings,
    *,
    sender: str,
    code: str | None,
    document_id: str | None,
    promulgation_date: Any,
    status: ref.StatusCode,
    at: datetime,
    description: str | None = None,
    incoming_document_id: str | None = None,
    staff: str | None = None,
) -> StatusPackage:
    """A status package to ``sender`` about its document (01, 02, 03, 15 ...)."""
    return StatusPackage(
        ResponseFor=ResponseTarget(
            OrganId=sender,
            Code=code or "(không số)",
            PromulgationDate=promulgation_date,
            DocumentId=document_id,
        ),
        From=Organization(OrganId=settings.office_organ_id, OrganName=settings.office_organ_name),
        StatusCode=status,
        Description=description or status.label,
        Timestamp=at,
        StaffInfo=StaffContact(Department=settings.office_department, Staff=staff),
        incoming_document_id=incoming_document_id,
    )


def status_of_document(doc: Row[Any]) -> ref.StatusCode:
    """The status an agency resending a document is told again."""
    if doc.status == "registered":
        return ref.StatusCode.REGISTERED
    if doc.status == "returned":
        return ref.StatusCode.REJECTED
    if doc.status == "revoked":
        return ref.StatusCode.AGREE_UPDATE_RECALL
    return ref.StatusCode.RECEIVED
