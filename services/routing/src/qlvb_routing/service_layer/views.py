"""Read side: the inbox, a case with its history, drafts (after the Đ4.2 check), work files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_routing.adapters import orm
from qlvb_routing.adapters.repository import Cases, WorkFiles, incoming_rows, task_from_row
from qlvb_routing.domain.deadlines import is_overdue
from qlvb_routing.domain.errors import NotAllowed, NotFound
from qlvb_routing.domain.model import Draft, DraftState, HandlingCase, Task, TaskState
from qlvb_routing.domain.work_file import WorkFile
from qlvb_routing.service_layer.unit import Caller

ACTIVE_STATES = [s.value for s in TaskState if s is not TaskState.CLOSED]


def task_view(task: Task, *, now: datetime) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "case_id": task.case_id,
        "assignee": task.assignee,
        "kind": task.kind,
        "role": task.role,
        "state": task.state,
        "due_at": task.due_at,
        "overdue": is_overdue(task.due_at, now=now, ended_at=task.closed_at),
        "instruction": task.instruction,
        "parent_task_id": task.parent_task_id,
        "draft_id": task.draft_id,
        "created_at": task.created_at,
        "closed_at": task.closed_at,
        "end": task.end,
        "note": task.note,
        "waiting": (
            {
                "reason": task.waiting_reason,
                "summary": task.waiting_summary,
                "until": task.waiting_until,
            }
            if task.waiting_reason
            else None
        ),
    }


def draft_view(draft: Draft) -> dict[str, Any]:
    c = draft.content
    return {
        "draft_id": draft.draft_id,
        "case_id": draft.case_id,
        "author": draft.author,
        "revision": draft.revision,
        "state": draft.state,
        "approver": draft.approver,
        "approvers": draft.approvers,
        "approved_by": draft.approved_by,
        "work_file_id": draft.work_file_id,
        "submitted_at": draft.submitted_at,
        "finalized_at": draft.finalized_at,
        "TypeName": c.TypeName,
        "Subject": c.Subject,
        "CodeNotation": c.CodeNotation,
        "To": [r.model_dump(mode="json") for r in c.To],
        "Appendixes": list(c.Appendixes),
        "PageAmount": c.PageAmount,
        "files": {
            "draft": _file(c.draft_file.AttachmentName, c.draft_file.content_type),
            "proposal": (
                _file(c.proposal_file.AttachmentName, c.proposal_file.content_type)
                if c.proposal_file
                else None
            ),
        },
    }


def _file(name: str | None, content_type: str) -> dict[str, Any]:
    return {"name": name, "content_type": content_type}


def may_see_drafts(case: HandlingCase, caller: Caller, draft: Draft | None = None) -> bool:
    """Đ4.2: only the current handlers and the approver chain see proposals and drafts; the
    clerks see a finalized one, which they number and issue."""
    if caller.identities & case.draft_viewers():
        return True
    return (
        draft is not None
        and caller.has_role("clerk")
        and draft.state in (DraftState.FINALIZED, DraftState.ISSUED)
    )


async def load_case(session: AsyncSession, case_id: str) -> HandlingCase:
    case = await Cases(session).get(case_id, lock=False)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


async def case_view(
    session: AsyncSession, case_id: str, caller: Caller, *, now: datetime
) -> dict[str, Any]:
    """Public metadata for all staff; drafts only for those Đ4.2 allows."""
    case = await load_case(session, case_id)
    incoming = None
    if case.incoming_document_id:
        row = (await incoming_rows(session, [case.incoming_document_id])).get(
            case.incoming_document_id
        )
        if row is not None:
            incoming = {
                "incoming_document_id": row["incoming_document_id"],
                "DocumentId": row["document_identifier"],
                "Code": row["code"],
                "OrganName": row["organ_name"],
                "TypeName": row["type_name"],
                "ArrivalNumber": row["arrival_number"],
                "processed": row["processed_at"] is not None,
                "processed_at": row["processed_at"],
                "follow_up": {
                    "answered": row["answered_by_document_id"] is not None,
                    "answered_by_document_id": row["answered_by_document_id"],
                    "answered_by_code": row["answered_by_code"],
                },
            }
    visible = may_see_drafts(case, caller)
    return {
        "case_id": case.case_id,
        "Subject": case.subject,
        "Priority": int(case.priority),
        "state": case.state,
        "opened_at": case.opened_at,
        "due_at": case.due_at,
        "overdue": is_overdue(case.due_at, now=now, ended_at=case.completed_at),
        "completed_at": case.completed_at,
        "work_file_id": case.work_file_id,
        "incoming_document": incoming,
        "current_handlers": sorted(case.current_handlers()),
        "tasks": [task_view(t, now=now) for t in case.tasks],
        "drafts_visible": visible,
        "drafts": [draft_view(d) for d in case.drafts] if visible else None,
    }


async def history(session: AsyncSession, *, case_id: str) -> list[dict[str, Any]]:
    """Who did what, for whom, when — from the audit log."""
    await load_case(session, case_id)
    rows = await session.execute(
        select(orm.audit_log)
        .where(orm.audit_log.c.case_id == case_id)
        .order_by(orm.audit_log.c.seq)
    )
    return [
        {
            "at": r["at"],
            "action": r["action"],
            "acted_by": r["acted_by"],
            "on_behalf_of": r["on_behalf_of"],
            "details": _public_details(r["details"]),
        }
        for r in rows.mappings()
    ]


def _public_details(details: dict[str, Any]) -> dict[str, Any]:
    # File addresses never leave through the history: downloads go through the checked URL.
    return {k: v for k, v in details.items() if k not in ("draft", "proposal", "document", "slip")}


async def draft_for(
    session: AsyncSession, draft_id: str, caller: Caller
) -> tuple[HandlingCase, Draft]:
    case_id = (
        await session.execute(select(orm.drafts.c.case_id).where(orm.drafts.c.draft_id == draft_id))
    ).scalar_one_or_none()
    if case_id is None:
        raise NotFound(f"no draft {draft_id}")
    case = await load_case(session, case_id)
    draft = case.draft(draft_id)
    if not may_see_drafts(case, caller, draft):
        raise NotAllowed(
            "drafts and proposals are visible only to the current handlers and the approvers "
            "(seed Đ4.2); ask the person handling it",
            slug="draft-not-visible",
        )
    return case, draft


async def inbox(
    session: AsyncSession,
    *,
    assignee: str,
    state: str,
    overdue: bool | None,
    kind: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Tasks of one person with the case's subject and the overdue flag."""
    t, c = orm.tasks, orm.cases
    conditions = [t.c.assignee == assignee]
    if state == "active":
        conditions.append(t.c.state.in_(ACTIVE_STATES))
    elif state == "open":
        conditions.append(t.c.state.in_([TaskState.OPEN.value, TaskState.WAITING.value]))
    elif state != "all":
        conditions.append(t.c.state == state)
    if kind is not None:
        conditions.append(t.c.kind == kind)
    if overdue is not None:
        late = and_(t.c.due_at.is_not(None), t.c.due_at < now, t.c.closed_at.is_(None))
        conditions.append(late if overdue else ~late)
    rows = await session.execute(
        select(t, c.c.subject, c.c.priority, c.c.incoming_document_id, c.c.work_file_id)
        .join(c, c.c.case_id == t.c.case_id)
        .where(*conditions)
        .order_by(t.c.due_at.asc().nulls_last(), t.c.created_at)
        .limit(500)
    )
    out = []
    for r in rows.mappings():
        view = task_view(task_from_row(r), now=now)
        view.update(
            Subject=r["subject"],
            Priority=r["priority"],
            incoming_document_id=r["incoming_document_id"],
            work_file_id=r["work_file_id"],
        )
        out.append(view)
    return out


