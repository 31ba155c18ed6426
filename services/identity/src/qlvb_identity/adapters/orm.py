"""Tables of the identity schema. The chassis' own tables (outbox, inbox, counters, idempotency
keys) live in the same metadata, so one Alembic history creates everything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from qlvb_chassis.db import chassis_tables

metadata = MetaData()
chassis = chassis_tables(metadata)


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


org_units = Table(
    "org_units",
    metadata,
    Column("unit_id", String(50), primary_key=True),
    Column("code", String(20), nullable=False),
    Column("name", String(300), nullable=False),
    Column("parent_unit_id", String(50), ForeignKey("org_units.unit_id")),
    Column("head_user_id", String(100)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("revision", Integer, nullable=False),
    *_timestamps(),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(100), primary_key=True),
    Column("full_name", String(200), nullable=False),
    Column("position", String(200)),
    Column("email", String(320)),
    Column("phone", String(50)),
    Column("unit_id", String(50), ForeignKey("org_units.unit_id")),
    Column("roles", ARRAY(String(50)), nullable=False, server_default=text("'{}'")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("revision", Integer, nullable=False),
    Column("password_hash", Text),
    Column("password_changed_at", DateTime(timezone=True)),
    *_timestamps(),
)

agencies = Table(
    "agencies",
    metadata,
    Column("organ_id", String(50), primary_key=True),
    Column("organ_name", String(300), nullable=False),
    Column("organization_in_charge", String(300)),
    Column("organ_add", String(500)),
    Column("email", String(320)),
    Column("telephone", String(50)),
    Column("website", String(300)),
    Column("electronic_exchange", Boolean, nullable=False, server_default=text("false")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("revision", Integer, nullable=False),
    *_timestamps(),
)

delegations = Table(
    "delegations",
    metadata,
    Column("delegation_id", String(64), primary_key=True),
    Column("principal", String(100), ForeignKey("users.user_id"), nullable=False),
    Column("delegate", String(100), ForeignKey("users.user_id"), nullable=False),
    Column("roles", ARRAY(String(50)), nullable=False),
    Column("actions", ARRAY(String(100)), nullable=False, server_default=text("'{}'")),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", String(100)),
    Column("created_by", String(100), nullable=False),
    Column("revision", Integer, nullable=False),
    *_timestamps(),
)
Index("ix_delegations_delegate", delegations.c.delegate)

role_changes = Table(
    "role_changes",
    metadata,
    Column("change_id", String(64), primary_key=True),
    Column("user_id", String(100), ForeignKey("users.user_id"), nullable=False),
    Column("roles_before", ARRAY(String(50)), nullable=False),
    Column("roles_after", ARRAY(String(50)), nullable=False),
    Column("reason", Text),
    Column("status", String(20), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_by", String(100)),
    Column("decided_at", DateTime(timezone=True)),
)
Index("ix_role_changes_status", role_changes.c.status)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),
    Column("private_key", LargeBinary, nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retired_at", DateTime(timezone=True)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(64), nullable=False),
    Column("user_id", String(100), ForeignKey("users.user_id"), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)
Index("ix_refresh_tokens_family", refresh_tokens.c.family_id)
Index("ix_refresh_tokens_user", refresh_tokens.c.user_id)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("username", String(200), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_login_attempts_username_at", login_attempts.c.username, login_attempts.c.at)
Index("ix_login_attempts_ip_at", login_attempts.c.ip, login_attempts.c.at)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("acted_by", String(100)),
    Column("on_behalf_of", String(100)),
    Column("action", String(100), nullable=False),
    Column("target_type", String(50), nullable=False),
    Column("target_id", String(200), nullable=False),
    Column("details", JSONB, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
