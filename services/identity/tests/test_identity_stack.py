"""The identity service on the real stack: its own schema and topics, driven over HTTP; its
events read back from Kafka."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from qlvb_contracts.envelope import Envelope, parse_payload
from qlvb_contracts.registry import IDENTITY_EVENTS, REGISTRY
from qlvb_identity.app import create_app
from qlvb_identity.cli import main as cli_main
from qlvb_identity.domain import audit as chain
from qlvb_identity.domain.model import RuleViolation
from qlvb_identity.entrypoints.http import Services
from qlvb_identity.service_layer import audit as audit_service
from qlvb_identity.service_layer import bootstrap
from qlvb_identity.settings import Settings
from qlvb_stack.stack import Stack
from qlvb_stack.testing import isolated_service, serve_in_process

pytestmark = pytest.mark.stack

PASSWORD = "demo-pass-" + uuid.uuid4().hex[:6]
ADMIN2 = "it.admin2"
ADM, CLK = "it_admin", "clerk"


@dataclass
class Identity:
    app: FastAPI
    settings: Settings
    admin_url: str
    schema: str
    topic: str

    @property
    def services(self) -> Services:
        found: Services = self.app.state.identity
        return found

    def client(self, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://identity")

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        async with self.client() as client:
            response = await client.post(
                "/auth/login", json={"username": username, "password": password}
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {(await self.login(username))['access_token']}"}


@pytest.fixture(scope="module")
async def identity(stack: Stack) -> AsyncIterator[Identity]:
    async with isolated_service(stack, "identity") as iso:
        settings = Settings(**{**iso.settings, "login_ip_max_failures": 8})
        app = create_app(settings)
        async with serve_in_process(app, base_url="http://identity"):
            env = Identity(
                app, settings, stack.cfg.database_url(), iso.schema, iso.prefix + IDENTITY_EVENTS
            )
            db = env.services.db
            await bootstrap.seed_demo(db, PASSWORD)
            await bootstrap.create_admin(db, ADMIN2, "Quản trị viên thứ hai", PASSWORD)
            yield env


async def read_events(env: Identity, *, until: Any, timeout_s: float = 20) -> list[Envelope]:
    """Every identity event on the test topic from the start, until ``until(events)`` holds."""
    consumer = AIOKafkaConsumer(
        env.topic,
        bootstrap_servers=env.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    events: list[Envelope] = []
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not until(events):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                events.extend(Envelope.from_bytes(r.value) for r in records)
    finally:
        await consumer.stop()
    return events


# --- login -----------------------------------------------------------------------------------


async def test_login_gives_tokens_with_the_documented_claims(identity: Identity) -> None:
    tokens = await identity.login("cv.nguyenvana")
    assert tokens["token_type"] == "Bearer"
    assert 0 < tokens["expires_in"] <= 900
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "EdDSA"
    assert header["kid"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "qlvb-identity"
    assert claims["aud"] == "qlvb"
    assert claims["sub"] == "cv.nguyenvana"
    assert claims["roles"] == ["specialist"]
    assert claims["unit"] == "VX"
    assert claims["delegations"] == []
    assert claims["exp"] - claims["iat"] <= 900

    async with identity.client() as client:
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert header["kid"] in {k["kid"] for k in jwks["keys"]}
        assert all("d" not in k for k in jwks["keys"])
        me = await client.get(
            "/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["user"] == "cv.nguyenvana"
        metrics = (await client.get("/metrics")).text
        assert 'qlvb_identity_logins_total{outcome="succeeded"}' in metrics
        assert 'qlvb_identity_tokens_issued_total{grant="password"}' in metrics


async def test_wrong_password_and_unknown_user_look_the_same(identity: Identity) -> None:
    async with identity.client("10.0.0.1") as client:
        wrong = await client.post(
            "/auth/login", json={"username": "cv.tranthib", "password": "not the password"}
        )
        unknown = await client.post(
            "/auth/login", json={"username": "no.such.user", "password": "not the password"}
        )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "access_token" not in response.text
    assert wrong.json() == unknown.json()


async def test_five_failures_lock_the_account(identity: Identity) -> None:
    admin = await identity.headers("it.admin")
    async with identity.client("10.0.0.2") as client:
        created = await client.post(
            "/admin/users",
            json={"user_id": "cv.locked", "full_name": "Bị Khóa", "password": PASSWORD},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        for _ in range(5):
            failed = await client.post(
                "/auth/login", json={"username": "cv.locked", "password": "wrong password!"}
            )
            assert failed.status_code == 401
        locked = await client.post(
            "/auth/login", json={"username": "cv.locked", "password": PASSWORD}
        )
    assert locked.status_code == 423, locked.text
    assert locked.json()["type"].endswith("/account-locked")
    assert 800 < int(locked.headers["Retry-After"]) <= 900
    other = await identity.login("cv.tranthib")  # other accounts are not affected
    assert other["access_token"]


async def test_one_address_failing_often_is_throttled(identity: Identity) -> None:
    async with identity.client("10.0.0.3") as client:
        for n in range(8):
            failed = await client.post(
                "/auth/login", json={"username": f"guess{n}", "password": "guessing"}
            )
            assert failed.status_code == 401
        throttled = await client.post(
            "/auth/login", json={"username": "vanthu", "password": PASSWORD}
        )
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert (await identity.login("vanthu"))["access_token"]  # from another address: fine


# --- token verification by identity itself ---------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_identity_refuses_bad_tokens(identity: Identity) -> None:
    good = (await identity.login("it.admin"))["access_token"]
    kid = jwt.get_unverified_header(good)["kid"]
    claims = jwt.decode(good, options={"verify_signature": False})
    async with identity.services.db.uow() as uow:
        key = await identity.services.auth.keys.current(uow.session, datetime.now(UTC))
    assert key.kid == kid

    def signed(changes: dict[str, Any], *, kid: str = kid) -> str:
        return jwt.encode({**claims, **changes}, key.private_key, "EdDSA", headers={"kid": kid})

    now = int(time.time())
    head, body, signature = good.split(".")
    forged_body = _b64({**claims, "roles": ["it_admin", "committee_leader"], "sub": "ct.ubnd"})
    bad = {
        "expired": signed({"iat": now - 3600, "nbf": now - 3600, "exp": now - 1800}),
        "tampered": f"{head}.{forged_body}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'kid': kid, 'typ': 'JWT'})}.{body}.",
        "unknown kid": signed({}, kid="id-19990101-deadbeef"),
        "wrong audience": signed({"aud": "another-system"}),
        "wrong issuer": signed({"iss": "someone-else"}),
        "HS256 with the public key": jwt.encode(claims, "x" * 32, "HS256", headers={"kid": kid}),
    }
    async with identity.client() as client:
        assert (
            await client.get("/admin/users", headers={"Authorization": f"Bearer {good}"})
        ).status_code == 200
        for name, token in bad.items():
            response = await client.get(
                "/admin/users", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, name
            assert response.headers["content-type"].startswith("application/problem+json"), name


async def test_key_rotation_keeps_earlier_tokens_valid(identity: Identity) -> None:
    admin = await identity.headers("it.admin")
    old_kid = jwt.get_unverified_header(admin["Authorization"].split()[1])["kid"]
    async with identity.client() as client:
        rotated = await client.post("/admin/signing-keys/rotate", headers=admin)
        assert rotated.status_code == 200, rotated.text
        new_kid = rotated.json()["kid"]
        assert old_kid in rotated.json()["retired"]
        kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
        assert {old_kid, new_kid} <= kids
        # The token signed with the retired key still works until it expires.
        assert (await client.get("/admin/units", headers=admin)).status_code == 200
    fresh = (await identity.login("it.admin"))["access_token"]
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid


# --- the admin API's permission matrix -------------------------------------------------------

ADMIN_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/admin/users", None),
    ("GET", "/admin/users/vanthu", None),
    ("POST", "/admin/users", {"user_id": "x.matrix", "full_name": "X"}),
    ("PATCH", "/admin/users/vanthu", {"phone": "0237 000"}),
    ("POST", "/admin/users/vanthu/password", {"password": "a new long password"}),
    ("POST", "/admin/users/vanthu/role-changes", {"roles": ["clerk", "specialist"]}),
    ("GET", "/admin/role-changes", None),
    ("GET", "/admin/units", None),
    ("POST", "/admin/units", {"unit_id": "XM", "code": "XM", "name": "Phòng thử"}),
    ("PATCH", "/admin/units/KT", {"name": "Phòng Kinh tế"}),
    ("GET", "/admin/agencies", None),
    ("POST", "/admin/agencies", {"OrganId": "000.00.99.H41", "OrganName": "Sở Thử"}),
    ("PATCH", "/admin/agencies/000.00.13.H41", {"Telephone": "0237 111"}),
    ("POST", "/admin/signing-keys/rotate", None),
    ("GET", "/admin/audit", None),
    ("GET", "/admin/audit/verify", None),
]


async def test_admin_api_permission_matrix(identity: Identity) -> None:
    others = ["vanthu", "hctc.admin", "cv.nguyenvana", "lanhdao.vp", "ct.ubnd", "thuky.ct"]
    headers = {user: await identity.headers(user) for user in others}
    async with identity.client() as client:
        for method, path, body in ADMIN_CALLS:
            anonymous = await client.request(method, path, json=body)
            assert anonymous.status_code == 401, (method, path)
            for user in others:
                response = await client.request(method, path, json=body, headers=headers[user])
                assert response.status_code == 403, (user, method, path, response.text)
        # Nothing was done by the refused calls.
        admin = await identity.headers("it.admin")
        users = (await client.get("/admin/users", headers=admin)).json()
        assert "x.matrix" not in {u["user_id"] for u in users}
        for method, path, body in ADMIN_CALLS:
            response = await client.request(method, path, json=body, headers=admin)
            assert response.status_code in (200, 201, 204), (method, path, response.text)


async def test_bad_input_is_a_problem_and_stores_nothing(identity: Identity) -> None:
    admin = await identity.headers("it.admin")
    async with identity.client() as client:
        cases = [
            ("/admin/users", {"user_id": "Bad Name", "full_name": "X"}, 422),
            ("/admin/users", {"user_id": "x.roles", "full_name": "X", "roles": ["root"]}, 422),
            ("/admin/users", {"user_id": "x.weak", "full_name": "X", "password": "short"}, 422),
            ("/admin/users", {"user_id": "x.unit", "full_name": "X", "unit_id": "NOPE"}, 404),
            ("/admin/users", {"user_id": "vanthu", "full_name": "Again"}, 409),
            ("/admin/units", {"unit_id": "VP", "code": "VP", "name": "Again"}, 409),
            ("/admin/agencies", {"OrganId": "H41", "OrganName": "Bad id"}, 422),
            (
                "/delegations",
                {"principal": "it.admin", "delegate": "vanthu", "roles": ["it_admin"]},
                422,
            ),
            (
                "/delegations",
                {"principal": "vanthu", "delegate": "vanthu", "roles": ["clerk"]},
                422,
            ),
        ]
        for path, body, status in cases:
            response = await client.post(path, json=body, headers=admin)
            assert response.status_code == status, (path, body, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        cycle = await client.patch(
            "/admin/units/VP", json={"parent_unit_id": "HCTC"}, headers=admin
        )
        assert cycle.status_code == 422
        users = {u["user_id"] for u in (await client.get("/admin/users", headers=admin)).json()}
        assert not {"x.roles", "x.weak", "x.unit"} & users


async def test_creating_posts_are_idempotent(identity: Identity) -> None:
    admin = await identity.headers("it.admin")
    body = {"OrganId": "000.00.20.H41", "OrganName": "Sở Y tế", "electronic_exchange": True}
    async with identity.client() as client:
        first = await client.post(
            "/admin/agencies", json=body, headers={**admin, "Idempotency-Key": "agency-yte"}
        )
        again = await client.post(
            "/admin/agencies", json=body, headers={**admin, "Idempotency-Key": "agency-yte"}
        )
        other = await client.post(
            "/admin/agencies",
            json={**body, "OrganName": "Khác"},
            headers={**admin, "Idempotency-Key": "agency-yte"},
        )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert other.status_code == 422


# --- rights: the two-person rule -------------------------------------------------------------


async def test_a_role_change_needs_a_second_administrator(identity: Identity) -> None:
    admin1 = await identity.headers("it.admin")
    admin2 = await identity.headers(ADMIN2)
    async with identity.client() as client:
        created = await client.post(
            "/admin/users",
            json={
                "user_id": "cv.leminhc",
                "full_name": "Lê Minh C",
                "unit_id": "VX",
                "roles": ["specialist"],
                "password": PASSWORD,
            },
            headers=admin1,
        )
        assert created.status_code == 201, created.text
        assert created.json()["roles"] == []
        change = created.json()["pending_role_change"]
        assert change["status"] == "pending"
        assert change["roles_after"] == ["specialist"]

        same = await client.post(
            f"/admin/role-changes/{change['change_id']}/confirm", headers=admin1
        )
        assert same.status_code == 403
        assert same.json()["type"].endswith("/same-administrator")
        assert (await identity.login("cv.leminhc"))["access_token"]
        claims = jwt.decode(
            (await identity.login("cv.leminhc"))["access_token"],
            options={"verify_signature": False},
        )
        assert claims["roles"] == []

        confirmed = await client.post(
            f"/admin/role-changes/{change['change_id']}/confirm", headers=admin2
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "applied"
        assert confirmed.json()["decided_by"] == ADMIN2
        again = await client.post(
            f"/admin/role-changes/{change['change_id']}/confirm", headers=admin2
        )
        assert again.status_code == 409

        # An administrator cannot confirm a change of their own rights either.
        own = await client.post(
            f"/admin/users/{ADMIN2}/role-changes",
            json={"roles": ["it_admin", "records_admin"]},
            headers=admin1,
        )
        assert own.status_code == 201
        refused = await client.post(
            f"/admin/role-changes/{own.json()['change_id']}/confirm", headers=admin2
        )
        assert refused.status_code == 403
        rejected = await client.post(
            f"/admin/role-changes/{own.json()['change_id']}/reject", headers=admin1
        )
        assert rejected.json()["status"] == "rejected"

        audit = (await client.get("/admin/audit?limit=1000", headers=admin1)).json()
        confirmations = [e for e in audit if e["action"] == "role_change.confirmed"]
        assert confirmations[-1]["acted_by"] == ADMIN2
        assert confirmations[-1]["details"]["requested_by"] == "it.admin"
        verified = (await client.get("/admin/audit/verify", headers=admin1)).json()
        assert verified["intact"], verified
    claims = jwt.decode(
        (await identity.login("cv.leminhc"))["access_token"], options={"verify_signature": False}
    )
    assert claims["roles"] == ["specialist"]


async def test_the_audit_log_is_append_only_and_tampering_shows(identity: Identity) -> None:
    conn = await asyncpg.connect(
        identity.admin_url, server_settings={"search_path": identity.schema}
    )
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("update audit_log set action = 'nothing' where seq = 1")
        # Whoever can disable the trigger still cannot hide an edit: the chain breaks there.
        # (Inside a transaction rolled back at the end, so the service's log stays intact.)
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute("alter table audit_log disable trigger audit_log_append_only")
            await conn.execute("update audit_log set details = '{\"forged\": 1}' where seq = 2")
            assert await _first_broken(conn) == 2
        finally:
            await tx.rollback()
        assert await _first_broken(conn) is None
    finally:
        await conn.close()
    admin = await identity.headers("it.admin")
    async with identity.client() as client:
        assert (await client.get("/admin/audit/verify", headers=admin)).json()["intact"]


async def _first_broken(conn: asyncpg.Connection) -> int | None:
    """The chain check of the service, over this connection's view of the table."""
    rows = await conn.fetch("select * from audit_log order by seq")
    entries = [
        (
            r["seq"],
            r["prev_hash"],
            r["hash"],
            audit_service._content(
                r["at"],
                r["acted_by"],
                r["on_behalf_of"],
                r["action"],
                r["target_type"],
                r["target_id"],
                json.loads(r["details"]),
            ),
        )
        for r in rows
    ]
    return chain.first_broken(entries)


