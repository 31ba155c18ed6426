"""Domain rules of identity: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qlvb_identity.domain import audit, passwords, tokens
from qlvb_identity.domain.model import (
    DelegationGrant,
    RuleViolation,
    check_confirmer,
    check_delegation,
    check_roles,
    check_unit_parent,
    check_username,
    delegation_scopes,
)
from qlvb_identity.domain.throttling import ThrottlePolicy

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_usernames_are_lower_case_identifiers() -> None:
    assert check_username("cv.nguyenvana") == "cv.nguyenvana"
    for bad in ("A", "Vanthu", "van thu", "x", "../etc", ""):
        with pytest.raises(RuleViolation):
            check_username(bad)


def test_roles_must_be_known() -> None:
    assert check_roles(["specialist", "clerk", "clerk"]) == ["clerk", "specialist"]
    with pytest.raises(RuleViolation, match="unknown role"):
        check_roles(["superuser"])


def test_unit_tree_refuses_cycles_and_unknown_parents() -> None:
    parents = {"UBND": None, "VP": "UBND", "HCTC": "VP"}
    check_unit_parent("KT", "VP", parents)
    with pytest.raises(RuleViolation, match="sub-units"):
        check_unit_parent("VP", "HCTC", parents)
    with pytest.raises(RuleViolation, match="sub-units"):
        check_unit_parent("VP", "VP", parents)
    with pytest.raises(RuleViolation, match="does not exist"):
        check_unit_parent("KT", "XX", parents)


def test_delegation_only_of_roles_the_principal_holds() -> None:
    common = {
        "principal": "ct.ubnd",
        "delegate": "thuky.ct",
        "actions": ["direction.record"],
        "principal_roles": ["committee_leader"],
        "valid_from": T0,
        "valid_to": None,
    }
    assert check_delegation(roles=["committee_leader"], **common) == (  # type: ignore[arg-type]
        ["committee_leader"],
        ["direction.record"],
    )
    with pytest.raises(RuleViolation, match="does not hold"):
        check_delegation(roles=["office_leader"], **common)  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="cannot be delegated"):
        check_delegation(
            **{**common, "principal_roles": ["it_admin"]},  # type: ignore[arg-type]
            roles=["it_admin"],
        )
    with pytest.raises(RuleViolation, match="themselves"):
        check_delegation(**{**common, "delegate": "ct.ubnd"}, roles=["committee_leader"])  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="valid_to"):
        check_delegation(**{**common, "valid_to": T0}, roles=["committee_leader"])  # type: ignore[arg-type]


def grant(**changes: object) -> DelegationGrant:
    values: dict[str, object] = {
        "delegation_id": "d1",
        "principal": "ct.ubnd",
        "delegate": "thuky.ct",
        "roles": ("committee_leader",),
        "actions": ("direction.record",),
        "valid_from": T0,
        "valid_to": T0 + timedelta(days=30),
        "revoked": False,
    }
    values.update(changes)
    return DelegationGrant(**values)  # type: ignore[arg-type]


def test_delegation_scopes_follow_the_principals_current_roles() -> None:
    assert delegation_scopes(grant(), ["committee_leader"]) == [
        "committee_leader",
        "direction.record",
    ]
    assert delegation_scopes(grant(), ["specialist"]) == []


def test_access_claims_carry_only_active_delegations() -> None:
    now = T0 + timedelta(days=1)
    claims = tokens.access_claims(
        user_id="thuky.ct",
        roles=["secretary"],
        unit_id="VP",
        delegations=[
            grant(),
            grant(delegation_id="revoked", revoked=True),
            grant(delegation_id="future", valid_from=now + minutes(1)),
            grant(delegation_id="gone", principal="left.office"),
        ],
        principal_roles={"ct.ubnd": ["committee_leader"]},
        now=now,
        ttl=minutes(10),
    )
    assert claims["sub"] == "thuky.ct"
    assert claims["aud"] == "qlvb"
    assert claims["iss"] == "qlvb-identity"
    assert claims["exp"] - claims["iat"] == 600
    assert claims["delegations"] == [
        {
            "principal": "ct.ubnd",
            "scopes": ["committee_leader", "direction.record"],
            "valid_until": claims["exp"],
        }
    ]
    with pytest.raises(ValueError, match="15 minutes"):
        tokens.access_claims(
            user_id="x",
            roles=[],
            unit_id=None,
            delegations=[],
            principal_roles={},
            now=now,
            ttl=minutes(16),
        )


def test_a_delegation_ending_soon_ends_in_the_token_too() -> None:
    now = T0 + timedelta(days=30) - minutes(2)
    claims = tokens.access_claims(
        user_id="thuky.ct",
        roles=[],
        unit_id=None,
        delegations=[grant()],
        principal_roles={"ct.ubnd": ["committee_leader"]},
        now=now,
        ttl=minutes(10),
    )
    assert claims["delegations"][0]["valid_until"] == int((T0 + timedelta(days=30)).timestamp())


def test_two_person_rule() -> None:
    check_confirmer("it.admin", "it.admin2")
    with pytest.raises(RuleViolation) as refused:
        check_confirmer("it.admin", "it.admin")
    assert refused.value.status == 403


def test_lockout_after_five_failures_in_fifteen_minutes() -> None:
    policy = ThrottlePolicy()
    four = [T0 + minutes(i) for i in range(4)]
    assert policy.locked_until(four, T0 + minutes(5)) is None
    five = [*four, T0 + minutes(4)]
    assert policy.locked_until(five, T0 + minutes(5)) == T0 + minutes(19)
    assert policy.locked_until(five, T0 + minutes(19)) is None


def test_failures_spread_over_more_than_the_window_do_not_lock() -> None:
    policy = ThrottlePolicy()
    spread = [T0 + minutes(5 * i) for i in range(6)]
    assert policy.locked_until(spread, T0 + minutes(26)) is None


def test_after_a_lock_the_count_starts_afresh() -> None:
    policy = ThrottlePolicy()
    first = [T0 + minutes(i) for i in range(5)]
    after = [T0 + minutes(20), T0 + minutes(21)]
    assert policy.locked_until(first + after, T0 + minutes(22)) is None


def test_passwords_argon2id_with_owasp_parameters() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "wrong horse battery")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("garbage", "anything at all")


def test_password_policy() -> None:
    passwords.check_policy("long enough passphrase")
    for weak in ("short", "x" * 300):
        with pytest.raises(RuleViolation):
            passwords.check_policy(weak)
    with pytest.raises(RuleViolation, match="username"):
        passwords.check_policy("vanthu-2025-xyz", username="vanthu")


def test_audit_chain_detects_edits() -> None:
    entries = []
    previous = audit.GENESIS
    for seq, action in enumerate(["user.created", "role_change.confirmed", "user.updated"], 1):
        content = {"action": action, "target_id": "vanthu"}
        digest = audit.chain_hash(previous, content)
        entries.append((seq, previous, digest, content))
        previous = digest
    assert audit.first_broken(entries) is None
    tampered = list(entries)
    tampered[1] = (2, entries[1][1], entries[1][2], {"action": "nothing", "target_id": "vanthu"})
    assert audit.first_broken(tampered) == 2
    assert audit.first_broken([entries[0], entries[2]]) == 3


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    a, b = tokens.new_refresh_token(), tokens.new_refresh_token()
    assert a != b
    assert len(a) >= 43
    assert tokens.refresh_token_hash(a) != a
    assert len(tokens.refresh_token_hash(a)) == 64
