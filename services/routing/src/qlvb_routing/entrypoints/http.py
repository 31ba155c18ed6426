"""HTTP API of routing: translate requests into handler calls, nothing more.

Every command is a POST that runs in one transaction with the Idempotency-Key check, so a
retried request gets the first answer and a refused one leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qlvb_chassis.calendar import WorkingCalendar
from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.http.auth import Actor, require_roles
from qlvb_chassis.http.problems import Problem, problem_responses
from qlvb_chassis.idempotency import IdempotencyClaim, IdempotencyKeys, StoredResponse
from qlvb_chassis.service import ServiceRuntime
from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import Recipient
from qlvb_contracts.payloads.routing import LinkedDocumentKind, TaskRole, WaitingReason
from qlvb_routing.adapters.repository import Cases
from qlvb_routing.domain.deadlines import end_of_office_day
from qlvb_routing.domain.errors import DomainError
from qlvb_routing.domain.model import Assignment
from qlvb_routing.metrics import REFUSED
from qlvb_routing.service_layer import handlers, views
from qlvb_routing.service_layer.unit import Caller, utcnow
from qlvb_routing.settings import Settings

STAFF = (
    "specialist",
    "office_leader",
    "committee_leader",
    "secretary",
    "clerk",
    "records_admin",
    "it_admin",
)
HANDLERS = ("specialist", "office_leader", "committee_leader", "secretary", "records_admin")
LEADERS = ("office_leader", "committee_leader")

ERRORS = problem_responses(400, 401, 403, 404, 409, 422)


@dataclass
class Context:
    runtime: ServiceRuntime
    settings: Settings
    calendar: WorkingCalendar
    keys: IdempotencyKeys


def _context(request: Request) -> Context:
    ctx: Context = request.app.state.routing
    return ctx


def _caller(actor: Actor) -> Caller:
    return Caller(
        acted_by=actor.acted_by,
        on_behalf_of=actor.on_behalf_of,
        roles=frozenset(actor.principal.roles),
        delegators=frozenset(d.principal for d in actor.principal.active_delegations()),
    )


Staff = Annotated[Actor, Depends(require_roles(*STAFF))]
Handler = Annotated[Actor, Depends(require_roles(*HANDLERS))]
Leader = Annotated[Actor, Depends(require_roles(*LEADERS))]
RecordsAdmin = Annotated[Actor, Depends(require_roles("records_admin", allow_delegation=False))]
Ctx = Annotated[Context, Depends(_context)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _command(
    ctx: Context,
    request: Request,
    actor: Actor,
    key: str | None,
    body: Any,
    work: Callable[[UnitOfWork, Caller], Awaitable[Any]],
    *,
    status: int = 200,
) -> JSONResponse:
    claim = IdempotencyClaim.of(actor.acted_by, key, request.method, request.url.path, body)
    async with ctx.runtime.db.uow() as uow:

        async def work_once() -> StoredResponse:
            return StoredResponse(status, jsonable_encoder(await work(uow, _caller(actor))))

        response = await ctx.keys.run(uow, claim, work_once)
    return JSONResponse(response.body, status_code=response.status_code)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _due(ctx: Context, day: date | None) -> datetime | None:
    return end_of_office_day(ctx.calendar, day) if day is not None else None


# -- tasks ------------------------------------------------------------------------------------

tasks = APIRouter(prefix="/tasks", tags=["tasks"], responses=ERRORS)


@tasks.get("")
async def my_tasks(
    actor: Staff,
    ctx: Ctx,
    assignee: str = "me",
    state: Annotated[
        Literal[
            "open", "active", "waiting", "awaiting_approval", "awaiting_issuance", "closed", "all"
        ],
        Query(description="open = open or waiting; active = not closed"),
    ] = "active",
    overdue: bool | None = None,
    kind: Literal["handling", "approval"] | None = None,
) -> JSONResponse:
    """Hộp việc: a person's tasks with overdue flags. Others' inboxes only for their delegates
    and for leaders and the records admin who watch progress (Đ19)."""
    caller = _caller(actor)
    who = actor.on_behalf_of or actor.acted_by if assignee == "me" else assignee
    if who not in caller.identities and not caller.has_role("office_leader", "records_admin"):
        raise Problem(403, "Not allowed", f"you may not see {who}'s tasks", slug="forbidden")
    async with ctx.runtime.db.uow() as uow:
        rows = await views.inbox(
            uow.session, assignee=who, state=state, overdue=overdue, kind=kind, now=utcnow()
        )
    return JSONResponse(jsonable_encoder({"assignee": who, "items": rows}))


class ForwardBody(_Body):
    to_user: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4000)


@tasks.post("/{task_id}/forward")
async def forward(
    task_id: str,
    body: ForwardBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Chuyển tiếp (Đ11 a): pass the document on with a note."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        task = await handlers.forward(uow, caller, task_id, to_user=body.to_user, note=body.note)
        return {"new_task": views.task_view(task, now=utcnow())}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


@tasks.post("/{task_id}/force-forward")
async def force_forward(
    task_id: str,
    body: ForwardBody,
    actor: RecordsAdmin,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Đ9: the records admin passes a stuck document on for a handler who did not (audited)."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        task = await handlers.forward(
            uow, caller, task_id, to_user=body.to_user, note=body.note, forced=True
        )
        return {"new_task": views.task_view(task, now=utcnow())}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class NoteBody(_Body):
    note: str | None = Field(default=None, max_length=4000)


@tasks.post("/{task_id}/file-for-reference")
async def file_for_reference(
    task_id: str,
    body: NoteBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Lưu tham khảo (Đ11 b): ends this person's task."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        case = await handlers.file_for_reference(uow, caller, task_id, note=body.note)
        return {"case_id": case.case_id, "case_state": case.state}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class SlipBody(_Body):
    content: str = Field(min_length=1, max_length=8000)
    answered_by_code: str | None = Field(default=None, max_length=200)
    """Số, ký hiệu of the outgoing document that already answered it (Đ14.2)."""


@tasks.post("/{task_id}/processing-slip")
async def processing_slip(
    task_id: str,
    body: SlipBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Phiếu XLVB (Đ11 c.1, Đ14.2): ends the handling with a reason."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        case = await handlers.processing_slip(
            uow, caller, task_id, content=body.content, answered_by_code=body.answered_by_code
        )
        return {"case_id": case.case_id, "case_state": case.state}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class WaitingBody(_Body):
    reason: WaitingReason
    summary: str = Field(min_length=1, max_length=8000)
    until: date | None = None


@tasks.post("/{task_id}/waiting")
async def waiting(
    task_id: str,
    body: WaitingBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Chờ (Đ12.3): waiting for files, a verification or a meeting; still counts as overdue."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        case = await handlers.wait(
            uow, caller, task_id, reason=body.reason, summary=body.summary, until=body.until
        )
        return views.task_view(case.task(task_id), now=utcnow())

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class AssignmentBody(_Body):
    assignee: str = Field(min_length=1, max_length=200)
    role: TaskRole
    DueDate: date | None = None
    instruction: str | None = Field(default=None, max_length=4000)


class AssignBody(_Body):
    assignments: list[AssignmentBody] = Field(min_length=1, max_length=50)


@tasks.post("/{task_id}/assign")
async def assign(
    task_id: str,
    body: AssignBody,
    actor: Leader,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Phân công (Đ18): one lead and coordinating handlers, each with a deadline."""
    assignments = [
        Assignment(a.assignee, a.role, _due(ctx, a.DueDate), a.instruction)
        for a in body.assignments
    ]

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        created = await handlers.assign(uow, caller, task_id, assignments=assignments)
        return {"tasks": [views.task_view(t, now=utcnow()) for t in created]}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class DirectionBody(_Body):
    text: str = Field(min_length=1, max_length=8000)
    return_to: str | None = Field(default=None, max_length=200)
    DueDate: date | None = None


