"""indexes and stored search vectors for 1M documents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:39:55.392576
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """What 1,000,000 documents needed (bench/reporting_scale.py): stored search vectors (a GIN
    prefix match rechecks every row, and recomputing to_tsvector there cost ~40 µs a row), the
    register in its order with the arrival instant (index-only counts and page skips), search
    results newest first, returned documents, and the tasks alive during a month.

    Adding a stored generated column rewrites the table (and rebuilds its indexes): the old
    search indexes are dropped first so that the rewrite does not rebuild them for nothing.
    """
    op.drop_index(op.f("ix_incoming_register_number"), table_name="incoming_documents")
    op.drop_index(
        op.f("ix_incoming_search"), table_name="incoming_documents", postgresql_using="gin"
    )
    op.drop_index(
        op.f("ix_outgoing_search"), table_name="outgoing_documents", postgresql_using="gin"
    )
    op.drop_index(op.f("ix_tasks_assignee"), table_name="tasks")
    op.add_column(
        "incoming_documents",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, search_text)", persisted=True),
            nullable=True,
        ),
    )
    op.add_column(
        "outgoing_documents",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, search_text)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_incoming_register_page",
        "incoming_documents",
        ["year", "register_id", "arrival_number", "incoming_document_id"],
        unique=False,
        postgresql_include=["arrival_date"],
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.create_index(
        "ix_incoming_returned_at",
        "incoming_documents",
        ["returned_at"],
        unique=False,
        postgresql_where=sa.text("registered_at IS NULL"),
    )
    op.create_index(
        "ix_incoming_search_order",
        "incoming_documents",
        [
            sa.literal_column(
                "CAST(timezone('Asia/Ho_Chi_Minh', arrival_date) AS DATE) DESC NULLS LAST"
            ),
            "incoming_document_id",
        ],
        unique=False,
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.create_index(
        "ix_incoming_search_vector",
        "incoming_documents",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_outgoing_search_order",
        "outgoing_documents",
        [sa.literal_column("issued_date DESC NULLS LAST"), "outgoing_document_id"],
        unique=False,
        postgresql_where=sa.text("state != 'voided'"),
    )
    op.create_index(
        "ix_outgoing_search_vector",
        "outgoing_documents",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_tasks_ended_at", "tasks", ["ended_at"], unique=False)
    op.create_index(
        "ix_tasks_holder",
        "tasks",
        ["assignee", "assigned_at"],
        unique=False,
        postgresql_where=sa.text("role != 'information'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tasks_holder", table_name="tasks", postgresql_where=sa.text("role != 'information'")
    )
    op.drop_index("ix_tasks_ended_at", table_name="tasks")
    op.create_index(op.f("ix_tasks_assignee"), "tasks", ["assignee"], unique=False)
    op.drop_index(
        "ix_outgoing_search_vector", table_name="outgoing_documents", postgresql_using="gin"
    )
    op.drop_index(
        "ix_outgoing_search_order",
        table_name="outgoing_documents",
        postgresql_where=sa.text("state != 'voided'"),
    )
    op.create_index(
        op.f("ix_outgoing_search"),
        "outgoing_documents",
        [sa.literal_column("to_tsvector('simple'::regconfig, search_text)")],
        unique=False,
        postgresql_using="gin",
    )
    op.drop_column("outgoing_documents", "search_vector")
    op.drop_index(
        "ix_incoming_search_vector", table_name="incoming_documents", postgresql_using="gin"
    )
    op.drop_index(
        "ix_incoming_search_order",
        table_name="incoming_documents",
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_incoming_returned_at",
        table_name="incoming_documents",
        postgresql_where=sa.text("registered_at IS NULL"),
    )
    op.drop_index(
        "ix_incoming_register_page",
        table_name="incoming_documents",
        postgresql_include=["arrival_date"],
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_incoming_search"),
        "incoming_documents",
        [sa.literal_column("to_tsvector('simple'::regconfig, search_text)")],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        op.f("ix_incoming_register_number"),
        "incoming_documents",
        ["year", "register_id", "arrival_number"],
        unique=False,
    )
    op.drop_column("incoming_documents", "search_vector")
