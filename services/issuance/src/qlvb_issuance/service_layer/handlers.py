"""Handlers: one function per command or consumed event, given the unit of work it runs in.

HTTP commands commit their unit of work; event handlers never do (the inbox consumer commits after
recording the message). A number and everything it causes (the document's new state, the events,
the outbound packages, the Idempotency-Key) commit in one transaction, and the counter row is
locked as late as possible in it so concurrent issuers wait on it only briefly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.idempotency import IdempotencyClaim, IdempotencyKeys
from qlvb_chassis.numbering import NumberAllocator, NumberAlreadyVoided, NumberNotFound
from qlvb_chassis.storage import ObjectStore, sniff_content_type
from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Organization, Signer
from qlvb_contracts.envelope import Actor
from qlvb_contracts.payloads import identity as idp
from qlvb_contracts.payloads.common import Recipient, ResponseLink, StoredAttachment
from qlvb_contracts.payloads.issuance import (
    OutgoingDocumentIssued,
    OutgoingDocumentNumbered,
    OutgoingDocumentNumberVoided,
    OutgoingDocumentRecalled,
)
from qlvb_contracts.payloads.routing import DocumentFinalizedForIssuance
from qlvb_contracts.registry import EXCHANGE_OUTBOUND, ISSUANCE_DOCUMENTS
from qlvb_issuance import metrics
from qlvb_issuance.adapters.repository import Repository, Row
from qlvb_issuance.domain import model
from qlvb_issuance.domain.errors import Conflict, Invalid, NotFound
from qlvb_issuance.domain.exchange import IssuedFacts, document_id, outbound_packages
from qlvb_issuance.domain.model import AttachmentKind, DocumentStatus
from qlvb_issuance.domain.outgoing_register import RegisterRow, number_reference, register_rows
from qlvb_issuance.service_layer import commands
from qlvb_issuance.settings import Settings

PDF_ONLY = frozenset({"application/pdf"})


@dataclass(frozen=True)
class Who:
    """Who acts: the user, and the principal of the delegation they act under (ủy quyền)."""

    acted_by: str
    on_behalf_of: str | None = None

    def actor(self) -> Actor:
        return Actor(user=self.acted_by, on_behalf_of=self.on_behalf_of)


@dataclass(frozen=True)
class Services:
    """The ports handlers need besides the unit of work."""

    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    numbers: NumberAllocator
    idempotency: IdempotencyKeys
    store: ObjectStore
    bucket: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def us(self) -> Organization:
        s = self.settings
        return Organization(
            OrganId=s.organ_id,
            OrganName=s.organ_name,
            OrganAdd=s.organ_address,
            Email=s.organ_email,
        )


# --- consumed events -----------------------------------------------------------------------------


async def on_finalized(event: DocumentFinalizedForIssuance, uow: UnitOfWork) -> None:
    """Văn bản hoàn thành → the clerks' issue queue."""
    await Repository(uow.session).queue_document(
        {
            "outgoing_document_id": str(uuid.uuid4()),
            "status": DocumentStatus.QUEUED.value,
            "case_id": event.case_id,
            "draft_id": event.draft_id,
            "approved_by": event.approved_by,
            "work_file_id": event.work_file_id,
            "responds_to": [r.model_dump(mode="json") for r in event.responds_to],
            "draft_document": event.document.model_dump(mode="json"),
            "declared_appendixes": list(event.Appendixes),
            "type_name": event.TypeName,
            "proposed_notation": event.CodeNotation,
            "subject": event.Subject,
            "signer_info": event.SignerInfo.model_dump(mode="json"),
            "priority": int(event.Priority),
            "due_date": event.DueDate,
            "page_amount": event.PageAmount,
            "proposed_to": [r.model_dump(mode="json") for r in event.To],
            "queued_at": datetime.now(UTC),
        }
    )
    metrics.QUEUED.inc()


