"""Idempotency-Key for POSTs that create (ARCHITECTURE §3.5).

The key is claimed in the same transaction as the creation, so a retried request either finds the
stored response (the first one committed) or waits on the unique index while the first is in
flight and then finds it. Keys are scoped to the caller; the same key with a different request
body is refused (422), as the IETF draft for the header recommends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.db import ChassisTables, UnitOfWork
from qlvb_chassis.http.problems import Problem

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


@dataclass(frozen=True)
class IdempotencyClaim:
    """A caller's Idempotency-Key with the fingerprint of the request it came with."""

    principal: str
    key: str
    fingerprint: str

    @classmethod
    def of(
        cls, principal: str, key: str | None, method: str, path: str, body: Any
    ) -> IdempotencyClaim | None:
        """None when the request has no key; a 400 problem when the key is malformed."""
        key = IdempotencyKeys.validate(key)
        if key is None:
            return None
        return cls(principal, key, fingerprint(method, path, body))


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    def __init__(self, tables: ChassisTables) -> None:
        self.table = tables.idempotency_keys

    @staticmethod
    def validate(key: str | None) -> str | None:
        if key is None:
            return None
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise Problem(
                400,
                "Invalid Idempotency-Key",
                f"the key must be 1..{MAX_KEY_LENGTH} printable characters",
                slug="invalid-idempotency-key",
            )
        return key

    async def lookup(
        self, session: AsyncSession, principal: str, key: str, request_fingerprint: str
    ) -> StoredResponse | None:
        """The stored response of an earlier request with this key, or None to go ahead."""
        t = self.table
        row = (
            await session.execute(
                select(t.c.fingerprint, t.c.status_code, t.c.response).where(
                    t.c.principal == principal, t.c.key == key
                )
            )
        ).first()
        if row is None:
            return None
        if row.fingerprint != request_fingerprint:
            raise Problem(
                422,
                "Idempotency-Key reused",
                "this Idempotency-Key was already used for a different request",
                slug="idempotency-key-reused",
            )
        return StoredResponse(row.status_code, row.response)

    async def run(
        self,
        uow: UnitOfWork,
        claim: IdempotencyClaim | None,
        work: Callable[[], Awaitable[StoredResponse]],
    ) -> StoredResponse:
        """The whole creating request in ``uow``: replay the stored response of an earlier request
        with this key, or do ``work``, store its response under the key and commit. If a
        concurrent twin committed first, its response is returned and ours rolls back."""
        if claim is not None:
            earlier = await self.lookup(uow.session, claim.principal, claim.key, claim.fingerprint)
            if earlier is not None:
                return earlier
        response = await work()
        if claim is not None:
            raced = await self.store(
                uow.session,
                claim.principal,
                claim.key,
                claim.fingerprint,
                response.status_code,
                response.body,
            )
            if raced is not None:
                return raced
        await uow.commit()
        return response

    async def store(
        self,
        session: AsyncSession,
        principal: str,
        key: str,
        request_fingerprint: str,
        status_code: int,
        body: Any,
    ) -> StoredResponse | None:
        """Record the response in the creating transaction. If a concurrent request with the
        same key committed first, returns its response: the caller must roll back and return it.
        """
        t = self.table
        inserted = (
            await session.execute(
                pg_insert(t)
                .values(
                    principal=principal,
                    key=key,
                    fingerprint=request_fingerprint,
                    status_code=status_code,
                    response=body,
                )
                .on_conflict_do_nothing()
                .returning(t.c.key)
            )
        ).first()
        if inserted is not None:
            return None
        return await self.lookup(session, principal, key, request_fingerprint)
