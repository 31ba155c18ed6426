"""Settings of the routing service (environment variables prefixed QLVB_ROUTING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings
from qlvb_routing.domain.deadlines import DEFAULT_DUE_WORKING_DAYS


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_ROUTING_", extra="ignore")

    service_name: str = "routing"
    http_port: int = 25103

    due_working_days: dict[int, int] = Field(
        default_factory=lambda: dict(DEFAULT_DUE_WORKING_DAYS),
        description="Working days to handle a document without DueDate, by urgency "
        '(edXML Priority 0..4), e.g. {"0": 10, "1": 5, "2": 3, "3": 1, "4": 1}.',
    )
    max_upload_bytes: int = 50 * 1024 * 1024
    presigned_url_seconds: int = 300
