"""Settings of the reporting service (environment variables prefixed QLVB_REPORTING_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_REPORTING_", extra="ignore")

    service_name: str = "reporting"
    http_port: int = 25105

    consumer_group: str = "reporting"
    """Group id of the read-model consumers (one per topic: ``<group>.<topic>``)."""
    pdf_font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")
    """Where DejaVuSans.ttf and DejaVuSans-Bold.ttf are (Vietnamese glyphs for PDF exports)."""
    metrics_refresh_s: float = 30.0
    """How often the business gauges are recomputed from the read models."""
    rebuild_batch_size: int = 500
    """Events applied per transaction by ``python -m qlvb_reporting.rebuild``."""
    search_total_limit: int = 1_000
    """Search counts its hits up to this many; beyond, ``total`` is this and ``total_capped``
    is true (counting the half a million documents a common word matches takes seconds; each
    hit counted is a page read)."""
