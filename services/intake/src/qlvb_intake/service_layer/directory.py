"""Intake's read model of identity.events: users (who may be a first handler) and the agency
directory (whose documents we accept). Snapshots are upserted; an older revision is ignored."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_contracts.payloads.identity import AgencyChanged, UserChanged
from qlvb_intake.adapters.orm import agencies, users


async def _upsert(session: AsyncSession, table: Table, key: str, values: dict[str, object]) -> None:
    stmt = pg_insert(table).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={c: stmt.excluded[c] for c in values if c != key},
            where=table.c.revision < stmt.excluded.revision,
        )
    )


async def user_changed(session: AsyncSession, event: UserChanged) -> None:
    await _upsert(
        session,
        users,
        "user_id",
        {
            "user_id": event.user_id,
            "full_name": event.full_name,
            "unit_id": event.unit_id,
            "roles": event.roles,
            "active": event.active and not event.deleted,
            "revision": event.revision,
        },
    )


async def agency_changed(session: AsyncSession, event: AgencyChanged) -> None:
    await _upsert(
        session,
        agencies,
        "organ_id",
        {
            "organ_id": event.OrganId,
            "organ_name": event.OrganName,
            "active": event.active and not event.deleted,
            "revision": event.revision,
        },
    )
