"""HTTP API of the issuance service: translate requests into commands, nothing more.

/registers — the catalog of outgoing registers and the register book of a year (JSON, XLSX);
/outgoing-documents — the clerks' issue queue, files, numbering, issuing, voiding, recall.
"""

# No ``from __future__ import annotations``: FastAPI evaluates the dependencies' annotations.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from qlvb_chassis.db import UnitOfWork
from qlvb_chassis.http.auth import Actor, Principal, require_principal, require_roles
from qlvb_chassis.http.problems import Problem
from qlvb_chassis.idempotency import IdempotencyClaim
from qlvb_issuance.adapters.repository import Repository
from qlvb_issuance.adapters.xlsx import register_workbook
from qlvb_issuance.domain.model import AttachmentKind, DocumentStatus
from qlvb_issuance.domain.outgoing_register import COLUMNS
from qlvb_issuance.service_layer import commands, handlers
from qlvb_issuance.service_layer.handlers import Services, Who

CLERKS = ("clerk", "records_admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

registers = APIRouter(prefix="/registers", tags=["registers"])
documents = APIRouter(prefix="/outgoing-documents", tags=["outgoing documents"])

Clerk = Annotated[Actor, Depends(require_roles(*CLERKS))]
Staff = Annotated[Principal, Depends(require_principal())]


def _services(request: Request) -> Services:
    services: Services = request.app.state.issuance
    return services


def _uow(request: Request) -> UnitOfWork:
    return _services(request).uow_factory()


def _who(actor: Actor) -> Who:
    return Who(acted_by=actor.acted_by, on_behalf_of=actor.on_behalf_of)


# --- registers -----------------------------------------------------------------------------------


@registers.get("")
async def list_registers(request: Request, _: Staff) -> list[dict[str, Any]]:
    async with _uow(request) as uow:
        rows = await Repository(uow.session).register_rows()
    return [handlers.register_view(r) for r in rows]


@registers.post("", status_code=201)
async def create_register(
    request: Request, body: commands.CreateRegister, actor: Clerk
) -> dict[str, Any]:
    async with _uow(request) as uow:
        row = await handlers.create_register(body, _who(actor), uow)
    return handlers.register_view(row)


@registers.patch("/{register_id}")
async def update_register(
    request: Request, register_id: str, body: commands.UpdateRegister, actor: Clerk
) -> dict[str, Any]:
    async with _uow(request) as uow:
        row = await handlers.update_register(register_id, body, _who(actor), uow)
    return handlers.register_view(row)


@registers.get("/{register_id}/years/{year}/book")
async def register_book(
    request: Request,
    register_id: str,
    year: Annotated[int, Path(ge=2000, le=2100)],
    _: Staff,
    format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
) -> Any:
    """Sổ đăng ký văn bản đi of a year (NĐ 30/2020 Phụ lục IV); ``?format=xlsx`` for Excel."""
    svc = _services(request)
    async with _uow(request) as uow:
        register, rows = await handlers.register_book(svc, uow, register_id, year)
    if format == "xlsx":
        title = f"SỔ ĐĂNG KÝ VĂN BẢN ĐI — {register['name']} — năm {year}"
        filename = f"so-van-ban-di-{register_id}-{year}.xlsx"
        return Response(
            register_workbook(title, rows),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return {
        "register": handlers.register_view(register),
        "year": year,
        "columns": [{"field": f, "label": label} for f, label in COLUMNS],
        "rows": [r.as_json() for r in rows],
    }


# --- outgoing documents --------------------------------------------------------------------------


@documents.get("/queue")
async def issue_queue(request: Request, _: Clerk) -> list[dict[str, Any]]:
    """Văn bản chờ phát hành: finalized documents not yet issued, most urgent first."""
    return await _list(request, [DocumentStatus.QUEUED, DocumentStatus.NUMBERED])


@documents.get("")
async def list_documents(
    request: Request,
    _: Staff,
    status: Annotated[list[DocumentStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    return await _list(request, status, limit=limit, offset=offset)


async def _list(
    request: Request,
    statuses: list[DocumentStatus] | None,
    *,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    async with _uow(request) as uow:
        repo = Repository(uow.session)
        rows = await repo.documents(
            [s.value for s in statuses] if statuses else None, limit=limit, offset=offset
        )
        files = await repo.attachments_of(r["outgoing_document_id"] for r in rows)
        return [handlers.document_view(r, files[r["outgoing_document_id"]]) for r in rows]


@documents.get("/{doc_id}")
async def get_document(request: Request, doc_id: str, _: Staff) -> dict[str, Any]:
    """Every staff member may see outgoing documents' information (seed Đ4.2)."""
    async with _uow(request) as uow:
        repo = Repository(uow.session)
        row = await repo.document(doc_id)
        return handlers.document_view(row, await repo.attachments(doc_id))


@documents.post("/{doc_id}/attachments", status_code=201)
async def upload_attachment(
    request: Request,
    doc_id: str,
    actor: Clerk,
    kind: Annotated[AttachmentKind, Query()],
    title: Annotated[str | None, Query(max_length=500)] = None,
    name: Annotated[str | None, Query(max_length=300)] = None,
) -> dict[str, Any]:
    """The file as the raw request body (PDF): ``?kind=signed|appendix|clean_copy``;
    an appendix gives the ``title`` the draft declared."""
    svc = _services(request)
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isdigit()
        and int(declared) > svc.settings.max_upload_bytes
    ):
        raise Problem(413, "File too large", f"limit {svc.settings.max_upload_bytes} bytes")
    data = await request.body()
    async with _uow(request) as uow:
        row = await handlers.attach_file(
            svc, uow, doc_id, kind=kind, data=data, title=title, name=name, who=_who(actor)
        )
    return handlers.attachment_view(row)


@documents.get("/{doc_id}/attachments/{attachment_id}/download")
async def download_attachment(
    request: Request, doc_id: str, attachment_id: str, principal: Staff
) -> dict[str, str]:
    """A short-lived presigned URL, after the access check."""
    may_read = bool(set(CLERKS) & principal.roles)
    async with _uow(request) as uow:
        url = await handlers.download_url(
            _services(request), uow, doc_id, attachment_id, staff_may_read=may_read
        )
    return {"url": url}


@documents.post("/{doc_id}/number")
async def number_document(
    request: Request, doc_id: str, body: commands.NumberDocument, actor: Clerk
) -> dict[str, Any]:
    async with _uow(request) as uow:
        return await handlers.number_document(_services(request), uow, doc_id, body, _who(actor))


@documents.post("/{doc_id}/issue")
async def issue_document(
    request: Request,
    doc_id: str,
    body: commands.IssueDocument,
    actor: Clerk,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    idempotency = IdempotencyClaim.of(
        actor.acted_by, idempotency_key, "POST", request.url.path, body.model_dump(mode="json")
    )
    async with _uow(request) as uow:
        status, result = await handlers.issue_document(
            _services(request), uow, doc_id, body, _who(actor), idempotency
        )
    return JSONResponse(result, status_code=status)


@documents.post("/{doc_id}/void-number")
async def void_number(
    request: Request, doc_id: str, body: commands.VoidNumber, actor: Clerk
) -> dict[str, Any]:
    async with _uow(request) as uow:
        return await handlers.void_number(_services(request), uow, doc_id, body, _who(actor))


@documents.post("/{doc_id}/recall")
async def recall_document(
    request: Request, doc_id: str, body: commands.RecallDocument, actor: Clerk
) -> dict[str, Any]:
    async with _uow(request) as uow:
        return await handlers.recall_document(_services(request), uow, doc_id, body, _who(actor))
