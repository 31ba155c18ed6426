"""Tables of the intake schema. The chassis' own tables (outbox, inbox, counters, idempotency
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
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from qlvb_chassis.db import chassis_tables

metadata = MetaData()
chassis = chassis_tables(metadata)

registers = Table(
    "registers",
    metadata,
    Column("id", String(50), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Sổ văn bản đến: an admin-managed catalog, one or more per year."""

incoming_documents = Table(
    "incoming_documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("received_by", String(200)),
    Column("backfilled", Boolean, nullable=False, server_default=text("false")),
    # Registration (vào sổ).
    Column("register_id", String(50), ForeignKey("registers.id")),
    Column("year", Integer),
    Column("arrival_number", Integer),
    Column("registered_at", DateTime(timezone=True)),
    Column("registered_by", String(200)),
    Column("registered_on_behalf_of", String(200)),
    Column("first_handlers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("sla_deadline", DateTime(timezone=True)),
    Column("sla_met", Boolean),
    Column("notes", Text),
    # The document's own fields (NĐ 30/2020 Phụ lục VI; edXML names).
    Column("document_id", String(300)),
    Column("organ_id", String(20)),
    Column("organ_name", String(300), nullable=False),
    Column("code_number", String(50)),
    Column("code_notation", String(100)),
    Column("type_name", String(100), nullable=False),
    Column("subject", Text, nullable=False),
    Column("promulgation_date", Date),
    Column("promulgation_place", String(300)),
    Column("signer", JSONB),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("due_date", Date),
    Column("page_amount", Integer),
    Column("to_places", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("response_for", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # The agency's header as received (content, business kind, trace), for the record.
    Column("package", JSONB),
    Column("duplicate_key", String(500)),
    Column("duplicate_year", Integer),
    # Electronic origin.
    Column("source_format", String(30)),
    Column("source_message_id", String(100)),
    # Return (trả lại).
    Column("return_reason", Text),
    Column("return_slip_key", String(300)),
    Column("returned_at", DateTime(timezone=True)),
    Column("returned_by", String(200)),
    Column("returned_on_behalf_of", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("register_id", "year", "arrival_number", name="uq_incoming_arrival_number"),
)
# An agency's document exists once, however often it is sent (edXML DocumentId).
Index(
    "uq_incoming_electronic_document_id",
    incoming_documents.c.document_id,
    unique=True,
    postgresql_where=incoming_documents.c.channel == "electronic",
)
Index("ix_incoming_document_id", incoming_documents.c.document_id)
Index(
    "ix_incoming_duplicate_key",
    incoming_documents.c.duplicate_year,
    incoming_documents.c.duplicate_key,
)
Index("ix_incoming_status", incoming_documents.c.status, incoming_documents.c.received_at)

attachments = Table(
    "attachments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "incoming_document_id",
        String(36),
        ForeignKey("incoming_documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("object_key", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("name", String(300)),
    Column("description", Text),
    # scan (uploaded by a clerk), inline (in the agency's package), claim_check.
    Column("origin", String(20), nullable=False),
    # Replaced by a replacement package (BussinessDocType 3); kept for the record.
    Column("superseded", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

amendments = Table(
    "amendments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "incoming_document_id",
        String(36),
        ForeignKey("incoming_documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # BussinessDocType: 1 revocation (thu hồi), 2 update (cập nhật), 3 replacement (thay thế).
    Column("kind", Integer, nullable=False),
    Column("reason", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("package_sha256", String(64), nullable=False),
    Column("package", JSONB, nullable=False),
    # True when applied to a document still in the inbox; False when only recorded (the
    # document was already registered: the clerk and the handlers decide).
    Column("applied", Boolean, nullable=False),
    UniqueConstraint("incoming_document_id", "package_sha256", name="uq_amendment_package"),
)

inbound_rejections = Table(
    "inbound_rejections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("delivery_id", String(300), nullable=False, unique=True),
    Column("sender_organ_id", String(50)),
    Column("document_id", String(300)),
    Column("category", String(30), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status_sent", Boolean, nullable=False),
    Column("rejected_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Agencies' packages refused with status 02 (the message itself is kept in the DLQ)."""

users = Table(
    "users",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("full_name", String(300), nullable=False),
    Column("unit_id", String(200)),
    Column("roles", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("active", Boolean, nullable=False),
    Column("revision", Integer, nullable=False),
)
"""Read model of identity's users: who may be a first handler."""

agencies = Table(
    "agencies",
    metadata,
    Column("organ_id", String(20), primary_key=True),
    Column("organ_name", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("revision", Integer, nullable=False),
)
"""Read model of identity's agency directory: the senders we accept."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("acted_by", String(200)),
    Column("on_behalf_of", String(200)),
    Column("action", String(100), nullable=False),
    Column("subject_id", String(300)),
    Column("details", JSONB, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""Append-only, hash-chained record of every state-changing action (ARCHITECTURE §4)."""
