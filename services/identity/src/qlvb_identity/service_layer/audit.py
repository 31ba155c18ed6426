"""Writing and checking the hash-chained audit log (nhật ký kiểm tra)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_contracts.envelope import Actor
from qlvb_identity import metrics
from qlvb_identity.adapters.orm import audit_log
from qlvb_identity.domain import audit

SYSTEM = "system"


def _content(
    at: datetime,
    acted_by: str | None,
    on_behalf_of: str | None,
    action: str,
    target_type: str,
    target_id: str,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "at": at.astimezone(UTC).isoformat(),
        "acted_by": acted_by,
        "on_behalf_of": on_behalf_of,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": dict(details),
    }


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    details: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Append one entry, chained to the previous one, in the caller's transaction."""
    # Entries are chained in commit order: one writer at a time, held until commit.
    await session.execute(text("select pg_advisory_xact_lock(hashtext('qlvb-identity-audit'))"))
    previous = (
        await session.execute(select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1))
    ).scalar_one_or_none() or audit.GENESIS
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    acted_by = actor.user or SYSTEM
    content = _content(
        moment, acted_by, actor.on_behalf_of, action, target_type, target_id, details or {}
    )
    await session.execute(
        audit_log.insert().values(
            at=moment,
            acted_by=acted_by,
            on_behalf_of=actor.on_behalf_of,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=content["details"],
            prev_hash=previous,
            hash=audit.chain_hash(previous, content),
        )
    )
    metrics.AUDITED.labels(action).inc()


async def entries(
    session: AsyncSession, *, after: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def verify(session: AsyncSession) -> dict[str, Any]:
    """Recompute the whole chain; ``broken_at`` is the first entry that does not hold."""
    rows = (await session.execute(select(audit_log).order_by(audit_log.c.seq))).all()
    chain = [
        (
            r.seq,
            r.prev_hash,
            r.hash,
            _content(
                r.at, r.acted_by, r.on_behalf_of, r.action, r.target_type, r.target_id, r.details
            ),
        )
        for r in rows
    ]
    broken = audit.first_broken(chain)
    return {"entries": len(chain), "intact": broken is None, "broken_at": broken}
