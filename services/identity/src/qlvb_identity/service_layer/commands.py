"""Commands of the identity service; the HTTP API takes them as request bodies as they are.

For updates, only the fields present in the request change (``model_fields_set``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from qlvb_contracts import reference as ref

Text = Annotated[str, Field(min_length=1, max_length=300)]
OptionalText = Annotated[str | None, Field(default=None, max_length=300)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Login(Command):
    username: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class Refresh(Command):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class ChangeOwnPassword(Command):
    current_password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]
    new_password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class SetPassword(Command):
    password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class CreateUnit(Command):
    """Tạo đơn vị."""

    unit_id: Annotated[str, Field(min_length=1, max_length=50)]
    code: Annotated[str, Field(min_length=1, max_length=20)]
    name: Text
    parent_unit_id: str | None = None
    head_user_id: str | None = None


class UpdateUnit(Command):
    code: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    name: Text | None = None
    parent_unit_id: str | None = None
    head_user_id: str | None = None
    active: bool | None = None


class CreateUser(Command):
    """Tạo tài khoản. Roles asked for here become a pending rights change (two-person rule)."""

    user_id: Annotated[str, Field(min_length=1, max_length=100)]
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    position: OptionalText = None
    unit_id: str | None = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone: Annotated[str | None, Field(max_length=50)] = None
    roles: list[str] = Field(default_factory=list, max_length=10)
    password: Annotated[SecretStr | None, Field(max_length=1024)] = None


class UpdateUser(Command):
    full_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    position: OptionalText = None
    unit_id: str | None = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone: Annotated[str | None, Field(max_length=50)] = None
    active: bool | None = None


class RequestRoleChange(Command):
    """Đề nghị thay đổi quyền: applied only when another administrator confirms it."""

    roles: list[str] = Field(max_length=10)
    reason: Annotated[str | None, Field(max_length=1000)] = None


class CreateAgency(Command):
    """Thêm cơ quan vào danh bạ (edXML OrganId)."""

    OrganId: ref.OrganIdentifier
    OrganName: Text
    OrganizationInCharge: OptionalText = None
    OrganAdd: Annotated[str | None, Field(max_length=500)] = None
    Email: Annotated[str | None, Field(max_length=320)] = None
    Telephone: Annotated[str | None, Field(max_length=50)] = None
    Website: OptionalText = None
    electronic_exchange: bool = False


class UpdateAgency(Command):
    OrganName: Text | None = None
    OrganizationInCharge: OptionalText = None
    OrganAdd: Annotated[str | None, Field(max_length=500)] = None
    Email: Annotated[str | None, Field(max_length=320)] = None
    Telephone: Annotated[str | None, Field(max_length=50)] = None
    Website: OptionalText = None
    electronic_exchange: bool | None = None
    active: bool | None = None


class CreateDelegation(Command):
    """Ủy quyền: ``delegate`` may act for ``principal`` with these roles (and actions)."""

    principal: Annotated[str, Field(min_length=1, max_length=100)]
    delegate: Annotated[str, Field(min_length=1, max_length=100)]
    roles: list[str] = Field(min_length=1, max_length=10)
    actions: list[str] = Field(default_factory=list, max_length=50)
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None


def changes(command: BaseModel) -> dict[str, object]:
    """The fields the client actually sent."""
    return {name: getattr(command, name) for name in command.model_fields_set}
