"""Tables of the reporting schema. The chassis' own tables (outbox, inbox, counters, idempotency
keys) live in the same metadata, so one Alembic history creates everything."""

from __future__ import annotations

from sqlalchemy import MetaData

from qlvb_chassis.db import chassis_tables

metadata = MetaData()
chassis = chassis_tables(metadata)