async def on_identity(event: Any, uow: UnitOfWork) -> None:
    """Keep the read models of units, agencies and users; delegations are in the tokens."""
    repo = Repository(uow.session)
    if isinstance(event, idp.OrgUnitChanged):
        await repo.upsert_snapshot(
            "org_units",
            "unit_id",
            {
                "unit_id": event.unit_id,
                "revision": event.revision,
                "code": event.code,
                "name": event.name,
                "active": event.active and not event.deleted,
            },
        )
    elif isinstance(event, idp.AgencyChanged):
        await repo.upsert_snapshot(
            "agencies",
            "organ_id",
            {
                "organ_id": event.OrganId,
                "revision": event.revision,
                "organ_name": event.OrganName,
                "organ_add": event.OrganAdd,
                "email": event.Email,
                "telephone": event.Telephone,
                "electronic_exchange": event.electronic_exchange,
                "active": event.active and not event.deleted,
            },
        )
    elif isinstance(event, idp.UserChanged):
        await repo.upsert_snapshot(
            "users",
            "user_id",
            {
                "user_id": event.user_id,
                "revision": event.revision,
                "full_name": event.full_name,
                "unit_id": event.unit_id,
                "position": event.position,
                "active": event.active and not event.deleted,
            },
        )


# --- registers -----------------------------------------------------------------------------------


async def create_register(cmd: commands.CreateRegister, who: Who, uow: UnitOfWork) -> Row:
    model.Register(  # validates the definition
        register_id=cmd.register_id,
        name=cmd.name,
        series=cmd.series,
        type_names=tuple(cmd.type_names),
        copy_types=tuple(cmd.copy_types),
    )
    repo = Repository(uow.session)
    values = {
        "register_id": cmd.register_id,
        "name": cmd.name,
        "series": cmd.series.value,
        "type_names": [model.document_type(n).value for n in cmd.type_names],
        "copy_types": [c.value for c in cmd.copy_types],
        "description": cmd.description,
        "updated_by": who.acted_by,
    }
    if not await repo.add_register(values):
        existing = await repo.register_row(cmd.register_id)
        raise Conflict(
            f"register {cmd.register_id} already exists ({existing['name']})",
            slug="register-exists",
        )
    row = await repo.register_row(cmd.register_id)
    await uow.commit()
    return row


async def update_register(
    register_id: str, cmd: commands.UpdateRegister, who: Who, uow: UnitOfWork
) -> Row:
    repo = Repository(uow.session)
    current = await repo.register_row(register_id)
    changes = cmd.model_dump(exclude_unset=True)
    if "type_names" in changes:
        changes["type_names"] = [model.document_type(n).value for n in changes["type_names"]]
    if "copy_types" in changes:
        changes["copy_types"] = [ref.CopyType(c).value for c in changes["copy_types"]]
    merged = {**current, **changes}
    model.Register(
        register_id=register_id,
        name=merged["name"],
        series=model.Series(merged["series"]),
        type_names=tuple(merged["type_names"]),
        copy_types=tuple(ref.CopyType(c) for c in merged["copy_types"]),
        active=merged["active"],
    )
    await repo.update_register(register_id, {**changes, "updated_by": who.acted_by})
    row = await repo.register_row(register_id)
    await uow.commit()
    return row


async def register_book(
    svc: Services, uow: UnitOfWork, register_id: str, year: int
) -> tuple[Row, list[RegisterRow]]:
    repo = Repository(uow.session)
    register = await repo.register_row(register_id)
    numbers = await svc.numbers.register_book(uow.session, register_id, year)
    ids = {n.reference.partition(" ")[2] for n in numbers}
    documents = {d["outgoing_document_id"]: d for d in await repo.documents(ids=ids)}
    return register, register_rows(numbers, documents)


# --- files ---------------------------------------------------------------------------------------


