"""Reading and writing the issuance tables inside a unit of work's session (SQLAlchemy Core).

The statements of the issuing path are built once, with bind parameters: building a statement
(coercing every value into a bound parameter, computing its cache key) cost more CPU than
running it, and issuers of a register queue behind one another on its counter row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_contracts import reference as ref
from qlvb_issuance.adapters import orm
from qlvb_issuance.domain.errors import NotFound
from qlvb_issuance.domain.model import Agency, Register, Series, Unit

Row = dict[str, Any]


def _register(row: Mapping[str, Any]) -> Register:
    return Register(
        register_id=row["register_id"],
        name=row["name"],
        series=Series(row["series"]),
        type_names=tuple(row["type_names"] or ()),
        copy_types=tuple(ref.CopyType(c) for c in row["copy_types"] or ()),
        active=row["active"],
    )


_REGISTERS = select(orm.registers).order_by(orm.registers.c.register_id)
_REGISTER = select(orm.registers).where(orm.registers.c.register_id == bindparam("register_id"))
_DOCUMENT = select(orm.outgoing_documents).where(
    orm.outgoing_documents.c.outgoing_document_id == bindparam("doc_id")
)
_DOCUMENT_FOR_UPDATE = _DOCUMENT.with_for_update()
_ATTACHMENTS = (
    select(orm.attachments)
    .where(orm.attachments.c.outgoing_document_id == bindparam("doc_id"))
    .order_by(orm.attachments.c.uploaded_at)
)
_ATTACHMENTS_OF = (
    select(orm.attachments)
    .where(orm.attachments.c.outgoing_document_id.in_(bindparam("doc_ids", expanding=True)))
    .order_by(orm.attachments.c.uploaded_at)
)
_UNITS = select(orm.org_units).where(orm.org_units.c.unit_id.in_(bindparam("ids", expanding=True)))
_AGENCIES = select(orm.agencies).where(
    orm.agencies.c.organ_id.in_(bindparam("ids", expanding=True))
)


@lru_cache(maxsize=32)
def _document_update(columns: tuple[str, ...]) -> Update:
    """UPDATE of these columns of one document (callers change a few fixed sets of columns)."""
    t = orm.outgoing_documents
    return (
        update(t)
        .where(t.c.outgoing_document_id == bindparam("where_doc_id"))
        .values({c: bindparam(f"set_{c}") for c in columns})
    )


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- registers ---------------------------------------------------------------------------

    async def registers(self) -> list[Register]:
        return [_register(r) for r in await self.register_rows()]

    async def register_rows(self) -> list[Row]:
        rows = await self.session.execute(_REGISTERS)
        return [dict(r._mapping) for r in rows]

    async def register(self, register_id: str) -> Register:
        row = await self.register_row(register_id)
        return _register(row)

    async def register_row(self, register_id: str) -> Row:
        row = (await self.session.execute(_REGISTER, {"register_id": register_id})).first()
        if row is None:
            raise NotFound(f"no outgoing register {register_id}")
        return dict(row._mapping)

    async def add_register(self, values: Mapping[str, Any]) -> bool:
        t = orm.registers
        inserted = await self.session.execute(
            pg_insert(t).values(**values).on_conflict_do_nothing().returning(t.c.register_id)
        )
        return inserted.first() is not None

    async def update_register(self, register_id: str, values: Mapping[str, Any]) -> None:
        t = orm.registers
        await self.session.execute(update(t).where(t.c.register_id == register_id).values(**values))

    # -- outgoing documents ------------------------------------------------------------------

    async def document(self, doc_id: str, *, for_update: bool = False) -> Row:
        query = _DOCUMENT_FOR_UPDATE if for_update else _DOCUMENT
        row = (await self.session.execute(query, {"doc_id": doc_id})).first()
        if row is None:
            raise NotFound(f"no outgoing document {doc_id}")
        return dict(row._mapping)

    async def documents(
        self,
        statuses: Sequence[str] | None = None,
        *,
        ids: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        t = orm.outgoing_documents
        query = select(t)
        if statuses:
            query = query.where(t.c.status.in_(list(statuses)))
        if ids is not None:
            query = query.where(t.c.outgoing_document_id.in_(list(ids)))
        query = query.order_by(t.c.priority.desc(), t.c.queued_at, t.c.outgoing_document_id)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        rows = await self.session.execute(query)
        return [dict(r._mapping) for r in rows]

    async def queue_document(self, values: Mapping[str, Any]) -> None:
        """Insert a finalized document; a re-finalized draft still in the queue is refreshed,
        one already numbered or issued is left alone (its number is what counts)."""
        t = orm.outgoing_documents
        fresh = {k: v for k, v in values.items() if k not in ("outgoing_document_id", "status")}
        await self.session.execute(
            pg_insert(t)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[t.c.draft_id], set_=fresh, where=t.c.status == "queued"
            )
        )

    async def update_document(self, doc_id: str, values: Mapping[str, Any]) -> None:
        params = {f"set_{k}": v for k, v in values.items()}
        await self.session.execute(
            _document_update(tuple(sorted(values))), {"where_doc_id": doc_id, **params}
        )

    async def attachments(self, doc_id: str) -> list[Row]:
        rows = await self.session.execute(_ATTACHMENTS, {"doc_id": doc_id})
        return [dict(r._mapping) for r in rows]

    async def attachments_of(self, doc_ids: Iterable[str]) -> dict[str, list[Row]]:
        """The files of several documents in one query, each document's in upload order."""
        ids = list(doc_ids)
        files: dict[str, list[Row]] = defaultdict(list)
        if ids:
            for r in await self.session.execute(_ATTACHMENTS_OF, {"doc_ids": ids}):
                files[r.outgoing_document_id].append(dict(r._mapping))
        return {doc_id: files[doc_id] for doc_id in ids}

    async def add_attachment(self, values: Mapping[str, Any]) -> None:
        await self.session.execute(orm.attachments.insert().values(**values))

    # -- read models of identity.events -----------------------------------------------------

    async def units(self, unit_ids: Iterable[str]) -> dict[str, Unit]:
        ids = list(unit_ids)
        if not ids:
            return {}
        rows = await self.session.execute(_UNITS, {"ids": ids})
        return {
            r.unit_id: Unit(unit_id=r.unit_id, code=r.code, name=r.name, active=r.active)
            for r in rows
        }

    async def agencies(self, organ_ids: Iterable[str]) -> dict[str, Agency]:
        ids = list(organ_ids)
        if not ids:
            return {}
        rows = await self.session.execute(_AGENCIES, {"ids": ids})
        return {
            r.organ_id: Agency(
                OrganId=r.organ_id,
                OrganName=r.organ_name,
                electronic_exchange=r.electronic_exchange,
                active=r.active,
                OrganAdd=r.organ_add,
                Email=r.email,
                Telephone=r.telephone,
            )
            for r in rows
        }

    async def upsert_snapshot(self, table_name: str, key: str, values: Mapping[str, Any]) -> None:
        """Keep the newest snapshot: an older revision (a stale redelivery) changes nothing."""
        t = orm.metadata.tables[table_name]
        stmt = pg_insert(t).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c[key]],
                set_={k: stmt.excluded[k] for k in values if k != key},
                where=t.c.revision < stmt.excluded.revision,
            )
        )