@tasks.post("/{task_id}/directions")
async def direction(
    task_id: str,
    body: DirectionBody,
    actor: Leader,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Bút phê: a leader's direction, recorded by them or their secretary (Đ15); with
    ``return_to`` the case goes to that specialist."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        direction_id = await handlers.record_direction(
            uow,
            caller,
            task_id,
            text=body.text,
            return_to=body.return_to,
            due_at=_due(ctx, body.DueDate),
        )
        return {"direction_id": direction_id}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work, status=201)


class DraftBody(_Body):
    TypeName: str = Field(min_length=1, max_length=200)
    Subject: str = Field(min_length=1, max_length=500)
    approver: str = Field(min_length=1, max_length=200)
    draft_upload_id: str = Field(min_length=1)
    proposal_upload_id: str | None = None
    To: list[Recipient] = Field(min_length=1, max_length=200)
    CodeNotation: str | None = Field(default=None, max_length=100)
    Appendixes: list[str] = Field(default_factory=list, max_length=50)
    PageAmount: int | None = Field(default=None, ge=0)


@tasks.post("/{task_id}/draft", status_code=201)
async def submit_draft(
    task_id: str,
    body: DraftBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Trình dự thảo (Đ11 c.2, Đ12.1): the draft and proposal go to the chosen approver."""
    draft_request = handlers.DraftRequest(**{**body.model_dump(), "To": body.To})

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        draft = await handlers.submit_draft(uow, caller, task_id, draft_request)
        return views.draft_view(draft)

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work, status=201)


class ApproveBody(_Body):
    next_approver: str = Field(min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=4000)


@tasks.post("/{task_id}/approve")
async def approve(
    task_id: str,
    body: ApproveBody,
    actor: Leader,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Duyệt và trình tiếp: the draft goes on to the next approver."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        task = await handlers.approve_draft(
            uow, caller, task_id, next_approver=body.next_approver, comment=body.comment
        )
        return {"next_task": views.task_view(task, now=utcnow())}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class ReturnBody(_Body):
    direction: str = Field(min_length=1, max_length=8000)
    DueDate: date | None = None


@tasks.post("/{task_id}/return")
async def return_draft(
    task_id: str,
    body: ReturnBody,
    actor: Leader,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Trả lại với bút phê: back to the specialist with the leader's direction (Đ15)."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        direction_id = await handlers.return_draft(
            uow, caller, task_id, direction=body.direction, due_at=_due(ctx, body.DueDate)
        )
        return {"direction_id": direction_id}

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class FinalizeBody(_Body):
    comment: str | None = Field(default=None, max_length=4000)
    SignerInfo: Signer | None = None
    """Defaults to the approving leader's name and position from the directory."""


@tasks.post("/{task_id}/finalize")
async def finalize(
    task_id: str,
    body: FinalizeBody,
    actor: Leader,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Xác nhận văn bản hoàn thành (Đ15): handed to the clerks for numbering and issuing."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        draft = await handlers.finalize_draft(
            uow, caller, task_id, signer=body.SignerInfo, comment=body.comment
        )
        return views.draft_view(draft)

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


# -- cases and drafts -------------------------------------------------------------------------

cases = APIRouter(prefix="/cases", tags=["cases"], responses=ERRORS)


@cases.get("")
async def find_cases(
    actor: Staff, ctx: Ctx, incoming_document_id: Annotated[str, Query(min_length=1)]
) -> JSONResponse:
    async with ctx.runtime.db.snapshot() as uow:
        case_id = await Cases(uow.session).case_of_incoming(incoming_document_id)
        items = (
            [await views.case_view(uow.session, case_id, _caller(actor), now=utcnow())]
            if case_id
            else []
        )
    return JSONResponse(jsonable_encoder({"items": items}))


@cases.get("/{case_id}")
async def get_case(case_id: str, actor: Staff, ctx: Ctx) -> JSONResponse:
    """All staff see the public metadata (Đ4.2); drafts only their handlers and approvers."""
    async with ctx.runtime.db.snapshot() as uow:
        view = await views.case_view(uow.session, case_id, _caller(actor), now=utcnow())
    return JSONResponse(jsonable_encoder(view))


@cases.get("/{case_id}/history")
async def case_history(case_id: str, actor: Staff, ctx: Ctx) -> JSONResponse:
    """Who did what, on behalf of whom, when."""
    async with ctx.runtime.db.snapshot() as uow:
        items = await views.history(uow.session, case_id=case_id)
    return JSONResponse(jsonable_encoder({"case_id": case_id, "items": items}))


drafts = APIRouter(prefix="/drafts", tags=["drafts"], responses=ERRORS)


@drafts.get("/{draft_id}")
async def get_draft(draft_id: str, actor: Staff, ctx: Ctx) -> JSONResponse:
    async with ctx.runtime.db.snapshot() as uow:
        _, draft = await views.draft_for(uow.session, draft_id, _caller(actor))
    return JSONResponse(jsonable_encoder(views.draft_view(draft)))


@drafts.get("/{draft_id}/files/{which}")
async def draft_file(
    draft_id: str, which: Literal["draft", "proposal"], actor: Staff, ctx: Ctx
) -> JSONResponse:
    """A short-lived download URL, issued only after the Đ4.2 check."""
    async with ctx.runtime.db.uow() as uow:
        _, draft = await views.draft_for(uow.session, draft_id, _caller(actor))
    stored = draft.content.draft_file if which == "draft" else draft.content.proposal_file
    if stored is None:
        raise Problem(404, "No such file", f"draft {draft_id} has no {which}", slug="not-found")
    store = ctx.runtime.store
    assert store is not None
    expires = timedelta(seconds=ctx.settings.presigned_url_seconds)
    url = await store.presigned_get(
        stored.object_key, expires=expires, filename=stored.AttachmentName
    )
    return JSONResponse(
        jsonable_encoder(
            {
                "url": url,
                "expires_at": utcnow() + expires,
                "sha256": stored.sha256,
                "content_type": stored.content_type,
                "size": stored.size,
            }
        )
    )


# -- uploads ----------------------------------------------------------------------------------

uploads = APIRouter(prefix="/uploads", tags=["uploads"], responses=ERRORS)


@uploads.post("", status_code=201)
async def upload(
    request: Request,
    actor: Handler,
    ctx: Ctx,
    name: Annotated[str | None, Query(max_length=255)] = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Upload a draft or proposal file as the raw request body (PDF, .docx, scans); attach it
    to a draft by its upload_id."""
    limit = ctx.settings.max_upload_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "File too large", f"at most {limit} bytes", slug="too-large")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise Problem(422, "Empty file", "the request body is the file", slug="empty-file")
    store = ctx.runtime.store
    assert store is not None
    body = {"name": name, "sha256": hashlib.sha256(data).hexdigest()}

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        return await handlers.store_upload(uow, store, caller, data, name=name)

    return await _command(ctx, request, actor, key, body, work, status=201)


# -- work files -------------------------------------------------------------------------------

work_files = APIRouter(prefix="/work-files", tags=["work files"], responses=ERRORS)


class WorkFileBody(_Body):
    Title: str = Field(min_length=1, max_length=1000)
    task_id: str | None = None
    """The task the file is opened from (Đ11 c.3); none for a file without an incoming
    document (Đ13), which opens a case of its own."""
    FileCode: str | None = Field(default=None, max_length=200)
    Maintenance: str | None = Field(default=None, max_length=200)
    Description: str | None = Field(default=None, max_length=8000)


@work_files.post("", status_code=201)
async def open_work_file(
    body: WorkFileBody, actor: Handler, ctx: Ctx, request: Request, key: IdempotencyKey = None
) -> JSONResponse:
    """Lập hồ sơ công việc."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        opened = await handlers.open_work_file(
            uow,
            caller,
            handlers.WorkFileRequest(**body.model_dump()),
            unit_id=actor.principal.unit,
        )
        return {
            **views.work_file_json(opened.work_file),
            "case_id": opened.case_id,
            "task_id": opened.task_id,
        }

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work, status=201)