async def attach_file(
    svc: Services,
    uow: UnitOfWork,
    doc_id: str,
    *,
    kind: AttachmentKind,
    data: bytes,
    title: str | None,
    name: str | None,
    who: Who,
) -> Row:
    """Upload the signed file, an appendix or a clean copy (PDF, sniffed by magic bytes)."""
    if not data:
        raise Invalid("the file is empty", slug="empty-file")
    if len(data) > svc.settings.max_upload_bytes:
        raise Invalid(
            f"the file exceeds {svc.settings.max_upload_bytes} bytes", slug="file-too-large"
        )
    content_type = sniff_content_type(data, PDF_ONLY)
    if content_type is None:
        raise Invalid("only PDF files are accepted (PDF 1.4 or later)", slug="unsupported-file")
    repo = Repository(uow.session)
    doc = await repo.document(doc_id, for_update=True)
    model.ensure_can_attach(DocumentStatus(doc["status"]))
    if kind is AttachmentKind.APPENDIX:
        if not title:
            raise Invalid("an appendix needs its title", slug="appendix-title-required")
        declared = doc["declared_appendixes"]
        if declared and model.missing_appendixes([title], declared):
            raise Invalid(
                f"{title!r} is not an appendix the draft declared: {declared}",
                slug="undeclared-appendix",
            )
    stored = await svc.store.put(data, content_type=content_type, prefix=f"issued/{doc_id}")
    row = {
        "attachment_id": str(uuid.uuid4()),
        "outgoing_document_id": doc_id,
        "kind": kind.value,
        "title": title,
        "attachment_name": (name or "").strip()[:300] or None,
        "object_key": stored.key,
        "sha256": stored.sha256,
        "size": stored.size,
        "content_type": stored.content_type,
        "uploaded_by": who.acted_by,
        "uploaded_on_behalf_of": who.on_behalf_of,
        "uploaded_at": svc.clock(),
    }
    await repo.add_attachment(row)
    await uow.commit()
    return row


async def download_url(
    svc: Services, uow: UnitOfWork, doc_id: str, attachment_id: str, *, staff_may_read: bool
) -> str:
    """A short-lived link, after the check: issued files are visible to every staff member
    (seed Đ4.2); files of a document not yet issued only to the clerks."""
    repo = Repository(uow.session)
    doc = await repo.document(doc_id)
    if doc["status"] in (DocumentStatus.QUEUED, DocumentStatus.NUMBERED) and not staff_may_read:
        raise NotFound(f"no attachment {attachment_id}")
    for a in await repo.attachments(doc_id):
        if a["attachment_id"] == attachment_id:
            return await svc.store.presigned_get(a["object_key"], filename=a["attachment_name"])
    raise NotFound(f"no attachment {attachment_id}")


# --- numbering and issuing -----------------------------------------------------------------------


@dataclass
class _Numbering:
    register_id: str
    year: int
    number: int
    notation: str
    issued_date: date
    file_copy_unit: str | None


async def _resolve_numbering(
    svc: Services, repo: Repository, doc: Row, cmd: commands.NumberDocument
) -> tuple[str, str, str | None]:
    """Register, notation and drafting unit for a queued document (reads only, no lock)."""
    type_name = doc["type_name"]
    if cmd.register_id:
        register = await repo.register(cmd.register_id)
        model.check_register_fits(register, type_name)
    else:
        register = model.choose_register(await repo.registers(), type_name)
    unit_code: str | None = None
    if cmd.drafting_unit_id:
        unit = (await repo.units([cmd.drafting_unit_id])).get(cmd.drafting_unit_id)
        if unit is None or not unit.active:
            raise Invalid(f"unknown org unit {cmd.drafting_unit_id}", slug="unknown-unit")
        unit_code = unit.code
    notation = model.confirm_notation(
        cmd.CodeNotation,
        doc["proposed_notation"],
        type_name,
        svc.settings.issuer_abbreviation,
        drafting_unit_code=unit_code,
    )
    if unit_code is None and model.document_type(type_name).abbreviation is None:
        unit_code = notation.split("-")[-1]  # công văn: the drafting unit ends the notation
    return register.register_id, notation, unit_code


async def _take_number(
    svc: Services, uow: UnitOfWork, doc: Row, register_id: str, notation: str, issued_on: date
) -> int:
    """Lock the register's counter row until commit: call it once nothing is left to check or
    read, and write only what needs the number after it (every issuer of the register waits)."""
    return await svc.numbers.allocate(
        uow.session,
        register_id,
        issued_on.year,
        number_reference(notation, doc["outgoing_document_id"]),
    )


