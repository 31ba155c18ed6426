"""Settings of the reporting service (environment variables prefixed QLVB_REPORTING_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_REPORTING_", extra="ignore")

    service_name: str = "reporting"
    http_port: int = 25105
