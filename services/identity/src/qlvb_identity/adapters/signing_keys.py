"""Token signing keys (khóa ký) kept in the identity database, and the in-process key source.

The current key signs; a rotation makes a new current key and retires the old one, which stays
in the JWKS (and keeps verifying) until every token it signed has expired.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.db import Database
from qlvb_chassis.http.auth import public_jwk
from qlvb_identity.adapters.orm import signing_keys

ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


def _new_kid(now: datetime) -> str:
    return f"id-{now:%Y%m%d}-{secrets.token_hex(4)}"


class KeyStore:
    """Reads and writes signing keys; ``passphrase`` encrypts private keys at rest."""

    def __init__(self, passphrase: bytes | None, verify_window: timedelta) -> None:
        self._passphrase = passphrase
        # How long a retired key still verifies: the longest token lifetime plus leeway.
        self.verify_window = verify_window

    def _serialize(self, key: Ed25519PrivateKey) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def _load(self, data: bytes) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(data, password=self._passphrase or None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError("signing keys are Ed25519")
        return key

    async def _insert(self, session: AsyncSession, now: datetime) -> SigningKey:
        key = Ed25519PrivateKey.generate()
        kid = _new_kid(now)
        await session.execute(
            signing_keys.insert().values(
                kid=kid,
                algorithm=ALGORITHM,
                private_key=self._serialize(key),
                public_jwk=public_jwk(kid, key.public_key()),
                created_at=now,
            )
        )
        return SigningKey(kid, key)

    async def _lock(self, session: AsyncSession) -> None:
        # Two copies starting together must not both create "the" current key.
        await session.execute(text("select pg_advisory_xact_lock(hashtext('qlvb-identity-keys'))"))

    async def current(self, session: AsyncSession, now: datetime) -> SigningKey:
        """The key that signs now, created on first use."""
        row = (
            await session.execute(
                select(signing_keys.c.kid, signing_keys.c.private_key)
                .where(signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created_at.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            return SigningKey(row.kid, self._load(row.private_key))
        await self._lock(session)
        row = (
            await session.execute(
                select(signing_keys.c.kid, signing_keys.c.private_key).where(
                    signing_keys.c.retired_at.is_(None)
                )
            )
        ).first()
        if row is not None:
            return SigningKey(row.kid, self._load(row.private_key))
        return await self._insert(session, now)

    async def rotate(self, session: AsyncSession, now: datetime) -> tuple[str, list[str]]:
        """A new current key; returns its kid and the kids it retired."""
        await self._lock(session)
        retired = (
            await session.execute(
                update(signing_keys)
                .where(signing_keys.c.retired_at.is_(None))
                .values(retired_at=now)
                .returning(signing_keys.c.kid)
            )
        ).scalars()
        retired_kids = list(retired)
        key = await self._insert(session, now)
        return key.kid, retired_kids

    async def published(self, session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
        """JWKS entries: the current key and retired keys whose tokens may still be valid."""
        rows = await session.execute(
            select(signing_keys.c.public_jwk)
            .where(
                (signing_keys.c.retired_at.is_(None))
                | (signing_keys.c.retired_at > now - self.verify_window)
            )
            .order_by(signing_keys.c.created_at.desc())
        )
        return [dict(r) for r in rows.scalars()]


class DatabaseKeySource:
    """The chassis ``KeySource`` for identity's own API: keys straight from its database, so
    identity never calls itself over HTTP. Known keys are cached briefly."""

    CACHE_S = 30.0

    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._db: Database | None = None
        self._cache: dict[str, tuple[float, jwt.PyJWK]] = {}

    def bind(self, db: Database) -> None:
        self._db = db

    async def get_key(self, kid: str) -> jwt.PyJWK | None:
        cached = self._cache.get(kid)
        if cached is not None and time.monotonic() - cached[0] < self.CACHE_S:
            return cached[1]
        if self._db is None:
            raise RuntimeError("DatabaseKeySource is not bound to a database")
        now = datetime.now(UTC)
        async with self._db.uow() as uow:
            entries = await self._store.published(uow.session, now)
        for entry in entries:
            if entry.get("kid") == kid:
                key = jwt.PyJWK(entry)
                self._cache[kid] = (time.monotonic(), key)
                return key
        self._cache.pop(kid, None)
        return None
