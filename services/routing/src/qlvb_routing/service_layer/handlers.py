"""Handlers: one function per command or consumed event, over a unit of work.

Each loads the aggregate (locked), lets the domain decide, stores it, and emits the events it
recorded — all in the caller's transaction. Handlers never commit: the entrypoint does, so a
refused act leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update

from qlvb_chassis.calendar import WorkingCalendar
from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.storage import ObjectStore
from qlvb_contracts.edxml import Signer
from qlvb_contracts.envelope import Envelope
from qlvb_contracts.payloads import identity as identity_events
from qlvb_contracts.payloads.common import Recipient, ResponseLink, StoredAttachment
from qlvb_contracts.payloads.intake import IncomingDocumentRegistered
from qlvb_contracts.payloads.issuance import OutgoingDocumentIssued
from qlvb_contracts.payloads.routing import LinkedDocumentKind, WaitingReason
from qlvb_contracts.reference import Urgency, format_code
from qlvb_routing.adapters import orm
from qlvb_routing.adapters.repository import (
    Cases,
    WorkFiles,
    incoming_rows,
    upsert_if_newer,
    user_row,
)
from qlvb_routing.domain import deadlines
from qlvb_routing.domain.errors import Invalid, NotFound
from qlvb_routing.domain.files import sniff_draft_file
from qlvb_routing.domain.model import (
    Acting,
    Assignment,
    Draft,
    DraftContent,
    HandlingCase,
    Task,
    new_id,
)
from qlvb_routing.domain.work_file import LinkedDocument, WorkFile
from qlvb_routing.metrics import CASES_OPENED, INCOMING_PROCESSED
from qlvb_routing.service_layer.unit import Caller, emit, utcnow

T = TypeVar("T")


# -- consumed events --------------------------------------------------------------------------


async def open_case_for_registered(
    uow: UnitOfWork,
    doc: IncomingDocumentRegistered,
    envelope: Envelope | None,
    *,
    calendar: WorkingCalendar,
    default_due_working_days: Mapping[int, int],
) -> str | None:
    """Vào sổ → a handling case assigned to the first handlers the clerk chose. A second
    registration event for the same document (redelivered, or re-published) opens nothing."""
    cases = Cases(uow.session)
    if await cases.case_of_incoming(doc.incoming_document_id) is not None:
        return None
    now = utcnow()
    due = deadlines.due_at(
        calendar,
        received_at=doc.ArrivalDate,
        due_date=doc.DueDate,
        priority=doc.Priority,
        default_working_days=default_due_working_days,
    )
    case = HandlingCase.open(
        subject=doc.Subject,
        priority=doc.Priority,
        handlers=doc.first_handlers,
        due_at=due,
        now=now,
        incoming_document_id=doc.incoming_document_id,
    )
    if not await cases.add(case):
        return None
    await uow.session.execute(
        orm.incoming_documents.insert().values(
            incoming_document_id=doc.incoming_document_id,
            case_id=case.case_id,
            document_identifier=doc.DocumentId,
            organ_id=doc.OrganId,
            organ_name=doc.OrganName,
            code=f"{doc.CodeNumber}/{doc.CodeNotation}",
            type_name=doc.TypeName,
            subject=doc.Subject,
            promulgation_date=doc.PromulgationDate,
            arrival_number=doc.ArrivalNumber,
            arrival_date=doc.ArrivalDate,
        )
    )
    clerk = envelope.actor if envelope is not None else None
    acting = Acting(clerk.user, clerk.user, clerk.on_behalf_of) if clerk and clerk.user else None
    await emit(uow, case.events, acting=acting, at=now, case_id=case.case_id)
    CASES_OPENED.labels("incoming").inc()
    return case.case_id


async def reply_issued(uow: UnitOfWork, doc: OutgoingDocumentIssued) -> None:
    """Đ11 c.2, Đ14.1: every incoming document the outgoing one answers becomes processed, its
    follow-up answered, its case completed; the outgoing document joins the work file."""
    now = utcnow()
    cases = Cases(uow.session)
    case_ids: list[str] = []
    for incoming_id in dict.fromkeys(doc.incoming_document_ids):
        marked = await uow.session.execute(
            update(orm.incoming_documents)
            .where(
                orm.incoming_documents.c.incoming_document_id == incoming_id,
                orm.incoming_documents.c.processed_at.is_(None),
            )
            .values(
                processed_at=now,
                answered_by_document_id=doc.outgoing_document_id,
                answered_by_code=format_code(doc.CodeNumber, doc.CodeNotation),
            )
            .returning(orm.incoming_documents.c.case_id)
        )
        case_ids.extend(r for (r,) in marked)
    if doc.case_id is not None:
        case_ids.append(doc.case_id)
    for case_id in dict.fromkeys(case_ids):
        case = await cases.get(case_id)
        if case is None:
            continue
        completed = case.reply_issued(
            outgoing_document_id=doc.outgoing_document_id,
            work_file_id=doc.work_file_id,
            now=now,
        )
        if completed and case.incoming_document_id is not None:
            INCOMING_PROCESSED.inc()
        await cases.save(case)
        await emit(uow, case.events, acting=None, at=now, case_id=case.case_id)
    if doc.work_file_id is not None:
        files = WorkFiles(uow.session)
        wf = await files.get(doc.work_file_id)
        if wf is not None and not any(
            d.document_id == doc.outgoing_document_id for d in wf.linked_documents()
        ):
            wf.link(
                None,
                document_id=doc.outgoing_document_id,
                kind=LinkedDocumentKind.OUTGOING,
                now=now,
                document_identifier=doc.DocumentId,
                subject=f"{doc.Code} — {doc.Subject}",
            )
            await files.save(wf)
            await emit(uow, wf.events, acting=None, at=now, work_file_id=wf.work_file_id)


async def apply_identity_event(uow: UnitOfWork, payload: Any) -> None:
    """Keep the read model of people, units and delegations (never ask identity per request)."""
    s = uow.session
    if isinstance(payload, identity_events.UserChanged):
        await upsert_if_newer(
            s,
            orm.users,
            "user_id",
            {
                "user_id": payload.user_id,
                "revision": payload.revision,
                "full_name": payload.full_name,
                "unit_id": payload.unit_id,
                "position": payload.position,
                "roles": list(payload.roles),
                "active": payload.active and not payload.deleted,
            },
        )
    elif isinstance(payload, identity_events.OrgUnitChanged):
        await upsert_if_newer(
            s,
            orm.org_units,
            "unit_id",
            {
                "unit_id": payload.unit_id,
                "revision": payload.revision,
                "code": payload.code,
                "name": payload.name,
                "head_user_id": payload.head_user_id,
                "active": payload.active and not payload.deleted,
            },
        )
    elif isinstance(payload, identity_events.DelegationChanged):
        await upsert_if_newer(
            s,
            orm.delegations,
            "delegation_id",
            {
                "delegation_id": payload.delegation_id,
                "revision": payload.revision,
                "principal": payload.principal,
                "delegate": payload.delegate,
                "roles": list(payload.roles),
                "valid_from": payload.valid_from,
                "valid_to": payload.valid_to,
                "active": not (payload.revoked or payload.deleted),
            },
        )
    # Agencies are not needed by routing: recipients are taken as the specialist writes them.


# -- task acts --------------------------------------------------------------------------------


async def _case_of_task(uow: UnitOfWork, task_id: str) -> HandlingCase:
    case_id = (
        await uow.session.execute(select(orm.tasks.c.case_id).where(orm.tasks.c.task_id == task_id))
    ).scalar_one_or_none()
    case = await Cases(uow.session).get(case_id) if case_id else None
    if case is None:
        raise NotFound(f"no task {task_id}")
    return case


async def _require_user(uow: UnitOfWork, user_id: str, what: str) -> None:
    row = await user_row(uow.session, user_id)
    if row is None or not row["active"]:
        raise Invalid(f"{what} {user_id!r} is not an active user of the office")


async def act_on_task(
    uow: UnitOfWork,
    caller: Caller,
    task_id: str,
    act: Callable[[HandlingCase, Acting, datetime], T],
    *,
    forced: bool = False,
) -> tuple[HandlingCase, T]:
    """Run one task act: load and lock the case, decide who acts (delegation), apply, store,
    emit. ``forced`` acts (the records admin, Đ9) are done in the admin's own name."""
    case = await _case_of_task(uow, task_id)
    owner = case.task(task_id).assignee
    acting = Acting(caller.acted_by, caller.acted_by, None) if forced else caller.acting_for(owner)
    now = utcnow()
    result = act(case, acting, now)
    await Cases(uow.session).save(case)
    await emit(uow, case.events, acting=acting, at=now, case_id=case.case_id)
    return case, result