# --- delegation in tokens --------------------------------------------------------------------


async def test_delegation_is_in_the_token_until_revoked(identity: Identity) -> None:
    tokens = await identity.login("thuky.ct")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["secretary"]
    [delegation] = claims["delegations"]
    assert delegation["principal"] == "ct.ubnd"
    assert delegation["scopes"] == ["committee_leader", "direction.record", "document.finalize"]

    leader = await identity.headers("ct.ubnd")
    async with identity.client() as client:
        mine = (await client.get("/delegations", headers=leader)).json()
        [given] = [d for d in mine if d["delegate"] == "thuky.ct" and not d["revoked"]]
        # The leader revokes it (the principal, an IT admin or the delegate may).
        revoked = await client.post(f"/delegations/{given['delegation_id']}/revoke", headers=leader)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked"] is True
        assert revoked.json()["revision"] == 2

        refreshed = await client.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
        assert claims["delegations"] == []

        # The leader delegates again, themselves, for a week.
        until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        again = await client.post(
            "/delegations",
            json={
                "principal": "ct.ubnd",
                "delegate": "thuky.ct",
                "roles": ["committee_leader"],
                "actions": ["direction.record"],
                "valid_to": until,
            },
            headers=leader,
        )
        assert again.status_code == 201, again.text
        # Nobody else may delegate the leader's rights.
        stranger = await client.post(
            "/delegations",
            json={"principal": "ct.ubnd", "delegate": "vanthu", "roles": ["committee_leader"]},
            headers=await identity.headers("thuky.ct"),
        )
        assert stranger.status_code == 403
    claims = jwt.decode(
        (await identity.login("thuky.ct"))["access_token"], options={"verify_signature": False}
    )
    assert [d["principal"] for d in claims["delegations"]] == ["ct.ubnd"]
    assert claims["delegations"][0]["valid_until"] <= claims["exp"]


