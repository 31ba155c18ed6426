"""Settings of the identity service (environment variables prefixed QLVB_IDENTITY_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_IDENTITY_", extra="ignore")

    service_name: str = "identity"
    http_port: int = 25101

    access_token_ttl_s: int = Field(default=600, ge=30, le=900)
    """Access tokens live at most 15 minutes: a revoked delegation or role ends within this."""
    refresh_token_ttl_s: int = Field(default=12 * 3600, ge=60)
    """A refresh token (one login session) ends after this, rotation or not."""
    signing_key_passphrase: SecretStr | None = None
    """Encrypts the private signing keys at rest in the database when set (PKCS#8, AES)."""

    login_max_failures: int = 5
    login_window_s: int = 15 * 60
    login_lock_s: int = 15 * 60
    login_ip_max_failures: int = 50
    """Failed logins from one address within the window before it is throttled (429)."""
