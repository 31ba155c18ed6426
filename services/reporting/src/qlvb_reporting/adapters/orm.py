"""Tables of the reporting schema: read models built only from events (ARCHITECTURE §2).

The chassis' own tables (outbox, inbox, counters, idempotency keys) live in the same metadata, so
one Alembic history creates everything. Every column here is derived from event content (never
from the clock at processing time), so replaying the log rebuilds the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from qlvb_chassis.db import chassis_tables

metadata = MetaData()
chassis = chassis_tables(metadata)

SEARCH_VECTOR = "to_tsvector('simple'::regconfig, search_text)"
"""The search words of a row, stored (a generated column): a GIN match on a word prefix is
always rechecked against the row, and recomputing to_tsvector() there cost ~40 µs a row."""

users = Table(
    "users",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("username", String(200), nullable=False),
    Column("full_name", String(300), nullable=False),
    Column("unit_id", String(200)),
    Column("position", String(300)),
    Column("roles", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("active", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
)

units = Table(
    "units",
    metadata,
    Column("unit_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("code", String(100), nullable=False),
    Column("name", String(500), nullable=False),
    Column("parent_unit_id", String(200)),
    Column("head_user_id", String(200)),
    Column("active", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
)

agencies = Table(
    "agencies",
    metadata,
    Column("organ_id", String(100), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("organ_name", String(500), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
)

incoming_documents = Table(
    "incoming_documents",
    metadata,
    Column("incoming_document_id", String(200), primary_key=True),
    # -- from intake: received / registered / returned / rejected
    Column("received_at", DateTime(timezone=True)),
    Column("register_id", String(200)),
    Column("year", Integer),
    Column("arrival_number", Integer),
    Column("arrival_date", DateTime(timezone=True)),
    Column("channel", String(20)),
    Column("code_number", String(100)),
    Column("code_notation", String(200)),
    Column("organ_name", String(500)),
    Column("organ_id", String(100)),
    Column("document_id", String(300)),
    Column("type_name", String(200)),
    Column("subject", Text),
    Column("promulgation_date", Date),
    Column("signer", String(300)),
    Column("priority", Integer),
    Column("doc_due_date", Date),
    Column("page_amount", Integer),
    Column("to_places", JSONB),
    Column("first_handlers", JSONB),
    Column("notes", Text),
    Column("backfilled", Boolean),
    Column("sla_deadline", DateTime(timezone=True)),
    Column("sla_met", Boolean),
    Column("registered_at", DateTime(timezone=True)),
    Column("registered_by", String(200)),
    Column("returned_at", DateTime(timezone=True)),
    Column("return_reason", Text),
    Column("rejected_at", DateTime(timezone=True)),
    Column("reject_reason", Text),
    # -- from routing and issuance (may arrive before the registration: rows start as stubs)
    Column("case_id", String(200)),
    Column("case_due_date", Date),
    Column("processed_at", DateTime(timezone=True)),
    Column("processed_how", String(50)),
    Column("reply_codes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("search_text", Text),
    Column("search_vector", TSVECTOR, Computed(SEARCH_VECTOR, persisted=True)),
)


def office_date(instant: Any) -> Any:
    """The office-local calendar day of an instant, as SQL (the zone is a literal so that the
    expression matches the index built on it)."""
    return cast(func.timezone(literal_column("'Asia/Ho_Chi_Minh'"), instant), Date)


incoming_date = office_date(incoming_documents.c.arrival_date)
"""Ngày đến: the office day a document arrived (search lists and orders by it)."""

_registered = incoming_documents.c.registered_at.is_not(None)
Index("ix_incoming_arrival_date", incoming_documents.c.arrival_date)
Index(
    # The register in its order, with the arrival instant for the period filter: counting and
    # skipping pages are index-only scans.
    "ix_incoming_register_page",
    incoming_documents.c.year,
    incoming_documents.c.register_id,
    incoming_documents.c.arrival_number,
    incoming_documents.c.incoming_document_id,
    postgresql_include=["arrival_date"],
    postgresql_where=_registered,
)
Index(
    # Search results come newest first: walking this index stops after a page of hits.
    "ix_incoming_search_order",
    incoming_date.desc().nulls_last(),
    incoming_documents.c.incoming_document_id,
    postgresql_where=_registered,
)
Index(
    # Số, ký hiệu "contains" (a substring: no index can seek it) reads these narrow copies of the
    # codes in an index-only scan instead of the whole table.
    "ix_incoming_code",
    incoming_documents.c.code_number,
    incoming_documents.c.code_notation,
    postgresql_where=_registered,
)
Index(
    "ix_incoming_returned_at",
    incoming_documents.c.returned_at,
    postgresql_where=incoming_documents.c.registered_at.is_(None),
)
Index(
    "ix_incoming_open",
    incoming_documents.c.arrival_date,
    postgresql_where=incoming_documents.c.processed_at.is_(None),
)
Index(
    "ix_incoming_processed_at",
    incoming_documents.c.processed_at,
)
Index("ix_incoming_search_vector", incoming_documents.c.search_vector, postgresql_using="gin")

outgoing_documents = Table(
    "outgoing_documents",
    metadata,
    Column("outgoing_document_id", String(200), primary_key=True),
    Column("register_id", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("code_number", Integer, nullable=False),
    Column("code_notation", String(200), nullable=False),
    Column("code", String(300), nullable=False),
    Column("state", String(20), nullable=False),
    Column("issued_date", Date),
    Column("type_name", String(200)),
    Column("subject", Text),
    Column("signer", String(300)),
    Column("signer_position", String(300)),
    Column("priority", Integer),
    Column("due_date", Date),
    Column("page_amount", Integer),
    Column("issued_amount", Integer),
    Column("recipients", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("incoming_document_ids", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("document_id", String(300)),
    Column("work_file_id", String(200)),
    Column("case_id", String(200)),
    Column("numbered_at", DateTime(timezone=True)),
    Column("issued_at", DateTime(timezone=True)),
    Column("issued_by", String(200)),
    Column("recalled_at", DateTime(timezone=True)),
    Column("recall_reason", Text),
    Column("void_reason", Text),
    Column("search_text", Text),
    Column("search_vector", TSVECTOR, Computed(SEARCH_VECTOR, persisted=True)),
)
Index("ix_outgoing_issued_date", outgoing_documents.c.issued_date)
Index(
    "ix_outgoing_search_order",
    outgoing_documents.c.issued_date.desc().nulls_last(),
    outgoing_documents.c.outgoing_document_id,
    postgresql_where=outgoing_documents.c.state != "voided",
)
Index(
    "ix_outgoing_register_number",
    outgoing_documents.c.year,
    outgoing_documents.c.register_id,
    outgoing_documents.c.code_number,
)
Index("ix_outgoing_search_vector", outgoing_documents.c.search_vector, postgresql_using="gin")
Index(
    "ix_outgoing_code",
    outgoing_documents.c.code,
    postgresql_where=outgoing_documents.c.state != "voided",
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(200), primary_key=True),
    Column("incoming_document_id", String(200)),
    Column("work_file_id", String(200)),
    Column("subject", Text),
    Column("due_date", Date),
    Column("opened_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
)
Index("ix_cases_incoming", cases.c.incoming_document_id)

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("case_id", String(200), nullable=False),
    Column("assignee", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("due_date", Date),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("assigned_by", String(200)),
    Column("parent_task_id", String(200)),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_kind", String(30)),
    Column("forced", Boolean, nullable=False, server_default=text("false")),
    Column("waiting_reason", String(30)),
)
Index("ix_tasks_case", tasks.c.case_id)
Index(
    # Who ever held a task (the rows of the progress view), one index probe per person.
    "ix_tasks_holder",
    tasks.c.assignee,
    tasks.c.assigned_at,
    postgresql_where=tasks.c.role != "information",
)
Index("ix_tasks_open", tasks.c.assigned_at, postgresql_where=tasks.c.ended_at.is_(None))
# With ix_tasks_open: the tasks alive during a month (open, or ended since it began).
Index("ix_tasks_ended_at", tasks.c.ended_at)

READ_MODELS: tuple[Table, ...] = (
    users,
    units,
    agencies,
    incoming_documents,
    outgoing_documents,
    cases,
    tasks,
)
"""Everything a rebuild truncates and replays (with the inbox)."""
