"""Aggregates as API views and as identity events (full snapshots with a revision).

Every change bumps the aggregate's ``revision`` in the same statement and publishes the whole
aggregate through the outbox, so consumers upsert and ignore anything not newer than they hold.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.db import UnitOfWork
from qlvb_contracts.envelope import Actor
from qlvb_contracts.payloads.identity import (
    AgencyChanged,
    DelegationChanged,
    OrgUnitChanged,
    UserChanged,
)
from qlvb_contracts.registry import IDENTITY_EVENTS
from qlvb_identity.adapters.orm import agencies, delegations, org_units, users
from qlvb_identity.service_layer.errors import not_found

_NOUNS = {
    "users": "user",
    "org_units": "org unit",
    "agencies": "agency",
    "delegations": "delegation",
}


async def _row(session: AsyncSession, table: Table, key: str, *, lock: bool = False) -> Row[Any]:
    pk = next(iter(table.primary_key.columns))
    query = select(table).where(pk == key)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise not_found(_NOUNS[table.name], key)
    return row


async def user_row(session: AsyncSession, user_id: str, *, lock: bool = False) -> Row[Any]:
    return await _row(session, users, user_id, lock=lock)


async def unit_row(session: AsyncSession, unit_id: str, *, lock: bool = False) -> Row[Any]:
    return await _row(session, org_units, unit_id, lock=lock)


async def agency_row(session: AsyncSession, organ_id: str, *, lock: bool = False) -> Row[Any]:
    return await _row(session, agencies, organ_id, lock=lock)


async def delegation_row(
    session: AsyncSession, delegation_id: str, *, lock: bool = False
) -> Row[Any]:
    return await _row(session, delegations, delegation_id, lock=lock)


def user_event(row: Row[Any]) -> UserChanged:
    return UserChanged(
        user_id=row.user_id,
        revision=row.revision,
        username=row.user_id,
        full_name=row.full_name,
        email=row.email,
        phone=row.phone,
        unit_id=row.unit_id,
        position=row.position,
        roles=sorted(row.roles),
        active=row.active,
    )


def unit_event(row: Row[Any]) -> OrgUnitChanged:
    return OrgUnitChanged(
        unit_id=row.unit_id,
        revision=row.revision,
        code=row.code,
        name=row.name,
        parent_unit_id=row.parent_unit_id,
        head_user_id=row.head_user_id,
        active=row.active,
    )


def agency_event(row: Row[Any]) -> AgencyChanged:
    return AgencyChanged(
        OrganId=row.organ_id,
        revision=row.revision,
        OrganName=row.organ_name,
        OrganizationInCharge=row.organization_in_charge,
        OrganAdd=row.organ_add,
        Email=row.email,
        Telephone=row.telephone,
        Website=row.website,
        electronic_exchange=row.electronic_exchange,
        active=row.active,
    )


def delegation_event(row: Row[Any]) -> DelegationChanged:
    return DelegationChanged(
        delegation_id=row.delegation_id,
        revision=row.revision,
        principal=row.principal,
        delegate=row.delegate,
        roles=sorted(row.roles),
        actions=sorted(row.actions),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        revoked=row.revoked,
    )


def user_view(row: Row[Any]) -> dict[str, Any]:
    view = user_event(row).model_dump(mode="json", exclude={"deleted", "username"})
    view["has_password"] = row.password_hash is not None
    return view


def unit_view(row: Row[Any]) -> dict[str, Any]:
    return unit_event(row).model_dump(mode="json", exclude={"deleted"})


def agency_view(row: Row[Any]) -> dict[str, Any]:
    return agency_event(row).model_dump(mode="json", exclude={"deleted"})


def delegation_view(row: Row[Any]) -> dict[str, Any]:
    view = delegation_event(row).model_dump(mode="json", exclude={"deleted"})
    view["created_by"] = row.created_by
    view["revoked_by"] = row.revoked_by
    return view


async def publish_user(uow: UnitOfWork, user_id: str, actor: Actor) -> dict[str, Any]:
    row = await user_row(uow.session, user_id)
    await uow.publish(IDENTITY_EVENTS, user_event(row), actor=actor)
    return user_view(row)


async def publish_unit(uow: UnitOfWork, unit_id: str, actor: Actor) -> dict[str, Any]:
    row = await unit_row(uow.session, unit_id)
    await uow.publish(IDENTITY_EVENTS, unit_event(row), actor=actor)
    return unit_view(row)


async def publish_agency(uow: UnitOfWork, organ_id: str, actor: Actor) -> dict[str, Any]:
    row = await agency_row(uow.session, organ_id)
    await uow.publish(IDENTITY_EVENTS, agency_event(row), actor=actor)
    return agency_view(row)


async def publish_delegation(uow: UnitOfWork, delegation_id: str, actor: Actor) -> dict[str, Any]:
    row = await delegation_row(uow.session, delegation_id)
    await uow.publish(IDENTITY_EVENTS, delegation_event(row), actor=actor)
    return delegation_view(row)
