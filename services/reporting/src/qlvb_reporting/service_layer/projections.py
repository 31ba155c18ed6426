"""Projections: each consumed event updates the read models (one function per event type).

Rules that make the live build and a replay from the start of the log agree:
- values come from the event (payload, ``occurred_at``, actor), never from the clock;
- identity snapshots carry a revision: an older one never overwrites a newer one;
- events of one aggregate arrive in order, but topics do not wait for each other, so a reply
  issued (issuance) or a case completed (routing) may reach us before the registration (intake):
  such facts go into a stub row that the registration later fills in, and "processed at" keeps
  the earliest instant whatever the order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.consumer import Delivery
from qlvb_chassis.db import UnitOfWork
from qlvb_contracts.payloads import identity, intake, issuance, routing
from qlvb_reporting import metrics
from qlvb_reporting.adapters import orm
from qlvb_reporting.domain.text import search_text

Projection = Callable[[Any, "EventContext", AsyncSession], Awaitable[None]]


class EventContext(BaseModel):
    """What a projection needs of the envelope."""

    occurred_at: datetime
    acted_by: str | None = None


# -- identity -------------------------------------------------------------------------------------


async def _upsert_snapshot(
    session: AsyncSession, table: Any, key: str, values: dict[str, Any]
) -> None:
    stmt = pg_insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[key],
        set_={k: stmt.excluded[k] for k in values if k != key},
        where=table.c.revision < stmt.excluded.revision,
    )
    await session.execute(stmt)


async def user_changed(p: identity.UserChanged, _: EventContext, s: AsyncSession) -> None:
    await _upsert_snapshot(
        s,
        orm.users,
        "user_id",
        {
            "user_id": p.user_id,
            "revision": p.revision,
            "username": p.username,
            "full_name": p.full_name,
            "unit_id": p.unit_id,
            "position": p.position,
            "roles": sorted(p.roles),
            "active": p.active,
            "deleted": p.deleted,
        },
    )


async def unit_changed(p: identity.OrgUnitChanged, _: EventContext, s: AsyncSession) -> None:
    await _upsert_snapshot(
        s,
        orm.units,
        "unit_id",
        {
            "unit_id": p.unit_id,
            "revision": p.revision,
            "code": p.code,
            "name": p.name,
            "parent_unit_id": p.parent_unit_id,
            "head_user_id": p.head_user_id,
            "active": p.active,
            "deleted": p.deleted,
        },
    )


async def agency_changed(p: identity.AgencyChanged, _: EventContext, s: AsyncSession) -> None:
    await _upsert_snapshot(
        s,
        orm.agencies,
        "organ_id",
        {
            "organ_id": p.OrganId,
            "revision": p.revision,
            "organ_name": p.OrganName,
            "active": p.active,
            "deleted": p.deleted,
        },
    )


async def delegation_changed(_p: identity.DelegationChanged, _c: EventContext, _s: Any) -> None:
    """Delegations do not change any figure; who acted for whom is in each event's actor."""


# -- intake ---------------------------------------------------------------------------------------

_INC = orm.incoming_documents


async def _upsert_incoming(session: AsyncSession, doc_id: str, values: dict[str, Any]) -> Any:
    """Insert or overwrite the given columns only; returns the row after the change."""
    stmt = pg_insert(_INC).values(incoming_document_id=doc_id, **values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[_INC.c.incoming_document_id],
        set_={k: stmt.excluded[k] for k in values},
    ).returning(_INC.c.arrival_date, _INC.c.processed_at, _INC.c.registered_at)
    return (await session.execute(upsert)).one()


async def incoming_received(
    p: intake.IncomingDocumentReceived, _: EventContext, s: AsyncSession
) -> None:
    await _upsert_incoming(s, p.incoming_document_id, {"received_at": p.received_at})


