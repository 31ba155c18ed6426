"""Tables of the routing schema. The chassis' own tables (outbox, inbox, counters, idempotency
keys) live in the same metadata, so one Alembic history creates everything."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from qlvb_chassis.db import chassis_tables

metadata = MetaData()
chassis = chassis_tables(metadata)

# -- read models of other services' events -------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("full_name", String(300), nullable=False),
    Column("unit_id", String(200)),
    Column("position", String(300)),
    Column("roles", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
)

org_units = Table(
    "org_units",
    metadata,
    Column("unit_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("code", String(50), nullable=False),
    Column("name", String(300), nullable=False),
    Column("head_user_id", String(200)),
    Column("active", Boolean, nullable=False),
)

delegations = Table(
    "delegations",
    metadata,
    Column("delegation_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("principal", String(200), nullable=False),
    Column("delegate", String(200), nullable=False, index=True),
    Column("roles", JSONB, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False),
)

incoming_documents = Table(
    "incoming_documents",
    metadata,
    Column("incoming_document_id", String(200), primary_key=True),
    Column("case_id", String(200), nullable=False, unique=True),
    Column("document_identifier", String(300)),
    Column("organ_id", String(50)),
    Column("organ_name", String(500), nullable=False),
    Column("code", String(300), nullable=False),
    Column("type_name", String(200), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("promulgation_date", Date, nullable=False),
    Column("arrival_number", Integer, nullable=False),
    Column("arrival_date", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True)),
    Column("answered_by_document_id", String(200)),
    Column("answered_by_code", String(300)),
)

# -- the service's own aggregates ---------------------------------------------------------------

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(200), primary_key=True),
    Column("incoming_document_id", String(200), unique=True),
    Column("subject", String(500), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("work_file_id", String(200)),
)

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("case_id", String(200), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("assignee", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("role", String(20), nullable=False),
    Column("state", String(30), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True)),
    Column("instruction", Text),
    Column("parent_task_id", String(200)),
    Column("draft_id", String(200)),
    Column("closed_at", DateTime(timezone=True)),
    Column("end_reason", String(30)),
    Column("note", Text),
    Column("waiting_reason", String(30)),
    Column("waiting_summary", Text),
    Column("waiting_until", Date),
)
Index("ix_tasks_assignee_state", tasks.c.assignee, tasks.c.state)

drafts = Table(
    "drafts",
    metadata,
    Column("draft_id", String(200), primary_key=True),
    Column("case_id", String(200), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("author", String(200), nullable=False),
    Column("author_task_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("content", JSONB, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("approver", String(200)),
    Column("approvers", JSONB, nullable=False),
    Column("work_file_id", String(200)),
    Column("approved_by", String(200)),
    Column("finalized_at", DateTime(timezone=True)),
)

work_files = Table(
    "work_files",
    metadata,
    Column("work_file_id", String(200), primary_key=True),
    Column("title", String(1000), nullable=False),
    Column("creator", String(200), nullable=False, index=True),
    Column("start_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("file_code", String(200)),
    Column("maintenance", String(200)),
    Column("description", Text),
    Column("unit_id", String(200)),
    Column("case_id", String(200)),
    Column("follow_up", Boolean, nullable=False),
    Column("state", String(20), nullable=False),
    Column("end_date", Date),
    Column("summary", Text),
)

work_file_documents = Table(
    "work_file_documents",
    metadata,
    Column("work_file_id", String(200), ForeignKey("work_files.work_file_id"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("document_id", String(200), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("linked_by", String(200)),
    Column("document_identifier", String(300)),
    Column("subject", String(1000)),
    Column("unlinked_at", DateTime(timezone=True)),
    Column("unlink_reason", Text),
    PrimaryKeyConstraint("work_file_id", "ordinal", name="pk_work_file_documents"),
)

uploads = Table(
    "uploads",
    metadata,
    Column("upload_id", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("object_key", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("name", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("acted_by", String(200)),
    Column("on_behalf_of", String(200)),
    Column("action", String(100), nullable=False),
    Column("case_id", String(200), index=True),
    Column("work_file_id", String(200), index=True),
    Column("details", JSONB, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""Append-only, hash-chained record of every state change (ARCHITECTURE §4); a case's history."""
