"""HTTP API of the identity service: sign-in (/auth), keys (JWKS), administration (/admin) and
delegations (/delegations). Routes translate HTTP into service-layer calls, nothing more."""

# No ``from __future__ import annotations``: FastAPI evaluates the dependency annotations.
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from qlvb_chassis.db import Database
from qlvb_chassis.http import auth as http_auth
from qlvb_chassis.http.problems import problem_responses
from qlvb_contracts.envelope import Actor
from qlvb_contracts.payloads.identity import Role
from qlvb_identity.service_layer import admin, audit, commands
from qlvb_identity.service_layer.auth import Authenticator
from qlvb_identity.service_layer.unit_of_work import IdempotencyClaim


@dataclass(frozen=True)
class Services:
    db: Database
    auth: Authenticator


def services(request: Request) -> Services:
    found: Services = request.app.state.identity
    return found


ServicesDep = Annotated[Services, Depends(services)]
AdminDep = Annotated[
    http_auth.Actor, Depends(http_auth.require_roles(Role.IT_ADMIN.value, allow_delegation=False))
]
PrincipalDep = Annotated[http_auth.Principal, Depends(http_auth.require_principal())]
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def who(actor: http_auth.Actor) -> Actor:
    return Actor(user=actor.acted_by, on_behalf_of=actor.on_behalf_of)


def claim_of(request: Request, user: str, key: str | None, body: Any) -> IdempotencyClaim | None:
    return IdempotencyClaim.of(user, key, request.method, request.url.path, body)


def created(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=201)


# --- sign-in ---------------------------------------------------------------------------------

auth_router = APIRouter(tags=["auth"])


@auth_router.post("/auth/login", responses=problem_responses(401, 403, 422, 423, 429))
async def login(cmd: commands.Login, request: Request, svc: ServicesDep) -> JSONResponse:
    """Đăng nhập: an access token (≤ 15 min) and a rotating refresh token."""
    ip = request.client.host if request.client else "unknown"
    body = await svc.auth.login(cmd.username, cmd.password.get_secret_value(), ip)
    return JSONResponse(body, headers=NO_STORE)


@auth_router.post("/auth/refresh", responses=problem_responses(401, 403, 422))
async def refresh(cmd: commands.Refresh, svc: ServicesDep) -> JSONResponse:
    """Exchange a refresh token for new tokens; the presented one is spent."""
    return JSONResponse(await svc.auth.refresh(cmd.refresh_token), headers=NO_STORE)


@auth_router.post("/auth/logout", status_code=204, responses=problem_responses(422))
async def logout(cmd: commands.Refresh, svc: ServicesDep) -> Response:
    """Đăng xuất: the session of this refresh token ends (all its rotations)."""
    await svc.auth.logout(cmd.refresh_token)
    return Response(status_code=204)


@auth_router.get("/auth/me", responses=problem_responses(401))
async def me(principal: PrincipalDep) -> dict[str, Any]:
    """The signed-in user as the access token describes them."""
    return principal.model_dump(mode="json")


@auth_router.post("/auth/password", status_code=204, responses=problem_responses(401, 403, 422))
async def change_password(
    cmd: commands.ChangeOwnPassword, principal: PrincipalDep, svc: ServicesDep
) -> Response:
    """Đổi mật khẩu: every session of the user ends."""
    await svc.auth.change_own_password(
        principal.user,
        cmd.current_password.get_secret_value(),
        cmd.new_password.get_secret_value(),
    )
    return Response(status_code=204)


@auth_router.get("/.well-known/jwks.json")
async def jwks(svc: ServicesDep) -> JSONResponse:
    """Public keys that verify access tokens: the current one and recently retired ones."""
    return JSONResponse(await svc.auth.jwks(), headers={"Cache-Control": "max-age=60"})


# --- administration (it_admin) ---------------------------------------------------------------

admin_router = APIRouter(
    prefix="/admin", tags=["admin"], responses=problem_responses(401, 403, 404, 409, 422)
)


