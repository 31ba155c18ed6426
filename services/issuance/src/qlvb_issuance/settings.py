"""Settings of the issuance service (environment variables prefixed QLVB_ISSUANCE_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_ISSUANCE_", extra="ignore")

    service_name: str = "issuance"
    http_port: int = 25104
