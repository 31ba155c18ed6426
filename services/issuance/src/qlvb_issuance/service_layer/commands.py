"""Commands of the issuance service: what a clerk or records admin asks for (also HTTP bodies)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from qlvb_contracts import reference as ref
from qlvb_contracts.payloads.common import Recipient
from qlvb_issuance.domain.model import Series

RegisterId = str


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateRegister(_Command):
    """Mở sổ văn bản đi (a series in the catalog; numbers restart every year)."""

    register_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=300)
    series: Series
    type_names: list[str] = Field(default_factory=list)
    copy_types: list[ref.CopyType] = Field(default_factory=list)
    description: str | None = None


class UpdateRegister(_Command):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    type_names: list[str] | None = None
    copy_types: list[ref.CopyType] | None = None
    active: bool | None = None
    description: str | None = None


class NumberDocument(_Command):
    """Cấp số: take the next number of the register for the year, and the date."""

    register_id: str | None = Field(default=None, max_length=100)
    """Defaults to the administrative register of the document's type."""
    CodeNotation: str | None = Field(default=None, max_length=100)
    """Defaults to the notation proposed with the draft, else derived from the type."""
    drafting_unit_id: str | None = Field(default=None, max_length=200)
    """The drafting unit: the second group of a công văn's notation, and keeps the file copy."""


class IssueDocument(NumberDocument):
    """Phát hành: number (if not yet) and send to the confirmed recipients."""

    To: list[Recipient] | None = None
    """Nơi nhận; defaults to the recipients proposed with the draft."""
    IssuedAmount: int | None = Field(default=None, ge=1, le=100000)
    """Số lượng bản."""
    notes: str | None = Field(default=None, max_length=2000)


class VoidNumber(_Command):
    """Hủy số (e.g. the paper was spoiled); the number stays in the register, never reused."""

    reason: str = Field(min_length=1, max_length=2000)


class RecallDocument(_Command):
    """Thu hồi văn bản đã phát hành."""

    reason: str = Field(min_length=1, max_length=2000)