def _numbered_event(doc: Row) -> OutgoingDocumentNumbered:
    return OutgoingDocumentNumbered(
        register_id=doc["register_id"],
        year=doc["year"],
        CodeNumber=doc["code_number"],
        CodeNotation=doc["code_notation"],
        Code=doc["code"],
        outgoing_document_id=doc["outgoing_document_id"],
        IssuedDate=doc["issued_date"],
        TypeName=doc["type_name"],
        Subject=doc["subject"],
        case_id=doc["case_id"],
        draft_id=doc["draft_id"],
    )


def _check_same_numbering(doc: Row, cmd: commands.NumberDocument) -> None:
    if cmd.register_id and cmd.register_id != doc["register_id"]:
        raise Conflict(
            f"the document is already numbered {doc['code']} in register {doc['register_id']}; "
            "void the number first to renumber it",
            slug="already-numbered",
        )
    if cmd.CodeNotation and ref.validate_notation(cmd.CodeNotation) != doc["code_notation"]:
        raise Conflict(
            f"the document is already numbered {doc['code']}; void the number to change it",
            slug="already-numbered",
        )


async def number_document(
    svc: Services, uow: UnitOfWork, doc_id: str, cmd: commands.NumberDocument, who: Who
) -> dict[str, Any]:
    """Cấp số only (the clerk writes it on the paper, then issues)."""
    repo = Repository(uow.session)
    doc = await repo.document(doc_id, for_update=True)
    model.ensure_can_number(DocumentStatus(doc["status"]))
    register_id, notation, unit_code = await _resolve_numbering(svc, repo, doc, cmd)
    files = await repo.attachments(doc_id)
    now = svc.clock()
    issued_on = model.issued_date(now)
    actor = who.actor()
    # The counter row is locked from here to the commit.
    number = await _take_number(svc, uow, doc, register_id, notation, issued_on)
    changes = _numbering_values(register_id, notation, number, issued_on, unit_code, now, who)
    await repo.update_document(doc_id, changes)
    doc.update(changes)
    await uow.publish(ISSUANCE_DOCUMENTS, _numbered_event(doc), actor=actor)
    await uow.commit()
    metrics.NUMBERED.labels(register_id).inc()
    return document_view(doc, files)


def _numbering_values(
    register_id: str,
    notation: str,
    number: int,
    issued_on: date,
    unit_code: str | None,
    now: datetime,
    who: Who,
) -> dict[str, Any]:
    return {
        "status": DocumentStatus.NUMBERED.value,
        "register_id": register_id,
        "year": issued_on.year,
        "code_number": number,
        "code_notation": notation,
        "code": model.format_code(number, notation),
        "issued_date": issued_on,
        "file_copy_unit": unit_code,
        "numbered_at": now,
        "numbered_by": who.acted_by,
        "numbered_on_behalf_of": who.on_behalf_of,
    }


