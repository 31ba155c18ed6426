"""Rules about accounts, org units, rights and delegations.

(Người dùng, đơn vị, phân quyền, ủy quyền.) Pure functions and value objects: no I/O,
unit-tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from qlvb_contracts.payloads.identity import Role

KNOWN_ROLES: frozenset[str] = frozenset(role.value for role in Role)

# Rights administration itself is never delegated: a delegate could otherwise confirm role
# changes or mint accounts in someone else's name, defeating the two-person rule.
UNDELEGABLE_ROLES: frozenset[str] = frozenset({Role.IT_ADMIN.value})

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
_UNIT_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,49}$")
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class RuleViolation(ValueError):
    """A request breaks a domain rule; the message is safe to show the user.

    ``slug`` names the kind of problem in the HTTP answer; ``status`` is 422 (bad input) or
    409 (conflicts with the current state).
    """

    def __init__(self, message: str, *, slug: str = "rule-violation", status: int = 422) -> None:
        super().__init__(message)
        self.slug = slug
        self.status = status


def check_username(username: str) -> str:
    """Tên đăng nhập: the user id, immutable, lower case (``vanthu``, ``cv.nguyenvana``)."""
    if not _USERNAME.match(username):
        raise RuleViolation(
            "a username is 2-100 characters: lower-case letters, digits, '.', '_' or '-'",
            slug="invalid-username",
        )
    return username


def check_unit_id(unit_id: str) -> str:
    """Mã đơn vị: a short upper-case code such as ``HCTC``, ``VX``, ``KT``."""
    if not _UNIT_ID.match(unit_id):
        raise RuleViolation(
            "a unit id is 1-50 upper-case letters, digits, '_' or '-' (e.g. HCTC)",
            slug="invalid-unit-id",
        )
    return unit_id


def check_roles(roles: Iterable[str]) -> list[str]:
    """Known role names, sorted and without duplicates."""
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in KNOWN_ROLES]
    if unknown:
        raise RuleViolation(
            f"unknown role(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_ROLES))}",
            slug="unknown-role",
        )
    return chosen


def check_actions(actions: Iterable[str]) -> list[str]:
    """Action names like ``direction.record``; free-form for services to interpret."""
    chosen = sorted(set(actions))
    bad = [a for a in chosen if not _ACTION.match(a)]
    if bad:
        raise RuleViolation(
            f"invalid action name(s): {', '.join(bad)} (expected e.g. 'direction.record')",
            slug="invalid-action",
        )
    return chosen


def check_unit_parent(
    unit_id: str, parent_id: str | None, parents: Mapping[str, str | None]
) -> None:
    """The org unit tree (cây đơn vị) stays a tree: the parent exists and is no descendant.

    ``parents`` maps every existing unit id to its parent id.
    """
    if parent_id is None:
        return
    if parent_id not in parents:
        raise RuleViolation(f"parent unit {parent_id} does not exist", slug="unknown-unit")
    seen: set[str] = set()
    current: str | None = parent_id
    while current is not None:
        if current == unit_id:
            raise RuleViolation(
                f"unit {parent_id} is {unit_id} itself or one of its sub-units",
                slug="unit-cycle",
            )
        if current in seen:  # a cycle already stored; refuse rather than loop
            raise RuleViolation("the unit tree is inconsistent", slug="unit-cycle", status=409)
        seen.add(current)
        current = parents.get(current)


# --- delegation (ủy quyền) -------------------------------------------------------------------


@dataclass(frozen=True)
class DelegationGrant:
    """A stored delegation, as far as tokens are concerned."""

    delegation_id: str
    principal: str
    delegate: str
    roles: tuple[str, ...]
    actions: tuple[str, ...]
    valid_from: datetime
    valid_to: datetime | None
    revoked: bool

    def active_at(self, moment: datetime) -> bool:
        if self.revoked or moment < self.valid_from:
            return False
        return self.valid_to is None or moment < self.valid_to


def check_delegation(
    *,
    principal: str,
    delegate: str,
    roles: Iterable[str],
    actions: Iterable[str],
    principal_roles: Iterable[str],
    valid_from: datetime,
    valid_to: datetime | None,
) -> tuple[list[str], list[str]]:
    """Validate a new delegation; returns its (roles, actions), normalised.

    Only roles the principal holds may be delegated (one cannot give what one does not have),
    never rights administration, and the window must be non-empty.
    """
    if principal == delegate:
        raise RuleViolation("a user cannot delegate to themselves", slug="self-delegation")
    chosen_roles = check_roles(roles)
    chosen_actions = check_actions(actions)
    if not chosen_roles:
        raise RuleViolation("a delegation names at least one role", slug="empty-delegation")
    undelegable = sorted(set(chosen_roles) & UNDELEGABLE_ROLES)
    if undelegable:
        raise RuleViolation(
            f"role(s) {', '.join(undelegable)} cannot be delegated", slug="undelegable-role"
        )
    missing = sorted(set(chosen_roles) - set(principal_roles))
    if missing:
        raise RuleViolation(
            f"{principal} does not hold the role(s) {', '.join(missing)}",
            slug="role-not-held",
        )
    if valid_to is not None and valid_to <= valid_from:
        raise RuleViolation("valid_to must be after valid_from", slug="invalid-window")
    return chosen_roles, chosen_actions


def delegation_scopes(grant: DelegationGrant, principal_roles: Iterable[str]) -> list[str]:
    """Scopes a token may carry for this delegation today: the delegated roles the principal
    still holds, plus the actions. Empty (no claim at all) once the principal lost them all."""
    held = sorted(set(grant.roles) & set(principal_roles) - UNDELEGABLE_ROLES)
    if not held:
        return []
    return held + sorted(set(grant.actions) - set(held))


# --- rights changes (NĐ 30/2020 Phụ lục VI III.3) --------------------------------------------


def check_confirmer(requested_by: str, confirmer: str) -> None:
    """Two-person rule: the administrator who confirms a change of rights is not the one who
    requested it."""
    if requested_by == confirmer:
        raise RuleViolation(
            "a change of rights must be confirmed by a different administrator",
            slug="same-administrator",
            status=403,
        )