async def incoming_registered(
    p: intake.IncomingDocumentRegistered, ctx: EventContext, s: AsyncSession
) -> None:
    signer = p.SignerInfo.FullName if p.SignerInfo is not None else None
    code = f"{p.CodeNumber}/{p.CodeNotation}"
    row = await _upsert_incoming(
        s,
        p.incoming_document_id,
        {
            "register_id": p.register_id,
            "year": p.year,
            "arrival_number": p.ArrivalNumber,
            "arrival_date": p.ArrivalDate,
            "channel": p.channel.value,
            "code_number": p.CodeNumber,
            "code_notation": p.CodeNotation,
            "organ_name": p.OrganName,
            "organ_id": p.OrganId,
            "document_id": p.DocumentId,
            "type_name": p.TypeName,
            "subject": p.Subject,
            "promulgation_date": p.PromulgationDate,
            "signer": signer,
            "priority": int(p.Priority),
            "doc_due_date": p.DueDate,
            "page_amount": p.PageAmount,
            "to_places": p.ToPlaces,
            "first_handlers": p.first_handlers,
            "notes": p.notes,
            "backfilled": p.backfilled,
            "sla_deadline": p.sla_deadline,
            "sla_met": p.sla_met,
            "registered_at": ctx.occurred_at,
            "registered_by": ctx.acted_by,
            "search_text": search_text(
                [
                    p.Subject,
                    p.TypeName,
                    code,
                    p.OrganName,
                    p.OrganId,
                    signer,
                    p.ArrivalNumber,
                    p.DocumentId,
                    p.notes,
                    " ".join(p.ToPlaces),
                ]
            ),
        },
    )
    metrics.REGISTERED.labels(p.channel.value).inc()
    metrics.TIME_TO_REGISTER.observe(max(0.0, (ctx.occurred_at - p.ArrivalDate).total_seconds()))
    if row.processed_at is not None:
        metrics.TIME_TO_PROCESS.observe(
            max(0.0, (row.processed_at - p.ArrivalDate).total_seconds())
        )


async def incoming_returned(
    p: intake.IncomingDocumentReturned, ctx: EventContext, s: AsyncSession
) -> None:
    await _upsert_incoming(
        s,
        p.incoming_document_id,
        {
            "returned_at": ctx.occurred_at,
            "return_reason": p.reason,
            "channel": p.channel.value,
            "organ_name": p.OrganName,
            "organ_id": p.OrganId,
            "document_id": p.DocumentId,
            "code_number": p.CodeNumber,
            "code_notation": p.CodeNotation,
            "subject": p.Subject,
        },
    )
    metrics.RETURNED.inc()


async def incoming_rejected(
    p: intake.IncomingDocumentRejected, ctx: EventContext, s: AsyncSession
) -> None:
    await _upsert_incoming(
        s,
        p.incoming_document_id,
        {
            "rejected_at": ctx.occurred_at,
            "reject_reason": f"{p.category.value}: {p.reason}",
            "channel": p.channel.value,
            "organ_name": p.OrganName,
            "organ_id": p.OrganId,
            "document_id": p.DocumentId,
        },
    )


async def mark_processed(
    session: AsyncSession,
    doc_id: str,
    at: datetime,
    how: str,
    reply_code: str | None = None,
) -> None:
    """Đã xử lý: the earliest instant wins (ties: the smaller reason), so the order in which
    topics are consumed does not change the result; reply numbers accumulate, sorted."""
    stmt = pg_insert(_INC).values(
        incoming_document_id=doc_id,
        processed_at=at,
        processed_how=how,
        reply_codes=[reply_code] if reply_code else [],
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[_INC.c.incoming_document_id],
        set_={
            "processed_at": literal_column(
                "least(coalesce(incoming_documents.processed_at, excluded.processed_at), "
                "excluded.processed_at)"
            ),
            "processed_how": literal_column(
                "CASE WHEN incoming_documents.processed_at IS NULL"
                " OR excluded.processed_at < incoming_documents.processed_at"
                " THEN excluded.processed_how"
                " WHEN excluded.processed_at = incoming_documents.processed_at"
                " THEN least(excluded.processed_how, incoming_documents.processed_how)"
                " ELSE incoming_documents.processed_how END"
            ),
            "reply_codes": literal_column(
                "(SELECT coalesce(jsonb_agg(DISTINCT x ORDER BY x), '[]'::jsonb) FROM "
                "jsonb_array_elements_text(incoming_documents.reply_codes || excluded.reply_codes)"
                " AS x)"
            ),
        },
    ).returning(_INC.c.arrival_date, _INC.c.processed_at, _INC.c.registered_at)
    row = (await session.execute(upsert)).one()
    if row.registered_at is not None and row.processed_at == at:
        metrics.TIME_TO_PROCESS.observe(max(0.0, (at - row.arrival_date).total_seconds()))


