"""Alembic, one history per service, run by the service at start-up.

A service keeps ``migrations/`` (env.py + versions/) beside its package; its env.py is two lines::

    from qlvb_chassis.migrations import run_env
    from qlvb_intake.adapters.orm import metadata
    run_env(metadata)

Copies of a service that start together take a PostgreSQL advisory lock, so only one migrates.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

LOCK = "select pg_advisory_lock(hashtext('qlvb-migrations:' || current_schema()))"
UNLOCK = "select pg_advisory_unlock(hashtext('qlvb-migrations:' || current_schema()))"


def alembic_config(
    script_location: Path, database_url: str, search_path: str | None = None
) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if search_path:
        cfg.set_main_option("qlvb.search_path", search_path)
    return cfg


async def upgrade(
    script_location: Path,
    database_url: str,
    revision: str = "head",
    *,
    search_path: str | None = None,
) -> None:
    """Bring the service's schema to ``revision`` (Alembic is synchronous: run in a thread)."""
    cfg = alembic_config(script_location, database_url, search_path)
    await asyncio.to_thread(command.upgrade, cfg, revision)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    search_path = context.config.get_main_option("qlvb.search_path")
    connect_args = {"server_settings": {"search_path": search_path}} if search_path else {}

    def run(connection: Connection) -> None:
        connection.execute(text(LOCK))
        try:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.execute(text(UNLOCK))
            connection.commit()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(online())
