"""What every handler needs: who calls, the clock, and how an aggregate's events leave."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from qlvb_chassis.db import UnitOfWork
from qlvb_contracts.envelope import Actor
from qlvb_contracts.registry import ROUTING_EVENTS
from qlvb_contracts.topics import Payload
from qlvb_routing.adapters.repository import audit
from qlvb_routing.domain.model import Acting, resolve_acting
from qlvb_routing.metrics import EVENTS


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request, as the service layer needs them."""

    acted_by: str
    on_behalf_of: str | None = None
    roles: frozenset[str] = frozenset()
    delegators: frozenset[str] = field(default_factory=frozenset)
    """Users who have delegated to this one (valid now), from the access token."""

    def acting_for(self, owner: str) -> Acting:
        return resolve_acting(self.acted_by, self.on_behalf_of, self.delegators, owner)

    @property
    def identities(self) -> set[str]:
        """Whose seat this user may sit in: their own and their delegators'."""
        if self.on_behalf_of:
            return {self.acted_by, self.on_behalf_of}
        return {self.acted_by, *self.delegators}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def utcnow() -> datetime:
    return datetime.now(UTC)


async def emit(
    uow: UnitOfWork,
    events: list[Payload],
    *,
    acting: Acting | None,
    at: datetime,
    case_id: str | None = None,
    work_file_id: str | None = None,
) -> None:
    """Publish an aggregate's new events through the outbox and write each to the audit log,
    in the transaction of the change; the list is emptied."""
    actor = Actor(
        user=acting.acted_by if acting else None,
        on_behalf_of=acting.on_behalf_of if acting else None,
    )
    for event in _drain(events):
        await uow.publish(ROUTING_EVENTS, event, actor=actor)
        details = event.model_dump(mode="json")
        await audit(
            uow.session,
            action=event.EVENT_TYPE,
            at=at,
            acted_by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            details=details,
            case_id=details.get("case_id") or case_id,
            work_file_id=details.get("work_file_id") or work_file_id,
        )
        EVENTS.labels(event.EVENT_TYPE).inc()


def _drain(events: list[Payload]) -> Iterable[Payload]:
    taken = list(events)
    events.clear()
    return taken