async def issue_document(
    svc: Services,
    uow: UnitOfWork,
    doc_id: str,
    cmd: commands.IssueDocument,
    who: Who,
    idempotency: IdempotencyClaim | None = None,
) -> tuple[int, dict[str, Any]]:
    """Phát hành: number (unless numbered already) and send, in one transaction.

    Returns (status code, body); a replayed Idempotency-Key returns the first response.
    """
    started = time.perf_counter()
    repo = Repository(uow.session)
    # The document's row lock serializes requests for one document; the key is looked up
    # after it, so a concurrent duplicate sees the first request's committed response.
    doc = await repo.document(doc_id, for_update=True)
    if idempotency is not None:
        earlier = await svc.idempotency.lookup(
            uow.session, idempotency.principal, idempotency.key, idempotency.fingerprint
        )
        if earlier is not None:
            return earlier.status_code, earlier.body
    status = DocumentStatus(doc["status"])
    model.ensure_can_issue(status)

    files = await repo.attachments(doc_id)
    signed = [f for f in files if f["kind"] == AttachmentKind.SIGNED]
    if not signed:
        raise Invalid(
            "upload the signed final file (bản chính thức có chữ ký) before issuing",
            slug="signed-file-missing",
        )
    missing = model.missing_appendixes(
        doc["declared_appendixes"],
        [f["title"] for f in files if f["kind"] == AttachmentKind.APPENDIX],
    )
    if missing:
        raise Invalid(
            f"appendices declared by the draft are missing (phụ lục phải kèm đủ): {missing}",
            slug="appendix-missing",
        )
    requested = cmd.To if cmd.To is not None else [Recipient(**r) for r in doc["proposed_to"]]
    units = await repo.units([r.unit_id for r in requested if r.unit_id])
    agencies = await repo.agencies([r.OrganId for r in requested if r.OrganId])
    distribution = model.confirm_recipients(requested, units, agencies)

    newly_numbered = status is DocumentStatus.QUEUED
    if newly_numbered:
        register_id, notation, unit_code = await _resolve_numbering(svc, repo, doc, cmd)
    else:
        _check_same_numbering(doc, cmd)

    # Everything that can be refused has been checked, everything to read has been read: build
    # what does not depend on the number before taking it.
    now = svc.clock()
    issued_on = model.issued_date(now) if newly_numbered else doc["issued_date"]
    kept = [signed[-1], *(f for f in files if f["kind"] != AttachmentKind.SIGNED)]
    stored = [
        StoredAttachment(
            object_key=f["object_key"],
            sha256=f["sha256"],
            content_type=f["content_type"],
            size=f["size"],
            AttachmentName=f["attachment_name"] or f["title"],
        )
        for f in kept
    ]
    electronic = [a.OrganId for a in distribution.electronic]
    issuing: dict[str, Any] = {
        "status": DocumentStatus.ISSUED.value,
        "recipients": [r.model_dump(mode="json") for r in distribution.recipients],
        "electronic_recipients": electronic,
        "issued_amount": cmd.IssuedAmount,
        "issued_at": now,
        "issued_by": who.acted_by,
        "issued_on_behalf_of": who.on_behalf_of,
        "notes": cmd.notes,
    }
    actor = who.actor()
    us = svc.us()

    # From the allocation to the commit the register's counter row is locked and every other
    # issuer of the register waits: only the rows that carry the number are written here.
    changes: dict[str, Any] = {}
    if newly_numbered:
        number = await _take_number(svc, uow, doc, register_id, notation, issued_on)
        changes |= _numbering_values(register_id, notation, number, issued_on, unit_code, now, who)
    changes |= issuing  # numbered, then issued at once
    doc |= changes
    facts = _facts(doc, distribution.recipients, stored, cmd.IssuedAmount)
    our_document_id = document_id(svc.settings.organ_id, facts) if electronic else None
    changes["document_id"] = doc["document_id"] = our_document_id
    await repo.update_document(doc_id, changes)
    if newly_numbered:
        await uow.publish(ISSUANCE_DOCUMENTS, _numbered_event(doc), actor=actor)
    await uow.publish(
        ISSUANCE_DOCUMENTS,
        OutgoingDocumentIssued(
            register_id=doc["register_id"],
            year=doc["year"],
            CodeNumber=doc["code_number"],
            CodeNotation=doc["code_notation"],
            Code=doc["code"],
            outgoing_document_id=doc_id,
            IssuedDate=doc["issued_date"],
            DocumentId=our_document_id,
            TypeName=doc["type_name"],
            Subject=doc["subject"],
            SignerInfo=Signer(**doc["signer_info"]),
            Priority=ref.Urgency(doc["priority"]),
            DueDate=doc["due_date"],
            PageAmount=doc["page_amount"],
            IssuedAmount=cmd.IssuedAmount,
            incoming_document_ids=[r["incoming_document_id"] for r in doc["responds_to"]],
            work_file_id=doc["work_file_id"],
            case_id=doc["case_id"],
            To=distribution.recipients,
            attachments=stored,
        ),
        actor=actor,
    )
    for package in outbound_packages(
        facts,
        us=us,
        place=svc.settings.promulgation_place,
        agencies=distribution.electronic,
        bucket=svc.bucket,
        at=now,
    ):
        await uow.publish(EXCHANGE_OUTBOUND, package, actor=actor)
    if idempotency is not None:
        # The stored response carries the number: it is written under the lock too.
        body = document_view(doc, files)
        raced = await svc.idempotency.store(
            uow.session, idempotency.principal, idempotency.key, idempotency.fingerprint, 200, body
        )
        if raced is not None:
            return raced.status_code, raced.body  # leaving uncommitted rolls ours back
        await uow.commit()
    else:
        await uow.commit()
        body = document_view(doc, files)
    register_label = str(doc["register_id"])
    if newly_numbered:
        metrics.NUMBERED.labels(register_label).inc()
    metrics.ISSUED.labels(register_label).inc()
    metrics.PACKAGES.labels("0").inc(len(electronic))
    metrics.ISSUE_SECONDS.observe(time.perf_counter() - started)
    return 200, body


