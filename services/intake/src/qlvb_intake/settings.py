"""Settings of the intake service (environment variables prefixed QLVB_INTAKE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 25102

    office_organ_id: str = "000.00.00.H41"
    """Our own OrganId: the addressee agencies must write in To, the From of our status packages."""
    office_organ_name: str = "Văn phòng HĐND và UBND thành phố"
    office_department: str = "Phòng Hành chính – Tổ chức"
    """Who signs return slips and answers agencies (HC-TC, seed Đ6.1)."""
    check_addressee: bool = True
    """Refuse (status 02, misaddressed) an electronic document whose To does not name us."""

    sla_working_hours: float = 4.0
    """Register-and-forward deadline from receipt, in working hours (seed Đ6.2)."""
    backfill_tolerance_s: float = 300.0
    """A receipt time older than this is an entry after the fact (seed Đ3.4), marked backfilled."""

    max_upload_bytes: int = 25 * 1024 * 1024
    """Per scanned file uploaded by a clerk."""
    max_upload_files: int = 20
    require_scan: bool = True
    """A registered paper document needs at least one scanned file (seed Đ6.3)."""
    require_known_handlers: bool = True
    """First handlers must be active users known from identity.events."""

    inbound_max_bytes: int = 20 * 1024 * 1024
    """Cap of one exchange.inbound message (edXML or JSON)."""
    inbound_attachment_max_bytes: int = 50 * 1024 * 1024
    """Cap of one attachment of an agency's package (claim-checked ones included)."""
    inbound_bucket: str = "qlvb-inbound"
    """Where agencies upload claim-checked attachments; the only bucket a claim may name."""

    presigned_url_ttl_s: int = 300
    return_slip_font: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    return_slip_font_bold: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