# -- routing --------------------------------------------------------------------------------------

_CASES = orm.cases
_TASKS = orm.tasks


async def case_opened(p: routing.CaseOpened, ctx: EventContext, s: AsyncSession) -> None:
    stmt = pg_insert(_CASES).values(
        case_id=p.case_id,
        incoming_document_id=p.incoming_document_id,
        work_file_id=p.work_file_id,
        subject=p.Subject,
        due_date=p.DueDate,
        opened_at=ctx.occurred_at,
    )
    await s.execute(stmt.on_conflict_do_nothing())
    if p.incoming_document_id is not None:
        values: dict[str, Any] = {"case_id": p.case_id}
        if p.DueDate is not None:
            values["case_due_date"] = p.DueDate
        await _upsert_incoming_keep_registered(s, p.incoming_document_id, values)


async def _upsert_incoming_keep_registered(
    session: AsyncSession, doc_id: str, values: dict[str, Any]
) -> None:
    stmt = pg_insert(_INC).values(incoming_document_id=doc_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_INC.c.incoming_document_id],
            set_={k: stmt.excluded[k] for k in values},
        )
    )


async def _case_incoming(session: AsyncSession, case_id: str) -> str | None:
    found = await session.execute(
        select(_CASES.c.incoming_document_id).where(_CASES.c.case_id == case_id)
    )
    return found.scalar_one_or_none()


async def _complete_case(session: AsyncSession, case_id: str, at: datetime) -> None:
    await session.execute(
        update(_CASES)
        .where(_CASES.c.case_id == case_id, _CASES.c.completed_at.is_(None))
        .values(completed_at=at)
    )
    doc_id = await _case_incoming(session, case_id)
    if doc_id is not None:
        await mark_processed(session, doc_id, at, "case_completed")


async def _end_task(
    session: AsyncSession, task_id: str, at: datetime, kind: str, *, forced: bool = False
) -> None:
    await session.execute(
        update(_TASKS)
        .where(_TASKS.c.task_id == task_id, _TASKS.c.ended_at.is_(None))
        .values(ended_at=at, end_kind=kind, forced=forced, waiting_reason=None)
    )


async def task_assigned(p: routing.TaskAssigned, ctx: EventContext, s: AsyncSession) -> None:
    stmt = pg_insert(_TASKS).values(
        task_id=p.task_id,
        case_id=p.case_id,
        assignee=p.assignee,
        role=p.role.value,
        due_date=p.DueDate,
        assigned_at=ctx.occurred_at,
        assigned_by=ctx.acted_by,
        parent_task_id=p.parent_task_id,
    )
    # A forward already created the task: the assignment only adds its details.
    await s.execute(
        stmt.on_conflict_do_update(
            index_elements=[_TASKS.c.task_id],
            set_={
                "assignee": stmt.excluded.assignee,
                "role": stmt.excluded.role,
                "due_date": func.coalesce(stmt.excluded.due_date, _TASKS.c.due_date),
                "parent_task_id": func.coalesce(
                    stmt.excluded.parent_task_id, _TASKS.c.parent_task_id
                ),
            },
        )
    )


