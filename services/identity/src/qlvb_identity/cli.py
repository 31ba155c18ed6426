"""Operator commands at the database (``python -m qlvb_identity.cli ...``).

- ``create-admin --username U --full-name F``: creates an IT administrator directly in the
  database, with the password read from the terminal (asked twice) or from one line on stdin.
  There is no default password. This is how the first account comes to exist, so the
  two-person rule for rights cannot apply to it; it is refused once two active administrators
  exist (from then on a new administrator is a role change confirmed by a second one).
- ``seed-demo``: loads the seed's cast (units, demo accounts, agencies, the secretary's
  delegation) idempotently; the one password of every demo account comes from
  ``QLVB_DEMO_PASSWORD`` (required). For the local stack only.

Both run the migrations first and use the service's settings (QLVB_IDENTITY_DATABASE_URL); the
identity events they cause wait in the outbox until the service's relay publishes them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence

from qlvb_chassis.db import Database, create_engine
from qlvb_chassis.migrations import upgrade
from qlvb_chassis.outbox import OutboxWriter
from qlvb_contracts.registry import REGISTRY
from qlvb_identity.adapters import orm
from qlvb_identity.app import MIGRATIONS
from qlvb_identity.domain.model import RuleViolation
from qlvb_identity.service_layer import bootstrap
from qlvb_identity.service_layer.errors import Rejected
from qlvb_identity.settings import Settings

DEMO_PASSWORD_ENV = "QLVB_DEMO_PASSWORD"  # noqa: S105 - the name of a variable


async def _with_database(settings: Settings) -> Database:
    await upgrade(MIGRATIONS, settings.database_url, search_path=settings.database_schema)
    engine = create_engine(settings.database_url, pool_size=2, search_path=settings.database_schema)
    outbox = OutboxWriter(settings.service_name, orm.chassis, REGISTRY, settings.topic_prefix)
    return Database(engine, outbox)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != first:
            raise SystemExit("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _create_admin(settings: Settings, username: str, full_name: str, password: str) -> None:
    db = await _with_database(settings)
    try:
        await bootstrap.create_admin(db, username, full_name, password)
    finally:
        await db.dispose()


async def _seed_demo(settings: Settings, password: str) -> list[str]:
    db = await _with_database(settings)
    try:
        return await bootstrap.seed_demo(db, password)
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qlvb_identity.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an IT administrator")
    create.add_argument("--username", required=True)
    create.add_argument("--full-name", required=True)
    commands.add_parser("seed-demo", help=f"load the demo cast (password from {DEMO_PASSWORD_ENV})")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        if args.command == "create-admin":
            password = _read_password()
            asyncio.run(_create_admin(settings, args.username, args.full_name, password))
            print(f"created IT administrator {args.username}")
        else:
            password = os.environ.get(DEMO_PASSWORD_ENV, "")
            if not password:
                print(
                    f"error: set {DEMO_PASSWORD_ENV} to the demo accounts' password",
                    file=sys.stderr,
                )
                return 2
            created = asyncio.run(_seed_demo(settings, password))
            print("demo cast loaded" + (": " + ", ".join(created) if created else " (no change)"))
    except (RuleViolation, Rejected) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
