"""Settings of the issuance service (environment variables prefixed QLVB_ISSUANCE_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from qlvb_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QLVB_ISSUANCE_", extra="ignore")

    service_name: str = "issuance"
    http_port: int = 25104

    organ_id: str = "000.00.00.H41"
    """Our own edXML OrganId (mã định danh): From of every outbound package, part of DocumentId."""
    organ_name: str = "Ủy ban nhân dân thành phố"
    organ_address: str | None = None
    organ_email: str | None = None
    promulgation_place: str = "Thành phố"
    """Địa danh printed before the date ("Thành phố, ngày ... tháng ... năm ...")."""
    issuer_abbreviation: str = "UBND"
    """Chữ viết tắt tên cơ quan ban hành, the issuer group of every ký hiệu ("QĐ-UBND")."""
    max_upload_bytes: int = 50 * 1024 * 1024
    """Size cap of one uploaded file (signed document or appendix)."""
