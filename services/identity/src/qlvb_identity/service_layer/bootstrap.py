"""Accounts created at the database by an operator: the first administrators and the demo cast.

These bypass the two-person rule on purpose — there is nobody yet to confirm — and so exist only
as command-line tools run by whoever operates the database, never over HTTP. Every change is
still audited and announced on identity.events through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import func, select

from qlvb_chassis.db import Database, UnitOfWork
from qlvb_contracts.envelope import Actor
from qlvb_contracts.payloads.identity import Role
from qlvb_identity.adapters.orm import agencies, delegations, org_units, users
from qlvb_identity.domain import passwords
from qlvb_identity.domain.model import RuleViolation
from qlvb_identity.service_layer import admin, commands, snapshots
from qlvb_identity.service_layer.unit_of_work import run

OPERATOR = Actor()  # the system: no signed-in user acts at the database console

# Two administrators make the two-person rule workable; more are added through the rule itself.
MAX_BOOTSTRAP_ADMINS = 2


async def create_admin(db: Database, username: str, full_name: str, password: str) -> None:
    """Create an active it_admin with a password, unless two administrators already exist."""
    passwords.check_policy(password, username=username)

    async def work(uow: UnitOfWork) -> None:
        admins = await uow.session.scalar(
            select(func.count())
            .select_from(users)
            .where(users.c.roles.contains([Role.IT_ADMIN.value]), users.c.active.is_(True))
        )
        if (admins or 0) >= MAX_BOOTSTRAP_ADMINS:
            raise RuleViolation(
                f"{admins} active IT administrators exist; add more through the admin API "
                "(a second administrator confirms the role)",
                slug="admins-exist",
                status=409,
            )
        await admin.add_user(
            uow,
            commands.CreateUser(
                user_id=username,
                full_name=full_name,
                roles=[Role.IT_ADMIN.value],
                password=SecretStr(password),
            ),
            OPERATOR,
            roles_now=True,
        )

    await run(db, work)


# --- the seed's cast (demo mode, local stack only) -------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    full_name: str
    position: str
    unit_id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class DemoCast:
    units: tuple[tuple[str, str, str, str | None, str | None], ...] = (
        # unit_id, code, name, parent, head
        ("UBND", "UBND", "Ủy ban nhân dân thành phố", None, "ct.ubnd"),
        ("VP", "VP", "Văn phòng HĐND và UBND thành phố", "UBND", "lanhdao.vp"),
        ("HCTC", "HCTC", "Phòng Hành chính – Tổ chức", "VP", "hctc.admin"),
        ("VX", "VX", "Phòng Văn xã", "VP", None),
        ("KT", "KT", "Phòng Kinh tế", "VP", None),
    )
    users: tuple[DemoUser, ...] = (
        DemoUser("vanthu", "Nguyễn Thị Thu", "Văn thư", "HCTC", ("clerk",)),
        DemoUser(
            "hctc.admin",
            "Trần Văn Hòa",
            "Trưởng phòng Hành chính – Tổ chức",
            "HCTC",
            ("records_admin",),
        ),
        DemoUser("cv.nguyenvana", "Nguyễn Văn A", "Chuyên viên", "VX", ("specialist",)),
        DemoUser("cv.tranthib", "Trần Thị B", "Chuyên viên", "KT", ("specialist",)),
        DemoUser("lanhdao.vp", "Lê Văn Đạo", "Chánh Văn phòng", "VP", ("office_leader",)),
        DemoUser(
            "ct.ubnd", "Phạm Văn Chính", "Chủ tịch UBND thành phố", "UBND", ("committee_leader",)
        ),
        DemoUser("thuky.ct", "Hoàng Thị Ký", "Thư ký Chủ tịch UBND", "VP", ("secretary",)),
        DemoUser(
            "it.admin", "Đỗ Minh Tin", "Quản trị hệ thống (Trung tâm Tin học)", "VP", ("it_admin",)
        ),
    )
    agencies: tuple[tuple[str, str, bool], ...] = (
        ("000.00.12.H41", "Sở Tài chính", True),
        ("000.00.13.H41", "Sở Nội vụ", True),
        ("000.00.14.H41", "Sở Kế hoạch và Đầu tư", True),
        ("000.00.00.G22", "Văn phòng Chính phủ", True),
    )
    # The secretary records the committee leader's directions and confirms finalized
    # documents for them (seed Đ3.3, Đ15).
    delegation: tuple[str, str, tuple[str, ...], tuple[str, ...]] = (
        "ct.ubnd",
        "thuky.ct",
        ("committee_leader",),
        ("direction.record", "document.finalize"),
    )


async def seed_demo(db: Database, password: str, cast: DemoCast | None = None) -> list[str]:
    """Load the seed's cast; what exists already is left as it is. Returns what was created."""
    cast = cast or DemoCast()
    passwords.check_policy(password)
    created: list[str] = []

    async def work(uow: UnitOfWork) -> None:
        session = uow.session
        for unit_id, code, name, parent, _ in cast.units:
            if await session.scalar(
                select(org_units.c.unit_id).where(org_units.c.unit_id == unit_id)
            ):
                continue
            cmd = commands.CreateUnit(unit_id=unit_id, code=code, name=name, parent_unit_id=parent)
            await admin.add_unit(uow, cmd, OPERATOR)
            created.append(f"unit {unit_id}")
        for person in cast.users:
            if await session.scalar(
                select(users.c.user_id).where(users.c.user_id == person.user_id)
            ):
                continue
            cmd_user = commands.CreateUser(
                user_id=person.user_id,
                full_name=person.full_name,
                position=person.position,
                unit_id=person.unit_id,
                roles=list(person.roles),
                password=SecretStr(password),
            )
            await admin.add_user(uow, cmd_user, OPERATOR, roles_now=True)
            created.append(f"user {person.user_id}")
        for unit_id, _, _, _, head in cast.units:
            unit = await snapshots.unit_row(session, unit_id)
            if head is not None and unit.head_user_id is None:
                await admin.change_unit(
                    uow, unit_id, commands.UpdateUnit(head_user_id=head), OPERATOR
                )
        for organ_id, name, electronic in cast.agencies:
            if await session.scalar(
                select(agencies.c.organ_id).where(agencies.c.organ_id == organ_id)
            ):
                continue
            cmd_agency = commands.CreateAgency(
                OrganId=organ_id, OrganName=name, electronic_exchange=electronic
            )
            await admin.add_agency(uow, cmd_agency, OPERATOR)
            created.append(f"agency {organ_id}")
        principal, delegate, roles, actions = cast.delegation
        existing = await session.scalar(
            select(delegations.c.delegation_id).where(
                delegations.c.principal == principal,
                delegations.c.delegate == delegate,
                delegations.c.revoked.is_(False),
            )
        )
        if existing is None:
            cmd_delegation = commands.CreateDelegation(
                principal=principal,
                delegate=delegate,
                roles=list(roles),
                actions=list(actions),
                valid_from=datetime.now(UTC),
            )
            await admin.add_delegation(
                uow, cmd_delegation, OPERATOR, frozenset({Role.IT_ADMIN.value})
            )
            created.append(f"delegation {principal} → {delegate}")

    await run(db, work)
    return created