def _facts(
    doc: Row,
    recipients: list[Recipient],
    stored: list[StoredAttachment],
    issued_amount: int | None,
) -> IssuedFacts:
    return IssuedFacts(
        outgoing_document_id=doc["outgoing_document_id"],
        code_number=doc["code_number"],
        code_notation=doc["code_notation"],
        issued_date=doc["issued_date"],
        type_name=doc["type_name"],
        subject=doc["subject"],
        signer=Signer(**doc["signer_info"]),
        priority=ref.Urgency(doc["priority"]),
        due_date=doc["due_date"],
        page_amount=doc["page_amount"],
        issued_amount=issued_amount,
        appendixes=list(doc["declared_appendixes"]),
        recipients=recipients,
        responds_to=[ResponseLink(**r) for r in doc["responds_to"]],
        attachments=stored,
    )


async def void_number(
    svc: Services, uow: UnitOfWork, doc_id: str, cmd: commands.VoidNumber, who: Who
) -> dict[str, Any]:
    """Hủy số: the number stays in the register as void; the document goes back to the queue."""
    reason = model.require_reason(cmd.reason)
    repo = Repository(uow.session)
    doc = await repo.document(doc_id, for_update=True)
    model.ensure_can_void(DocumentStatus(doc["status"]))
    try:
        await svc.numbers.void(
            uow.session,
            doc["register_id"],
            doc["year"],
            doc["code_number"],
            reason=reason,
            voided_by=who.acted_by,
        )
    except (NumberNotFound, NumberAlreadyVoided) as exc:
        raise Conflict(str(exc), slug="number-not-voidable") from None
    event = OutgoingDocumentNumberVoided(
        register_id=doc["register_id"],
        year=doc["year"],
        CodeNumber=doc["code_number"],
        CodeNotation=doc["code_notation"],
        Code=doc["code"],
        reason=reason,
        outgoing_document_id=doc_id,
    )
    changes: dict[str, Any] = {
        key: None
        for key in (
            "register_id",
            "year",
            "code_number",
            "code_notation",
            "code",
            "issued_date",
            "numbered_at",
            "numbered_by",
            "numbered_on_behalf_of",
        )
    }
    changes["status"] = DocumentStatus.QUEUED.value
    await repo.update_document(doc_id, changes)
    await uow.publish(ISSUANCE_DOCUMENTS, event, actor=who.actor())
    files = await repo.attachments(doc_id)
    await uow.commit()
    metrics.VOIDED.labels(event.register_id).inc()
    doc |= changes
    return document_view(doc, files)


