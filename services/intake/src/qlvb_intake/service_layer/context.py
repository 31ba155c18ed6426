"""The ports intake's use cases work with, assembled once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qlvb_chassis.calendar import WorkingCalendar
from qlvb_chassis.db import Database, UnitOfWork
from qlvb_chassis.idempotency import IdempotencyClaim, IdempotencyKeys
from qlvb_chassis.numbering import NumberAllocator
from qlvb_chassis.storage import ObjectStore
from qlvb_intake.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Intake:
    settings: Settings
    db: Database
    store: ObjectStore
    calendar: WorkingCalendar
    numbers: NumberAllocator
    keys: IdempotencyKeys
    clock: Callable[[], datetime] = field(default=_now)


@dataclass(frozen=True)
class Outcome:
    """What a use case answers: an HTTP-like status and a JSON body. ``problem`` marks a refusal
    that was nevertheless recorded (audit, event), so it is committed and answered as 4xx."""

    status: int
    body: dict[str, Any]
    problem: bool = False


async def replayed(ctx: Intake, uow: UnitOfWork, claim: IdempotencyClaim | None) -> Outcome | None:
    """The stored answer to an earlier request with this key, if any."""
    if claim is None:
        return None
    stored = await ctx.keys.lookup(uow.session, claim.principal, claim.key, claim.fingerprint)
    if stored is None:
        return None
    return Outcome(stored.status_code, stored.body, problem=stored.status_code >= 400)


async def finish(
    ctx: Intake, uow: UnitOfWork, claim: IdempotencyClaim | None, outcome: Outcome
) -> Outcome:
    """Store the answer under the key and commit; a concurrent twin that won returns its own."""
    if claim is not None:
        stored = await ctx.keys.store(
            uow.session, claim.principal, claim.key, claim.fingerprint, outcome.status, outcome.body
        )
        if stored is not None:
            return Outcome(stored.status_code, stored.body, problem=stored.status_code >= 400)
    await uow.commit()
    return outcome
