"""Agencies' documents on exchange.inbound (edXML or JSON): accept into the electronic inbox
(status 01), refuse (status 02 + dead letter), resend the status of a document sent again, and
record revocations, updates and replacements (BussinessDocType 1, 2, 3).

A refused package must both answer status 02 and land in the DLQ. :func:`accept` works in a
savepoint, so a refusal first undoes whatever the package had written; :func:`_refuse` then
writes the 02, a row in ``inbound_rejections`` and the audit entry into the consumer's unit of
work and raises ``PermanentError(keep_effects=True)``: the chassis commits them together with the
record's dead letter (to ``exchange.inbound.dlq``, the reason in its headers, through the
outbox) — the answer and the dead letter happen together or not at all.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any, Literal, NoReturn

from minio.error import S3Error
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from qlvb_chassis.consumer import PermanentError
from qlvb_chassis.db import UnitOfWork
from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import MessageHeader
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.common import ClaimCheckAttachment, StoredAttachment
from qlvb_contracts.payloads.intake import (
    Channel,
    IncomingDocumentReceived,
    IncomingDocumentRejected,
    RefusalCategory,
)
from qlvb_contracts.registry import EXCHANGE_STATUS, INTAKE_DOCUMENTS
from qlvb_intake import metrics
from qlvb_intake.adapters import audit
from qlvb_intake.adapters.orm import (
    agencies,
    amendments,
    attachments,
    inbound_rejections,
    incoming_documents,
)
from qlvb_intake.domain import model
from qlvb_intake.domain.attachments import sniff_electronic
from qlvb_intake.domain.model import DocumentStatus, duplicate_key
from qlvb_intake.service_layer.context import Intake
from qlvb_intake.service_layer.events import status_of_document, status_package
from qlvb_intake.service_layer.views import code_of

D = incoming_documents


class InboundFile(BaseModel):
    """One attachment of a package: inline bytes, or a claim-check to fetch."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str | None = None
    description: str | None = None
    declared_type: str = "application/octet-stream"
    content: bytes | None = Field(default=None, repr=False)
    claim: ClaimCheckAttachment | None = None


class InboundPackage(BaseModel):
    """An exchange.inbound record as the decoder understood it: a package, or why it is not one."""

    delivery_id: str
    """topic/partition/offset: genuine redeliveries are dropped by the inbox, while a package
    the agency sends again (a new record) reaches the handler and gets its status again."""
    source_format: Literal["edxml", "exchange_document", "unknown"]
    source_message_id: str | None = None
    sender: str | None = None
    """The sender's OrganId: From/OrganId, or the record key when the package is unreadable."""
    document_id: str | None = None
    package_sha256: str
    error: str | None = None
    header: MessageHeader | None = None
    business_kind: ref.BusinessDocType = ref.BusinessDocType.NEW
    business_reason: str | None = None
    files: list[InboundFile] = Field(default_factory=list)


class _Refused(Exception):
    def __init__(self, category: RefusalCategory, reason: str) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason


def _valid_organ_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return ref.validate_organ_id(value)
    except ContractError:
        return None


def _valid_document_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return ref.validate_document_id(value)
    except ContractError:
        return None


_LIMITS = (
    ("Subject", model.SUBJECT_MAX),
    ("TypeName", model.TYPE_NAME_MAX),
    ("OrganName", 300),
    ("CodeNumber", 50),
    ("CodeNotation", 100),
)


def _check_lengths(header: MessageHeader) -> None:
    values = {
        "Subject": header.Subject,
        "TypeName": header.DocumentType.TypeName,
        "OrganName": header.From.OrganName,
        "CodeNumber": header.Code.CodeNumber,
        "CodeNotation": header.Code.CodeNotation,
    }
    for name, limit in _LIMITS:
        if len(values[name]) > limit:
            raise _Refused(
                RefusalCategory.INVALID,
                f"field {name} longer than {limit} characters (trường {name} quá dài)",
            )