async def work_file_view(session: AsyncSession, work_file_id: str) -> dict[str, Any]:
    wf = await WorkFiles(session).get(work_file_id, lock=False)
    if wf is None:
        raise NotFound(f"no work file {work_file_id}")
    return work_file_json(wf)


def work_file_json(wf: WorkFile) -> dict[str, Any]:
    return {
        "work_file_id": wf.work_file_id,
        "FileCode": wf.FileCode,
        "Title": wf.Title,
        "Creator": wf.Creator,
        "StartDate": wf.StartDate,
        "EndDate": wf.EndDate,
        "Maintenance": wf.Maintenance,
        "Description": wf.Description,
        "case_id": wf.case_id,
        "state": wf.state,
        "follow_up": wf.follow_up,
        "summary": wf.summary,
        "DocTotal": len(wf.linked_documents()),
        "documents": [
            {
                "DocOrdinal": d.ordinal,
                "document_id": d.document_id,
                "kind": d.kind,
                "DocumentId": d.DocumentId,
                "Subject": d.Subject,
                "linked_at": d.linked_at,
                "linked_by": d.linked_by,
                "linked": d.linked,
                "unlinked_at": d.unlinked_at,
                "unlink_reason": d.unlink_reason,
            }
            for d in wf.documents
        ],
    }


async def work_files_of(
    session: AsyncSession, creator: str, state: str | None
) -> list[dict[str, Any]]:
    w = orm.work_files
    query = select(w.c.work_file_id).where(w.c.creator == creator).order_by(w.c.created_at.desc())
    if state is not None:
        query = query.where(w.c.state == state)
    ids = [r for (r,) in await session.execute(query.limit(200))]
    out = []
    for wid in ids:
        out.append(await work_file_view(session, wid))
    return out
