"""Signing in (đăng nhập): passwords, throttling, access and refresh tokens, key rotation."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.db import Database, UnitOfWork
from qlvb_contracts.envelope import Actor
from qlvb_identity import metrics
from qlvb_identity.adapters.orm import delegations, login_attempts, refresh_tokens, users
from qlvb_identity.adapters.signing_keys import ALGORITHM, KeyStore
from qlvb_identity.domain import passwords, tokens
from qlvb_identity.domain.model import DelegationGrant
from qlvb_identity.domain.throttling import ThrottlePolicy
from qlvb_identity.service_layer import admin, audit
from qlvb_identity.service_layer.errors import Rejected
from qlvb_identity.service_layer.unit_of_work import run
from qlvb_identity.settings import Settings

BAD_CREDENTIALS = "the username or password is wrong"


@dataclass(frozen=True)
class TokenPolicy:
    access_ttl: timedelta
    refresh_ttl: timedelta
    issuer: str
    audience: str
    throttle: ThrottlePolicy
    ip_max_failures: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenPolicy:
        return cls(
            access_ttl=timedelta(seconds=settings.access_token_ttl_s),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_s),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            throttle=ThrottlePolicy(
                max_failures=settings.login_max_failures,
                window=timedelta(seconds=settings.login_window_s),
                lock_for=timedelta(seconds=settings.login_lock_s),
            ),
            ip_max_failures=settings.login_ip_max_failures,
        )


class Authenticator:
    """Login, refresh, logout and signing-key rotation over the identity database."""

    def __init__(self, db: Database, keys: KeyStore, policy: TokenPolicy) -> None:
        self.db = db
        self.keys = keys
        self.policy = policy

    # -- tokens ---------------------------------------------------------------------------------

    async def access_token(self, session: AsyncSession, user: Row[Any], now: datetime) -> str:
        """A signed access token with the user's roles, unit and active delegations."""
        grants = [
            DelegationGrant(
                delegation_id=r.delegation_id,
                principal=r.principal,
                delegate=r.delegate,
                roles=tuple(r.roles),
                actions=tuple(r.actions),
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                revoked=r.revoked,
            )
            for r in await session.execute(
                select(delegations).where(
                    delegations.c.delegate == user.user_id, delegations.c.revoked.is_(False)
                )
            )
        ]
        principals = {g.principal for g in grants}
        principal_roles = {
            r.user_id: list(r.roles)
            for r in await session.execute(
                select(users.c.user_id, users.c.roles).where(
                    users.c.user_id.in_(principals), users.c.active.is_(True)
                )
            )
        }
        claims = tokens.access_claims(
            user_id=user.user_id,
            roles=user.roles,
            unit_id=user.unit_id,
            delegations=grants,
            principal_roles=principal_roles,
            now=now,
            ttl=self.policy.access_ttl,
            issuer=self.policy.issuer,
            audience=self.policy.audience,
        )
        key = await self.keys.current(session, now)
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
        )

    async def _grant(
        self,
        session: AsyncSession,
        user: Row[Any],
        now: datetime,
        *,
        family_id: str,
        expires_at: datetime,
        grant: str,
    ) -> dict[str, Any]:
        refresh = tokens.new_refresh_token()
        await session.execute(
            refresh_tokens.insert().values(
                token_hash=tokens.refresh_token_hash(refresh),
                family_id=family_id,
                user_id=user.user_id,
                issued_at=now,
                expires_at=expires_at,
            )
        )
        metrics.TOKENS_ISSUED.labels(grant).inc()
        return {
            "access_token": await self.access_token(session, user, now),
            "token_type": "Bearer",
            "expires_in": int(self.policy.access_ttl.total_seconds()),
            "refresh_token": refresh,
            "refresh_expires_in": max(0, int((expires_at - now).total_seconds())),
        }

    # -- login ----------------------------------------------------------------------------------

    async def _recent(
        self, session: AsyncSession, column: Any, value: str, since: datetime
    ) -> list[datetime]:
        """Failed attempts since ``since`` and since the last success for this key."""
        last_success = await session.scalar(
            select(func.max(login_attempts.c.at)).where(
                column == value, login_attempts.c.succeeded.is_(True), login_attempts.c.at > since
            )
        )
        start = max(since, last_success) if last_success else since
        rows = await session.execute(
            select(login_attempts.c.at).where(
                column == value, login_attempts.c.succeeded.is_(False), login_attempts.c.at > start
            )
        )
        return list(rows.scalars())

    @staticmethod
    def _retry_after(until: datetime, now: datetime) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil((until - now).total_seconds())))}

    async def login(self, username: str, password: str, ip: str) -> dict[str, Any]:
        """Check the password and open a session; failures are recorded even though refused."""
        username = username.strip().lower()
        now = datetime.now(UTC)
        throttle = self.policy.throttle
        lookback = now - throttle.window - throttle.lock_for
        async with self.db.uow() as uow:
            session = uow.session
            ip_failures = await self._recent(
                session, login_attempts.c.ip, ip, now - throttle.window
            )
            if len(ip_failures) >= self.policy.ip_max_failures:
                metrics.LOGINS.labels("throttled").inc()
                raise Rejected(
                    429,
                    "Too many failed logins",
                    "too many failed logins from this address; try again later",
                    slug="login-throttled",
                    headers=self._retry_after(min(ip_failures) + throttle.window, now),
                )
            failures = await self._recent(session, login_attempts.c.username, username, lookback)
            locked_until = throttle.locked_until(failures, now)
            if locked_until is not None:
                metrics.LOGINS.labels("locked").inc()
                raise Rejected(
                    423,
                    "Account locked",
                    "too many wrong passwords; the account is locked for a while",
                    slug="account-locked",
                    headers=self._retry_after(locked_until, now),
                )
            user = (
                await session.execute(
                    select(users).where(users.c.user_id == username).with_for_update()
                )
            ).first()
            stored = user.password_hash if user is not None else None
            ok = await asyncio.to_thread(passwords.verify_password, stored, password)
            if user is not None and ok and not user.active:
                metrics.LOGINS.labels("inactive").inc()
                raise Rejected(
                    403,
                    "Account deactivated",
                    "this account is deactivated",
                    slug="account-inactive",
                )
            if user is None or not ok:
                await session.execute(
                    login_attempts.insert().values(
                        username=username, ip=ip, succeeded=False, at=now
                    )
                )
                if throttle.locked_until([*failures, now], now) is not None:
                    metrics.LOCKOUTS.inc()
                    await audit.record(
                        session, Actor(), "login.locked", "user", username, {"ip": ip}, at=now
                    )
                await uow.commit()
                metrics.LOGINS.labels("failed").inc()
                raise Rejected(401, "Login failed", BAD_CREDENTIALS, slug="login-failed")
            await session.execute(
                login_attempts.insert().values(username=username, ip=ip, succeeded=True, at=now)
            )
            if passwords.needs_rehash(user.password_hash):
                new_hash = await asyncio.to_thread(passwords.hash_password, password)
                await session.execute(
                    update(users).where(users.c.user_id == username).values(password_hash=new_hash)
                )
            body = await self._grant(
                session,
                user,
                now,
                family_id=uuid.uuid4().hex,
                expires_at=now + self.policy.refresh_ttl,
                grant="password",
            )
            await uow.commit()
            metrics.LOGINS.labels("succeeded").inc()
            return body

    # -- refresh and logout ---------------------------------------------------------------------

    async def _revoke_family(self, session: AsyncSession, family_id: str, now: datetime) -> None:
        await session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def refresh(self, token: str) -> dict[str, Any]:
        """Rotate: the presented token is spent and a new one returned with a new access token.

        A spent token presented again means it was stolen (or the client is broken): the whole
        family — every token descended from that login — is revoked.
        """
        now = datetime.now(UTC)
        invalid = Rejected(401, "Invalid refresh token", "sign in again", slug="invalid-refresh")
        async with self.db.uow() as uow:
            session = uow.session
            row = (
                await session.execute(
                    select(refresh_tokens)
                    .where(refresh_tokens.c.token_hash == tokens.refresh_token_hash(token))
                    .with_for_update()
                )
            ).first()
            if row is None or row.expires_at <= now:
                raise invalid
            if row.used_at is not None or row.revoked_at is not None:
                if row.used_at is not None:
                    metrics.REFRESH_REUSE.inc()
                    await self._revoke_family(session, row.family_id, now)
                    await audit.record(
                        session,
                        Actor(),
                        "refresh.reuse_detected",
                        "user",
                        row.user_id,
                        {"family_id": row.family_id},
                        at=now,
                    )
                    await uow.commit()
                raise invalid
            user = (
                await session.execute(select(users).where(users.c.user_id == row.user_id))
            ).one()
            if not user.active:
                await self._revoke_family(session, row.family_id, now)
                await uow.commit()
                raise Rejected(
                    403,
                    "Account deactivated",
                    "this account is deactivated",
                    slug="account-inactive",
                )
            await session.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.token_hash == row.token_hash)
                .values(used_at=now)
            )
            body = await self._grant(
                session,
                user,
                now,
                family_id=row.family_id,
                expires_at=row.expires_at,
                grant="refresh_token",
            )
            await uow.commit()
            return body

    async def logout(self, token: str) -> None:
        """End the session the refresh token belongs to; unknown tokens are ignored."""
        now = datetime.now(UTC)

        async def work(uow: UnitOfWork) -> None:
            family = await uow.session.scalar(
                select(refresh_tokens.c.family_id).where(
                    refresh_tokens.c.token_hash == tokens.refresh_token_hash(token)
                )
            )
            if family is not None:
                await self._revoke_family(uow.session, family, now)

        await run(self.db, work)

    async def change_own_password(self, user_id: str, current: str, new: str) -> None:
        async with self.db.uow() as uow:
            stored = await uow.session.scalar(
                select(users.c.password_hash).where(users.c.user_id == user_id)
            )
        if not await asyncio.to_thread(passwords.verify_password, stored, current):
            raise Rejected(
                403, "Wrong password", "the current password is wrong", slug="wrong-password"
            )
        await admin.set_password(self.db, user_id, new, Actor(user=user_id))

    # -- keys -----------------------------------------------------------------------------------

    async def jwks(self) -> dict[str, Any]:
        now = datetime.now(UTC)

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            await self.keys.current(uow.session, now)  # a fresh install has a key at once
            return {"keys": await self.keys.published(uow.session, now)}

        return await run(self.db, work)

    async def rotate_keys(self, actor: Actor) -> dict[str, Any]:
        now = datetime.now(UTC)

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            kid, retired = await self.keys.rotate(uow.session, now)
            await audit.record(
                uow.session, actor, "signing_key.rotated", "signing_key", kid, {"retired": retired}
            )
            return {"kid": kid, "retired": retired}

        return await run(self.db, work)
