"""Use cases of the clerk (văn thư): register a paper document, register an agency's document
from the electronic inbox with one action, return a malformed one; and reading them back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.idempotency import IdempotencyClaim
from qlvb_chassis.storage import StoredObject
from qlvb_contracts import reference as ref
from qlvb_contracts.envelope import Actor
from qlvb_contracts.payloads.intake import (
    Channel,
    IncomingDocumentRejected,
    IncomingDocumentReturned,
)
from qlvb_contracts.registry import EXCHANGE_STATUS, INTAKE_DOCUMENTS
from qlvb_intake import metrics
from qlvb_intake.adapters import audit
from qlvb_intake.adapters.orm import amendments, attachments, incoming_documents, registers, users
from qlvb_intake.adapters.return_slip import ReturnSlip, ReturnSlipFontMissing, render_return_slip
from qlvb_intake.domain.attachments import sniff_scan
from qlvb_intake.domain.model import (
    DocumentStatus,
    InvalidConfidentialityMark,
    InvalidTimes,
    PaperDocumentForm,
    arrival_year,
    defects_of_form,
    duplicate_key,
    out_of_scope,
    receipt_times,
    register_sla,
)
from qlvb_intake.service_layer.context import Intake, Outcome, finish, replayed
from qlvb_intake.service_layer.errors import IntakeError, invalid, not_found
from qlvb_intake.service_layer.events import registered_event, status_package
from qlvb_intake.service_layer.views import code_of, document_view

D = incoming_documents


@dataclass(frozen=True)
class Upload:
    """A file a clerk sent; its name is only ever shown, never used in a key or path."""

    name: str | None
    data: bytes


@dataclass(frozen=True)
class Registration:
    """Vào sổ: the register, the first handlers (chuyển xử lý) and the clerk's notes."""

    register_id: str
    first_handlers: list[str]
    notes: str | None = None
    confirm_duplicate: bool = False


# --- checks shared by both channels -----------------------------------------------------------


async def _check_register(session: AsyncSession, register_id: str, year: int) -> None:
    row = (await session.execute(select(registers).where(registers.c.id == register_id))).first()
    if row is None:
        raise invalid(f"there is no incoming register {register_id!r}")
    if not row.active:
        raise invalid(f"the incoming register {register_id!r} is closed")
    if row.year != year:
        raise invalid(
            f"the incoming register {register_id!r} is for {row.year}; the document arrived in "
            f"{year} (office time), choose a register of {year}"
        )


async def _check_handlers(ctx: Intake, session: AsyncSession, handlers: list[str]) -> None:
    if not handlers:
        raise invalid(
            "choose at least one first handler (chuyển xử lý)",
            errors=[{"field": "first_handlers", "message": "at least one user id"}],
        )
    if not ctx.settings.require_known_handlers:
        return
    known = set(
        (
            await session.execute(
                select(users.c.user_id).where(users.c.user_id.in_(handlers), users.c.active)
            )
        ).scalars()
    )
    unknown = [h for h in handlers if h not in known]
    if unknown:
        raise invalid(
            f"unknown or inactive users: {', '.join(unknown)}",
            errors=[{"field": "first_handlers", "message": f"unknown user {u!r}"} for u in unknown],
        )


async def _duplicates(
    session: AsyncSession,
    *,
    document_id: str | None,
    key: str | None,
    year: int | None,
    exclude: str | None = None,
) -> list[dict[str, Any]]:
    """Documents that look like this one (NĐ 30/2020: same identifier, or same number, notation
    and issuer in the year), among those received or registered."""
    clauses = []
    if document_id:
        clauses.append(D.c.document_id == document_id)
    if key and year is not None:
        clauses.append(and_(D.c.duplicate_key == key, D.c.duplicate_year == year))
    if not clauses:
        return []
    query = select(D).where(
        or_(*clauses),
        D.c.status.in_([DocumentStatus.RECEIVED.value, DocumentStatus.REGISTERED.value]),
    )
    if exclude is not None:
        query = query.where(D.c.id != exclude)
    rows = (await session.execute(query.order_by(D.c.received_at))).all()
    return [
        {
            "id": r.id,
            "status": r.status,
            "channel": r.channel,
            "register_id": r.register_id,
            "year": r.year,
            "ArrivalNumber": r.arrival_number,
            "DocumentId": r.document_id,
            "Code": code_of(r),
            "OrganName": r.organ_name,
            "Subject": r.subject,
        }
        for r in rows
    ]


