"""HTTP API of intake: translate requests into use cases, nothing more."""

# No ``from __future__ import annotations``: FastAPI reads the annotations at runtime.
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select

from qlvb_chassis.http.auth import Actor, Principal, require_principal, require_roles
from qlvb_chassis.http.problems import Problem, ProblemResponse, problem_responses
from qlvb_chassis.idempotency import IdempotencyClaim
from qlvb_contracts.envelope import Actor as EventActor
from qlvb_intake.adapters.orm import audit_log
from qlvb_intake.domain.model import PaperDocumentForm
from qlvb_intake.service_layer import documents, inbound, registers
from qlvb_intake.service_layer.context import Intake, Outcome
from qlvb_intake.service_layer.views import iso

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="Retry-safe creation")
]
Clerk = Annotated[Actor, Depends(require_roles("clerk"))]
RecordsAdmin = Annotated[Actor, Depends(require_roles("records_admin"))]
Staff = Annotated[Principal, Depends(require_principal())]
IntakeStaff = Annotated[Actor, Depends(require_roles("clerk", "records_admin"))]


def event_actor(actor: Actor) -> EventActor:
    return EventActor(user=actor.acted_by, on_behalf_of=actor.on_behalf_of)


def respond(outcome: Outcome) -> JSONResponse:
    if outcome.problem:
        return ProblemResponse(outcome.body, status_code=outcome.status)
    return JSONResponse(outcome.body, status_code=outcome.status)


def _readable(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join([prefix, *(str(p) for p in e["loc"])]),
            "message": str(e["msg"]),
            "type": str(e["type"]),
        }
        for e in exc.errors()
    ]


class ElectronicRegistration(BaseModel):
    """Vào sổ a document of the electronic inbox: its fields are already filled."""

    model_config = ConfigDict(extra="forbid")

    register_id: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    first_handlers: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=50
    )
    notes: Annotated[str, StringConstraints(max_length=500)] | None = None
    confirm_duplicate: bool = False


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]