@work_files.get("")
async def list_work_files(
    actor: Staff,
    ctx: Ctx,
    creator: str = "me",
    state: Literal["open", "closed"] | None = None,
) -> JSONResponse:
    who = actor.on_behalf_of or actor.acted_by if creator == "me" else creator
    async with ctx.runtime.db.uow() as uow:
        items = await views.work_files_of(uow.session, who, state)
    return JSONResponse(jsonable_encoder({"creator": who, "items": items}))


@work_files.get("/{work_file_id}")
async def get_work_file(work_file_id: str, actor: Staff, ctx: Ctx) -> JSONResponse:
    async with ctx.runtime.db.uow() as uow:
        view = await views.work_file_view(uow.session, work_file_id)
    return JSONResponse(jsonable_encoder(view))


class LinkBody(_Body):
    document_id: str = Field(min_length=1, max_length=200)
    kind: LinkedDocumentKind = LinkedDocumentKind.INCOMING
    Subject: str | None = Field(default=None, max_length=1000)


@work_files.post("/{work_file_id}/documents", status_code=201)
async def link_document(
    work_file_id: str,
    body: LinkBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Gắn văn bản vào hồ sơ (Đ14.1); the ordinal is given automatically."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        doc = await handlers.link_document(
            uow,
            caller,
            work_file_id,
            document_id=body.document_id,
            kind=body.kind,
            subject=body.Subject,
        )
        return {
            "work_file_id": work_file_id,
            "DocOrdinal": doc.ordinal,
            "document_id": doc.document_id,
        }

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work, status=201)


