"""Access-token verification, role checks and delegation (acting on behalf of someone)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import Depends, FastAPI

from qlvb_chassis.http.auth import (
    Actor,
    Delegation,
    JwksKeySource,
    KeySourceUnavailable,
    Principal,
    StaticKeySource,
    TokenVerifier,
    install_token_verifier,
    public_jwk,
    require_principal,
    require_roles,
)
from qlvb_chassis.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

AUDIENCE = "qlvb-routing"
ISSUER = "https://identity.qlvb.example"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"

ED_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_ED_KEY = ed25519.Ed25519PrivateKey.generate()

PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def numeric_date(value: datetime) -> int:
    return int(value.timestamp())


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "chuyenvien.an",
        "iat": now,
        "exp": now + timedelta(minutes=10),
        "roles": ["specialist"],
        "unit": "phong-hc-tc",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def token(
    key: PrivateKey = ED_KEY,
    *,
    kid: str = "ed-1",
    algorithm: str = "EdDSA",
    **claim_overrides: Any,
) -> str:
    return jwt.encode(claims(**claim_overrides), key, algorithm=algorithm, headers={"kid": kid})


def unsigned_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    encoded = [
        b64url(json.dumps(part, default=numeric_date).encode()) for part in (header, payload)
    ]
    return ".".join([*encoded, b64url(signature)])


def build_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_token_verifier(app, verifier)

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(require_principal())]) -> Principal:
        return principal

    @app.post("/approve")
    async def approve(
        actor: Annotated[Actor, Depends(require_roles("committee_leader", "office_leader"))],
    ) -> dict[str, str | None]:
        return {"acted_by": actor.acted_by, "on_behalf_of": actor.on_behalf_of, "role": actor.role}

    @app.post("/own-only")
    async def own_only(
        actor: Annotated[Actor, Depends(require_roles("office_leader", allow_delegation=False))],
    ) -> dict[str, str | None]:
        return {"acted_by": actor.acted_by, "on_behalf_of": actor.on_behalf_of}

    return app


def static_verifier() -> TokenVerifier:
    keys = StaticKeySource({"ed-1": ED_KEY.public_key(), "rsa-1": RSA_KEY.public_key()})
    return TokenVerifier(keys, audience=AUDIENCE, issuer=ISSUER, leeway=5)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(static_verifier()))
    async with httpx.AsyncClient(transport=transport, base_url="http://qlvb.test") as client:
        yield client


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def assert_unauthorized(client: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await client.get("/me", headers=bearer(access_token))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    body: dict[str, Any] = response.json()
    assert body["type"] == "https://qlvb.example/problems/unauthorized"
    return body


# --- authentication ----------------------------------------------------------------------------


async def test_valid_eddsa_token_gives_the_principal(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers=bearer(token()))

    assert response.status_code == 200
    assert response.json() == {
        "user": "chuyenvien.an",
        "roles": ["specialist"],
        "unit": "phong-hc-tc",
        "delegations": [],
    }


async def test_valid_rs256_token_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/me", headers=bearer(token(RSA_KEY, kid="rsa-1", algorithm="RS256"))
    )

    assert response.status_code == 200
    assert response.json()["user"] == "chuyenvien.an"


async def test_missing_token_is_401_with_bearer_challenge(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = await client.get("/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_expired_token_is_refused(client: httpx.AsyncClient) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    body = await assert_unauthorized(client, token(iat=past - timedelta(minutes=10), exp=past))
    assert "expired" in body["detail"]


async def test_wrong_audience_is_refused(client: httpx.AsyncClient) -> None:
    await assert_unauthorized(client, token(aud="qlvb-issuance"))


async def test_wrong_issuer_is_refused(client: httpx.AsyncClient) -> None:
    await assert_unauthorized(client, token(iss="https://evil.example"))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "aud", "iss"])
async def test_missing_required_claim_is_refused(client: httpx.AsyncClient, claim: str) -> None:
    without: dict[str, Any] = {claim: None}
    body = await assert_unauthorized(client, token(**without))
    assert claim in body["detail"]


async def test_tampered_payload_is_refused(client: httpx.AsyncClient) -> None:
    header, _, signature = token().split(".")
    forged_payload = b64url(
        json.dumps(claims(roles=["office_leader"]), default=numeric_date).encode()
    )

    await assert_unauthorized(client, f"{header}.{forged_payload}.{signature}")


async def test_token_signed_by_another_key_is_refused(client: httpx.AsyncClient) -> None:
    await assert_unauthorized(client, token(OTHER_ED_KEY))


async def test_alg_none_is_refused(client: httpx.AsyncClient) -> None:
    for alg in ("none", "None", "NONE"):
        body = await assert_unauthorized(
            client, unsigned_token({"alg": alg, "kid": "ed-1", "typ": "JWT"}, claims(), b"")
        )
        assert body["detail"] == "algorithm not allowed"


async def test_hs256_signed_with_the_public_key_is_refused(client: httpx.AsyncClient) -> None:
    # The classic confusion attack: use the published public key as an HMAC secret.
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    signing_input = ".".join(
        b64url(json.dumps(part, default=numeric_date).encode()) for part in (header, claims())
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    body = await assert_unauthorized(client, f"{signing_input}.{b64url(signature)}")
    assert body["detail"] == "algorithm not allowed"


async def test_algorithm_must_match_the_key(client: httpx.AsyncClient) -> None:
    # A valid RS256 signature presented under the Ed25519 key's id.
    await assert_unauthorized(client, token(RSA_KEY, kid="ed-1", algorithm="RS256"))


async def test_unknown_kid_is_refused(client: httpx.AsyncClient) -> None:
    body = await assert_unauthorized(client, token(kid="ed-2"))
    assert body["detail"] == "unknown signing key"


async def test_garbage_and_malformed_claims_are_refused(client: httpx.AsyncClient) -> None:
    await assert_unauthorized(client, "not-a-jwt")
    await assert_unauthorized(client, "a.b.c")
    await assert_unauthorized(client, token(roles="office_leader"))  # must be a list
    await assert_unauthorized(client, "x" * 20_000)


def test_verifier_refuses_algorithms_outside_the_allow_list() -> None:
    with pytest.raises(ValueError, match="subset"):
        TokenVerifier(StaticKeySource({}), audience=AUDIENCE, issuer=ISSUER, algorithms=["HS256"])


def test_static_key_source_refuses_unusable_keys() -> None:
    with pytest.raises(ValueError, match="not a usable"):
        StaticKeySource({"hmac": {"kty": "oct", "k": b64url(b"secret"), "alg": "HS256"}})
    with pytest.raises(TypeError):
        public_jwk("ec", ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]


# --- roles and delegation ------------------------------------------------------------------


def delegation(principal: str, scopes: list[str], valid_for: timedelta) -> dict[str, Any]:
    return {
        "principal": principal,
        "scopes": scopes,
        "valid_until": int((datetime.now(UTC) + valid_for).timestamp()),
    }


SECRETARY: dict[str, Any] = {"sub": "thuky.binh", "roles": ["secretary"]}


async def test_missing_role_is_403(client: httpx.AsyncClient) -> None:
    response = await client.post("/approve", headers=bearer(token()))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["type"] == "https://qlvb.example/problems/forbidden"


async def test_own_role_acts_for_oneself(client: httpx.AsyncClient) -> None:
    access = token(sub="lanhdao.cuong", roles=["office_leader"])

    response = await client.post("/approve", headers=bearer(access))

    assert response.status_code == 200
    assert response.json() == {
        "acted_by": "lanhdao.cuong",
        "on_behalf_of": None,
        "role": "office_leader",
    }


async def test_valid_delegation_acts_on_behalf_and_is_recorded(client: httpx.AsyncClient) -> None:
    access = token(
        **SECRETARY,
        delegations=[delegation("chutich.dung", ["committee_leader"], timedelta(days=30))],
    )
    expected = {
        "acted_by": "thuky.binh",
        "on_behalf_of": "chutich.dung",
        "role": "committee_leader",
    }

    implicit = await client.post("/approve", headers=bearer(access))
    chosen = await client.post(
        "/approve", headers={**bearer(access), "X-On-Behalf-Of": "chutich.dung"}
    )

    assert implicit.status_code == 200
    assert implicit.json() == expected
    assert chosen.status_code == 200
    assert chosen.json() == expected


async def test_expired_delegation_is_403(client: httpx.AsyncClient) -> None:
    access = token(
        **SECRETARY,
        delegations=[delegation("chutich.dung", ["committee_leader"], -timedelta(minutes=1))],
    )

    for headers in (bearer(access), {**bearer(access), "X-On-Behalf-Of": "chutich.dung"}):
        response = await client.post("/approve", headers=headers)
        assert response.status_code == 403


async def test_out_of_scope_delegation_is_403(client: httpx.AsyncClient) -> None:
    access = token(
        **SECRETARY,
        delegations=[delegation("chutich.dung", ["sign_minutes"], timedelta(days=1))],
    )

    for headers in (bearer(access), {**bearer(access), "X-On-Behalf-Of": "chutich.dung"}):
        response = await client.post("/approve", headers=headers)
        assert response.status_code == 403


async def test_on_behalf_of_a_user_without_delegation_is_403(client: httpx.AsyncClient) -> None:
    # Holding the role oneself does not license claiming to act for someone else.
    access = token(
        sub="lanhdao.cuong",
        roles=["office_leader"],
        delegations=[delegation("chutich.dung", ["committee_leader"], timedelta(days=1))],
    )

    response = await client.post(
        "/approve", headers={**bearer(access), "X-On-Behalf-Of": "phochutich.em"}
    )

    assert response.status_code == 403
    assert "phochutich.em" in response.json()["detail"]


async def test_delegation_refused_where_not_allowed(client: httpx.AsyncClient) -> None:
    access = token(
        sub="hctc.giang",
        roles=["clerk"],
        delegations=[delegation("lanhdao.cuong", ["office_leader"], timedelta(days=1))],
    )

    implicit = await client.post("/own-only", headers=bearer(access))
    chosen = await client.post(
        "/own-only", headers={**bearer(access), "X-On-Behalf-Of": "lanhdao.cuong"}
    )

    assert implicit.status_code == 403
    assert chosen.status_code == 403


async def test_several_delegators_must_be_chosen_between(client: httpx.AsyncClient) -> None:
    access = token(
        sub="hctc.giang",
        roles=["clerk"],
        delegations=[
            delegation("lanhdao.cuong", ["office_leader"], timedelta(days=1)),
            delegation("lanhdao.hanh", ["office_leader"], timedelta(days=1)),
        ],
    )

    ambiguous = await client.post("/approve", headers=bearer(access))
    chosen = await client.post(
        "/approve", headers={**bearer(access), "X-On-Behalf-Of": "lanhdao.hanh"}
    )

    assert ambiguous.status_code == 400
    assert ambiguous.json()["candidates"] == ["lanhdao.cuong", "lanhdao.hanh"]
    assert chosen.status_code == 200
    assert chosen.json()["on_behalf_of"] == "lanhdao.hanh"


def test_principal_acting_for_user_or_role() -> None:
    now = datetime.now(UTC)
    from_leader = Delegation(
        principal="chutich.dung",
        scopes=frozenset({"committee_leader"}),
        valid_until=now + timedelta(days=1),
    )
    expired = Delegation(
        principal="lanhdao.cuong",
        scopes=frozenset({"office_leader"}),
        valid_until=now - timedelta(seconds=1),
    )
    principal = Principal(user="thuky.binh", delegations=(from_leader, expired))

    assert principal.acting_for("chutich.dung") == from_leader
    assert principal.acting_for("committee_leader") == from_leader
    assert principal.acting_for("lanhdao.cuong") is None
    assert principal.acting_for("office_leader") is None
    assert principal.acting_for("lanhdao.cuong", at=now - timedelta(days=1)) == expired


# --- JWKS key source ---------------------------------------------------------------------------


class FakeIdentityJwks:
    """Stands in for identity's /.well-known/jwks.json; counts fetches."""

    def __init__(self, *keys: tuple[str, ed25519.Ed25519PublicKey | rsa.RSAPublicKey]) -> None:
        self.keys = list(keys)
        self.extra_entries: list[Any] = []
        self.fetches = 0
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.fetches += 1
        if self.down:
            return httpx.Response(503)
        entries = [public_jwk(kid, key) for kid, key in self.keys] + self.extra_entries
        return httpx.Response(200, json={"keys": entries})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwks_source(
    identity: FakeIdentityJwks, clock: FakeClock, *, max_age: float = 3600
) -> JwksKeySource:
    client = httpx.AsyncClient(transport=httpx.MockTransport(identity.handle))
    return JwksKeySource(
        JWKS_URL, client=client, min_refetch_interval=30, max_age=max_age, clock=clock
    )