def _header_fields(header: MessageHeader, pkg: InboundPackage) -> dict[str, Any]:
    return {
        "document_id": header.DocumentId,
        "organ_id": header.From.OrganId,
        "organ_name": header.From.OrganName,
        "code_number": header.Code.CodeNumber,
        "code_notation": header.Code.CodeNotation,
        "type_name": header.DocumentType.TypeName,
        "subject": header.Subject,
        "promulgation_date": header.PromulgationInfo.PromulgationDate,
        "promulgation_place": header.PromulgationInfo.Place,
        "signer": header.SignerInfo.model_dump() if header.SignerInfo else None,
        "priority": int(header.OtherInfo.Priority),
        "due_date": header.DueDate,
        "page_amount": header.OtherInfo.PageAmount,
        "to_places": header.ToPlaces,
        "response_for": [r.model_dump(mode="json") for r in header.ResponseFor],
        "package": {
            "From": header.From.model_dump(mode="json"),
            "To": [t.model_dump(mode="json") for t in header.To],
            "Content": header.Content,
            "OtherInfo": header.OtherInfo.model_dump(mode="json"),
            "SteeringType": header.SteeringType,
            "BussinessDocType": int(pkg.business_kind),
            "BussinessDocReason": pkg.business_reason,
        },
        "duplicate_key": duplicate_key(
            header.Code.CodeNumber, header.Code.CodeNotation, header.From.OrganName
        ),
        "duplicate_year": header.PromulgationInfo.PromulgationDate.year,
    }


async def accept(ctx: Intake, uow: UnitOfWork, pkg: InboundPackage) -> None:
    """Handle one package in the consumer's unit of work (which commits it)."""
    try:
        async with uow.savepoint():
            await _accept(ctx, uow, pkg)
    except _Refused as refused:
        await _refuse(ctx, uow, pkg, refused.category, refused.reason)


async def _accept(ctx: Intake, uow: UnitOfWork, pkg: InboundPackage) -> None:
    if pkg.error is not None or pkg.header is None:
        raise _Refused(RefusalCategory.INVALID, pkg.error or "unreadable package")
    header = pkg.header
    await _check_sender(ctx, uow, header)
    _check_lengths(header)
    existing = (
        await uow.session.execute(
            select(D)
            .where(D.c.document_id == header.DocumentId, D.c.channel == "electronic")
            .with_for_update()
        )
    ).first()
    if pkg.business_kind is ref.BusinessDocType.NEW:
        if existing is not None:
            await _resend_status(ctx, uow, existing)
            metrics.INBOUND.labels("duplicate").inc()
            return
        await _receive(ctx, uow, pkg, header)
        metrics.INBOUND.labels("accepted").inc()
        return
    if existing is None:
        raise _Refused(
            RefusalCategory.INVALID,
            f"{pkg.business_kind.label}: no document {header.DocumentId} was received "
            "(không tìm thấy văn bản gốc)",
        )
    await _amend(ctx, uow, pkg, header, existing)
    metrics.INBOUND.labels("amendment").inc()


async def _check_sender(ctx: Intake, uow: UnitOfWork, header: MessageHeader) -> None:
    sender = header.From.OrganId
    known = (
        await uow.session.execute(
            select(agencies.c.organ_id).where(agencies.c.organ_id == sender, agencies.c.active)
        )
    ).first()
    if known is None:
        raise _Refused(
            RefusalCategory.UNKNOWN_SENDER,
            f"sender OrganId {sender} is not in the agency directory "
            "(cơ quan gửi không có trong danh mục)",
        )
    office = ctx.settings.office_organ_id
    if ctx.settings.check_addressee and all(to.OrganId != office for to in header.To):
        raise _Refused(
            RefusalCategory.MISADDRESSED,
            f"the document is not addressed to {office} (gửi sai nơi nhận)",
        )


