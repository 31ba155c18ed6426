"""identity.events — snapshots of users, org units, delegations and the agency directory.

Every event carries the whole aggregate after the change, so a consumer just upserts it; a
``revision`` older than the one it holds is a stale redelivery and is ignored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from qlvb_contracts import reference as ref
from qlvb_contracts.envelope import UtcDatetime
from qlvb_contracts.payloads.common import Id
from qlvb_contracts.topics import Payload


class Role(StrEnum):
    """Known role names (seed Đ3–4, Đ15–21). Payloads carry plain strings so that a new role
    does not make older consumers reject the event."""

    CLERK = "clerk"
    RECORDS_ADMIN = "records_admin"
    SPECIALIST = "specialist"
    OFFICE_LEADER = "office_leader"
    COMMITTEE_LEADER = "committee_leader"
    SECRETARY = "secretary"
    IT_ADMIN = "it_admin"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.CLERK: "Văn thư",
    Role.RECORDS_ADMIN: "Quản trị hồ sơ (Phòng HC-TC)",
    Role.SPECIALIST: "Chuyên viên",
    Role.OFFICE_LEADER: "Lãnh đạo Văn phòng",
    Role.COMMITTEE_LEADER: "Thường trực UBND",
    Role.SECRETARY: "Thư ký",
    Role.IT_ADMIN: "Quản trị hệ thống (Trung tâm Tin học)",
}

Revision = Annotated[int, Field(ge=1, description="Increases with every change of the aggregate.")]


class UserChanged(Payload):
    """Người dùng: created, updated, deactivated or deleted."""

    EVENT_TYPE = "user.changed"
    SCHEMA_VERSION = 1

    user_id: Id
    revision: Revision
    username: str = Field(min_length=1)
    full_name: str = Field(min_length=1)
    email: str | None = None
    phone: str | None = None
    unit_id: Id | None = None
    """The org unit (phòng, ban) the user belongs to."""
    position: str | None = None
    """Chức vụ, e.g. "Chuyên viên", "Phó Chánh Văn phòng"."""
    roles: list[str] = Field(default_factory=list)
    """Role names, see :class:`Role`."""
    active: bool
    deleted: bool = False

    def aggregate_key(self) -> str:
        return self.user_id


class OrgUnitChanged(Payload):
    """Đơn vị (phòng, ban) of the office."""

    EVENT_TYPE = "org_unit.changed"
    SCHEMA_VERSION = 1

    unit_id: Id
    revision: Revision
    code: str = Field(min_length=1)
    """Abbreviation used in ký hiệu of công văn drafted by the unit, e.g. "VX" in "12/UBND-VX"."""
    name: str = Field(min_length=1)
    parent_unit_id: Id | None = None
    head_user_id: Id | None = None
    active: bool
    deleted: bool = False

    def aggregate_key(self) -> str:
        return self.unit_id


class DelegationChanged(Payload):
    """Ủy quyền: the delegate may act for the principal within the scope, in the time window.

    Actions done under it record acted_by = delegate and on_behalf_of = principal.
    """

    EVENT_TYPE = "delegation.changed"
    SCHEMA_VERSION = 1

    delegation_id: Id
    revision: Revision
    principal: Id
    """User id of the person delegating (a committee leader, an office leader)."""
    delegate: Id
    """User id of the person acting (a secretary, HC-TC staff)."""
    roles: list[str] = Field(default_factory=list)
    """Roles of the principal the delegate may use."""
    actions: list[str] = Field(default_factory=list)
    """Actions allowed, e.g. "direction.record", "draft.approve"; empty means all of the roles."""
    valid_from: UtcDatetime
    valid_to: UtcDatetime | None = None
    revoked: bool = False
    deleted: bool = False

    @model_validator(mode="after")
    def _window(self) -> DelegationChanged:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.principal == self.delegate:
            raise ValueError("a user cannot delegate to themselves")
        return self

    def aggregate_key(self) -> str:
        return self.delegation_id


class AgencyChanged(Payload):
    """An external agency in the directory; only known OrganIds may send us documents."""

    EVENT_TYPE = "agency.changed"
    SCHEMA_VERSION = 1

    OrganId: ref.OrganIdentifier
    revision: Revision
    OrganName: str = Field(min_length=1)
    OrganizationInCharge: str | None = None
    """Cơ quan chủ quản."""
    OrganAdd: str | None = None
    Email: str | None = None
    Telephone: str | None = None
    Website: str | None = None
    electronic_exchange: bool = False
    """Whether the agency exchanges documents electronically (edXML) with us."""
    active: bool
    deleted: bool = False

    def aggregate_key(self) -> str:
        return self.OrganId