async def test_jwks_fetches_lazily_and_caches_by_kid() -> None:
    identity = FakeIdentityJwks(("ed-1", ED_KEY.public_key()))
    source = jwks_source(identity, FakeClock())
    assert identity.fetches == 0  # nothing is fetched before a token needs a key

    first = await source.get_key("ed-1")
    second = await source.get_key("ed-1")

    assert first is not None
    assert second is first
    assert identity.fetches == 1


async def test_jwks_refetches_on_unknown_kid_at_most_once_per_interval() -> None:
    identity = FakeIdentityJwks(("ed-1", ED_KEY.public_key()))
    clock = FakeClock()
    source = jwks_source(identity, clock)
    verifier = TokenVerifier(source, audience=AUDIENCE, issuer=ISSUER)
    await source.get_key("ed-1")
    clock.now += 60

    # Identity rotates to a new key: the first token with its kid triggers one refetch.
    identity.keys.append(("ed-2", OTHER_ED_KEY.public_key()))
    principal = await verifier.verify(token(OTHER_ED_KEY, kid="ed-2"))
    assert principal.user == "chuyenvien.an"
    assert identity.fetches == 2

    # Made-up kids within the interval do not reach identity again.
    for n in range(5):
        assert await source.get_key(f"forged-{n}") is None
    assert identity.fetches == 2

    clock.now += 31
    assert await source.get_key("forged-again") is None
    assert identity.fetches == 3