async def forward(
    uow: UnitOfWork,
    caller: Caller,
    task_id: str,
    *,
    to_user: str,
    note: str | None,
    forced: bool = False,
) -> Task:
    await _require_user(uow, to_user, "the next handler")
    _, task = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.forward(
            task_id, who, to_user=to_user, note=note, now=now, forced=forced
        ),
        forced=forced,
    )
    return task


async def file_for_reference(
    uow: UnitOfWork, caller: Caller, task_id: str, *, note: str | None
) -> HandlingCase:
    case, _ = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.file_for_reference(task_id, who, note=note, now=now),
    )
    return case


async def processing_slip(
    uow: UnitOfWork,
    caller: Caller,
    task_id: str,
    *,
    content: str,
    answered_by_code: str | None,
) -> HandlingCase:
    case, _ = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.processing_slip(
            task_id, who, content=content, answered_by_code=answered_by_code, now=now
        ),
    )
    return case


async def wait(
    uow: UnitOfWork,
    caller: Caller,
    task_id: str,
    *,
    reason: WaitingReason,
    summary: str,
    until: Any,
) -> HandlingCase:
    case, _ = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.wait(
            task_id, who, reason=reason, summary=summary, until=until, now=now
        ),
    )
    return case


async def assign(
    uow: UnitOfWork, caller: Caller, task_id: str, *, assignments: list[Assignment]
) -> list[Task]:
    for a in assignments:
        await _require_user(uow, a.assignee, "the assignee")
    _, created = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.assign(task_id, who, assignments=assignments, now=now),
    )
    return created