async def _collect(ctx: Intake, pkg: InboundPackage) -> list[tuple[InboundFile, bytes, str]]:
    """Every file's bytes (claim-checks fetched and verified) and real content type."""
    cap = ctx.settings.inbound_attachment_max_bytes
    out = []
    for index, f in enumerate(pkg.files, start=1):
        label = f.name or f"#{index}"
        if f.claim is not None:
            claim = f.claim
            if claim.bucket != ctx.settings.inbound_bucket:
                raise _Refused(
                    RefusalCategory.INVALID,
                    f"attachment {label}: claim-check bucket {claim.bucket!r} is not "
                    f"{ctx.settings.inbound_bucket!r}",
                )
            if claim.size > cap:
                raise _Refused(
                    RefusalCategory.INVALID,
                    f"attachment {label} of {claim.size} bytes exceeds {cap} "
                    "(vượt dung lượng cho phép)",
                )
            try:
                data = await ctx.store.get(claim.object_key, bucket=claim.bucket)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchBucket", "AccessDenied"):
                    raise _Refused(
                        RefusalCategory.INVALID,
                        f"attachment {label}: claim-checked object not found "
                        "(không tìm thấy tệp đính kèm)",
                    ) from None
                raise
            if len(data) != claim.size or hashlib.sha256(data).hexdigest() != claim.sha256:
                raise _Refused(
                    RefusalCategory.INVALID,
                    f"attachment {label}: size or sha256 does not match the claim-check "
                    "(tệp không toàn vẹn)",
                )
        else:
            data = f.content or b""
        if len(data) > cap:
            raise _Refused(
                RefusalCategory.INVALID,
                f"attachment {label} of {len(data)} bytes exceeds {cap} (vượt dung lượng cho phép)",
            )
        sniffed = sniff_electronic(data)
        if sniffed is None:
            raise _Refused(
                RefusalCategory.INVALID,
                f"attachment {label} is not an accepted file type (định dạng tệp không hợp lệ)",
            )
        declared = f.declared_type.strip()[:200]
        content_type = declared if declared.startswith(sniffed.split(";")[0]) else sniffed
        out.append((f, data, content_type))
    return out


async def _store_files(
    ctx: Intake, uow: UnitOfWork, document_id: str, files: list[tuple[InboundFile, bytes, str]]
) -> list[StoredAttachment]:
    stored_list = []
    for f, data, content_type in files:
        stored = await ctx.store.put(data, content_type=content_type, prefix="inbound")
        await uow.session.execute(
            attachments.insert().values(
                id=str(uuid.uuid4()),
                incoming_document_id=document_id,
                object_key=stored.key,
                sha256=stored.sha256,
                content_type=content_type,
                size=stored.size,
                name=(f.name or "")[:300] or None,
                description=f.description,
                origin="claim_check" if f.claim is not None else "inline",
            )
        )
        stored_list.append(
            StoredAttachment(
                object_key=stored.key,
                sha256=stored.sha256,
                content_type=content_type,
                size=stored.size,
                AttachmentName=f.name,
            )
        )
    return stored_list


