"""Administration of accounts, org units, rights, the agency directory and delegations
(quản trị tài khoản, đơn vị, phân quyền, danh bạ cơ quan, ủy quyền).

Every handler changes the aggregate, bumps its revision, appends to the audit log and records
the identity event, all in one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.db import Database, UnitOfWork
from qlvb_contracts.envelope import Actor
from qlvb_contracts.payloads.identity import Role
from qlvb_identity.adapters.orm import (
    agencies,
    delegations,
    org_units,
    refresh_tokens,
    role_changes,
    users,
)
from qlvb_identity.domain import model, passwords
from qlvb_identity.service_layer import audit, commands, snapshots
from qlvb_identity.service_layer.errors import conflict, forbidden, not_found
from qlvb_identity.service_layer.unit_of_work import IdempotencyClaim, create, run

PENDING, APPLIED, REJECTED = "pending", "applied", "rejected"


def _now() -> datetime:
    return datetime.now(UTC)


def _public(values: dict[str, Any]) -> dict[str, Any]:
    """What an audit entry may say about a change (never a password)."""
    return {k: v for k, v in values.items() if k != "password"}


# --- org units (đơn vị) ----------------------------------------------------------------------


async def _unit_parents(session: AsyncSession) -> dict[str, str | None]:
    rows = await session.execute(select(org_units.c.unit_id, org_units.c.parent_unit_id))
    return {r.unit_id: r.parent_unit_id for r in rows}


async def _require_user(session: AsyncSession, user_id: str | None) -> None:
    if (
        user_id is not None
        and (await session.scalar(select(users.c.user_id).where(users.c.user_id == user_id)))
        is None
    ):
        raise not_found("user", user_id)


async def _require_unit(session: AsyncSession, unit_id: str | None) -> None:
    if (
        unit_id is not None
        and (
            await session.scalar(select(org_units.c.unit_id).where(org_units.c.unit_id == unit_id))
        )
        is None
    ):
        raise not_found("org unit", unit_id)


async def add_unit(uow: UnitOfWork, cmd: commands.CreateUnit, actor: Actor) -> dict[str, Any]:
    session = uow.session
    model.check_unit_id(cmd.unit_id)
    parents = await _unit_parents(session)
    if cmd.unit_id in parents:
        raise conflict(f"org unit {cmd.unit_id} already exists", slug="already-exists")
    model.check_unit_parent(cmd.unit_id, cmd.parent_unit_id, parents)
    await _require_user(session, cmd.head_user_id)
    await session.execute(
        org_units.insert().values(
            unit_id=cmd.unit_id,
            code=cmd.code.upper(),
            name=cmd.name,
            parent_unit_id=cmd.parent_unit_id,
            head_user_id=cmd.head_user_id,
            active=True,
            revision=1,
        )
    )
    await audit.record(session, actor, "unit.created", "org_unit", cmd.unit_id, cmd.model_dump())
    return await snapshots.publish_unit(uow, cmd.unit_id, actor)


async def create_unit(
    db: Database, cmd: commands.CreateUnit, actor: Actor, claim: IdempotencyClaim | None = None
) -> dict[str, Any]:
    return await create(db, claim, lambda uow: add_unit(uow, cmd, actor))


async def change_unit(
    uow: UnitOfWork, unit_id: str, cmd: commands.UpdateUnit, actor: Actor
) -> dict[str, Any]:
    values = commands.changes(cmd)
    session = uow.session
    await snapshots.unit_row(session, unit_id, lock=True)
    if "parent_unit_id" in values:
        model.check_unit_parent(unit_id, cmd.parent_unit_id, await _unit_parents(session))
    if "head_user_id" in values:
        await _require_user(session, cmd.head_user_id)
    for required in ("code", "name", "active"):
        if required in values and values[required] is None:
            raise model.RuleViolation(f"{required} cannot be empty", slug="required-field")
    if "code" in values and cmd.code is not None:
        values["code"] = cmd.code.upper()
    await session.execute(
        update(org_units)
        .where(org_units.c.unit_id == unit_id)
        .values(**values, revision=org_units.c.revision + 1, updated_at=func.now())
    )
    await audit.record(session, actor, "unit.updated", "org_unit", unit_id, values)
    return await snapshots.publish_unit(uow, unit_id, actor)


async def update_unit(
    db: Database, unit_id: str, cmd: commands.UpdateUnit, actor: Actor
) -> dict[str, Any]:
    return await run(db, lambda uow: change_unit(uow, unit_id, cmd, actor))


async def list_units(db: Database) -> list[dict[str, Any]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(select(org_units).order_by(org_units.c.unit_id))
        return [snapshots.unit_view(r) for r in rows]


# --- users (người dùng) ----------------------------------------------------------------------


async def add_user(
    uow: UnitOfWork,
    cmd: commands.CreateUser,
    actor: Actor,
    *,
    roles_now: bool = False,
) -> dict[str, Any]:
    """Create an account. Its roles become a pending change unless ``roles_now`` (only the
    bootstrap commands run by an operator at the database, never the HTTP API)."""
    session = uow.session
    model.check_username(cmd.user_id)
    roles = model.check_roles(cmd.roles)
    await _require_unit(session, cmd.unit_id)
    password_hash = None
    if cmd.password is not None:
        secret = cmd.password.get_secret_value()
        passwords.check_policy(secret, username=cmd.user_id)
        password_hash = await asyncio.to_thread(passwords.hash_password, secret)
    inserted = (
        await session.execute(
            pg_insert(users)
            .values(
                user_id=cmd.user_id,
                full_name=cmd.full_name,
                position=cmd.position,
                email=cmd.email,
                phone=cmd.phone,
                unit_id=cmd.unit_id,
                roles=roles if roles_now else [],
                active=True,
                revision=1,
                password_hash=password_hash,
                password_changed_at=_now() if password_hash else None,
            )
            .on_conflict_do_nothing()
            .returning(users.c.user_id)
        )
    ).first()
    if inserted is None:
        raise conflict(f"user {cmd.user_id} already exists", slug="already-exists")
    details = _public(cmd.model_dump(mode="json"))
    details["roles"] = roles if roles_now else []
    await audit.record(session, actor, "user.created", "user", cmd.user_id, details)
    if roles_now and roles:
        await audit.record(
            session, actor, "user.roles_granted_at_bootstrap", "user", cmd.user_id, {"roles": roles}
        )
    view = await snapshots.publish_user(uow, cmd.user_id, actor)
    if roles and not roles_now:
        view["pending_role_change"] = await _request_roles(uow, cmd.user_id, roles, None, actor)
    return view


async def create_user(
    db: Database, cmd: commands.CreateUser, actor: Actor, claim: IdempotencyClaim | None = None
) -> dict[str, Any]:
    return await create(db, claim, lambda uow: add_user(uow, cmd, actor))


async def _revoke_sessions(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def update_user(
    db: Database, user_id: str, cmd: commands.UpdateUser, actor: Actor
) -> dict[str, Any]:
    values = commands.changes(cmd)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        await snapshots.user_row(session, user_id, lock=True)
        for required in ("full_name", "active"):
            if required in values and values[required] is None:
                raise model.RuleViolation(f"{required} cannot be empty", slug="required-field")
        if "unit_id" in values:
            await _require_unit(session, cmd.unit_id)
        await session.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(**values, revision=users.c.revision + 1, updated_at=func.now())
        )
        if values.get("active") is False:
            # A deactivated account loses its sessions now, its access token within minutes.
            await _revoke_sessions(session, user_id)
        await audit.record(session, actor, "user.updated", "user", user_id, values)
        return await snapshots.publish_user(uow, user_id, actor)

    return await run(db, work)


async def set_password(db: Database, user_id: str, password: str, actor: Actor) -> None:
    """Đặt lại mật khẩu: every session of the user ends."""
    passwords.check_policy(password, username=user_id)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)

    async def work(uow: UnitOfWork) -> None:
        session = uow.session
        await snapshots.user_row(session, user_id, lock=True)
        await session.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(password_hash=password_hash, password_changed_at=_now(), updated_at=func.now())
        )
        await _revoke_sessions(session, user_id)
        await audit.record(session, actor, "user.password_set", "user", user_id, {})

    await run(db, work)


async def get_user(db: Database, user_id: str) -> dict[str, Any]:
    async with db.uow() as uow:
        return snapshots.user_view(await snapshots.user_row(uow.session, user_id))


async def list_users(
    db: Database, *, unit_id: str | None = None, role: str | None = None
) -> list[dict[str, Any]]:
    query = select(users).order_by(users.c.user_id)
    if unit_id is not None:
        query = query.where(users.c.unit_id == unit_id)
    if role is not None:
        query = query.where(users.c.roles.contains([role]))
    async with db.uow() as uow:
        return [snapshots.user_view(r) for r in await uow.session.execute(query)]


# --- rights (phân quyền), two-person rule -----------------------------------------------------


def _change_view(row: Any) -> dict[str, Any]:
    return {
        "change_id": row.change_id,
        "user_id": row.user_id,
        "roles_before": sorted(row.roles_before),
        "roles_after": sorted(row.roles_after),
        "reason": row.reason,
        "status": row.status,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at.isoformat() if row.requested_at else None,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
    }


async def _request_roles(
    uow: UnitOfWork, user_id: str, roles: list[str], reason: str | None, actor: Actor
) -> dict[str, Any]:
    session = uow.session
    user = await snapshots.user_row(session, user_id, lock=True)
    wanted = model.check_roles(roles)
    if wanted == sorted(user.roles):
        raise conflict(f"{user_id} already has exactly these roles", slug="no-change")
    pending = await session.scalar(
        select(role_changes.c.change_id).where(
            role_changes.c.user_id == user_id, role_changes.c.status == PENDING
        )
    )
    if pending is not None:
        raise conflict(
            f"a change of {user_id}'s rights is already pending ({pending}); "
            "confirm or reject it first",
            slug="change-pending",
        )
    change_id = str(uuid.uuid4())
    row = (
        await session.execute(
            role_changes.insert()
            .values(
                change_id=change_id,
                user_id=user_id,
                roles_before=sorted(user.roles),
                roles_after=wanted,
                reason=reason,
                status=PENDING,
                requested_by=actor.user,
            )
            .returning(role_changes)
        )
    ).one()
    await audit.record(
        session,
        actor,
        "role_change.requested",
        "user",
        user_id,
        {"change_id": change_id, "roles_before": sorted(user.roles), "roles_after": wanted},
    )
    return _change_view(row)


async def request_role_change(
    db: Database,
    user_id: str,
    cmd: commands.RequestRoleChange,
    actor: Actor,
    claim: IdempotencyClaim | None = None,
) -> dict[str, Any]:
    return await create(
        db, claim, lambda uow: _request_roles(uow, user_id, cmd.roles, cmd.reason, actor)
    )


async def _pending_change(session: AsyncSession, change_id: str) -> Any:
    row = (
        await session.execute(
            select(role_changes).where(role_changes.c.change_id == change_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found("role change", change_id)
    if row.status != PENDING:
        raise conflict(f"role change {change_id} is already {row.status}", slug="not-pending")
    return row


async def confirm_role_change(db: Database, change_id: str, actor: Actor) -> dict[str, Any]:
    """Xác nhận: a second administrator applies the change (NĐ 30/2020 Phụ lục VI III.3)."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        change = await _pending_change(session, change_id)
        model.check_confirmer(change.requested_by, actor.user or "")
        if actor.user == change.user_id:
            raise forbidden("an administrator cannot confirm a change of their own rights")
        user = await snapshots.user_row(session, change.user_id, lock=True)
        if sorted(user.roles) != sorted(change.roles_before):
            raise conflict(
                f"{change.user_id}'s roles changed since the request; reject it and ask again",
                slug="stale-change",
            )
        await session.execute(
            update(users)
            .where(users.c.user_id == change.user_id)
            .values(
                roles=sorted(change.roles_after),
                revision=users.c.revision + 1,
                updated_at=func.now(),
            )
        )
        decided = (
            await session.execute(
                update(role_changes)
                .where(role_changes.c.change_id == change_id)
                .values(status=APPLIED, decided_by=actor.user, decided_at=_now())
                .returning(role_changes)
            )
        ).one()
        await audit.record(
            session,
            actor,
            "role_change.confirmed",
            "user",
            change.user_id,
            {
                "change_id": change_id,
                "requested_by": change.requested_by,
                "roles_before": sorted(change.roles_before),
                "roles_after": sorted(change.roles_after),
            },
        )
        view = _change_view(decided)
        view["user"] = await snapshots.publish_user(uow, change.user_id, actor)
        return view

    return await run(db, work)


