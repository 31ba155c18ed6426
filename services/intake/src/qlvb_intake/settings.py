"""Settings of the intake service (environment variables prefixed QLVB_INTAKE_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 25102