async def _receive(
    ctx: Intake, uow: UnitOfWork, pkg: InboundPackage, header: MessageHeader
) -> None:
    files = await _collect(ctx, pkg)
    now = ctx.clock()
    document_id = str(uuid.uuid4())
    await uow.session.execute(
        D.insert().values(
            id=document_id,
            channel=Channel.ELECTRONIC.value,
            status=DocumentStatus.RECEIVED.value,
            received_at=now,
            source_format=pkg.source_format,
            source_message_id=pkg.source_message_id,
            **_header_fields(header, pkg),
        )
    )
    stored = await _store_files(ctx, uow, document_id, files)
    await uow.publish(
        INTAKE_DOCUMENTS,
        IncomingDocumentReceived(
            incoming_document_id=document_id,
            received_at=now,
            source_format="edxml" if pkg.source_format == "edxml" else "exchange_document",
            source_message_id=pkg.source_message_id,
            DocumentId=header.DocumentId,
            OrganId=header.From.OrganId,
            OrganName=header.From.OrganName,
            CodeNumber=header.Code.CodeNumber,
            CodeNotation=header.Code.CodeNotation,
            TypeName=header.DocumentType.TypeName,
            Subject=header.Subject,
            PromulgationDate=header.PromulgationInfo.PromulgationDate,
            Priority=header.OtherInfo.Priority,
            DueDate=header.DueDate,
            BussinessDocType=pkg.business_kind,
            ResponseFor=header.ResponseFor,
            attachments=stored,
        ),
    )
    await uow.publish(
        EXCHANGE_STATUS,
        status_package(
            ctx.settings,
            sender=header.From.OrganId,
            code=f"{header.Code.CodeNumber}/{header.Code.CodeNotation}",
            document_id=header.DocumentId,
            promulgation_date=header.PromulgationInfo.PromulgationDate,
            status=ref.StatusCode.RECEIVED,
            at=now,
            incoming_document_id=document_id,
        ),
    )
    await audit.record(
        uow.session,
        "incoming_document.received",
        acted_by=None,
        subject_id=document_id,
        details={"DocumentId": header.DocumentId, "sender": header.From.OrganId},
    )


async def _resend_status(ctx: Intake, uow: UnitOfWork, doc: Row[Any]) -> None:
    """The same DocumentId again (an exchange hub's retry): no second document, the status is
    sent again."""
    status = status_of_document(doc)
    await uow.publish(
        EXCHANGE_STATUS,
        status_package(
            ctx.settings,
            sender=doc.organ_id,
            code=code_of(doc),
            document_id=doc.document_id,
            promulgation_date=doc.promulgation_date,
            status=status,
            at=ctx.clock(),
            description=doc.return_reason if status is ref.StatusCode.REJECTED else None,
            incoming_document_id=doc.id,
        ),
    )


async def _amend(
    ctx: Intake, uow: UnitOfWork, pkg: InboundPackage, header: MessageHeader, doc: Row[Any]
) -> None:
    """Thu hồi / cập nhật / thay thế. Applied while the document waits in the inbox (a revoked
    one leaves it); once registered it is only recorded and shown to the clerk."""
    session = uow.session
    now = ctx.clock()
    in_inbox = doc.status == DocumentStatus.RECEIVED.value
    amendment_id = str(uuid.uuid4())
    inserted = (
        await session.execute(
            pg_insert(amendments)
            .values(
                id=amendment_id,
                incoming_document_id=doc.id,
                kind=int(pkg.business_kind),
                reason=pkg.business_reason,
                received_at=now,
                package_sha256=pkg.package_sha256,
                package=_header_fields(header, pkg)["package"]
                | {
                    "Subject": header.Subject,
                    "Code": f"{header.Code.CodeNumber}/{header.Code.CodeNotation}",
                },
                applied=in_inbox,
            )
            .on_conflict_do_nothing()
            .returning(amendments.c.id)
        )
    ).first()
    if inserted is None:  # the same package again
        if in_inbox or doc.status == DocumentStatus.REVOKED.value:
            await _resend_status(ctx, uow, doc)
        return
    if in_inbox:
        kind = pkg.business_kind
        if kind is ref.BusinessDocType.REVOCATION:
            values: dict[str, Any] = {"status": DocumentStatus.REVOKED.value}
        else:
            fields = _header_fields(header, pkg)
            fields.pop("document_id")
            values = fields
        if kind is ref.BusinessDocType.REPLACEMENT:
            files = await _collect(ctx, pkg)
            await session.execute(
                update(attachments)
                .where(attachments.c.incoming_document_id == doc.id)
                .values(superseded=True)
            )
            await _store_files(ctx, uow, doc.id, files)
        await session.execute(update(D).where(D.c.id == doc.id).values(**values, updated_at=now))
        await uow.publish(
            EXCHANGE_STATUS,
            status_package(
                ctx.settings,
                sender=doc.organ_id,
                code=code_of(doc),
                document_id=doc.document_id,
                promulgation_date=doc.promulgation_date,
                status=ref.StatusCode.AGREE_UPDATE_RECALL,
                at=now,
                description=f"Đồng ý {pkg.business_kind.label.lower()}",
                incoming_document_id=doc.id,
            ),
        )
    await audit.record(
        session,
        "incoming_document.amendment_received",
        acted_by=None,
        subject_id=doc.id,
        details={
            "BussinessDocType": int(pkg.business_kind),
            "applied": in_inbox,
            "amendment_id": amendment_id,
        },
    )