async def reject_role_change(db: Database, change_id: str, actor: Actor) -> dict[str, Any]:
    """Từ chối (or withdraw, by the requester)."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        change = await _pending_change(session, change_id)
        decided = (
            await session.execute(
                update(role_changes)
                .where(role_changes.c.change_id == change_id)
                .values(status=REJECTED, decided_by=actor.user, decided_at=_now())
                .returning(role_changes)
            )
        ).one()
        await audit.record(
            session, actor, "role_change.rejected", "user", change.user_id, {"change_id": change_id}
        )
        return _change_view(decided)

    return await run(db, work)


async def list_role_changes(db: Database, status: str | None = None) -> list[dict[str, Any]]:
    query = select(role_changes).order_by(role_changes.c.requested_at.desc())
    if status is not None:
        query = query.where(role_changes.c.status == status)
    async with db.uow() as uow:
        return [_change_view(r) for r in await uow.session.execute(query)]


# --- the agency directory (danh bạ cơ quan) ---------------------------------------------------

_AGENCY_COLUMNS = {
    "OrganName": "organ_name",
    "OrganizationInCharge": "organization_in_charge",
    "OrganAdd": "organ_add",
    "Email": "email",
    "Telephone": "telephone",
    "Website": "website",
    "electronic_exchange": "electronic_exchange",
    "active": "active",
}


async def add_agency(uow: UnitOfWork, cmd: commands.CreateAgency, actor: Actor) -> dict[str, Any]:
    session = uow.session
    values = {_AGENCY_COLUMNS[k]: v for k, v in cmd.model_dump().items() if k != "OrganId"}
    inserted = (
        await session.execute(
            pg_insert(agencies)
            .values(organ_id=cmd.OrganId, active=True, revision=1, **values)
            .on_conflict_do_nothing()
            .returning(agencies.c.organ_id)
        )
    ).first()
    if inserted is None:
        raise conflict(f"agency {cmd.OrganId} is already in the directory", slug="already-exists")
    await audit.record(session, actor, "agency.created", "agency", cmd.OrganId, cmd.model_dump())
    return await snapshots.publish_agency(uow, cmd.OrganId, actor)


async def create_agency(
    db: Database, cmd: commands.CreateAgency, actor: Actor, claim: IdempotencyClaim | None = None
) -> dict[str, Any]:
    return await create(db, claim, lambda uow: add_agency(uow, cmd, actor))


async def update_agency(
    db: Database, organ_id: str, cmd: commands.UpdateAgency, actor: Actor
) -> dict[str, Any]:
    sent = commands.changes(cmd)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        await snapshots.agency_row(session, organ_id, lock=True)
        for required in ("OrganName", "electronic_exchange", "active"):
            if required in sent and sent[required] is None:
                raise model.RuleViolation(f"{required} cannot be empty", slug="required-field")
        values = {_AGENCY_COLUMNS[k]: v for k, v in sent.items()}
        await session.execute(
            update(agencies)
            .where(agencies.c.organ_id == organ_id)
            .values(**values, revision=agencies.c.revision + 1, updated_at=func.now())
        )
        await audit.record(session, actor, "agency.updated", "agency", organ_id, sent)
        return await snapshots.publish_agency(uow, organ_id, actor)

    return await run(db, work)


async def list_agencies(db: Database) -> list[dict[str, Any]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(select(agencies).order_by(agencies.c.organ_id))
        return [snapshots.agency_view(r) for r in rows]


# --- delegations (ủy quyền) ------------------------------------------------------------------


def _may_manage_delegation(actor: Actor, roles: frozenset[str], principal: str) -> None:
    if Role.IT_ADMIN.value in roles:
        return
    if actor.user == principal and actor.on_behalf_of is None:
        return
    raise forbidden("only the delegating user or an IT administrator may do this")


async def add_delegation(
    uow: UnitOfWork,
    cmd: commands.CreateDelegation,
    actor: Actor,
    actor_roles: frozenset[str],
) -> dict[str, Any]:
    session = uow.session
    _may_manage_delegation(actor, actor_roles, cmd.principal)
    principal = await snapshots.user_row(session, cmd.principal)
    delegate = await snapshots.user_row(session, cmd.delegate)
    if not principal.active or not delegate.active:
        raise model.RuleViolation("both users of a delegation must be active", slug="inactive-user")
    valid_from = (cmd.valid_from or _now()).astimezone(UTC)
    valid_to = cmd.valid_to.astimezone(UTC) if cmd.valid_to else None
    roles, actions = model.check_delegation(
        principal=cmd.principal,
        delegate=cmd.delegate,
        roles=cmd.roles,
        actions=cmd.actions,
        principal_roles=principal.roles,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    delegation_id = str(uuid.uuid4())
    await session.execute(
        delegations.insert().values(
            delegation_id=delegation_id,
            principal=cmd.principal,
            delegate=cmd.delegate,
            roles=roles,
            actions=actions,
            valid_from=valid_from,
            valid_to=valid_to,
            created_by=actor.user or audit.SYSTEM,
            revision=1,
        )
    )
    await audit.record(
        session,
        actor,
        "delegation.created",
        "delegation",
        delegation_id,
        {
            "principal": cmd.principal,
            "delegate": cmd.delegate,
            "roles": roles,
            "actions": actions,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
        },
    )
    return await snapshots.publish_delegation(uow, delegation_id, actor)


async def create_delegation(
    db: Database,
    cmd: commands.CreateDelegation,
    actor: Actor,
    actor_roles: frozenset[str],
    claim: IdempotencyClaim | None = None,
) -> dict[str, Any]:
    return await create(db, claim, lambda uow: add_delegation(uow, cmd, actor, actor_roles))


async def revoke_delegation(
    db: Database, delegation_id: str, actor: Actor, actor_roles: frozenset[str]
) -> dict[str, Any]:
    """Thu hồi ủy quyền: the delegate's next access token no longer carries it."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        row = await snapshots.delegation_row(session, delegation_id, lock=True)
        if actor.user != row.delegate:  # a delegate may always give a delegation back
            _may_manage_delegation(actor, actor_roles, row.principal)
        if row.revoked:
            raise conflict(f"delegation {delegation_id} is already revoked", slug="not-active")
        await session.execute(
            update(delegations)
            .where(delegations.c.delegation_id == delegation_id)
            .values(
                revoked=True,
                revoked_at=_now(),
                revoked_by=actor.user,
                revision=delegations.c.revision + 1,
                updated_at=func.now(),
            )
        )
        await audit.record(session, actor, "delegation.revoked", "delegation", delegation_id, {})
        return await snapshots.publish_delegation(uow, delegation_id, actor)

    return await run(db, work)


async def list_delegations(db: Database, *, involving: str | None = None) -> list[dict[str, Any]]:
    """All delegations, or those where ``involving`` is principal or delegate."""
    query = select(delegations).order_by(delegations.c.created_at.desc())
    if involving is not None:
        query = query.where(
            (delegations.c.principal == involving) | (delegations.c.delegate == involving)
        )
    async with db.uow() as uow:
        return [snapshots.delegation_view(r) for r in await uow.session.execute(query)]
