"""Test doubles for services' tests — fakes, named so; never used by a running service.

:class:`FakeTokenIssuer` mints access tokens shaped like identity's (see ``http/auth.py``) with
an in-memory Ed25519 key, and gives the matching :class:`TokenVerifier`, so a service's HTTP
tests need no running identity service.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qlvb_chassis.http.auth import StaticKeySource, TokenVerifier


class FakeTokenIssuer:
    def __init__(self, *, audience: str = "qlvb", issuer: str = "qlvb-identity") -> None:
        self.audience = audience
        self.issuer = issuer
        self.kid = "fake-" + uuid.uuid4().hex[:8]
        self._key = Ed25519PrivateKey.generate()

    def verifier(self) -> TokenVerifier:
        keys = StaticKeySource({self.kid: self._key.public_key()})
        return TokenVerifier(keys, audience=self.audience, issuer=self.issuer)

    def token(
        self,
        user: str,
        roles: Iterable[str] = (),
        *,
        unit: str | None = None,
        delegations: Iterable[dict[str, Any]] = (),
        ttl: timedelta = timedelta(minutes=10),
    ) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "roles": sorted(roles),
            "unit": unit,
            "delegations": list(delegations),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, user: str, roles: Iterable[str] = (), **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, roles, **kwargs)}"}