def _duplicate_problem(found: list[dict[str, Any]]) -> IntakeError:
    return IntakeError(
        409,
        "Possible duplicate",
        f"{len(found)} document(s) with the same identifier or number, notation and issuer "
        "already exist; send confirm_duplicate=true to register anyway (trùng văn bản)",
        slug="possible-duplicate",
        duplicates=found,
    )


def _scans(ctx: Intake, uploads: list[Upload]) -> list[tuple[Upload, str]]:
    if len(uploads) > ctx.settings.max_upload_files:
        raise invalid(f"at most {ctx.settings.max_upload_files} files per document")
    checked = []
    for index, upload in enumerate(uploads, start=1):
        if len(upload.data) > ctx.settings.max_upload_bytes:
            raise invalid(
                f"file {index} is larger than {ctx.settings.max_upload_bytes} bytes",
                errors=[{"field": f"files[{index}]", "message": "too large"}],
            )
        content_type = sniff_scan(upload.data)
        if content_type is None:
            raise invalid(
                f"file {index} is not a PDF, TIFF, PNG or JPEG scan (checked by its content)",
                errors=[{"field": f"files[{index}]", "message": "unsupported content"}],
            )
        checked.append((upload, content_type))
    return checked


async def _upload_scans(
    ctx: Intake, scans: list[tuple[Upload, str]]
) -> list[tuple[Upload, StoredObject]]:
    """Upload before taking the register's number, so the counter's row lock is never held
    while files travel."""
    return [
        (upload, await ctx.store.put(upload.data, content_type=content_type, prefix="scans"))
        for upload, content_type in scans
    ]


async def _record_scans(
    session: AsyncSession, document_id: str, stored: list[tuple[Upload, StoredObject]]
) -> list[Row[Any]]:
    """The attachment rows, in one statement, in the order :func:`_attachments_of` gives."""
    if not stored:
        return []
    rows = (
        await session.execute(
            attachments.insert().returning(*attachments.c),
            [
                {
                    "id": str(uuid.uuid4()),
                    "incoming_document_id": document_id,
                    "object_key": obj.key,
                    "sha256": obj.sha256,
                    "content_type": obj.content_type,
                    "size": obj.size,
                    "name": (upload.name or "")[:300] or None,
                    "origin": "scan",
                }
                for upload, obj in stored
            ],
        )
    ).all()
    return sorted(rows, key=lambda r: (r.created_at, r.id))


