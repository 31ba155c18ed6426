"""Settings of the routing service (environment variables prefixed QLVB_ROUTING_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_ROUTING_", extra="ignore")

    service_name: str = "routing"
    http_port: int = 25103
