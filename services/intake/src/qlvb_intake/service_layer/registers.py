"""The catalog of incoming registers (sổ văn bản đến), kept by the records admin (seed Đ9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from qlvb_chassis.idempotency import IdempotencyClaim
from qlvb_contracts.envelope import Actor
from qlvb_intake.adapters import audit
from qlvb_intake.adapters.orm import incoming_documents, registers
from qlvb_intake.service_layer.context import Intake, Outcome, finish, replayed
from qlvb_intake.service_layer.errors import IntakeError, not_found
from qlvb_intake.service_layer.views import iso, register_view


class NewRegister(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")]
    """A short code, e.g. "VBD-2025" or "VBD-UBND-2025"."""
    year: int = Field(ge=2000, le=2100)
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RegisterChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    active: bool | None = None


async def create_register(
    ctx: Intake, actor: Actor, command: NewRegister, claim: IdempotencyClaim | None
) -> Outcome:
    async with ctx.db.uow() as uow:
        if (earlier := await replayed(ctx, uow, claim)) is not None:
            return earlier
        inserted = (
            await uow.session.execute(
                pg_insert(registers)
                .values(**command.model_dump(), created_by=actor.user or "")
                .on_conflict_do_nothing()
                .returning(registers.c.id)
            )
        ).first()
        if inserted is None:
            raise IntakeError(
                409,
                "Register exists",
                f"an incoming register {command.id!r} already exists",
                slug="register-exists",
            )
        await audit.record(
            uow.session,
            "register.created",
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            subject_id=command.id,
            details=command.model_dump(),
        )
        row = (
            await uow.session.execute(select(registers).where(registers.c.id == command.id))
        ).one()
        return await finish(ctx, uow, claim, Outcome(201, register_view(row)))


async def change_register(
    ctx: Intake, actor: Actor, register_id: str, change: RegisterChange
) -> dict[str, Any]:
    values = change.model_dump(exclude_unset=True)
    async with ctx.db.uow() as uow:
        row = (
            await uow.session.execute(
                select(registers).where(registers.c.id == register_id).with_for_update()
            )
        ).first()
        if row is None:
            raise not_found("Register", register_id)
        if values:
            await uow.session.execute(
                update(registers)
                .where(registers.c.id == register_id)
                .values(**values, updated_at=datetime.now(UTC))
            )
            await audit.record(
                uow.session,
                "register.changed",
                acted_by=actor.user,
                on_behalf_of=actor.on_behalf_of,
                subject_id=register_id,
                details=values,
            )
        row = (
            await uow.session.execute(select(registers).where(registers.c.id == register_id))
        ).one()
        await uow.commit()
    return register_view(row)


async def list_registers(
    ctx: Intake, *, year: int | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    query = select(registers)
    if year is not None:
        query = query.where(registers.c.year == year)
    if active is not None:
        query = query.where(registers.c.active == active)
    async with ctx.db.uow() as uow:
        rows = (
            await uow.session.execute(query.order_by(registers.c.year.desc(), registers.c.id))
        ).all()
        counts: dict[str, int] = dict(
            (
                await uow.session.execute(
                    select(incoming_documents.c.register_id, func.count())
                    .where(incoming_documents.c.register_id.is_not(None))
                    .group_by(incoming_documents.c.register_id)
                )
            ).all()
        )
    return [register_view(r) | {"documents": counts.get(r.id, 0)} for r in rows]


async def register_book(ctx: Intake, register_id: str) -> dict[str, Any]:
    """The incoming register as printed (NĐ 30/2020 Phụ lục IV): one line per arrival number,
    voided numbers included."""
    async with ctx.db.uow() as uow:
        reg = (
            await uow.session.execute(select(registers).where(registers.c.id == register_id))
        ).first()
        if reg is None:
            raise not_found("Register", register_id)
        numbers = await ctx.numbers.register_book(uow.session, register_id, reg.year)
        docs = {
            r.id: r
            for r in (
                await uow.session.execute(
                    select(incoming_documents).where(
                        incoming_documents.c.register_id == register_id
                    )
                )
            ).all()
        }
    lines = []
    for n in numbers:
        doc = docs.get(n.reference)
        lines.append(
            {
                "ArrivalNumber": n.number,
                "ArrivalDate": iso(doc.received_at) if doc else None,
                "OrganName": doc.organ_name if doc else None,
                "Code": f"{doc.code_number}/{doc.code_notation}" if doc else None,
                "PromulgationDate": iso(doc.promulgation_date) if doc else None,
                "TypeName": doc.type_name if doc else None,
                "Subject": doc.subject if doc else None,
                "first_handlers": doc.first_handlers if doc else [],
                "registered_at": iso(doc.registered_at) if doc else None,
                "incoming_document_id": n.reference,
                "voided": n.voided_at is not None,
                "void_reason": n.void_reason,
            }
        )
    return {"register": register_view(reg), "lines": lines}
