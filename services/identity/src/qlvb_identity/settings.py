"""Settings of the identity service (environment variables prefixed QLVB_IDENTITY_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_IDENTITY_", extra="ignore")

    service_name: str = "identity"
    http_port: int = 25101