def build_router(ctx: Intake) -> APIRouter:
    router = APIRouter()
    errors = problem_responses(400, 401, 403, 404, 409, 422)

    # --- registers ------------------------------------------------------------------------

    @router.post("/registers", status_code=201, tags=["registers"], responses=errors)
    async def create_register(
        request: Request,
        actor: RecordsAdmin,
        body: registers.NewRegister,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Open an incoming register (sổ văn bản đến) for a year."""
        claim = IdempotencyClaim.of(
            actor.acted_by, idempotency_key, "POST", request.url.path, body.model_dump()
        )
        return respond(await registers.create_register(ctx, event_actor(actor), body, claim))

    @router.get("/registers", tags=["registers"])
    async def list_registers(
        _: Staff, year: int | None = None, active: bool | None = None
    ) -> list[dict[str, Any]]:
        return await registers.list_registers(ctx, year=year, active=active)

    @router.patch("/registers/{register_id}", tags=["registers"], responses=errors)
    async def change_register(
        register_id: str, actor: RecordsAdmin, body: registers.RegisterChange
    ) -> dict[str, Any]:
        """Rename, describe, close (active=false) or reopen a register."""
        return await registers.change_register(ctx, event_actor(actor), register_id, body)

    @router.get("/registers/{register_id}/book", tags=["registers"], responses=errors)
    async def register_book(register_id: str, _: Staff) -> dict[str, Any]:
        """The register's lines in arrival-number order (NĐ 30/2020 Phụ lục IV)."""
        return await registers.register_book(ctx, register_id)

    # --- paper registration -----------------------------------------------------------------

    @router.post(
        "/incoming-documents",
        status_code=201,
        tags=["incoming documents"],
        responses=errors | problem_responses(503),
    )
    async def receive_paper(
        request: Request,
        actor: Clerk,
        metadata: Annotated[
            str, Form(description="JSON of the document's fields (PaperDocumentForm)")
        ],
        files: Annotated[
            list[UploadFile] | None, File(description="Scans: PDF, TIFF, PNG, JPEG")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Register a paper document (201, status registered), or return it when malformed
        (201, status returned, return slip), or refuse it when out of scope (422)."""
        try:
            raw = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise Problem(
                422, "Invalid metadata", f"metadata is not JSON: {exc}", slug="validation-error"
            ) from None
        try:
            form = PaperDocumentForm.model_validate(raw)
        except ValidationError as exc:
            errs = _readable(exc, "metadata")
            raise Problem(
                422,
                "Request validation failed",
                f"{len(errs)} invalid value(s) in the metadata",
                slug="validation-error",
                errors=errs,
            ) from None
        cap = ctx.settings.max_upload_bytes
        uploads = []
        for index, upload in enumerate(files or [], start=1):
            data = await upload.read(cap + 1)
            if len(data) > cap:
                raise Problem(
                    422,
                    "File too large",
                    f"file {index} exceeds {cap} bytes",
                    slug="file-too-large",
                )
            uploads.append(documents.Upload(upload.filename, data))
        claim = IdempotencyClaim.of(
            actor.acted_by,
            idempotency_key,
            "POST",
            request.url.path,
            {"metadata": raw, "files": [hashlib.sha256(u.data).hexdigest() for u in uploads]},
        )
        return respond(await documents.receive_paper(ctx, event_actor(actor), form, uploads, claim))

    # --- reading ----------------------------------------------------------------------------

    @router.get("/incoming-documents", tags=["incoming documents"])
    async def list_documents(
        _: Staff,
        status: str | None = None,
        channel: str | None = None,
        register_id: str | None = None,
        year: int | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Incoming documents; their information is visible to all staff (seed Đ4.2)."""
        return await documents.list_documents(
            ctx,
            status=status,
            channel=channel,
            register_id=register_id,
            year=year,
            q=q,
            limit=limit,
            offset=offset,
        )

    @router.get("/incoming-documents/audit-log", tags=["audit"])
    async def audit_entries(
        _: RecordsAdmin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        """The hash-chained audit log of intake, newest first."""
        async with ctx.db.uow() as uow:
            rows = (
                await uow.session.execute(
                    select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
                )
            ).all()
        return [
            {
                "id": r.id,
                "at": iso(r.at),
                "acted_by": r.acted_by,
                "on_behalf_of": r.on_behalf_of,
                "action": r.action,
                "subject_id": r.subject_id,
                "details": r.details,
                "hash": r.hash,
            }
            for r in rows
        ]

    @router.get("/incoming-documents/{document_id}", tags=["incoming documents"], responses=errors)
    async def get_document(document_id: str, _: Staff) -> dict[str, Any]:
        return await documents.get_document(ctx, document_id)

    @router.get(
        "/incoming-documents/{document_id}/attachments/{attachment_id}/url",
        tags=["incoming documents"],
        responses=errors,
    )
    async def attachment_url(
        document_id: str, attachment_id: str, principal: Staff
    ) -> dict[str, Any]:
        """A short-lived presigned URL to download one file, after the access check."""
        return await documents.attachment_url(
            ctx, principal.user, principal.roles, document_id, attachment_id
        )

    @router.get(
        "/incoming-documents/{document_id}/return-slip/url",
        tags=["incoming documents"],
        responses=errors,
    )
    async def return_slip_url(document_id: str, principal: Staff) -> dict[str, Any]:
        """A short-lived presigned URL to the return slip (phiếu trả) PDF."""
        return await documents.return_slip_url(ctx, principal.user, principal.roles, document_id)

    # --- electronic inbox -------------------------------------------------------------------

    @router.get("/electronic-inbox", tags=["electronic inbox"])
    async def electronic_inbox(
        _: IntakeStaff,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Agencies' documents received and waiting to be registered (status 01 sent)."""
        return await documents.list_documents(
            ctx, status="received", channel="electronic", limit=limit, offset=offset
        )

    @router.get("/electronic-inbox/rejections", tags=["electronic inbox"])
    async def rejections(
        _: IntakeStaff, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        """Packages refused with status 02 (also kept in exchange.inbound.dlq)."""
        return await inbound.list_rejections(ctx, limit)

    @router.post(
        "/incoming-documents/{document_id}/register",
        tags=["electronic inbox"],
        responses=errors,
    )
    async def register_electronic(
        request: Request,
        document_id: str,
        actor: Clerk,
        body: ElectronicRegistration,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Vào sổ an electronic document with one action: arrival number, status 03."""
        claim = IdempotencyClaim.of(
            actor.acted_by, idempotency_key, "POST", request.url.path, body.model_dump()
        )
        command = documents.Registration(
            register_id=body.register_id,
            first_handlers=list(dict.fromkeys(body.first_handlers)),
            notes=body.notes,
            confirm_duplicate=body.confirm_duplicate,
        )
        return respond(
            await documents.register_electronic(
                ctx, event_actor(actor), document_id, command, claim
            )
        )

    @router.post(
        "/incoming-documents/{document_id}/return",
        tags=["electronic inbox"],
        responses=errors | problem_responses(503),
    )
    async def return_electronic(
        document_id: str, actor: Clerk, body: Annotated[ReturnRequest, Body()]
    ) -> JSONResponse:
        """Return an agency's document not in due form: return slip, status 02 with the reason."""
        return respond(
            await documents.return_electronic(ctx, event_actor(actor), document_id, body.reason)
        )

    return router
