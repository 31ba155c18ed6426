"""Tables of the issuance schema. The chassis' own tables (outbox, inbox, counters, idempotency
keys) live in the same metadata, so one Alembic history creates everything.

Numbers themselves live in the chassis tables ``number_counters`` / ``allocated_numbers`` (the
register book, voided numbers included); ``outgoing_documents`` holds what was numbered."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from qlvb_chassis.db import chassis_tables

metadata = MetaData()
chassis = chassis_tables(metadata)

_Json = JSON().with_variant(JSONB(), "postgresql")

registers = Table(
    "registers",
    metadata,
    Column("register_id", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("series", String(30), nullable=False),
    Column("type_names", _Json, nullable=False, server_default=text("'[]'::jsonb")),
    Column("copy_types", _Json, nullable=False, server_default=text("'[]'::jsonb")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200)),
)
"""Sổ văn bản đi: the configurable catalog of series; the counter per year is the chassis'."""

outgoing_documents = Table(
    "outgoing_documents",
    metadata,
    Column("outgoing_document_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    # What routing handed over (văn bản hoàn thành).
    Column("case_id", String(200), nullable=False),
    Column("draft_id", String(200), nullable=False, unique=True),
    Column("approved_by", String(200), nullable=False),
    Column("work_file_id", String(200)),
    Column("responds_to", _Json, nullable=False),
    Column("draft_document", _Json, nullable=False),
    Column("declared_appendixes", _Json, nullable=False),
    Column("type_name", String(100), nullable=False),
    Column("proposed_notation", String(100)),
    Column("subject", String(500), nullable=False),
    Column("signer_info", _Json, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("due_date", Date),
    Column("page_amount", Integer),
    Column("proposed_to", _Json, nullable=False),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    # Numbering (cấp số) and issuing (phát hành).
    Column("register_id", String(100), ForeignKey("registers.register_id")),
    Column("year", Integer),
    Column("code_number", Integer),
    Column("code_notation", String(100)),
    Column("code", String(120)),
    Column("issued_date", Date),
    Column("numbered_at", DateTime(timezone=True)),
    Column("numbered_by", String(200)),
    Column("numbered_on_behalf_of", String(200)),
    Column("recipients", _Json),
    Column("issued_amount", Integer),
    Column("file_copy_unit", String(100)),
    Column("document_id", String(300)),
    Column("electronic_recipients", _Json),
    Column("issued_at", DateTime(timezone=True)),
    Column("issued_by", String(200)),
    Column("issued_on_behalf_of", String(200)),
    Column("notes", Text),
    # Recall (thu hồi): the document is frozen afterwards.
    Column("recalled_at", DateTime(timezone=True)),
    Column("recalled_by", String(200)),
    Column("recalled_on_behalf_of", String(200)),
    Column("recall_reason", Text),
)
# Belt and braces over the counter row: one number of a register-year belongs to one document.
Index(
    "uq_outgoing_documents_number",
    outgoing_documents.c.register_id,
    outgoing_documents.c.year,
    outgoing_documents.c.code_number,
    unique=True,
    postgresql_where=outgoing_documents.c.code_number.is_not(None),
)
Index("ix_outgoing_documents_status", outgoing_documents.c.status)

attachments = Table(
    "attachments",
    metadata,
    Column("attachment_id", String(64), primary_key=True),
    Column(
        "outgoing_document_id",
        String(64),
        ForeignKey("outgoing_documents.outgoing_document_id"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(20), nullable=False),
    Column("title", String(500)),
    Column("attachment_name", String(300)),
    Column("object_key", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_on_behalf_of", String(200)),
)
"""The signed file, its appendices and any clean copy (seed Đ8.1–8.2)."""

# Read models of identity.events: snapshots upserted by revision.
org_units = Table(
    "org_units",
    metadata,
    Column("unit_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("code", String(50), nullable=False),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
)
agencies = Table(
    "agencies",
    metadata,
    Column("organ_id", String(20), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("organ_name", String(300), nullable=False),
    Column("organ_add", String(500)),
    Column("email", String(200)),
    Column("telephone", String(100)),
    Column("electronic_exchange", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("full_name", String(300), nullable=False),
    Column("unit_id", String(200)),
    Column("position", String(200)),
    Column("active", Boolean, nullable=False),
)