@admin_router.get("/units")
async def list_units(_: AdminDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await admin.list_units(svc.db)


@admin_router.post("/units", status_code=201)
async def create_unit(
    cmd: commands.CreateUnit,
    actor: AdminDep,
    svc: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    claim = claim_of(request, actor.acted_by, idempotency_key, cmd.model_dump(mode="json"))
    return created(await admin.create_unit(svc.db, cmd, who(actor), claim))


@admin_router.patch("/units/{unit_id}")
async def update_unit(
    unit_id: str, cmd: commands.UpdateUnit, actor: AdminDep, svc: ServicesDep
) -> dict[str, Any]:
    return await admin.update_unit(svc.db, unit_id, cmd, who(actor))


@admin_router.get("/users")
async def list_users(
    _: AdminDep,
    svc: ServicesDep,
    unit_id: str | None = None,
    role: str | None = None,
) -> list[dict[str, Any]]:
    return await admin.list_users(svc.db, unit_id=unit_id, role=role)


@admin_router.post("/users", status_code=201)
async def create_user(
    cmd: commands.CreateUser,
    actor: AdminDep,
    svc: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Tạo tài khoản; roles asked for come back as ``pending_role_change`` to be confirmed."""
    claim = claim_of(request, actor.acted_by, idempotency_key, cmd.model_dump(mode="json"))
    return created(await admin.create_user(svc.db, cmd, who(actor), claim))


@admin_router.get("/users/{user_id}")
async def get_user(user_id: str, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    return await admin.get_user(svc.db, user_id)


@admin_router.patch("/users/{user_id}")
async def update_user(
    user_id: str, cmd: commands.UpdateUser, actor: AdminDep, svc: ServicesDep
) -> dict[str, Any]:
    """Profile and ``active``; roles change only through /role-changes."""
    return await admin.update_user(svc.db, user_id, cmd, who(actor))


@admin_router.post("/users/{user_id}/password", status_code=204)
async def set_password(
    user_id: str, cmd: commands.SetPassword, actor: AdminDep, svc: ServicesDep
) -> Response:
    """Đặt lại mật khẩu; the user's sessions end."""
    await admin.set_password(svc.db, user_id, cmd.password.get_secret_value(), who(actor))
    return Response(status_code=204)


@admin_router.post("/users/{user_id}/role-changes", status_code=201)
async def request_role_change(
    user_id: str,
    cmd: commands.RequestRoleChange,
    actor: AdminDep,
    svc: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Propose the user's new set of roles; another administrator must confirm it."""
    claim = claim_of(request, actor.acted_by, idempotency_key, cmd.model_dump(mode="json"))
    return created(await admin.request_role_change(svc.db, user_id, cmd, who(actor), claim))


@admin_router.get("/role-changes")
async def list_role_changes(
    _: AdminDep, svc: ServicesDep, status: str | None = None
) -> list[dict[str, Any]]:
    return await admin.list_role_changes(svc.db, status)


@admin_router.post("/role-changes/{change_id}/confirm")
async def confirm_role_change(change_id: str, actor: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    """Xác nhận by a second administrator (not the requester, not the user concerned)."""
    return await admin.confirm_role_change(svc.db, change_id, who(actor))


@admin_router.post("/role-changes/{change_id}/reject")
async def reject_role_change(change_id: str, actor: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    return await admin.reject_role_change(svc.db, change_id, who(actor))


@admin_router.get("/agencies")
async def list_agencies(_: AdminDep, svc: ServicesDep) -> list[dict[str, Any]]:
    return await admin.list_agencies(svc.db)


@admin_router.post("/agencies", status_code=201)
async def create_agency(
    cmd: commands.CreateAgency,
    actor: AdminDep,
    svc: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    claim = claim_of(request, actor.acted_by, idempotency_key, cmd.model_dump(mode="json"))
    return created(await admin.create_agency(svc.db, cmd, who(actor), claim))


@admin_router.patch("/agencies/{organ_id}")
async def update_agency(
    organ_id: str, cmd: commands.UpdateAgency, actor: AdminDep, svc: ServicesDep
) -> dict[str, Any]:
    return await admin.update_agency(svc.db, organ_id, cmd, who(actor))


@admin_router.post("/signing-keys/rotate")
async def rotate_signing_key(actor: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    """A new current signing key; the old one verifies until its tokens have expired."""
    return await svc.auth.rotate_keys(who(actor))


@admin_router.get("/audit")
async def audit_entries(
    _: AdminDep,
    svc: ServicesDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    async with svc.db.uow() as uow:
        return await audit.entries(uow.session, after=after, limit=limit)


@admin_router.get("/audit/verify")
async def verify_audit(_: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    """Recompute the hash chain of the audit log."""
    async with svc.db.uow() as uow:
        return await audit.verify(uow.session)


# --- delegations (ủy quyền) ------------------------------------------------------------------

delegation_router = APIRouter(
    prefix="/delegations",
    tags=["delegations"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


def _self(principal: http_auth.Principal) -> Actor:
    return Actor(user=principal.user)


@delegation_router.get("")
async def list_delegations(principal: PrincipalDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """All delegations for an IT administrator; one's own (given or held) for anyone else."""
    involving = None if principal.has_role(Role.IT_ADMIN.value) else principal.user
    return await admin.list_delegations(svc.db, involving=involving)


@delegation_router.post("", status_code=201)
async def create_delegation(
    cmd: commands.CreateDelegation,
    principal: PrincipalDep,
    svc: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """By the delegating user for themselves, or by an IT administrator."""
    claim = claim_of(request, principal.user, idempotency_key, cmd.model_dump(mode="json"))
    body = await admin.create_delegation(svc.db, cmd, _self(principal), principal.roles, claim)
    return created(body)


@delegation_router.post("/{delegation_id}/revoke")
async def revoke_delegation(
    delegation_id: str, principal: PrincipalDep, svc: ServicesDep
) -> dict[str, Any]:
    """Thu hồi: the delegate's next access token no longer carries it."""
    return await admin.revoke_delegation(svc.db, delegation_id, _self(principal), principal.roles)


routers = [auth_router, admin_router, delegation_router]
