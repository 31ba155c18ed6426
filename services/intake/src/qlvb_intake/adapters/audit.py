"""The append-only, hash-chained audit log (ARCHITECTURE §4), written in the caller's transaction.

Each entry's hash covers the previous entry's hash and its own content, so rewriting or removing
an entry breaks every later hash. Writers of one schema serialize on a transaction-scoped
advisory lock so the chain has no forks; callers take it last, just before commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.audit import ChainHead
from qlvb_intake.adapters.orm import audit_log

GENESIS = "0" * 64
_HEAD = ChainHead(
    "intake",
    lock=text("select pg_advisory_xact_lock(hashtext(current_schema() || :suffix))"),
    lock_params={"suffix": "/audit"},
    head=select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1),
    genesis=GENESIS,
)


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def record(
    session: AsyncSession,
    action: str,
    *,
    acted_by: str | None,
    on_behalf_of: str | None = None,
    subject_id: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    prev = await _HEAD.get(session)
    moment = at or datetime.now(UTC)
    content = {
        "at": moment.isoformat(),
        "acted_by": acted_by,
        "on_behalf_of": on_behalf_of,
        "action": action,
        "subject_id": subject_id,
        "details": details or {},
    }
    new_hash = entry_hash(prev, content)
    await session.execute(
        audit_log.insert().values(
            at=moment,
            acted_by=acted_by,
            on_behalf_of=on_behalf_of,
            action=action,
            subject_id=subject_id,
            details=details or {},
            prev_hash=prev,
            hash=new_hash,
        )
    )
    _HEAD.advance(session, new_hash)


async def verify_chain(session: AsyncSession) -> bool:
    """Whether every entry's hash matches its content and its predecessor."""
    prev = GENESIS
    rows = await session.execute(select(audit_log).order_by(audit_log.c.id))
    for row in rows:
        content = {
            "at": row.at.astimezone(UTC).isoformat(),
            "acted_by": row.acted_by,
            "on_behalf_of": row.on_behalf_of,
            "action": row.action,
            "subject_id": row.subject_id,
            "details": row.details,
        }
        if row.prev_hash != prev or row.hash != entry_hash(prev, content):
            return False
        prev = row.hash
    return True
