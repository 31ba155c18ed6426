"""The whole system as its users meet it: five services as separate processes on a stack of their
own, driven only through their HTTP APIs and Kafka topics.

The e2e stack starts from nothing (its folder is purged) on its own port block, so the story's
first incoming document gets arrival number 1 of the year. QLVB_E2E_REUSE=1 keeps a running one
(for working on the tests).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qlvb_stack.config import Ports, StackConfig
from qlvb_stack.processes import pid_alive
from qlvb_stack.services import ServiceCopy, service_url
from qlvb_stack.stack import Stack

from .system import System

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    home = Path(os.environ.get("QLVB_E2E_HOME", ROOT / ".qlvb" / "e2e-stack"))
    base = os.environ.get("QLVB_E2E_PORT_BASE", "28000")
    saved = {k: os.environ.get(k) for k in ("QLVB_PORT_BASE",)}
    os.environ["QLVB_PORT_BASE"] = base
    try:
        cfg = StackConfig(home=home.resolve(), ports=Ports.from_env())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    stack = Stack(cfg)
    reuse = os.environ.get("QLVB_E2E_REUSE") == "1"
    if not reuse:
        stack.down(purge=True)
    stack.up(timeout=120)
    stack.up_services(timeout=120)
    stack.seed_demo()
    urls = {
        s: service_url(cfg, s) for s in ("identity", "intake", "routing", "issuance", "reporting")
    }
    sys_ = System(stack=stack, urls=urls, password=cfg.secrets().demo_password)
    if not reuse:  # fresh processes: their counters tell when the seed has propagated
        sys_.wait_for_demo_data()
    yield sys_
    if not reuse:
        stack.down()


def kill_and_restart(stack: Stack, service: str) -> None:
    """kill -9 one service process and start it again, as an operator would after a crash."""
    copy = ServiceCopy(stack.cfg, service, 0)
    pid = copy.proc.pid()
    assert pid is not None, f"{service} is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    copy.start()
    copy.wait_ready(120)
