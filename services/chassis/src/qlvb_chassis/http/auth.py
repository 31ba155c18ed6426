"""Verification of identity-issued access tokens and role checks with delegation (ủy quyền).

The identity service signs short-lived JWTs (ARCHITECTURE §4). Their claims::

    {"iss": ..., "aud": ..., "sub": "<user id>", "iat": ..., "exp": ...,
     "roles": ["specialist", ...], "unit": "<org unit id>" | null,
     "delegations": [{"principal": "<user who delegated>", "scopes": ["office_leader", ...],
                      "valid_until": <NumericDate or ISO 8601 with offset>}]}

A delegation lets the token holder act for ``principal`` with the listed scopes (roles or action
names); identity only issues scopes the delegating user holds. Services verify tokens with the
public keys from identity's JWKS, accepting EdDSA and RS256 only: ``alg=none``, HMAC and anything
else are refused before a key is even looked up, so a public key can never be used as an HMAC
secret. Keys are never fetched from URLs named in a token (``jku``/``x5u`` are ignored).

Wiring in a service's app factory::

    keys = JwksKeySource(f"{settings.identity_url}/.well-known/jwks.json")
    install_token_verifier(app, TokenVerifier(keys, audience=..., issuer=...))

    @router.post("/documents/{id}/approve")
    async def approve(actor: Annotated[Actor, Depends(require_roles("office_leader"))]): ...
"""

# No ``from __future__ import annotations``: FastAPI must evaluate the dependency closures'
# annotations, which name local variables.
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from fastapi import Depends, FastAPI, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from qlvb_chassis.http.problems import Problem

__all__ = [
    "ALLOWED_ALGORITHMS",
    "ON_BEHALF_OF_HEADER",
    "Actor",
    "Delegation",
    "JwksKeySource",
    "KeySource",
    "KeySourceUnavailable",
    "Principal",
    "StaticKeySource",
    "TokenRejected",
    "TokenVerifier",
    "authorize",
    "install_token_verifier",
    "public_jwk",
    "require_principal",
    "require_roles",
]

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"EdDSA", "RS256"})
REQUIRED_CLAIMS = ("sub", "exp", "iat", "aud", "iss")
ON_BEHALF_OF_HEADER = "X-On-Behalf-Of"
# Real access tokens are a few hundred bytes; refuse to parse anything absurd.
MAX_TOKEN_LENGTH = 16 * 1024


# --- claims ----------------------------------------------------------------------------------


class Delegation(BaseModel):
    """Permission for the token holder to act for ``principal`` within ``scopes``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    principal: str = Field(min_length=1)
    scopes: frozenset[str]
    valid_until: AwareDatetime

    def is_valid(self, at: datetime) -> bool:
        return at < self.valid_until

    def covers(self, scope: str) -> bool:
        return scope in self.scopes


class Principal(BaseModel):
    """The authenticated user, as the access token describes them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user: str = Field(min_length=1)
    roles: frozenset[str] = frozenset()
    unit: str | None = None
    delegations: tuple[Delegation, ...] = ()

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> "Principal":
        return cls(
            user=claims.get("sub"),
            roles=claims.get("roles") or (),
            unit=claims.get("unit"),
            delegations=claims.get("delegations") or (),
        )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def active_delegations(self, at: datetime | None = None) -> list[Delegation]:
        moment = at or datetime.now(UTC)
        return [d for d in self.delegations if d.is_valid(moment)]

    def acting_for(self, user_or_role: str, *, at: datetime | None = None) -> Delegation | None:
        """The valid delegation that lets this user act for a user, or with a role or action.

        A delegation from that user wins over one whose scopes merely name it.
        """
        active = self.active_delegations(at)
        for delegation in active:
            if delegation.principal == user_or_role:
                return delegation
        for delegation in active:
            if delegation.covers(user_or_role):
                return delegation
        return None


