"""The head of a service's hash-chained audit log, read once per transaction.

Each service keeps an append-only audit log whose entries hash the previous entry's hash; writers
take turns through a transaction-scoped advisory lock, then read the head. Once a transaction
holds the lock no one else can append, so the head it read (and then advanced itself) stays the
head until it ends: :class:`ChainHead` remembers it in the session, and a transaction appending
many entries (a consumer batch, a change with several events) takes the lock and reads the head
once instead of once per entry. Any rollback — a savepoint of one record in a consumer batch, or
the whole transaction — forgets it, so the next entry reads the head again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, TextClause, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_INFO_KEY = "qlvb.audit.chain_heads"


class ChainHead:
    """``lock`` is the advisory-lock statement (with ``lock_params``); ``head`` selects the
    newest entry's hash (no row: ``genesis``)."""

    def __init__(
        self,
        name: str,
        *,
        lock: TextClause,
        head: Select[Any],
        genesis: str,
        lock_params: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.lock = lock
        self.lock_params = lock_params or {}
        self.head = head
        self.genesis = genesis

    async def get(self, session: AsyncSession) -> str:
        """The hash to chain the next entry to; the caller holds the lock until it ends."""
        heads: dict[str, str] = session.info.setdefault(_INFO_KEY, {})
        known = heads.get(self.name)
        if known is not None:
            return known
        await session.execute(self.lock, self.lock_params)
        found = (await session.execute(self.head)).scalar_one_or_none()
        head = found if isinstance(found, str) else self.genesis
        heads[self.name] = head
        return head

    def advance(self, session: AsyncSession, new_hash: str) -> None:
        """The entry with ``new_hash`` was written in this transaction: it is the head now."""
        session.info.setdefault(_INFO_KEY, {})[self.name] = new_hash


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint may have held entries: the remembered head may be gone with them.
    session.info.pop(_INFO_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    # The lock ends with the outermost transaction: another writer may append after it.
    if transaction.parent is None:
        session.info.pop(_INFO_KEY, None)