# --- refresh tokens --------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_family(identity: Identity) -> None:
    first = await identity.login("cv.tranthib")
    async with identity.client() as client:
        second = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        assert second.json()["refresh_token"] != first["refresh_token"]
        third = await client.post(
            "/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
        )
        assert third.status_code == 200
        # The spent first token comes back: stolen. The whole family ends, the newest too.
        reused = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reused.status_code == 401
        latest = await client.post(
            "/auth/refresh", json={"refresh_token": third.json()["refresh_token"]}
        )
        assert latest.status_code == 401

        other = await identity.login("cv.tranthib")
        out = await client.post("/auth/logout", json={"refresh_token": other["refresh_token"]})
        assert out.status_code == 204
        after = await client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
        assert after.status_code == 401
        nonsense = await client.post("/auth/refresh", json={"refresh_token": "nonsense"})
        assert nonsense.status_code == 401


async def test_a_deactivated_user_can_neither_log_in_nor_refresh(identity: Identity) -> None:
    admin = await identity.headers("it.admin")
    async with identity.client() as client:
        await client.post(
            "/admin/users",
            json={"user_id": "cv.leaving", "full_name": "Sắp Nghỉ", "password": PASSWORD},
            headers=admin,
        )
        session = await identity.login("cv.leaving")
        off = await client.patch("/admin/users/cv.leaving", json={"active": False}, headers=admin)
        assert off.status_code == 200
        assert off.json()["active"] is False
        login = await client.post(
            "/auth/login", json={"username": "cv.leaving", "password": PASSWORD}
        )
        assert login.status_code == 403
        refresh = await client.post(
            "/auth/refresh", json={"refresh_token": session["refresh_token"]}
        )
        assert refresh.status_code in (401, 403)


