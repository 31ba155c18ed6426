"""Gap-free numbers (ARCHITECTURE §3.4): arrival numbers (số đến) and outgoing numbers.

A counter row per (register, year) is incremented in the caller's transaction: the row lock
serializes allocators of one register, and a rollback undoes the increment, so the numbers that
exist are exactly 1..N. Every allocated number is also written to ``allocated_numbers`` (primary
key register, year, number) with the reference it was given to; a spoiled number is voided with a
reason and stays there, never reused and never deleted. PostgreSQL sequences are not gap-free
(a rolled-back nextval is lost) and are never used for this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Insert, Integer, String, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.db import ChassisTables


class NumberNotFound(LookupError):
    pass


class NumberAlreadyVoided(ValueError):
    pass


@dataclass(frozen=True)
class AllocatedNumber:
    register_id: str
    year: int
    number: int
    reference: str
    allocated_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    voided_by: str | None


def _allocate_statement(counters: Table, numbers: Table) -> Insert:
    """One statement, built once: bump the counter row (locking it) and record the number."""
    register_id = bindparam("register_id", type_=String)
    year = bindparam("year", type_=Integer)
    bumped = (
        pg_insert(counters)
        .values(register_id=register_id, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[counters.c.register_id, counters.c.year],
            set_={"last_number": counters.c.last_number + 1},
        )
        .returning(counters.c.last_number)
        .cte("bumped")
    )
    return (
        numbers.insert()
        .from_select(
            ["register_id", "year", "number", "reference"],
            select(register_id, year, bumped.c.last_number, bindparam("reference", type_=String)),
        )
        .returning(numbers.c.number)
    )


class NumberAllocator:
    def __init__(self, tables: ChassisTables) -> None:
        self.counters = tables.number_counters
        self.numbers = tables.allocated_numbers
        self._allocate = _allocate_statement(self.counters, self.numbers)

    async def allocate(
        self, session: AsyncSession, register_id: str, year: int, reference: str
    ) -> int:
        """The next number of (register, year), starting at 1; valid once the caller commits.

        The counter row stays locked until the caller's transaction ends: call it once nothing
        is left to read or check, and write only what carries the number after it."""
        params = {"register_id": register_id, "year": year, "reference": reference}
        return int((await session.execute(self._allocate, params)).scalar_one())

    async def void(
        self,
        session: AsyncSession,
        register_id: str,
        year: int,
        number: int,
        *,
        reason: str,
        voided_by: str,
    ) -> None:
        """Mark a number spoiled (e.g. the paper was spoiled). It is never reused."""
        if not reason.strip():
            raise ValueError("a reason is required to void a number")
        n = self.numbers
        current = (
            await session.execute(
                select(n.c.voided_at)
                .where(n.c.register_id == register_id, n.c.year == year, n.c.number == number)
                .with_for_update()
            )
        ).first()
        if current is None:
            raise NumberNotFound(f"number {number} of register {register_id}/{year} not found")
        if current.voided_at is not None:
            raise NumberAlreadyVoided(f"number {number} of {register_id}/{year} is already void")
        await session.execute(
            update(n)
            .where(n.c.register_id == register_id, n.c.year == year, n.c.number == number)
            .values(voided_at=datetime.now(UTC), void_reason=reason.strip(), voided_by=voided_by)
        )

    async def register_book(
        self, session: AsyncSession, register_id: str, year: int
    ) -> list[AllocatedNumber]:
        """Every number of (register, year) in order, voided ones included."""
        n = self.numbers
        rows = await session.execute(
            select(n).where(n.c.register_id == register_id, n.c.year == year).order_by(n.c.number)
        )
        return [AllocatedNumber(**row._mapping) for row in rows]