class Actor(BaseModel):
    """Who performs an authorised action, for the audit log (acted_by / on_behalf_of)."""

    model_config = ConfigDict(frozen=True)

    principal: Principal
    acted_by: str
    on_behalf_of: str | None = None
    role: str
    delegation: Delegation | None = None


# --- keys ------------------------------------------------------------------------------------


class KeySourceUnavailable(Exception):
    """The signing keys cannot be obtained right now (identity unreachable)."""


class KeySource(Protocol):
    async def get_key(self, kid: str) -> jwt.PyJWK | None:
        """The verification key with this id, or None if the issuer has no such key."""
        ...


PublicKey = Ed25519PublicKey | RSAPublicKey


def public_jwk(kid: str, key: PublicKey) -> dict[str, Any]:
    """The JWKS entry of a public signing key, as identity publishes it and services read it."""
    if isinstance(key, Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
        algorithm = "EdDSA"
    elif isinstance(key, RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
        algorithm = "RS256"
    else:
        raise TypeError(f"only Ed25519 and RSA public keys sign tokens, got {type(key).__name__}")
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


def _parse_jwk(entry: Any) -> tuple[str, jwt.PyJWK] | None:
    """A usable verification key from a JWKS entry, or None (logged) for anything else."""
    if not isinstance(entry, dict):
        return None
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        logger.warning("JWKS entry without kid ignored")
        return None
    if entry.get("use", "sig") != "sig":
        return None
    if "d" in entry or "p" in entry:
        logger.error("JWKS entry %s holds private key material; ignored", kid)
        return None
    try:
        key = jwt.PyJWK(entry)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        logger.warning("JWKS entry %s unusable: %s", kid, exc)
        return None
    if key.algorithm_name not in ALLOWED_ALGORITHMS:
        logger.warning("JWKS entry %s uses disallowed algorithm %s", kid, key.algorithm_name)
        return None
    return kid, key


class StaticKeySource:
    """Keys given up front: tests, and tools that hold identity's public keys locally."""

    def __init__(self, keys: Mapping[str, PublicKey | Mapping[str, Any]]) -> None:
        self._keys: dict[str, jwt.PyJWK] = {}
        for kid, key in keys.items():
            entry = {**key, "kid": kid} if isinstance(key, Mapping) else public_jwk(kid, key)
            parsed = _parse_jwk(entry)
            if parsed is None:
                raise ValueError(f"key {kid!r} is not a usable EdDSA or RS256 public key")
            self._keys[kid] = parsed[1]

    async def get_key(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)


class JwksKeySource:
    """Identity's public keys from its JWKS URL, cached by kid.

    An unknown kid (identity rotated its key) triggers a refetch, at most once per
    ``min_refetch_interval`` seconds so forged kids cannot make us hammer identity. The whole set
    is also refreshed after ``max_age`` seconds so withdrawn keys stop verifying. When identity
    is unreachable, keys already known keep working; an unknown kid raises
    :class:`KeySourceUnavailable` (answered 503), since we cannot tell whether it is valid.
    Nothing is fetched before the first token arrives.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        min_refetch_interval: float = 30.0,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._client = client
        self._min_refetch_interval = min_refetch_interval
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_error: str | None = None
        self._lock = asyncio.Lock()

    async def get_key(self, kid: str) -> jwt.PyJWK | None:
        key = self._keys.get(kid)
        if key is not None and not self._is_stale():
            return key
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            key = self._keys.get(kid)
            if key is not None and not self._is_stale():
                return key
            now = self._clock()
            if (
                self._attempted_at is not None
                and now - self._attempted_at < self._min_refetch_interval
            ):
                if key is None and self._last_error is not None:
                    raise KeySourceUnavailable(self._last_error)
                return key
            self._attempted_at = now
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                self._last_error = f"cannot fetch JWKS from {self._url}: {exc}"
                logger.warning("%s", self._last_error)
                if key is not None:
                    return key
                raise KeySourceUnavailable(self._last_error) from exc
            self._fetched_at = now
            self._last_error = None
            return self._keys.get(kid)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._max_age

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        if self._client is not None:
            response = await self._client.get(self._url, timeout=self._timeout)
        else:
            # Fetches are rare (rotation, hourly refresh): a client per fetch needs no closing.
            async with httpx.AsyncClient() as client:
                response = await client.get(self._url, timeout=self._timeout)
        response.raise_for_status()
        document = response.json()
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("JWKS document has no 'keys' list")
        keys = dict(parsed for entry in entries if (parsed := _parse_jwk(entry)) is not None)
        logger.info("loaded %d signing key(s) from %s", len(keys), self._url)
        return keys


# --- verification ----------------------------------------------------------------------------


class TokenRejected(Exception):
    """The access token is not acceptable; the message says why (safe to show the client)."""


# PyJWT's messages for these are precise and reveal nothing about keys.
_EXPLAINED_ERRORS = (
    jwt.ExpiredSignatureError,
    jwt.ImmatureSignatureError,
    jwt.InvalidAudienceError,
    jwt.InvalidIssuerError,
    jwt.MissingRequiredClaimError,
    jwt.InvalidSignatureError,
)


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience and lifetime, and builds the Principal."""

    def __init__(
        self,
        keys: KeySource,
        *,
        audience: str,
        issuer: str,
        leeway: timedelta | float = 30.0,
        algorithms: Iterable[str] = ALLOWED_ALGORITHMS,
    ) -> None:
        chosen = frozenset(algorithms)
        if not chosen or not chosen <= ALLOWED_ALGORITHMS:
            raise ValueError(
                f"algorithms must be a non-empty subset of {sorted(ALLOWED_ALGORITHMS)}"
            )
        self._keys = keys
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway.total_seconds() if isinstance(leeway, timedelta) else leeway
        self._algorithms = chosen

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; raises TokenRejected or KeySourceUnavailable."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenRejected("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed token") from None
        algorithm = header.get("alg")
        # Never echo header values: the reason ends up in a response header.
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise TokenRejected("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("token has no key id")
        key = await self._keys.get_key(kid)
        if key is None:
            raise TokenRejected("unknown signing key")
        if key.algorithm_name != algorithm:
            raise TokenRejected("algorithm does not match the signing key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except _EXPLAINED_ERRORS as exc:
            raise TokenRejected(str(exc)) from None
        except jwt.PyJWTError:
            raise TokenRejected("invalid token") from None
        try:
            return Principal.from_claims(claims)
        except ValidationError:
            raise TokenRejected("malformed claims") from None


# --- FastAPI dependencies --------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    description="Access token issued by the identity service",
)


def install_token_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make ``verifier`` the one used by :func:`require_principal` / :func:`require_roles`."""
    app.state.token_verifier = verifier


def _unauthorized(reason: str, *, invalid_token: bool) -> Problem:
    challenge = "Bearer"
    if invalid_token:
        # RFC 6750 §3: tell the client to get a new token rather than retry this one.
        challenge += f' error="invalid_token", error_description="{reason}"'
    return Problem(
        401,
        "Authentication required",
        reason,
        slug="unauthorized",
        headers={"WWW-Authenticate": challenge},
    )


def _make_principal_dependency(
    verifier: TokenVerifier | None,
) -> Callable[..., Awaitable[Principal]]:
    async def principal_dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("a bearer access token is required", invalid_token=False)
        chosen = verifier or getattr(request.app.state, "token_verifier", None)
        if chosen is None:
            raise RuntimeError("no TokenVerifier: call install_token_verifier(app, ...)")
        try:
            principal = await chosen.verify(credentials.credentials)
        except TokenRejected as exc:
            raise _unauthorized(str(exc).replace('"', "'"), invalid_token=True) from None
        except KeySourceUnavailable:
            raise Problem(
                503,
                "Cannot verify access tokens now",
                "The identity service's signing keys are unavailable; try again shortly.",
                slug="keys-unavailable",
                headers={"Retry-After": "10"},
            ) from None
        request.state.principal = principal
        return principal

    return principal_dependency


# Shared so that FastAPI's per-request dependency cache verifies a token only once.
_app_principal = _make_principal_dependency(None)


def require_principal(
    verifier: TokenVerifier | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """Dependency giving the authenticated :class:`Principal`, or a 401 problem.

    Without ``verifier`` it uses the one installed with :func:`install_token_verifier`.
    """
    return _app_principal if verifier is None else _make_principal_dependency(verifier)


def authorize(
    principal: Principal,
    roles: Iterable[str],
    *,
    on_behalf_of: str | None = None,
    allow_delegation: bool = True,
    at: datetime | None = None,
) -> Actor:
    """The :class:`Actor` allowed to act with one of ``roles``, or a 403 (or 400) problem.

    With ``on_behalf_of`` the user must hold a valid delegation from that user covering one of
    the roles. Without it, the user's own roles come first; failing those, a delegation covering
    a role is used when exactly one delegating user qualifies (several → 400, choose one with
    the ``X-On-Behalf-Of`` header).
    """
    wanted = list(dict.fromkeys(roles))
    moment = at or datetime.now(UTC)
    target = (on_behalf_of or "").strip() or None
    if target == principal.user:
        target = None

    if target is not None:
        if not allow_delegation:
            raise _forbidden("This action cannot be performed on behalf of another user.")
        for delegation in principal.active_delegations(moment):
            if delegation.principal != target:
                continue
            role = next((r for r in wanted if delegation.covers(r)), None)
            if role is not None:
                return Actor(
                    principal=principal,
                    acted_by=principal.user,
                    on_behalf_of=target,
                    role=role,
                    delegation=delegation,
                )
        raise _forbidden(
            f"No valid delegation from {target} covers any of: {', '.join(wanted)}.",
        )

    own = next((r for r in wanted if principal.has_role(r)), None)
    if own is not None:
        return Actor(principal=principal, acted_by=principal.user, role=own)

    if allow_delegation:
        matches = [
            (delegation, role)
            for delegation in principal.active_delegations(moment)
            for role in wanted
            if delegation.covers(role)
        ]
        delegators = sorted({delegation.principal for delegation, _ in matches})
        if len(delegators) > 1:
            raise Problem(
                400,
                "Choose on whose behalf you act",
                f"Several delegations allow this action; send the {ON_BEHALF_OF_HEADER} header.",
                slug="ambiguous-delegation",
                candidates=delegators,
            )
        if matches:
            delegation, role = matches[0]
            return Actor(
                principal=principal,
                acted_by=principal.user,
                on_behalf_of=delegation.principal,
                role=role,
                delegation=delegation,
            )
    raise _forbidden(f"This action needs one of the roles: {', '.join(wanted)}.")


def _forbidden(detail: str) -> Problem:
    return Problem(403, "Not allowed", detail, slug="forbidden")


def require_roles(
    *roles: str,
    allow_delegation: bool = True,
    verifier: TokenVerifier | None = None,
) -> Callable[..., Awaitable[Actor]]:
    """Dependency giving the :class:`Actor` when the user (or a delegation) has one of ``roles``.

    401 without a valid token, 403 when no role or delegation allows the action. The optional
    ``X-On-Behalf-Of: <user>`` header selects the delegating user to act for.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    principal_dependency = require_principal(verifier)

    async def roles_dependency(
        principal: Annotated[Principal, Depends(principal_dependency)],
        on_behalf_of: Annotated[
            str | None,
            Header(
                alias=ON_BEHALF_OF_HEADER,
                description="User id of the delegating user to act for",
            ),
        ] = None,
    ) -> Actor:
        return authorize(
            principal, roles, on_behalf_of=on_behalf_of, allow_delegation=allow_delegation
        )

    return roles_dependency
