"""Settings: one pattern for every service (pydantic-settings, a per-service env prefix).

A service subclasses :class:`ServiceSettings` and sets its prefix::

    class IntakeSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="QLVB_INTAKE_")

Nothing is read at import: settings are built in the service's composition root.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_", extra="ignore")

    service_name: str = "qlvb"
    database_url: str = Field(
        description="postgresql+asyncpg://role:password@host:port/qlvb; the role's search_path "
        "is the service's own schema"
    )
    database_schema: str | None = None
    """Overrides the role's search_path (tests run a service in a throwaway schema)."""
    db_pool_size: int = 10
    db_max_overflow: int = 10

    kafka_bootstrap: str = "127.0.0.1:25092"
    kafka_idempotence: bool = Field(
        default=False,
        description="Idempotent producer: off on Tansu (it refuses InitProducerId), on for Kafka.",
    )
    kafka_linger_ms: int = 5
    topic_prefix: str = ""
    """Prepended to every registry topic name; empty in production. Tests use a unique prefix so
    that each test's service sees only its own messages."""

    s3_endpoint: str = "127.0.0.1:25333"
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = False
    s3_region: str = "us-east-1"

    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 0.25
    outbox_backoff_max_s: float = 10.0

    consumer_max_records: int = 200
    consumer_batch_transactions: bool = True
    """The records of one fetch share one transaction (a savepoint each); off: one each."""
    consumer_batch_max_seconds: float = 0.5
    """A shared transaction commits once it has run this long (it holds its row and audit locks
    until then); the rest of the fetch goes on in the next one."""
    consumer_max_attempts: int = 5
    """Attempts for a message whose handler keeps failing before it goes to the DLQ."""
    consumer_backoff_base_s: float = 0.2
    consumer_backoff_max_s: float = 10.0
    consumer_fetch_max_wait_ms: int = 100
    """How long a fetch waits for data. Tansu answers a fetch only when this runs out, so it is
    a floor on every hop's latency (aiokafka's default of 500 ms made it the dominant cost)."""
    consumer_session_timeout_ms: int = 10000
    """How long the group waits for a copy that died (kill -9) before its partitions move."""

    identity_url: str = "http://127.0.0.1:25101"
    """Where the JWKS of the identity service is (``/.well-known/jwks.json``)."""
    token_audience: str = "qlvb"  # noqa: S105 - an audience name, not a secret
    token_issuer: str = "qlvb-identity"  # noqa: S105 - an issuer name

    calendar_file: Path | None = None
    """JSON of the working-time calendar (office hours, holidays); see chassis.calendar."""

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