async def _load(session: AsyncSession, document_id: str, *, lock: bool = False) -> Row[Any]:
    query = select(D).where(D.c.id == document_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise not_found("Incoming document", document_id)
    return row


async def _attachments_of(session: AsyncSession, document_id: str) -> list[Row[Any]]:
    return list(
        (
            await session.execute(
                select(attachments)
                .where(attachments.c.incoming_document_id == document_id)
                .order_by(attachments.c.created_at, attachments.c.id)
            )
        ).all()
    )


async def _view(session: AsyncSession, document_id: str) -> dict[str, Any]:
    row = await _load(session, document_id)
    amendment_rows = (
        await session.execute(
            select(amendments)
            .where(amendments.c.incoming_document_id == document_id)
            .order_by(amendments.c.received_at)
        )
    ).all()
    return document_view(row, await _attachments_of(session, document_id), amendment_rows)


def _slip_pdf(ctx: Intake, slip: ReturnSlip) -> bytes:
    try:
        return render_return_slip(
            slip, font=ctx.settings.return_slip_font, bold_font=ctx.settings.return_slip_font_bold
        )
    except ReturnSlipFontMissing as exc:
        raise IntakeError(
            503, "Return slips cannot be printed", str(exc), slug="return-slip-font-missing"
        ) from None


def _observe_registration(channel: str, working_time: timedelta, met: bool) -> None:
    metrics.REGISTERED.labels(channel).inc()
    metrics.TIME_TO_REGISTER.labels(channel).observe(working_time.total_seconds())
    if not met:
        metrics.SLA_MISSED.labels(channel).inc()


# --- paper ----------------------------------------------------------------------------------


async def receive_paper(
    ctx: Intake,
    actor: Actor,
    form: PaperDocumentForm,
    uploads: list[Upload],
    claim: IdempotencyClaim | None,
) -> Outcome:
    """A clerk enters a paper document: refused if out of scope (seed Đ2), returned if malformed
    (seed Đ6.1), otherwise registered with the next arrival number and forwarded (seed Đ6.2)."""
    try:
        refusal = out_of_scope(
            confidentiality=form.confidentiality,
            complaint=form.complaint,
            type_name=form.TypeName,
            subject=form.Subject,
        )
    except InvalidConfidentialityMark as exc:
        raise invalid(str(exc)) from None
    if refusal is not None:
        return await _refuse_paper(ctx, actor, refusal.category.value, refusal.message, claim)

    now = ctx.clock()
    try:
        times = receipt_times(
            now=now,
            received_at=form.received_at,
            registered_at=form.registered_at,
            tolerance=timedelta(seconds=ctx.settings.backfill_tolerance_s),
        )
    except InvalidTimes as exc:
        raise invalid(str(exc)) from None

    defects = defects_of_form(
        code_number=form.CodeNumber,
        promulgation_date=form.PromulgationDate,
        has_seal=form.has_seal,
        other=form.other_defects,
    )
    scans = _scans(ctx, uploads)
    if defects:
        return await _return_paper(ctx, actor, form, scans, defects, times.received_at, claim)

    missing = [
        {"field": name, "message": "required to register"}
        for name, value in (
            ("register_id", form.register_id),
            ("CodeNotation", form.CodeNotation),
            ("first_handlers", form.first_handlers),
        )
        if not value
    ]
    if missing:
        raise invalid("required fields are missing", errors=missing)
    if ctx.settings.require_scan and not scans:
        raise invalid(
            "attach the scan of the document (seed Đ6.3: quét văn bản)",
            errors=[{"field": "files", "message": "at least one scanned file"}],
        )
    assert form.register_id is not None
    assert form.CodeNumber is not None
    assert form.CodeNotation is not None
    assert form.PromulgationDate is not None
    year = arrival_year(times.received_at)
    dup_key = duplicate_key(form.CodeNumber, form.CodeNotation, form.OrganName)
    sla = register_sla(
        ctx.calendar, times.received_at, times.registered_at, ctx.settings.sla_working_hours
    )

    async with ctx.db.uow() as uow:
        if (earlier := await replayed(ctx, uow, claim)) is not None:
            return earlier
        session = uow.session
        await _check_register(session, form.register_id, year)
        await _check_handlers(ctx, session, form.first_handlers)
        if not form.confirm_duplicate:
            found = await _duplicates(
                session,
                document_id=form.DocumentId,
                key=dup_key,
                year=form.PromulgationDate.year,
            )
            if found:
                raise _duplicate_problem(found)
        document_id = str(uuid.uuid4())
        stored = await _upload_scans(ctx, scans)
        number = await ctx.numbers.allocate(session, form.register_id, year, document_id)
        # From here on the register's counter row is locked until commit: the rows come back
        # from their inserts rather than being read again.
        doc = (
            await session.execute(
                D.insert()
                .values(
                    id=document_id,
                    channel=Channel.PAPER.value,
                    status=DocumentStatus.REGISTERED.value,
                    received_at=times.received_at,
                    received_by=actor.user,
                    backfilled=times.backfilled,
                    register_id=form.register_id,
                    year=year,
                    arrival_number=number,
                    registered_at=times.registered_at,
                    registered_by=actor.user,
                    registered_on_behalf_of=actor.on_behalf_of,
                    first_handlers=form.first_handlers,
                    sla_deadline=sla.deadline,
                    sla_met=sla.met,
                    notes=form.notes,
                    **_document_fields(form),
                    duplicate_key=dup_key,
                    duplicate_year=form.PromulgationDate.year,
                )
                .returning(*D.c)
            )
        ).one()
        scanned = await _record_scans(session, document_id, stored)
        event = registered_event(doc, scanned)
        await uow.publish(INTAKE_DOCUMENTS, event, actor=actor, occurred_at=times.registered_at)
        await audit.record(
            session,
            "incoming_document.registered",
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            subject_id=document_id,
            details={
                "channel": "paper",
                "register_id": form.register_id,
                "year": year,
                "ArrivalNumber": number,
                "backfilled": times.backfilled,
                "received_at": times.received_at.isoformat(),
                "registered_at": times.registered_at.isoformat(),
                "first_handlers": form.first_handlers,
                "confirmed_duplicate": form.confirm_duplicate,
            },
        )
        outcome = Outcome(201, document_view(doc, scanned, []))
        result = await finish(ctx, uow, claim, outcome)
    if result is outcome:
        _observe_registration("paper", sla.working_time, sla.met)
    return result


def _document_fields(form: PaperDocumentForm) -> dict[str, Any]:
    return {
        "document_id": form.DocumentId,
        "organ_id": form.OrganId,
        "organ_name": form.OrganName,
        "code_number": form.CodeNumber or None,
        "code_notation": form.CodeNotation or None,
        "type_name": form.TypeName,
        "subject": form.Subject,
        "promulgation_date": form.PromulgationDate,
        "promulgation_place": form.PromulgationPlace,
        "signer": form.SignerInfo.model_dump() if form.SignerInfo else None,
        "priority": int(form.Priority),
        "due_date": form.DueDate,
        "page_amount": form.PageAmount,
        "to_places": form.ToPlaces,
    }


async def _refuse_paper(
    ctx: Intake, actor: Actor, category: str, message: str, claim: IdempotencyClaim | None
) -> Outcome:
    """Refuse and keep nothing of the document: the audit entry and the event carry only who,
    when and why (seed Đ2)."""
    refusal_id = str(uuid.uuid4())
    async with ctx.db.uow() as uow:
        if (earlier := await replayed(ctx, uow, claim)) is not None:
            return earlier
        await uow.publish(
            INTAKE_DOCUMENTS,
            IncomingDocumentRejected(
                incoming_document_id=refusal_id,
                channel=Channel.PAPER,
                category=category,
                reason=message,
            ),
            actor=actor,
        )
        await audit.record(
            uow.session,
            "incoming_document.refused",
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            subject_id=refusal_id,
            details={"channel": "paper", "category": category},
        )
        body = {
            "type": "https://qlvb.example/problems/out-of-scope",
            "title": "Document outside the system's scope",
            "status": 422,
            "detail": message,
            "category": category,
            "refusal_id": refusal_id,
        }
        outcome = Outcome(422, body, problem=True)
        result = await finish(ctx, uow, claim, outcome)
    if result is outcome:
        metrics.REFUSED.labels("paper", category).inc()
    return result


async def _return_paper(
    ctx: Intake,
    actor: Actor,
    form: PaperDocumentForm,
    scans: list[tuple[Upload, str]],
    reasons: list[str],
    received_at: datetime,
    claim: IdempotencyClaim | None,
) -> Outcome:
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        if (earlier := await replayed(ctx, uow, claim)) is not None:
            return earlier
        session = uow.session
        document_id = str(uuid.uuid4())
        code = (
            f"{form.CodeNumber}/{form.CodeNotation}"
            if form.CodeNumber and form.CodeNotation
            else form.CodeNumber or None
        )
        pdf = _slip_pdf(
            ctx,
            ReturnSlip(
                office=ctx.settings.office_organ_name,
                department=ctx.settings.office_department,
                organ_name=form.OrganName,
                code=code,
                promulgation_date=form.PromulgationDate,
                subject=form.Subject,
                reasons=reasons,
                received_at=received_at,
                returned_at=now,
                prepared_by=actor.user or "",
            ),
        )
        slip = await ctx.store.put(pdf, content_type="application/pdf", prefix="return-slips")
        await session.execute(
            D.insert().values(
                id=document_id,
                channel=Channel.PAPER.value,
                status=DocumentStatus.RETURNED.value,
                received_at=received_at,
                received_by=actor.user,
                backfilled=now - received_at > timedelta(seconds=ctx.settings.backfill_tolerance_s),
                notes=form.notes,
                **_document_fields(form),
                return_reason="; ".join(reasons),
                return_slip_key=slip.key,
                returned_at=now,
                returned_by=actor.user,
                returned_on_behalf_of=actor.on_behalf_of,
            )
        )
        await _record_scans(session, document_id, await _upload_scans(ctx, scans))
        await uow.publish(
            INTAKE_DOCUMENTS,
            IncomingDocumentReturned(
                incoming_document_id=document_id,
                channel=Channel.PAPER,
                reason="; ".join(reasons),
                return_slip_object_key=slip.key,
                OrganName=form.OrganName,
                OrganId=form.OrganId,
                DocumentId=form.DocumentId,
                CodeNumber=form.CodeNumber or None,
                CodeNotation=form.CodeNotation or None,
                Subject=form.Subject,
            ),
            actor=actor,
        )
        await audit.record(
            session,
            "incoming_document.returned",
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            subject_id=document_id,
            details={"channel": "paper", "reasons": reasons},
        )
        outcome = Outcome(201, await _view(session, document_id))
        result = await finish(ctx, uow, claim, outcome)
    if result is outcome:
        metrics.RETURNED.labels("paper").inc()
    return result


# --- electronic -----------------------------------------------------------------------------


async def register_electronic(
    ctx: Intake,
    actor: Actor,
    document_id: str,
    command: Registration,
    claim: IdempotencyClaim | None,
) -> Outcome:
    """Vào sổ with one action (seed Đ6, last paragraph): the fields come from the agency's
    package; the clerk chooses the register and the first handlers. Status 03 goes back."""
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        if (earlier := await replayed(ctx, uow, claim)) is not None:
            return earlier
        session = uow.session
        doc = await _load(session, document_id, lock=True)
        if doc.channel != Channel.ELECTRONIC.value or doc.status != DocumentStatus.RECEIVED.value:
            raise IntakeError(
                409,
                "Not in the electronic inbox",
                f"document {document_id} is {doc.status} ({doc.channel}); only documents "
                "received electronically and not yet registered can be registered this way",
                slug="not-in-inbox",
                status_now=doc.status,
                ArrivalNumber=doc.arrival_number,
            )
        year = arrival_year(doc.received_at)
        await _check_register(session, command.register_id, year)
        await _check_handlers(ctx, session, command.first_handlers)
        if not command.confirm_duplicate:
            found = await _duplicates(
                session,
                document_id=doc.document_id,
                key=doc.duplicate_key,
                year=doc.duplicate_year,
                exclude=doc.id,
            )
            if found:
                raise _duplicate_problem(found)
        sla = register_sla(ctx.calendar, doc.received_at, now, ctx.settings.sla_working_hours)
        number = await ctx.numbers.allocate(session, command.register_id, year, doc.id)
        await session.execute(
            update(D)
            .where(D.c.id == doc.id)
            .values(
                status=DocumentStatus.REGISTERED.value,
                register_id=command.register_id,
                year=year,
                arrival_number=number,
                registered_at=now,
                registered_by=actor.user,
                registered_on_behalf_of=actor.on_behalf_of,
                first_handlers=command.first_handlers,
                sla_deadline=sla.deadline,
                sla_met=sla.met,
                notes=command.notes,
                updated_at=now,
            )
        )
        doc = await _load(session, doc.id)
        await uow.publish(
            INTAKE_DOCUMENTS,
            registered_event(doc, await _attachments_of(session, doc.id)),
            actor=actor,
            occurred_at=now,
        )
        await uow.publish(
            EXCHANGE_STATUS,
            status_package(
                ctx.settings,
                sender=doc.organ_id,
                code=code_of(doc),
                document_id=doc.document_id,
                promulgation_date=doc.promulgation_date,
                status=ref.StatusCode.REGISTERED,
                at=now,
                description=f"Đã vào sổ văn bản đến, số đến {number}",
                incoming_document_id=doc.id,
                staff=actor.user,
            ),
            actor=actor,
        )
        await audit.record(
            session,
            "incoming_document.registered",
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            subject_id=doc.id,
            details={
                "channel": "electronic",
                "register_id": command.register_id,
                "year": year,
                "ArrivalNumber": number,
                "first_handlers": command.first_handlers,
                "confirmed_duplicate": command.confirm_duplicate,
            },
        )
        outcome = Outcome(200, await _view(session, doc.id))
        result = await finish(ctx, uow, claim, outcome)
    if result is outcome:
        _observe_registration("electronic", sla.working_time, sla.met)
    return result


async def return_electronic(ctx: Intake, actor: Actor, document_id: str, reason: str) -> Outcome:
    """Return an agency's document that is not in due form: a return slip is kept, the agency
    gets status 02 with the reason (NĐ 30/2020: returned through the system)."""
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        session = uow.session
        doc = await _load(session, document_id, lock=True)
        if doc.channel != Channel.ELECTRONIC.value or doc.status != DocumentStatus.RECEIVED.value:
            raise IntakeError(
                409,
                "Not in the electronic inbox",
                f"document {document_id} is {doc.status} ({doc.channel}) and cannot be returned",
                slug="not-in-inbox",
            )
        pdf = _slip_pdf(
            ctx,
            ReturnSlip(
                office=ctx.settings.office_organ_name,
                department=ctx.settings.office_department,
                organ_name=doc.organ_name,
                code=code_of(doc),
                promulgation_date=doc.promulgation_date,
                subject=doc.subject,
                reasons=[reason],
                received_at=doc.received_at,
                returned_at=now,
                prepared_by=actor.user or "",
            ),
        )
        slip = await ctx.store.put(pdf, content_type="application/pdf", prefix="return-slips")
        await session.execute(
            update(D)
            .where(D.c.id == doc.id)
            .values(
                status=DocumentStatus.RETURNED.value,
                return_reason=reason,
                return_slip_key=slip.key,
                returned_at=now,
                returned_by=actor.user,
                returned_on_behalf_of=actor.on_behalf_of,
                updated_at=now,
            )
        )
        await uow.publish(
            INTAKE_DOCUMENTS,
            IncomingDocumentReturned(
                incoming_document_id=doc.id,
                channel=Channel.ELECTRONIC,
                reason=reason,
                return_slip_object_key=slip.key,
                OrganName=doc.organ_name,
                OrganId=doc.organ_id,
                DocumentId=doc.document_id,
                CodeNumber=doc.code_number,
                CodeNotation=doc.code_notation,
                Subject=doc.subject,
            ),
            actor=actor,
        )
        await uow.publish(
            EXCHANGE_STATUS,
            status_package(
                ctx.settings,
                sender=doc.organ_id,
                code=code_of(doc),
                document_id=doc.document_id,
                promulgation_date=doc.promulgation_date,
                status=ref.StatusCode.REJECTED,
                at=now,
                description=f"Trả lại văn bản: {reason}",
                incoming_document_id=doc.id,
                staff=actor.user,
            ),
            actor=actor,
        )
        await audit.record(
            session,
            "incoming_document.returned",
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            subject_id=doc.id,
            details={"channel": "electronic", "reasons": [reason]},
        )
        view = await _view(session, doc.id)
        await uow.commit()
    metrics.RETURNED.labels("electronic").inc()
    return Outcome(200, view)


# --- reading --------------------------------------------------------------------------------


async def get_document(ctx: Intake, document_id: str) -> dict[str, Any]:
    async with ctx.db.uow() as uow:
        return await _view(uow.session, document_id)


async def list_documents(
    ctx: Intake,
    *,
    status: str | None = None,
    channel: str | None = None,
    register_id: str | None = None,
    year: int | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    query = select(D)
    if status:
        query = query.where(D.c.status == status)
    if channel:
        query = query.where(D.c.channel == channel)
    if register_id:
        query = query.where(D.c.register_id == register_id)
    if year is not None:
        query = query.where(D.c.year == year)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(
            or_(
                D.c.subject.ilike(pattern),
                D.c.organ_name.ilike(pattern),
                D.c.code_notation.ilike(pattern),
                D.c.document_id.ilike(pattern),
            )
        )
    async with ctx.db.uow() as uow:
        total = (
            await uow.session.execute(select(func.count()).select_from(query.subquery()))
        ).scalar_one()
        rows = (
            await uow.session.execute(
                query.order_by(D.c.received_at.desc(), D.c.id).limit(limit).offset(offset)
            )
        ).all()
        items = [document_view(r, await _attachments_of(uow.session, r.id)) for r in rows]
    return {"total": total, "items": items}


STAFF_ROLES = frozenset(
    {
        "clerk",
        "records_admin",
        "specialist",
        "office_leader",
        "committee_leader",
        "secretary",
    }
)
INTAKE_ROLES = frozenset({"clerk", "records_admin"})


def may_read_files(doc: Row[Any] | dict[str, Any], user: str, roles: frozenset[str]) -> bool:
    """Files of a registered document: every staff member (seed Đ4.2), as handling moves on
    beyond the first handlers; of a document not registered: only the clerks, records admins
    and the first handlers."""
    status = doc["status"] if isinstance(doc, dict) else doc.status
    handlers = doc["first_handlers"] if isinstance(doc, dict) else doc.first_handlers
    if roles & INTAKE_ROLES:
        return True
    if status == DocumentStatus.REGISTERED.value:
        return bool(roles & STAFF_ROLES) or user in handlers
    return False


async def attachment_url(
    ctx: Intake, user: str, roles: frozenset[str], document_id: str, attachment_id: str
) -> dict[str, Any]:
    async with ctx.db.uow() as uow:
        doc = await _load(uow.session, document_id)
        if not may_read_files(doc, user, roles):
            raise IntakeError(
                403, "Not allowed", "you may not read this document's files", slug="forbidden"
            )
        row = (
            await uow.session.execute(
                select(attachments).where(
                    attachments.c.id == attachment_id,
                    attachments.c.incoming_document_id == document_id,
                )
            )
        ).first()
        if row is None:
            raise not_found("Attachment", attachment_id)
    ttl = timedelta(seconds=ctx.settings.presigned_url_ttl_s)
    url = await ctx.store.presigned_get(row.object_key, expires=ttl, filename=row.name)
    return {
        "url": url,
        "expires_at": (ctx.clock() + ttl).isoformat(),
        "sha256": row.sha256,
        "content_type": row.content_type,
        "size": row.size,
    }


async def return_slip_url(
    ctx: Intake, user: str, roles: frozenset[str], document_id: str
) -> dict[str, Any]:
    async with ctx.db.uow() as uow:
        doc = await _load(uow.session, document_id)
    if not roles & INTAKE_ROLES:
        raise IntakeError(
            403, "Not allowed", "only clerks and records admins read return slips", slug="forbidden"
        )
    if doc.return_slip_key is None:
        raise not_found("Return slip of document", document_id)
    ttl = timedelta(seconds=ctx.settings.presigned_url_ttl_s)
    url = await ctx.store.presigned_get(doc.return_slip_key, expires=ttl, filename="phieu-tra.pdf")
    return {"url": url, "expires_at": (ctx.clock() + ttl).isoformat()}