async def task_forwarded(p: routing.TaskForwarded, ctx: EventContext, s: AsyncSession) -> None:
    previous = (
        await s.execute(
            select(_TASKS.c.role, _TASKS.c.due_date).where(_TASKS.c.task_id == p.task_id)
        )
    ).one_or_none()
    await _end_task(s, p.task_id, ctx.occurred_at, "forwarded", forced=p.forced)
    await s.execute(
        pg_insert(_TASKS)
        .values(
            task_id=p.new_task_id,
            case_id=p.case_id,
            assignee=p.to_user,
            role=previous.role if previous is not None else "lead",
            due_date=previous.due_date if previous is not None else None,
            assigned_at=ctx.occurred_at,
            assigned_by=ctx.acted_by,
            parent_task_id=p.task_id,
        )
        .on_conflict_do_nothing()
    )


async def task_filed(p: routing.TaskFiledForReference, ctx: EventContext, s: AsyncSession) -> None:
    await _end_task(s, p.task_id, ctx.occurred_at, "filed_for_reference")
    if p.case_completed:
        await _complete_case(s, p.case_id, ctx.occurred_at)


async def task_slip(p: routing.TaskProcessingSlip, ctx: EventContext, s: AsyncSession) -> None:
    await _end_task(s, p.task_id, ctx.occurred_at, "processing_slip")
    if p.case_completed:
        await _complete_case(s, p.case_id, ctx.occurred_at)


async def task_waiting(p: routing.TaskWaiting, _: EventContext, s: AsyncSession) -> None:
    await s.execute(
        update(_TASKS)
        .where(_TASKS.c.task_id == p.task_id, _TASKS.c.ended_at.is_(None))
        .values(waiting_reason=p.reason.value)
    )


async def task_completed(p: routing.TaskCompleted, ctx: EventContext, s: AsyncSession) -> None:
    await _end_task(s, p.task_id, ctx.occurred_at, p.outcome.value)
    if p.case_completed:
        await _complete_case(s, p.case_id, ctx.occurred_at)


async def direction_recorded(
    p: routing.DirectionRecorded, _: EventContext, s: AsyncSession
) -> None:
    """A leader's direction with a due date sets the case's (and the document's) deadline."""
    if p.DueDate is None:
        return
    await s.execute(update(_CASES).where(_CASES.c.case_id == p.case_id).values(due_date=p.DueDate))
    doc_id = p.incoming_document_id or await _case_incoming(s, p.case_id)
    if doc_id is not None:
        await _upsert_incoming_keep_registered(s, doc_id, {"case_due_date": p.DueDate})


async def ignored(_p: object, _c: EventContext, _s: AsyncSession) -> None:
    """Drafts, approvals, work files: nothing in the reports depends on them yet."""


# -- issuance -------------------------------------------------------------------------------------

_OUT = orm.outgoing_documents


async def _upsert_outgoing(session: AsyncSession, doc_id: str, values: dict[str, Any]) -> None:
    stmt = pg_insert(_OUT).values(outgoing_document_id=doc_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_OUT.c.outgoing_document_id],
            set_={k: stmt.excluded[k] for k in values},
        )
    )


def _numbered(p: Any) -> dict[str, Any]:
    return {
        "register_id": p.register_id,
        "year": p.year,
        "code_number": p.CodeNumber,
        "code_notation": p.CodeNotation,
        "code": p.Code,
    }


async def outgoing_numbered(
    p: issuance.OutgoingDocumentNumbered, ctx: EventContext, s: AsyncSession
) -> None:
    await _upsert_outgoing(
        s,
        p.outgoing_document_id,
        {
            **_numbered(p),
            "state": "numbered",
            "issued_date": p.IssuedDate,
            "type_name": p.TypeName,
            "subject": p.Subject,
            "case_id": p.case_id,
            "numbered_at": ctx.occurred_at,
            "search_text": search_text([p.Subject, p.TypeName, p.Code]),
        },
    )


