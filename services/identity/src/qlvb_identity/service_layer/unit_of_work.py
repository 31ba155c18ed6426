"""Running a command in one transaction, with the Idempotency-Key of creating requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from qlvb_chassis.db import Database, UnitOfWork
from qlvb_chassis.idempotency import IdempotencyKeys
from qlvb_identity.adapters import orm

T = TypeVar("T")
KEYS = IdempotencyKeys(orm.chassis)


@dataclass(frozen=True)
class IdempotencyClaim:
    """The caller's Idempotency-Key and the fingerprint of the request it came with."""

    principal: str
    key: str
    fingerprint: str


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
        if claim is not None:
            stored = await KEYS.lookup(uow.session, claim.principal, claim.key, claim.fingerprint)
            if stored is not None:
                return dict(stored.body)
        body = await work(uow)
        if claim is not None:
            raced = await KEYS.store(
                uow.session, claim.principal, claim.key, claim.fingerprint, 201, body
            )
            if raced is not None:
                return dict(raced.body)  # leaving without commit drops our copy
        await uow.commit()
        return body
