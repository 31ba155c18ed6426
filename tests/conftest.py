"""Fixtures shared by every test that needs the real local stack.

``./qlvb test`` points QLVB_HOME and QLVB_PORT_BASE at a test stack of its own and brings it up;
run directly, pytest starts (or reuses) the stack those variables name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from qlvb_stack.config import StackConfig
from qlvb_stack.stack import Stack

os.environ.setdefault("QLVB_ROOT", str(__import__("pathlib").Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The running test stack (started here if ``./qlvb test`` did not)."""
    running = Stack(StackConfig.from_env())
    running.up(timeout=120)
    return running


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group, bucket and table names of one test."""
    return uuid.uuid4().hex[:10]
