"""The local stack of real parts (issue: foundation), exercised on a scratch stack of its own.

The scratch stack lives in a temporary folder on its own port block, so that these tests can start
it from nothing, restart its parts and take it down without disturbing the test stack the other
tests share. The tests in this module run in order and share that one scratch stack.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from minio import Minio
from minio.error import S3Error

from qlvb_stack.config import StackConfig
from qlvb_stack.processes import StackError, pid_alive, port_is_free
from qlvb_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRATCH_PORT_BASE = int(os.environ.get("QLVB_SCRATCH_PORT_BASE", "27000"))


def qlvb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``./qlvb`` the way an operator does."""
    return subprocess.run(
        [str(ROOT / "qlvb"), *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def scratch_env() -> Iterator[dict[str, str]]:
    # Under the checkout, not pytest's 0700 temp folders: the PostgreSQL system user must reach it.
    home = ROOT / ".qlvb" / f"scratch-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    env = dict(os.environ)
    env.update(QLVB_HOME=str(home), QLVB_PORT_BASE=str(SCRATCH_PORT_BASE), QLVB_ROOT=str(ROOT))
    for single in ("QLVB_PG_PORT", "QLVB_KAFKA_PORT", "QLVB_S3_PORT"):
        env.pop(single, None)
    yield env
    qlvb(env, "down", "--purge")  # whatever a failed test left running, and the data


@pytest.fixture(scope="module")
def scratch(scratch_env: dict[str, str]) -> Stack:
    old = {k: os.environ.get(k) for k in ("QLVB_HOME", "QLVB_PORT_BASE")}
    os.environ.update({k: scratch_env[k] for k in old})
    try:
        return Stack(StackConfig.from_env())
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_up_from_nothing_and_status_json(scratch_env: dict[str, str], scratch: Stack) -> None:
    assert not any(Path(scratch_env["QLVB_HOME"]).iterdir())
    before = json.loads(qlvb(scratch_env, "status", "--json").stdout)
    assert before["state"] == "stopped"

    up = qlvb(scratch_env, "up")
    assert up.returncode == 0, up.stderr

    status = json.loads(qlvb(scratch_env, "status", "--json").stdout)
    assert status["state"] == "ready"
    by_name = {c["name"]: c for c in status["components"]}
    assert set(by_name) == {"postgres", "s3", "kafka"}
    for comp in by_name.values():
        assert comp["state"] == "ready"
        assert pid_alive(comp["pid"])
    assert by_name["postgres"]["address"] == f"127.0.0.1:{SCRATCH_PORT_BASE + 432}"
    assert by_name["kafka"]["address"] == f"127.0.0.1:{SCRATCH_PORT_BASE + 92}"

    # A second `up` is harmless: same processes.
    again = qlvb(scratch_env, "up")
    assert again.returncode == 0, again.stderr
    status2 = json.loads(qlvb(scratch_env, "status", "--json").stdout)
    assert [c["pid"] for c in status2["components"]] == [c["pid"] for c in status["components"]]


def test_provisioned_schemas_are_owned_and_isolated(scratch: Stack) -> None:
    async def check() -> None:
        routing = await asyncpg.connect(scratch.cfg.database_url("routing"))
        try:
            assert await routing.fetchval("show search_path") == "routing"
            await routing.execute("create table t_owned (id int)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await routing.execute("create table intake.t_foreign (id int)")
        finally:
            await routing.close()

    asyncio.run(check())


def test_half_started_stack_is_repaired(scratch_env: dict[str, str], scratch: Stack) -> None:
    pid = scratch.kafka.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # leaves a stale pid file behind
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scratch.kafka.status().state == "stopped"

    up = qlvb(scratch_env, "up")
    assert up.returncode == 0, up.stderr
    assert "starting kafka" in up.stderr
    assert "starting postgres" not in up.stderr
    assert scratch.kafka.status().state == "ready"


def test_message_survives_broker_restart_then_group_consumes(scratch: Stack, unique: str) -> None:
    topic = f"t-restart-{unique}"
    bootstrap = scratch.cfg.kafka_bootstrap

    async def produce() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, f"m{i}".encode(), key=f"k{i}".encode())
        finally:
            await producer.stop()

    asyncio.run(produce())
    scratch.kafka.stop()
    assert port_is_free(scratch.cfg.ports.kafka)
    scratch.kafka.start()
    scratch.kafka.wait_ready(60)

    async def consume() -> list[str]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"g-{unique}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[str] = []
        try:
            deadline = time.monotonic() + 60
            while len(got) < 10 and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    got.extend(r.value.decode() for r in records)
            await consumer.commit()
        finally:
            await consumer.stop()
        return got

    assert sorted(asyncio.run(consume())) == sorted(f"m{i}" for i in range(10))


MEMBER = textwrap.dedent(
    """
    import asyncio, json, sys
    from aiokafka import AIOKafkaConsumer

    async def main(bootstrap, topic, group, out):
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
            enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=1000,
        )
        await consumer.start()
        with open(out, "a", buffering=1) as fh:
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                parts = sorted(tp.partition for tp in consumer.assignment())
                fh.write(json.dumps({"assigned": parts}) + "\\n")
                for tp, records in batch.items():
                    for r in records:
                        fh.write(json.dumps({"p": tp.partition, "v": r.value.decode()}) + "\\n")
                if batch:
                    await consumer.commit()

    asyncio.run(main(*sys.argv[1:]))
    """
)


def _read_member(out: Path) -> tuple[list[int], set[str], set[int]]:
    assigned: list[int] = []
    values: set[str] = set()
    partitions: set[int] = set()
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            if "assigned" in row:
                assigned = row["assigned"]
            else:
                values.add(row["v"])
                partitions.add(row["p"])
    return assigned, values, partitions


def test_group_of_two_splits_partitions_and_survivor_takes_over(
    scratch: Stack, unique: str, tmp_path: Path
) -> None:
    topic, group = f"t-group-{unique}", f"g-{unique}"
    bootstrap = scratch.cfg.kafka_bootstrap

    async def create_and_send(values: list[str]) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        if topic not in await admin.list_topics():
            await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
        await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures = [
                await producer.send(topic, v.encode(), partition=i % 4)
                for i, v in enumerate(values)
            ]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    asyncio.run(create_and_send([]))
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    members = [
        subprocess.Popen([sys.executable, "-c", MEMBER, bootstrap, topic, group, str(out)])
        for out in outs
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (a, _, _), (b, _, _) = (_read_member(o) for o in outs)
            if a and b and sorted(a + b) == [0, 1, 2, 3]:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the group never split the 4 partitions: {a} / {b}")
        assert len(a) == 2
        assert len(b) == 2

        first = [f"first-{i}" for i in range(100)]
        asyncio.run(create_and_send(first))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (_, va, _), (_, vb, _) = (_read_member(o) for o in outs)
            if va | vb >= set(first):
                break
            time.sleep(0.5)
        assert va | vb >= set(first)
        assert va, "both members should have received messages"
        assert vb, "both members should have received messages"

        members[1].send_signal(signal.SIGKILL)
        members[1].wait(10)
        second = [f"second-{i}" for i in range(100)]
        asyncio.run(create_and_send(second))

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assigned_a, va, _ = _read_member(outs[0])
            if assigned_a == [0, 1, 2, 3] and va >= set(second):
                break
            time.sleep(0.5)
        assigned_a, va, _ = _read_member(outs[0])
        assert assigned_a == [0, 1, 2, 3], "the survivor should own every partition"
        missing = set(second) - va
        assert not missing, f"lost after the kill: {sorted(missing)[:5]}"
    finally:
        for m in members:
            if m.poll() is None:
                m.kill()
                m.wait(10)


def test_object_store_enforces_credentials(scratch: Stack, unique: str) -> None:
    sec = scratch.cfg.secrets()
    endpoint = scratch.cfg.s3_endpoint
    good = Minio(
        endpoint,
        access_key=sec.s3_admin_access_key,
        secret_key=sec.s3_admin_secret_key,
        secure=False,
        region="us-east-1",
    )
    good.put_object("qlvb-intake", f"probe/{unique}", io.BytesIO(b"hello"), 5)
    assert good.get_object("qlvb-intake", f"probe/{unique}").read() == b"hello"

    wrong_secret = Minio(
        endpoint,
        access_key=sec.s3_admin_access_key,
        secret_key="not-the-secret",
        secure=False,
        region="us-east-1",
    )
    with pytest.raises(S3Error) as refused:
        wrong_secret.put_object("qlvb-intake", f"probe/{unique}-x", io.BytesIO(b"x"), 1)
    assert refused.value.code in {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"}

    anonymous = Minio(endpoint, secure=False, region="us-east-1")
    with pytest.raises(S3Error):
        anonymous.get_object("qlvb-intake", f"probe/{unique}")

    # A service's identity reaches its own buckets only.
    access, secret = sec.s3_service_keys["routing"]
    routing = Minio(
        endpoint, access_key=access, secret_key=secret, secure=False, region="us-east-1"
    )
    routing.put_object("qlvb-routing", f"probe/{unique}", io.BytesIO(b"r"), 1)
    with pytest.raises(S3Error):
        routing.put_object("qlvb-intake", f"probe/{unique}-r", io.BytesIO(b"r"), 1)


def test_postgres_restarts_with_data_intact(scratch: Stack, unique: str) -> None:
    url = scratch.cfg.database_url("intake")

    async def write() -> None:
        conn = await asyncpg.connect(url)
        await conn.execute(f"create table keep_{unique} (v text)")
        await conn.execute(f"insert into keep_{unique} values ('số đến 1')")
        await conn.close()

    async def read() -> list[str]:
        conn = await asyncpg.connect(url)
        rows = await conn.fetch(f"select v from keep_{unique}")
        await conn.close()
        return [r["v"] for r in rows]

    asyncio.run(write())
    pid = scratch.postgres.status().pid
    scratch.postgres.stop()
    assert scratch.postgres.status().state == "stopped"
    scratch.postgres.start()
    scratch.postgres.wait_ready(60)
    assert scratch.postgres.status().pid != pid
    assert asyncio.run(read()) == ["số đến 1"]


def test_port_taken_gives_one_line_error(scratch_env: dict[str, str], scratch: Stack) -> None:
    scratch.kafka.stop()
    import socket

    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", scratch.cfg.ports.kafka))
        squatter.listen()
        up = qlvb(scratch_env, "up")
    assert up.returncode == 1
    last = up.stderr.strip().splitlines()[-1]
    assert f"port {scratch.cfg.ports.kafka}" in last
    assert "already in use" in last
    assert "Traceback" not in up.stderr


def test_down_leaves_no_process_behind(scratch_env: dict[str, str], scratch: Stack) -> None:
    assert qlvb(scratch_env, "up").returncode == 0
    pids = [c.pid for c in scratch.status()]
    assert all(pids)
    down = qlvb(scratch_env, "down")
    assert down.returncode == 0, down.stderr
    for pid in pids:
        assert pid is not None
        assert not pid_alive(pid)
    home = scratch_env["QLVB_HOME"]
    leftovers = subprocess.run(["pgrep", "-f", home], capture_output=True, text=True).stdout
    assert leftovers.strip() == ""
    p = scratch.cfg.ports
    for port in (p.postgres, p.kafka, p.s3, p.weed_master, p.weed_volume, p.weed_filer):
        assert port_is_free(port)
    status = json.loads(qlvb(scratch_env, "status", "--json").stdout)
    assert status["state"] == "stopped"


def test_unwritable_home_and_stale_pid_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = dict(os.environ, QLVB_HOME=str(blocker / "home"), QLVB_PORT_BASE="27500")
    bad = qlvb(env, "up")
    assert bad.returncode == 1
    assert "cannot be created" in bad.stderr.strip().splitlines()[-1]

    home = tmp_path / "stale"
    cfg = StackConfig(home=home, ports=StackConfig.from_env().ports)
    stack = Stack(cfg)
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / "tansu.pid").write_text("999999\n")
    assert stack.kafka.status().state == "stopped"
    assert not (cfg.run_dir / "tansu.pid").exists(), "a stale pid file is cleared"


def test_missing_binary_is_reported() -> None:
    from qlvb_stack.processes import require_binary

    with pytest.raises(StackError, match="binary missing"):
        require_binary("/nonexistent/weed", "SeaweedFS weed")