async def record_direction(
    uow: UnitOfWork,
    caller: Caller,
    task_id: str,
    *,
    text: str,
    return_to: str | None,
    due_at: datetime | None,
) -> str:
    if return_to is not None:
        await _require_user(uow, return_to, "the specialist to return to")
    _, direction_id = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.record_direction(
            task_id, who, text=text, return_to=return_to, due_at=due_at, now=now
        ),
    )
    return direction_id


# -- drafts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftRequest:
    TypeName: str
    Subject: str
    approver: str
    draft_upload_id: str
    proposal_upload_id: str | None
    To: list[Recipient]
    CodeNotation: str | None
    Appendixes: list[str]
    PageAmount: int | None


async def _upload(uow: UnitOfWork, caller: Caller, upload_id: str) -> StoredAttachment:
    row = (
        (
            await uow.session.execute(
                select(orm.uploads).where(
                    orm.uploads.c.upload_id == upload_id,
                    orm.uploads.c.owner.in_(sorted(caller.identities)),
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Invalid(f"no upload {upload_id} of yours; upload the file first (POST /uploads)")
    return StoredAttachment(
        object_key=row["object_key"],
        sha256=row["sha256"],
        content_type=row["content_type"],
        size=row["size"],
        AttachmentName=row["name"],
    )


async def _linked_incoming(uow: UnitOfWork, case: HandlingCase) -> list[str]:
    """The incoming documents a reply answers: the case's own and those in its work file."""
    ids: list[str] = []
    if case.incoming_document_id:
        ids.append(case.incoming_document_id)
    if case.work_file_id:
        wf = await WorkFiles(uow.session).get(case.work_file_id, lock=False)
        if wf is not None:
            ids.extend(d.document_id for d in wf.linked_documents(LinkedDocumentKind.INCOMING))
    return list(dict.fromkeys(ids))


async def submit_draft(
    uow: UnitOfWork, caller: Caller, task_id: str, request: DraftRequest
) -> Draft:
    await _require_user(uow, request.approver, "the approver")
    content = DraftContent(
        TypeName=request.TypeName,
        Subject=request.Subject,
        draft_file=await _upload(uow, caller, request.draft_upload_id),
        proposal_file=(
            await _upload(uow, caller, request.proposal_upload_id)
            if request.proposal_upload_id
            else None
        ),
        To=tuple(request.To),
        CodeNotation=request.CodeNotation,
        Appendixes=tuple(request.Appendixes),
        PageAmount=request.PageAmount,
    )
    case = await _case_of_task(uow, task_id)
    incoming = await _linked_incoming(uow, case)
    acting = caller.acting_for(case.task(task_id).assignee)
    now = utcnow()
    draft = case.submit_draft(
        task_id,
        acting,
        content=content,
        approver=request.approver,
        incoming_document_ids=incoming,
        now=now,
    )
    await Cases(uow.session).save(case)
    await emit(uow, case.events, acting=acting, at=now, case_id=case.case_id)
    return draft


async def approve_draft(
    uow: UnitOfWork, caller: Caller, task_id: str, *, next_approver: str, comment: str | None
) -> Task:
    await _require_user(uow, next_approver, "the next approver")
    _, task = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.approve_draft(
            task_id, who, next_approver=next_approver, comment=comment, now=now
        ),
    )
    return task


async def return_draft(
    uow: UnitOfWork, caller: Caller, task_id: str, *, direction: str, due_at: datetime | None
) -> str:
    _, direction_id = await act_on_task(
        uow,
        caller,
        task_id,
        lambda case, who, now: case.return_draft(
            task_id, who, direction=direction, due_at=due_at, now=now
        ),
    )
    return direction_id


async def finalize_draft(
    uow: UnitOfWork,
    caller: Caller,
    task_id: str,
    *,
    signer: Signer | None,
    comment: str | None,
) -> Draft:
    """Đ15: the signing leader (or their secretary) confirms the document finalized."""
    case = await _case_of_task(uow, task_id)
    acting = caller.acting_for(case.task(task_id).assignee)
    if signer is None:
        person = await user_row(uow.session, acting.user)
        signer = Signer(
            FullName=person["full_name"] if person else acting.user,
            Position=person["position"] if person else None,
        )
    rows = await incoming_rows(uow.session, await _linked_incoming(uow, case))
    responds_to = [
        ResponseLink(
            incoming_document_id=r["incoming_document_id"],
            DocumentId=r["document_identifier"],
            OrganId=r["organ_id"],
            Code=r["code"],
            PromulgationDate=r["promulgation_date"],
        )
        for r in rows.values()
    ]
    now = utcnow()
    draft = case.finalize(
        task_id, acting, signer=signer, responds_to=responds_to, comment=comment, now=now
    )
    await Cases(uow.session).save(case)
    await emit(uow, case.events, acting=acting, at=now, case_id=case.case_id)
    return draft


# -- work files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkFileRequest:
    Title: str
    task_id: str | None
    FileCode: str | None
    Maintenance: str | None
    Description: str | None


@dataclass(frozen=True)
class OpenedWorkFile:
    work_file: WorkFile
    case_id: str
    task_id: str | None


async def open_work_file(
    uow: UnitOfWork, caller: Caller, request: WorkFileRequest, *, unit_id: str | None
) -> OpenedWorkFile:
    """From a task (Đ11 c.3: the case's document is the first in the file) or on the office's
    own initiative (Đ13: a case without incoming document, handled by the creator)."""
    now = utcnow()
    today = deadlines.office_date(now)
    cases = Cases(uow.session)
    if request.task_id is not None:
        case = await _case_of_task(uow, request.task_id)
        acting = caller.acting_for(case.task(request.task_id).assignee)
        case.require_handler(request.task_id, acting)
        if case.work_file_id is not None:
            raise Invalid(
                f"case {case.case_id} already has work file {case.work_file_id}; "
                "link documents to it instead",
                slug="work-file-exists",
            )
        wf = WorkFile.open(
            title=request.Title,
            creator=acting.user,
            today=today,
            now=now,
            file_code=request.FileCode,
            maintenance=request.Maintenance,
            description=request.Description,
            unit_id=unit_id,
            case_id=case.case_id,
        )
        case.work_file_id = wf.work_file_id
        if case.incoming_document_id:
            row = (await incoming_rows(uow.session, [case.incoming_document_id])).get(
                case.incoming_document_id
            )
            wf.link(
                acting,
                document_id=case.incoming_document_id,
                kind=LinkedDocumentKind.INCOMING,
                now=now,
                document_identifier=row["document_identifier"] if row else None,
                subject=case.subject,
            )
        await WorkFiles(uow.session).save(wf)
        await cases.save(case)
        await emit(uow, wf.events, acting=acting, at=now, work_file_id=wf.work_file_id)
        return OpenedWorkFile(wf, case.case_id, request.task_id)

    acting = caller.acting_for(caller.on_behalf_of or caller.acted_by)
    case_id = new_id()
    wf = WorkFile.open(
        title=request.Title,
        creator=acting.user,
        today=today,
        now=now,
        file_code=request.FileCode,
        maintenance=request.Maintenance,
        description=request.Description,
        unit_id=unit_id,
        case_id=case_id,
    )
    case = HandlingCase.open(
        subject=request.Title[:500],
        priority=Urgency.NORMAL,
        handlers=[acting.user],
        due_at=None,
        now=now,
        work_file_id=wf.work_file_id,
        case_id=case_id,
    )
    await WorkFiles(uow.session).save(wf)
    await cases.add(case)
    await emit(uow, wf.events, acting=acting, at=now, work_file_id=wf.work_file_id)
    await emit(uow, case.events, acting=acting, at=now, case_id=case.case_id)
    CASES_OPENED.labels("initiative").inc()
    return OpenedWorkFile(wf, case.case_id, case.tasks[0].task_id)


async def _work_file(uow: UnitOfWork, work_file_id: str) -> WorkFile:
    wf = await WorkFiles(uow.session).get(work_file_id)
    if wf is None:
        raise NotFound(f"no work file {work_file_id}")
    return wf


async def link_document(
    uow: UnitOfWork,
    caller: Caller,
    work_file_id: str,
    *,
    document_id: str,
    kind: LinkedDocumentKind,
    subject: str | None,
) -> LinkedDocument:
    """Đ14.1: several incoming documents with the same request are handled in one file."""
    wf = await _work_file(uow, work_file_id)
    acting = caller.acting_for(wf.Creator)
    identifier: str | None = None
    if kind is LinkedDocumentKind.INCOMING:
        row = (await incoming_rows(uow.session, [document_id])).get(document_id)
        if row is None:
            raise Invalid(f"no registered incoming document {document_id}")
        identifier, subject = row["document_identifier"], row["subject"]
    now = utcnow()
    doc = wf.link(
        acting,
        document_id=document_id,
        kind=kind,
        now=now,
        document_identifier=identifier,
        subject=subject,
    )
    await WorkFiles(uow.session).save(wf)
    await emit(uow, wf.events, acting=acting, at=now, work_file_id=wf.work_file_id)
    return doc


async def unlink_document(
    uow: UnitOfWork, caller: Caller, work_file_id: str, *, document_id: str, reason: str | None
) -> WorkFile:
    wf = await _work_file(uow, work_file_id)
    acting = caller.acting_for(wf.Creator)
    now = utcnow()
    wf.unlink(acting, document_id=document_id, reason=reason, now=now)
    await WorkFiles(uow.session).save(wf)
    await emit(uow, wf.events, acting=acting, at=now, work_file_id=wf.work_file_id)
    return wf


async def close_work_file(
    uow: UnitOfWork, caller: Caller, work_file_id: str, *, summary: str | None
) -> WorkFile:
    wf = await _work_file(uow, work_file_id)
    acting = caller.acting_for(wf.Creator)
    now = utcnow()
    wf.close(acting, summary=summary, today=deadlines.office_date(now))
    await WorkFiles(uow.session).save(wf)
    await emit(uow, wf.events, acting=acting, at=now, work_file_id=wf.work_file_id)
    return wf


# -- uploads ----------------------------------------------------------------------------------


async def store_upload(
    uow: UnitOfWork,
    store: ObjectStore,
    caller: Caller,
    data: bytes,
    *,
    name: str | None,
) -> dict[str, Any]:
    """A draft or proposal file, checked by its bytes, stored under a generated key; it can be
    attached to a draft only by the user who uploaded it."""
    content_type = sniff_draft_file(data)
    if content_type is None:
        raise Invalid(
            "only PDF, Word (.docx) or scanned images (PNG, JPEG, TIFF) are accepted",
            slug="unsupported-file",
        )
    stored = await store.put(data, content_type=content_type, prefix="uploads")
    upload_id = new_id()
    values = {
        "upload_id": upload_id,
        "owner": caller.acted_by,
        "object_key": stored.key,
        "sha256": stored.sha256,
        "size": stored.size,
        "content_type": content_type,
        "name": name,
        "created_at": utcnow(),
    }
    await uow.session.execute(orm.uploads.insert().values(**values))
    return {k: v for k, v in values.items() if k not in ("object_key", "created_at", "owner")}
