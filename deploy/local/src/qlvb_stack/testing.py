"""Pytest fixtures for tests that need the real local stack (loaded with ``-p qlvb_stack.testing``).

``./qlvb test`` points QLVB_HOME and QLVB_PORT_BASE at a test stack of its own and brings it up;
run directly, pytest starts (or reuses) the stack those variables name.
"""

from __future__ import annotations

import uuid

import pytest

from qlvb_stack.config import StackConfig
from qlvb_stack.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The running test stack (started here if ``./qlvb test`` did not)."""
    running = Stack(StackConfig.from_env())
    running.up(timeout=120)
    return running


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group, bucket and table names of one test."""
    return uuid.uuid4().hex[:10]


async def create_topics(bootstrap: str, prefix: str) -> list[str]:
    """Create every registry topic (and DLQ) under ``prefix``, for a test's isolated service."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from qlvb_contracts.registry import REGISTRY

    names = [(prefix + name, parts) for name, parts in REGISTRY.all_topic_names()]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.create_topics(
            [
                NewTopic(n, num_partitions=p, replication_factor=1)
                for n, p in names
                if n not in existing
            ]
        )
    finally:
        await admin.close()
    return [n for n, _ in names]