async def outgoing_issued(
    p: issuance.OutgoingDocumentIssued, ctx: EventContext, s: AsyncSession
) -> None:
    recipients = [r.OrganName for r in p.To]
    await _upsert_outgoing(
        s,
        p.outgoing_document_id,
        {
            **_numbered(p),
            "state": "issued",
            "issued_date": p.IssuedDate,
            "type_name": p.TypeName,
            "subject": p.Subject,
            "signer": p.SignerInfo.FullName,
            "signer_position": p.SignerInfo.Position,
            "priority": int(p.Priority),
            "due_date": p.DueDate,
            "page_amount": p.PageAmount,
            "issued_amount": p.IssuedAmount,
            "recipients": recipients,
            "incoming_document_ids": p.incoming_document_ids,
            "document_id": p.DocumentId,
            "work_file_id": p.work_file_id,
            "case_id": p.case_id,
            "issued_at": ctx.occurred_at,
            "issued_by": ctx.acted_by,
            "search_text": search_text(
                [p.Subject, p.TypeName, p.Code, p.SignerInfo.FullName, *recipients, p.DocumentId]
            ),
        },
    )
    for doc_id in p.incoming_document_ids:
        await mark_processed(s, doc_id, ctx.occurred_at, "reply_issued", p.Code)
    metrics.ISSUED.inc()


async def outgoing_voided(
    p: issuance.OutgoingDocumentNumberVoided, _: EventContext, s: AsyncSession
) -> None:
    # A number voided before any document got it still belongs in the register, marked void.
    doc_id = p.outgoing_document_id or f"void:{p.register_id}:{p.year}:{p.CodeNumber}"
    await _upsert_outgoing(s, doc_id, {**_numbered(p), "state": "voided", "void_reason": p.reason})


async def outgoing_recalled(
    p: issuance.OutgoingDocumentRecalled, ctx: EventContext, s: AsyncSession
) -> None:
    await _upsert_outgoing(
        s,
        p.outgoing_document_id,
        {
            **_numbered(p),
            "state": "recalled",
            "recalled_at": ctx.occurred_at,
            "recall_reason": p.reason,
        },
    )


PROJECTIONS: dict[type[BaseModel], Projection] = {
    identity.UserChanged: user_changed,
    identity.OrgUnitChanged: unit_changed,
    identity.AgencyChanged: agency_changed,
    identity.DelegationChanged: delegation_changed,
    intake.IncomingDocumentReceived: incoming_received,
    intake.IncomingDocumentRegistered: incoming_registered,
    intake.IncomingDocumentReturned: incoming_returned,
    intake.IncomingDocumentRejected: incoming_rejected,
    routing.CaseOpened: case_opened,
    routing.TaskAssigned: task_assigned,
    routing.TaskForwarded: task_forwarded,
    routing.TaskFiledForReference: task_filed,
    routing.TaskProcessingSlip: task_slip,
    routing.TaskWaiting: task_waiting,
    routing.TaskCompleted: task_completed,
    routing.DirectionRecorded: direction_recorded,
    routing.DraftSubmitted: ignored,
    routing.DraftReturned: ignored,
    routing.DraftApproved: ignored,
    routing.WorkFileOpened: ignored,
    routing.WorkFileDocumentLinked: ignored,
    routing.WorkFileDocumentUnlinked: ignored,
    routing.WorkFileClosed: ignored,
    routing.DocumentFinalizedForIssuance: ignored,
    issuance.OutgoingDocumentNumbered: outgoing_numbered,
    issuance.OutgoingDocumentIssued: outgoing_issued,
    issuance.OutgoingDocumentNumberVoided: outgoing_voided,
    issuance.OutgoingDocumentRecalled: outgoing_recalled,
}


async def project(delivery: Delivery, uow: UnitOfWork) -> None:
    """The inbox handler of every consumed topic: apply the event to the read models."""
    payload, envelope = delivery.payload, delivery.envelope
    if payload is None or envelope is None:
        return
    projection = PROJECTIONS.get(type(payload))
    if projection is None:
        # A type the registry knows but reporting has no use for: nothing to do.
        return
    ctx = EventContext(occurred_at=envelope.occurred_at, acted_by=envelope.actor.user)
    await projection(payload, ctx, uow.session)