class UnlinkBody(_Body):
    reason: str | None = Field(default=None, max_length=4000)


@work_files.post("/{work_file_id}/documents/{document_id}/unlink")
async def unlink_document(
    work_file_id: str,
    document_id: str,
    body: UnlinkBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        wf = await handlers.unlink_document(
            uow, caller, work_file_id, document_id=document_id, reason=body.reason
        )
        return views.work_file_json(wf)

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


class CloseBody(_Body):
    summary: str | None = Field(default=None, max_length=8000)


@work_files.post("/{work_file_id}/close")
async def close_work_file(
    work_file_id: str,
    body: CloseBody,
    actor: Handler,
    ctx: Ctx,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Kết thúc hồ sơ: ends the reply follow-up (Đ11 c.3)."""

    async def work(uow: UnitOfWork, caller: Caller) -> Any:
        wf = await handlers.close_work_file(uow, caller, work_file_id, summary=body.summary)
        return views.work_file_json(wf)

    return await _command(ctx, request, actor, key, body.model_dump(mode="json"), work)


ROUTERS = (tasks, cases, drafts, uploads, work_files)


def install(app: FastAPI, context: Context) -> None:
    """Give the routers their context and answer refused acts as problem+json."""
    app.state.routing = context

    async def on_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        REFUSED.labels(str(exc.status)).inc()
        return Problem(exc.status, _TITLES.get(exc.status), exc.detail, slug=exc.slug).to_response()

    app.add_exception_handler(DomainError, on_refused)


_TITLES = {
    403: "Not allowed",
    404: "Not found",
    409: "Not possible in the current state",
    422: "Invalid request",
}
