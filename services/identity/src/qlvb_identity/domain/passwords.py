"""Passwords (mật khẩu): argon2id with OWASP's parameters, and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from qlvb_identity.domain.model import RuleViolation

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

MIN_LENGTH = 10
MAX_LENGTH = 256

# Verified against when the user is unknown or has no password, so that such a login costs
# as much time as a wrong password and does not reveal which usernames exist.
_DUMMY_HASH = HASHER.hash("not-a-password: timing equaliser")


def check_policy(password: str, *, username: str | None = None) -> None:
    """Length, as NIST SP 800-63B recommends, rather than composition rules."""
    if len(password) < MIN_LENGTH:
        raise RuleViolation(
            f"a password has at least {MIN_LENGTH} characters", slug="weak-password"
        )
    if len(password) > MAX_LENGTH:
        raise RuleViolation(f"a password has at most {MAX_LENGTH} characters", slug="weak-password")
    if username is not None and username.lower() in password.lower():
        raise RuleViolation("a password must not contain the username", slug="weak-password")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always does the work of one verification."""
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
