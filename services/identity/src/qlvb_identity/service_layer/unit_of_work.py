"""Running a command in one transaction, with the Idempotency-Key of creating requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from qlvb_chassis.db import Database, UnitOfWork
from qlvb_chassis.idempotency import IdempotencyClaim, IdempotencyKeys, StoredResponse
from qlvb_identity.adapters import orm

T = TypeVar("T")
KEYS = IdempotencyKeys(orm.chassis)

__all__ = ["KEYS", "IdempotencyClaim", "create", "run"]


async def run(db: Database, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Do ``work`` and commit; any exception rolls everything back."""
    async with db.uow() as uow:
        result = await work(uow)
        await uow.commit()
        return result


async def create(
    db: Database,
    claim: IdempotencyClaim | None,
    work: Callable[[UnitOfWork], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Like :func:`run` for a creation; a repeated key returns the first response instead."""
    async with db.uow() as uow:

        async def created() -> StoredResponse:
            return StoredResponse(201, await work(uow))

        return dict((await KEYS.run(uow, claim, created)).body)