async def recall_document(
    svc: Services, uow: UnitOfWork, doc_id: str, cmd: commands.RecallDocument, who: Who
) -> dict[str, Any]:
    """Thu hồi: the document is frozen; recipients are told (the event; a revocation package
    to every agency that got it electronically)."""
    reason = model.require_reason(cmd.reason)
    repo = Repository(uow.session)
    doc = await repo.document(doc_id, for_update=True)
    model.ensure_can_recall(DocumentStatus(doc["status"]))
    now = svc.clock()
    changes = {
        "status": DocumentStatus.RECALLED.value,
        "recalled_at": now,
        "recalled_by": who.acted_by,
        "recalled_on_behalf_of": who.on_behalf_of,
        "recall_reason": reason,
    }
    await repo.update_document(doc_id, changes)
    doc |= changes
    actor = who.actor()
    await uow.publish(
        ISSUANCE_DOCUMENTS,
        OutgoingDocumentRecalled(
            register_id=doc["register_id"],
            year=doc["year"],
            CodeNumber=doc["code_number"],
            CodeNotation=doc["code_notation"],
            Code=doc["code"],
            outgoing_document_id=doc_id,
            reason=reason,
            DocumentId=doc["document_id"],
        ),
        actor=actor,
    )
    electronic_ids = list(doc["electronic_recipients"] or [])
    agencies = await repo.agencies(electronic_ids)
    # Tell every agency that got it, even one since removed from the directory.
    targets = [
        agencies.get(o)
        or model.Agency(OrganId=o, OrganName=_recipient_name(doc, o), electronic_exchange=True)
        for o in electronic_ids
    ]
    files = await repo.attachments(doc_id)
    recipients = [Recipient(**r) for r in doc["recipients"] or []]
    facts = _facts(doc, recipients, [], doc["issued_amount"])
    packages = outbound_packages(
        facts,
        us=svc.us(),
        place=svc.settings.promulgation_place,
        agencies=targets,
        bucket=svc.bucket,
        at=now,
        business=ref.BusinessDocType.REVOCATION,
        reason=reason,
    )
    for package in packages:
        await uow.publish(EXCHANGE_OUTBOUND, package, actor=actor)
    await uow.commit()
    metrics.RECALLED.inc()
    metrics.PACKAGES.labels("1").inc(len(packages))
    return document_view(doc, files)


def _recipient_name(doc: Row, organ_id: str) -> str:
    for r in doc["recipients"] or []:
        if r.get("OrganId") == organ_id:
            return str(r["OrganName"])
    return organ_id


# --- views ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def attachment_view(a: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "attachment_id": a["attachment_id"],
        "kind": a["kind"],
        "title": a["title"],
        "AttachmentName": a["attachment_name"],
        "content_type": a["content_type"],
        "size": a["size"],
        "sha256": a["sha256"],
        "uploaded_at": _plain(a["uploaded_at"]),
        "uploaded_by": a["uploaded_by"],
        "uploaded_on_behalf_of": a["uploaded_on_behalf_of"],
    }


def document_view(doc: Mapping[str, Any], files: list[Row]) -> dict[str, Any]:
    """The outgoing document as the API shows it (DOMAIN.md field names)."""
    return {
        "outgoing_document_id": doc["outgoing_document_id"],
        "status": doc["status"],
        "case_id": doc["case_id"],
        "draft_id": doc["draft_id"],
        "approved_by": doc["approved_by"],
        "work_file_id": doc["work_file_id"],
        "TypeName": doc["type_name"],
        "Subject": doc["subject"],
        "SignerInfo": doc["signer_info"],
        "Priority": doc["priority"],
        "DueDate": _plain(doc["due_date"]),
        "PageAmount": doc["page_amount"],
        "Appendixes": doc["declared_appendixes"],
        "proposed_CodeNotation": doc["proposed_notation"],
        "proposed_To": doc["proposed_to"],
        "responds_to": doc["responds_to"],
        "queued_at": _plain(doc["queued_at"]),
        "register_id": doc["register_id"],
        "year": doc["year"],
        "CodeNumber": doc["code_number"],
        "CodeNotation": doc["code_notation"],
        "Code": doc["code"],
        "IssuedDate": _plain(doc["issued_date"]),
        "numbered_by": doc["numbered_by"],
        "numbered_on_behalf_of": doc["numbered_on_behalf_of"],
        "To": doc["recipients"],
        "electronic_recipients": doc["electronic_recipients"],
        "IssuedAmount": doc["issued_amount"],
        "file_copy_unit": doc["file_copy_unit"],
        "DocumentId": doc["document_id"],
        "issued_at": _plain(doc["issued_at"]),
        "issued_by": doc["issued_by"],
        "issued_on_behalf_of": doc["issued_on_behalf_of"],
        "notes": doc["notes"],
        "recalled_at": _plain(doc["recalled_at"]),
        "recalled_by": doc["recalled_by"],
        "recalled_on_behalf_of": doc["recalled_on_behalf_of"],
        "recall_reason": doc["recall_reason"],
        "attachments": [attachment_view(a) for a in files],
    }


def register_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "register_id": row["register_id"],
        "name": row["name"],
        "series": row["series"],
        "type_names": row["type_names"],
        "copy_types": row["copy_types"],
        "active": row["active"],
        "description": row["description"],
    }