# --- events ----------------------------------------------------------------------------------


async def test_every_change_reaches_kafka_with_increasing_revisions(identity: Identity) -> None:
    admin = await identity.headers("it.admin")
    async with identity.client() as client:
        moved = await client.patch(
            "/admin/users/cv.tranthib", json={"position": "Phó Trưởng phòng"}, headers=admin
        )
        assert moved.status_code == 200
        revision = moved.json()["revision"]
        assert revision >= 2

    def done(events: list[Envelope]) -> bool:
        return any(e.key == "cv.tranthib" and e.payload["revision"] == revision for e in events)

    events = await read_events(identity, until=done)
    assert done(events)
    types = {e.type for e in events}
    assert {"user.changed", "org_unit.changed", "agency.changed", "delegation.changed"} <= types
    for envelope in events:
        parse_payload(REGISTRY, IDENTITY_EVENTS, envelope)  # every one follows the contract
    last: dict[str, int] = {}
    for envelope in events:
        # One partition per key keeps the order: revisions only go up, so a consumer can drop
        # anything not newer than what it holds (a redelivery changes nothing).
        assert envelope.payload["revision"] > last.get(envelope.key, 0), envelope
        last[envelope.key] = envelope.payload["revision"]
    latest = [e for e in events if e.key == "cv.tranthib"][-1]
    assert latest.payload["position"] == "Phó Trưởng phòng"
    assert latest.actor.user == "it.admin"
    assert latest.producer == "identity"
    seeded = next(e for e in events if e.key == "vanthu")
    assert seeded.payload["roles"] == ["clerk"]


async def test_seed_demo_is_idempotent_and_needs_a_password(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await bootstrap.seed_demo(identity.services.db, PASSWORD) == []
    monkeypatch.delenv("QLVB_DEMO_PASSWORD", raising=False)
    monkeypatch.setenv("QLVB_IDENTITY_DATABASE_URL", identity.settings.database_url)
    assert cli_main(["seed-demo"]) == 2
    # A third administrator cannot be made at the console: that goes through the rule.
    with pytest.raises(RuleViolation, match="administrators exist"):
        await bootstrap.create_admin(identity.services.db, "it.third", "Ba", PASSWORD)
