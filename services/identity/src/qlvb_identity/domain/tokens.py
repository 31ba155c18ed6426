"""Access-token claims and refresh tokens (mã truy cập, mã làm mới).

Claims are exactly those the chassis' ``http/auth.py`` documents; the delegations a user holds
as delegate travel in the token, so a revocation is felt with the next token (≤ its lifetime).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from qlvb_identity.domain.model import DelegationGrant, delegation_scopes

ISSUER = "qlvb-identity"
AUDIENCE = "qlvb"
MAX_ACCESS_TTL = timedelta(minutes=15)


def access_claims(
    *,
    user_id: str,
    roles: Iterable[str],
    unit_id: str | None,
    delegations: Iterable[DelegationGrant],
    principal_roles: Mapping[str, Iterable[str]],
    now: datetime,
    ttl: timedelta,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> dict[str, Any]:
    """The claims of an access token for ``user_id`` issued at ``now``.

    ``principal_roles`` gives the current roles of each *active* delegating user; delegations
    from anyone else (deactivated, unknown) or not active at ``now`` are left out.
    """
    if ttl > MAX_ACCESS_TTL or ttl <= timedelta(0):
        raise ValueError("an access token lives more than 0 and at most 15 minutes")
    expires = now + ttl
    claimed = []
    for grant in sorted(delegations, key=lambda g: (g.principal, g.delegation_id)):
        if grant.delegate != user_id or not grant.active_at(now):
            continue
        if grant.principal not in principal_roles:
            continue
        scopes = delegation_scopes(grant, principal_roles[grant.principal])
        if not scopes:
            continue
        until = expires if grant.valid_to is None else min(grant.valid_to, expires)
        claimed.append(
            {
                "principal": grant.principal,
                "scopes": scopes,
                "valid_until": int(until.timestamp()),
            }
        )
    return {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
        "roles": sorted(set(roles)),
        "unit": unit_id,
        "delegations": claimed,
    }


def new_refresh_token() -> str:
    """Opaque and random; only its hash is stored."""
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    # A fast hash suffices: the token has 256 bits of entropy, unlike a password.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