async def test_jwks_ignores_keys_outside_the_allow_list() -> None:
    identity = FakeIdentityJwks(("ed-1", ED_KEY.public_key()))
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(
        ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True
    )
    identity.extra_entries = [
        {"kty": "oct", "k": b64url(b"shared-secret"), "alg": "HS256", "kid": "hmac"},
        {**ec_jwk, "kid": "ec"},
        {**jwt.algorithms.OKPAlgorithm.to_jwk(ED_KEY, as_dict=True), "kid": "private"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not-an-object",
    ]
    source = jwks_source(identity, FakeClock())

    assert await source.get_key("ed-1") is not None
    for kid in ("hmac", "ec", "private", "broken"):
        assert await source.get_key(kid) is None


async def test_jwks_unreachable_identity() -> None:
    identity = FakeIdentityJwks(("ed-1", ED_KEY.public_key()))
    identity.down = True
    clock = FakeClock()
    source = jwks_source(identity, clock, max_age=60)

    with pytest.raises(KeySourceUnavailable):
        await source.get_key("ed-1")
    with pytest.raises(KeySourceUnavailable):  # still within the refetch interval: no new fetch
        await source.get_key("ed-1")
    assert identity.fetches == 1

    clock.now += 31
    identity.down = False
    key = await source.get_key("ed-1")
    assert key is not None

    # Identity goes down again after the cache aged: known keys keep working.
    identity.down = True
    clock.now += 120
    assert await source.get_key("ed-1") is key
    assert identity.fetches == 3


async def test_unreachable_identity_is_503_not_401() -> None:
    identity = FakeIdentityJwks(("ed-1", ED_KEY.public_key()))
    identity.down = True
    verifier = TokenVerifier(jwks_source(identity, FakeClock()), audience=AUDIENCE, issuer=ISSUER)
    transport = httpx.ASGITransport(app=build_app(verifier))

    async with httpx.AsyncClient(transport=transport, base_url="http://qlvb.test") as client:
        response = await client.get("/me", headers=bearer(token()))

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "retry-after" in response.headers
