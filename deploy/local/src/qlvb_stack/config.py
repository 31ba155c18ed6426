"""Where the local stack lives and which ports it uses.

Everything is derived from two environment variables so that several stacks can coexist on one
machine (the developer's, the test suite's, a scratch one a test starts and kills):

- ``QLVB_HOME``: the data folder (default ``<repo>/.qlvb/stack``, git-ignored);
- ``QLVB_PORT_BASE``: the first port of the block (default 25000, away from the usual 5432, 9092,
  8333, 9000...). Each port can also be set on its own (``QLVB_PG_PORT``, ``QLVB_KAFKA_PORT``,
  ``QLVB_S3_PORT``).

Credentials are generated on the first ``up`` and kept in ``<home>/secrets.json`` (mode 0600):
the local stack has no default password either.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path

SERVICES: tuple[str, ...] = ("identity", "intake", "routing", "issuance", "reporting")
"""The five services; each gets a PostgreSQL role and schema of its own."""

BROKER_BUCKET = "qlvb-kafka"
"""The bucket Tansu keeps its log and committed offsets in."""

SERVICE_BUCKETS: dict[str, tuple[str, ...]] = {
    "intake": ("qlvb-intake", "qlvb-inbound"),
    "routing": ("qlvb-routing",),
    "issuance": ("qlvb-issuance",),
    "reporting": ("qlvb-reporting",),
    "identity": (),
}
"""Buckets per service. ``qlvb-inbound`` holds claim-checked attachments agencies upload."""

DATABASE = "qlvb"


def repo_root() -> Path:
    """The checkout the CLI runs from (``./qlvb`` exports it; otherwise the working folder)."""
    return Path(os.environ.get("QLVB_ROOT", os.getcwd())).resolve()


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a port number") from None
    if not 1024 <= port <= 65535:
        raise SystemExit(f"{name}={port} is outside 1024..65535")
    return port


@dataclass(frozen=True)
class Ports:
    postgres: int
    kafka: int
    s3: int
    s3_grpc: int
    weed_master: int
    weed_master_grpc: int
    weed_volume: int
    weed_volume_grpc: int
    weed_filer: int
    weed_filer_grpc: int

    @classmethod
    def from_env(cls) -> Ports:
        base = _port("QLVB_PORT_BASE", 25000)
        # Every port of a stack lies in base..base+999, so stacks 1000 apart never collide.
        if base > 64000:
            raise SystemExit(f"QLVB_PORT_BASE={base} leaves no room for the stack's ports")
        return cls(
            postgres=_port("QLVB_PG_PORT", base + 432),
            kafka=_port("QLVB_KAFKA_PORT", base + 92),
            s3=_port("QLVB_S3_PORT", base + 333),
            s3_grpc=base + 334,
            weed_master=base + 633,
            weed_master_grpc=base + 634,
            weed_volume=base + 680,
            weed_volume_grpc=base + 681,
            weed_filer=base + 688,
            weed_filer_grpc=base + 689,
        )


@dataclass(frozen=True)
class Secrets:
    """Generated credentials of one stack."""

    pg_superuser: str
    pg_superuser_password: str
    pg_service_passwords: dict[str, str]
    s3_admin_access_key: str
    s3_admin_secret_key: str
    s3_service_keys: dict[str, tuple[str, str]]
    demo_password: str = ""
    """The password of the demo accounts ``./qlvb up`` seeds (local stack only)."""

    @classmethod
    def generate(cls) -> Secrets:
        def token() -> str:
            return secrets.token_urlsafe(24)

        return cls(
            pg_superuser="qlvb_admin",
            pg_superuser_password=token(),
            pg_service_passwords={s: token() for s in SERVICES},
            s3_admin_access_key="qlvb-admin-" + secrets.token_hex(4),
            s3_admin_secret_key=token(),
            s3_service_keys={s: (f"qlvb-{s}-" + secrets.token_hex(4), token()) for s in SERVICES},
            demo_password="demo-" + secrets.token_hex(4),
        )

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        if path.exists():
            raw = json.loads(path.read_text())
            raw["s3_service_keys"] = {k: tuple(v) for k, v in raw["s3_service_keys"].items()}
            loaded = cls(**raw)
            if loaded.demo_password:
                return loaded
            created = replace(loaded, demo_password=cls.generate().demo_password)
        else:
            created = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(created), fh, indent=2)
        tmp.replace(path)
        return created


@dataclass(frozen=True)
class StackConfig:
    home: Path
    ports: Ports

    @classmethod
    def from_env(cls) -> StackConfig:
        home = Path(os.environ.get("QLVB_HOME", repo_root() / ".qlvb" / "stack")).resolve()
        return cls(home=home, ports=Ports.from_env())

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    def secrets(self) -> Secrets:
        return Secrets.load_or_create(self.secrets_file)

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.s3}"

    def database_url(
        self, service: str | None = None, *, driver: str = "postgresql", database: str = DATABASE
    ) -> str:
        """A URL for a service's own role, or for the superuser when ``service`` is None."""
        sec = self.secrets()
        if service is None:
            user, password = sec.pg_superuser, sec.pg_superuser_password
        else:
            user, password = service, sec.pg_service_passwords[service]
        return f"{driver}://{user}:{password}@127.0.0.1:{self.ports.postgres}/{database}"

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process gets: its own database role and S3 identity only."""
        sec = self.secrets()
        access, secret = sec.s3_service_keys[service]
        prefix = f"QLVB_{service.upper()}_"
        return {
            prefix + "DATABASE_URL": self.database_url(service, driver="postgresql+asyncpg"),
            prefix + "KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            prefix + "KAFKA_IDEMPOTENCE": "false",
            prefix + "S3_ENDPOINT": self.s3_endpoint,
            prefix + "S3_ACCESS_KEY": access,
            prefix + "S3_SECRET_KEY": secret,
        }
