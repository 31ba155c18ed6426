"""Idempotent provisioning of a running stack: roles and schemas, buckets, topics.

Each service gets a PostgreSQL login role that owns one schema of the ``qlvb`` database and has
no right on any other schema (data ownership, ARCHITECTURE §2), an S3 identity limited to its own
buckets, and the topics of the contracts registry with their dead-letter twins.
"""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from minio import Minio

from qlvb_contracts.registry import REGISTRY
from qlvb_stack.config import BROKER_BUCKET, DATABASE, SERVICE_BUCKETS, SERVICES, StackConfig


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe identifier {name!r}")
    return '"' + name + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def provision_postgres(cfg: StackConfig) -> None:
    sec = cfg.secrets()
    conn = await asyncpg.connect(cfg.database_url(database="postgres"))
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", DATABASE):
            await conn.execute(f"create database {_ident(DATABASE)} encoding 'UTF8'")
        for service in SERVICES:
            password = _literal(sec.pg_service_passwords[service])
            exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", service)
            verb = "alter" if exists else "create"
            await conn.execute(f"{verb} role {_ident(service)} login password {password}")
        await conn.execute(f"revoke all on database {_ident(DATABASE)} from public")
    finally:
        await conn.close()

    conn = await asyncpg.connect(cfg.database_url())
    db = _ident(DATABASE)
    try:
        await conn.execute("revoke all on schema public from public")
        for service in SERVICES:
            role = _ident(service)
            await conn.execute(f"grant connect, temporary on database {db} to {role}")
            await conn.execute(f"create schema if not exists {role} authorization {role}")
            await conn.execute(
                f"alter role {role} in database {_ident(DATABASE)} set search_path = {role}"
            )
    finally:
        await conn.close()


def provision_buckets(cfg: StackConfig) -> None:
    sec = cfg.secrets()
    client = Minio(
        cfg.s3_endpoint,
        access_key=sec.s3_admin_access_key,
        secret_key=sec.s3_admin_secret_key,
        secure=False,
        region="us-east-1",
    )
    buckets = {BROKER_BUCKET, *(b for bs in SERVICE_BUCKETS.values() for b in bs)}
    for bucket in sorted(buckets):
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)


async def provision_topics(cfg: StackConfig) -> list[str]:
    """Create missing topics; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=parts, replication_factor=1)
            for name, parts in REGISTRY.all_topic_names()
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def provision_all(cfg: StackConfig) -> list[str]:
    asyncio.run(provision_postgres(cfg))
    provision_buckets(cfg)
    return asyncio.run(provision_topics(cfg))