async def _refuse(
    ctx: Intake, uow: UnitOfWork, pkg: InboundPackage, category: RefusalCategory, reason: str
) -> NoReturn:
    sender = _valid_organ_id(pkg.header.From.OrganId if pkg.header is not None else pkg.sender)
    document_id = _valid_document_id(
        pkg.header.DocumentId if pkg.header is not None else pkg.document_id
    )
    code: str | None = None
    promulgation: date | None = None
    if pkg.header is not None:
        code = f"{pkg.header.Code.CodeNumber}/{pkg.header.Code.CodeNotation}"
        promulgation = pkg.header.PromulgationInfo.PromulgationDate
    elif document_id is not None:
        parts = ref.parse_document_id(document_id)
        code, promulgation = parts.code, parts.promulgation_date
    now: datetime = ctx.clock()
    rejection_id = str(uuid.uuid4())
    inserted = (
        await uow.session.execute(
            pg_insert(inbound_rejections)
            .values(
                id=rejection_id,
                delivery_id=pkg.delivery_id,
                sender_organ_id=(pkg.sender or "")[:50] or None,
                document_id=(pkg.document_id or "")[:300] or None,
                category=category.value,
                reason=reason,
                status_sent=sender is not None,
            )
            .on_conflict_do_nothing()
            .returning(inbound_rejections.c.id)
        )
    ).first()
    if inserted is not None:
        if sender is not None:
            await uow.publish(
                EXCHANGE_STATUS,
                status_package(
                    ctx.settings,
                    sender=sender,
                    code=code,
                    document_id=document_id,
                    promulgation_date=promulgation,
                    status=ref.StatusCode.REJECTED,
                    at=now,
                    description=reason[:1000],
                ),
            )
        await uow.publish(
            INTAKE_DOCUMENTS,
            IncomingDocumentRejected(
                incoming_document_id=rejection_id,
                channel=Channel.ELECTRONIC,
                category=category,
                reason=reason[:1000],
                OrganId=sender,
                DocumentId=document_id,
                OrganName=pkg.header.From.OrganName if pkg.header is not None else None,
            ),
        )
        await audit.record(
            uow.session,
            "inbound_package.rejected",
            acted_by=None,
            subject_id=rejection_id,
            details={"category": category.value, "reason": reason, "sender": pkg.sender},
        )
        metrics.REFUSED.labels("electronic", category.value).inc()
        metrics.INBOUND.labels("rejected").inc()
    raise PermanentError(f"{category.value}: {reason}", keep_effects=True)


async def list_rejections(ctx: Intake, limit: int = 100) -> list[dict[str, Any]]:
    async with ctx.db.uow() as uow:
        rows = (
            await uow.session.execute(
                select(inbound_rejections)
                .order_by(inbound_rejections.c.rejected_at.desc())
                .limit(limit)
            )
        ).all()
    return [
        {
            "id": r.id,
            "sender": r.sender_organ_id,
            "DocumentId": r.document_id,
            "category": r.category,
            "reason": r.reason,
            "status_sent": r.status_sent,
            "rejected_at": r.rejected_at.isoformat(),
            "delivery": r.delivery_id,
        }
        for r in rows
    ]
