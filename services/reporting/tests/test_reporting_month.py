"""A scripted month (September 2025) of events on the real stack, checked against expectations
computed by hand, then a rebuild from the log that must give the same read models.

Office calendar: weekends, and 1–2 September 2025 (Quốc khánh) as holidays. The report is taken
for a past month, so its cut-off is 1 October 2025 00:00 office time (30 Sep 17:00 UTC).

Incoming documents (arrival numbers in register VBDEN/2025), office time:
  101 D1  28/08 10:00, due 29/08, cv.an holds it             → overdue 20 working days
  102 D2  31/08 23:30 (August), slip by cv.binh 03/09        → processed in September
  103 D3  01/09 00:30 (September, a holiday), due 10/09, reply 15/UBND-VX issued 12/09 → late
  104 D4  03/09 08:00, case due 04/09, cv.binh holds it      → overdue 18 working days
  105 D5  05/09 16:00, registered 08/09 past the 4 h SLA, due 02/10, cv.an holds it
  106 D6  15/09 09:00, due 19/09, cv.an's task forced on by qtha 22/09 to cv.cuong, slip 23/09
  107 D11 16/09 10:00 "Quyết định", due 25/09, reply 16/QĐ-UBND 18/09 (issued before it is
          even registered, to check order tolerance)
  108 D7  30/09 23:50 (September), no due date
  109 D8  01/10 00:10 (October)
  D9 returned 10/09; D10 received electronically 29/09, never registered.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select, text

from qlvb_chassis.calendar import CalendarData, WorkingCalendar, office_instant
from qlvb_chassis.db import Database, create_engine
from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_contracts.edxml import Signer
from qlvb_contracts.envelope import Actor, Envelope
from qlvb_contracts.payloads import identity, intake, issuance, routing
from qlvb_contracts.payloads.common import Recipient
from qlvb_contracts.registry import (
    IDENTITY_EVENTS,
    INTAKE_DOCUMENTS,
    ISSUANCE_DOCUMENTS,
    ROUTING_EVENTS,
)
from qlvb_contracts.topics import Payload
from qlvb_reporting import metrics
from qlvb_reporting.adapters import orm
from qlvb_reporting.app import create_app
from qlvb_reporting.domain.periods import Period
from qlvb_reporting.entrypoints.consumers import CONSUMED_TOPICS
from qlvb_reporting.rebuild import rebuild
from qlvb_reporting.service_layer import layouts, queries
from qlvb_reporting.settings import Settings
from qlvb_stack.stack import Stack
from qlvb_stack.testing import isolated_service, serve_in_process

pytestmark = pytest.mark.stack

CALENDAR = WorkingCalendar(CalendarData(holidays=frozenset({date(2025, 9, 1), date(2025, 9, 2)})))
TOKENS = FakeTokenIssuer()
SEPTEMBER = Period.parse_month("2025-09")


def at(day: int, hh: int, mm: int = 0, month: int = 9) -> datetime:
    return office_instant(date(2025, month, day), clock(hh, mm))


@dataclass
class Script:
    """Events in the order the producing services would publish them."""

    events: list[tuple[str, Envelope]] = field(default_factory=list)

    def add(
        self,
        topic: str,
        payload: Payload,
        when: datetime,
        user: str | None = None,
        producer: str | None = None,
    ) -> None:
        self.events.append(
            (
                topic,
                Envelope.new(
                    payload=payload,
                    producer=producer or topic.split(".")[0],
                    actor=Actor(user=user),
                    occurred_at=when,
                ),
            )
        )


def _user(uid: str, name: str, unit: str, roles: list[str], rev: int = 1) -> identity.UserChanged:
    return identity.UserChanged(
        user_id=uid,
        revision=rev,
        username=uid,
        full_name=name,
        unit_id=unit,
        roles=roles,
        active=True,
    )


def _registered(
    doc: str,
    number: int,
    arrival: datetime,
    registered: datetime,
    *,
    subject: str,
    type_name: str = "Công văn",
    due: date | None = None,
    handler: str = "cv.an",
    sla_met: bool = True,
    code: tuple[str, str] = ("01", "STC-QLNS"),
    organ: str = "Sở Tài chính",
) -> intake.IncomingDocumentRegistered:
    return intake.IncomingDocumentRegistered(
        incoming_document_id=doc,
        register_id="VBDEN",
        year=2025,
        ArrivalNumber=number,
        ArrivalDate=arrival,
        channel=intake.Channel.PAPER,
        CodeNumber=code[0],
        CodeNotation=code[1],
        OrganName=organ,
        TypeName=type_name,
        Subject=subject,
        PromulgationDate=(arrival - timedelta(days=2)).date(),
        DueDate=due,
        first_handlers=[handler],
        sla_deadline=arrival + timedelta(hours=4),
        sla_met=sla_met,
    )


def _case(
    script: Script, doc: str, task: str, who: str, when: datetime, due: date | None = None
) -> None:
    case = f"case-{doc}"
    script.add(
        ROUTING_EVENTS,
        routing.CaseOpened(
            case_id=case, incoming_document_id=doc, Subject=f"Xử lý {doc}", DueDate=due
        ),
        when,
        "ld.dung",
    )
    script.add(
        ROUTING_EVENTS,
        routing.TaskAssigned(case_id=case, task_id=task, assignee=who),
        when,
        "ld.dung",
    )


def _issued(
    out_id: str,
    register: str,
    number: int,
    notation: str,
    issued: date,
    subject: str,
    type_name: str,
    answers: list[str],
) -> issuance.OutgoingDocumentIssued:
    return issuance.OutgoingDocumentIssued(
        register_id=register,
        year=2025,
        CodeNumber=number,
        CodeNotation=notation,
        Code=f"{number:02d}/{notation}",
        outgoing_document_id=out_id,
        IssuedDate=issued,
        TypeName=type_name,
        Subject=subject,
        SignerInfo=Signer(Position="Chủ tịch", FullName="Võ Văn Hưng"),
        To=[Recipient(OrganName="Sở Giáo dục và Đào tạo")],
        incoming_document_ids=answers,
        IssuedAmount=3,
    )


def september_script() -> Script:
    s = Script()
    # identity (a stale revision of cv.an arrives after the fresh one and must be ignored)
    for unit, name in (
        ("HCTC", "Phòng Hành chính – Tổ chức"),
        ("VX", "Phòng Văn xã"),
        ("KT", "Phòng Kinh tế"),
    ):
        s.add(
            IDENTITY_EVENTS,
            identity.OrgUnitChanged(unit_id=unit, revision=1, code=unit, name=name, active=True),
            at(1, 7, month=8),
        )
    s.add(IDENTITY_EVENTS, _user("vanthu", "Nguyễn Thị Thư", "HCTC", ["clerk"]), at(1, 7, month=8))
    s.add(
        IDENTITY_EVENTS,
        _user("cv.an", "Trần Văn An", "VX", ["specialist"], rev=2),
        at(1, 7, month=8),
    )
    s.add(IDENTITY_EVENTS, _user("cv.an", "Tên Cũ", "KT", ["specialist"], rev=1), at(1, 7, month=8))
    s.add(IDENTITY_EVENTS, _user("cv.binh", "Lê Thị Bình", "KT", ["specialist"]), at(1, 7, month=8))
    s.add(
        IDENTITY_EVENTS,
        _user("cv.cuong", "Phạm Quốc Cường", "VX", ["specialist"]),
        at(1, 7, month=8),
    )
    s.add(
        IDENTITY_EVENTS,
        _user("ld.dung", "Đặng Văn Dũng", "HCTC", ["office_leader"]),
        at(1, 7, month=8),
    )

    reg = INTAKE_DOCUMENTS
    # D1: August, overdue since 29/08
    s.add(
        reg,
        _registered(
            "D1",
            101,
            at(28, 10, month=8),
            at(28, 11, month=8),
            subject="Đề nghị hỗ trợ kinh phí",
            due=date(2025, 8, 29),
        ),
        at(28, 11, month=8),
        "vanthu",
    )
    _case(s, "D1", "T1", "cv.an", at(28, 11, month=8))
    # D2: last minutes of August, processed by a slip on 03/09
    s.add(
        reg,
        _registered(
            "D2",
            102,
            at(31, 23, 30, month=8),
            at(3, 8),
            subject="Báo cáo tình hình",
            handler="cv.binh",
        ),
        at(3, 8),
        "vanthu",
    )
    _case(s, "D2", "T2", "cv.binh", at(3, 8, 10))
    s.add(
        ROUTING_EVENTS,
        routing.TaskProcessingSlip(
            case_id="case-D2", task_id="T2", content="Lưu", case_completed=True
        ),
        at(3, 15),
        "cv.binh",
    )
    # D3: first minutes of September (a holiday), answered late by 15/UBND-VX
    s.add(
        reg,
        _registered(
            "D3",
            103,
            at(1, 0, 30),
            at(3, 8, 30),
            subject="Xin sửa chữa trường học",
            due=date(2025, 9, 10),
            handler="cv.cuong",
        ),
        at(3, 8, 30),
        "vanthu",
    )
    _case(s, "D3", "T3", "cv.cuong", at(3, 9))
    # D4: due date set by the case (04/09), never handled
    s.add(
        reg,
        _registered(
            "D4",
            104,
            at(3, 8),
            at(3, 9, 30),
            subject="Kiến nghị cử tri",
            handler="cv.binh",
            organ="Ủy ban MTTQ",
        ),
        at(3, 9, 30),
        "vanthu",
    )
    _case(s, "D4", "T4", "cv.binh", at(3, 10), due=date(2025, 9, 4))
    # D5: Friday afternoon, registered Monday: past the 4 working hours
    s.add(
        reg,
        _registered(
            "D5",
            105,
            at(5, 16),
            at(8, 9),
            subject="Mời họp giao ban",
            due=date(2025, 10, 2),
            sla_met=False,
        ),
        at(8, 9),
        "vanthu",
    )
    _case(s, "D5", "T5", "cv.an", at(8, 9, 30))
    # D6: cv.an does not pass it on; the records admin forwards it for them (Đ9)
    s.add(
        reg,
        _registered(
            "D6", 106, at(15, 9), at(15, 9, 30), subject="Góp ý dự thảo", due=date(2025, 9, 19)
        ),
        at(15, 9, 30),
        "vanthu",
    )
    _case(s, "D6", "T6", "cv.an", at(15, 10))
    s.add(
        ROUTING_EVENTS,
        routing.TaskForwarded(
            case_id="case-D6", task_id="T6", to_user="cv.cuong", new_task_id="T6b", forced=True
        ),
        at(22, 9),
        "qtha",
    )
    s.add(
        ROUTING_EVENTS,
        routing.TaskProcessingSlip(
            case_id="case-D6", task_id="T6b", content="Đã góp ý", case_completed=True
        ),
        at(23, 14),
        "cv.cuong",
    )
    # D11: the reply is issued (issuance topic) before intake's registration is even published
    s.add(
        ISSUANCE_DOCUMENTS,
        _issued(
            "O2",
            "VBDI-QD",
            16,
            "QĐ-UBND",
            date(2025, 9, 18),
            "Quyết định phê duyệt dự án đường Lê Lợi",
            "Quyết định",
            ["D11"],
        ),
        at(18, 15),
        "vanthu",
    )
    s.add(
        reg,
        _registered(
            "D11",
            107,
            at(16, 10),
            at(16, 10, 30),
            subject="Quyết định về việc giao chỉ tiêu biên chế",
            type_name="Quyết định",
            due=date(2025, 9, 25),
            handler="cv.binh",
            code=("12", "QĐ-UBND"),
            organ="UBND tỉnh",
        ),
        at(16, 10, 30),
        "vanthu",
    )
    _case(s, "D11", "T11", "cv.binh", at(16, 11))
    s.add(
        ROUTING_EVENTS,
        routing.TaskCompleted(
            case_id="case-D11",
            task_id="T11",
            outcome=routing.TaskOutcome.REPLY_ISSUED,
            outgoing_document_id="O2",
            case_completed=True,
        ),
        at(18, 15, 5),
    )
    # D3's reply
    s.add(
        ISSUANCE_DOCUMENTS,
        issuance.OutgoingDocumentNumbered(
            register_id="VBDI-CV",
            year=2025,
            CodeNumber=15,
            CodeNotation="UBND-VX",
            Code="15/UBND-VX",
            outgoing_document_id="O1",
            IssuedDate=date(2025, 9, 12),
            TypeName="Công văn",
            Subject="Trả lời về việc sửa chữa trường học",
        ),
        at(12, 9),
        "vanthu",
    )
    s.add(
        ISSUANCE_DOCUMENTS,
        _issued(
            "O1",
            "VBDI-CV",
            15,
            "UBND-VX",
            date(2025, 9, 12),
            "Trả lời về việc sửa chữa trường học",
            "Công văn",
            ["D3"],
        ),
        at(12, 10),
        "vanthu",
    )
    s.add(
        ROUTING_EVENTS,
        routing.TaskCompleted(
            case_id="case-D3",
            task_id="T3",
            outcome=routing.TaskOutcome.REPLY_ISSUED,
            outgoing_document_id="O1",
            case_completed=True,
        ),
        at(12, 10),
    )
    s.add(
        ISSUANCE_DOCUMENTS,
        issuance.OutgoingDocumentNumberVoided(
            register_id="VBDI-QD",
            year=2025,
            CodeNumber=17,
            CodeNotation="QĐ-UBND",
            Code="17/QĐ-UBND",
            reason="Hỏng số",
        ),
        at(19, 9),
        "vanthu",
    )
    # D7 / D8 around the end of the month
    s.add(
        reg,
        _registered("D7", 108, at(30, 23, 50), at(30, 23, 55), subject="Thông báo nghỉ"),
        at(30, 23, 55),
        "vanthu",
    )
    s.add(
        reg,
        _registered(
            "D8", 109, at(1, 0, 10, month=10), at(1, 0, 20, month=10), subject="Công văn tháng mười"
        ),
        at(1, 0, 20, month=10),
        "vanthu",
    )
    # D9 returned, D10 only received
    s.add(
        reg,
        intake.IncomingDocumentReturned(
            incoming_document_id="D9",
            channel=intake.Channel.PAPER,
            reason="Không có dấu",
            return_slip_object_key="slips/d9.pdf",
            OrganName="Công ty ABC",
        ),
        at(10, 9),
        "vanthu",
    )
    s.add(
        reg,
        intake.IncomingDocumentReceived(
            incoming_document_id="D10",
            received_at=at(29, 9),
            source_format="exchange_document",
            DocumentId="000.00.00.H41,2025/09/28,99/STP-VP",
            OrganId="000.00.00.H41",
            OrganName="Sở Tư pháp",
            CodeNumber="99",
            CodeNotation="STP-VP",
            TypeName="Công văn",
            Subject="Về việc phổ biến pháp luật",
            PromulgationDate=date(2025, 9, 28),
        ),
        at(29, 9),
    )
    return s


async def produce(bootstrap: str, prefix: str, script: Script) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, envelope in script.events:
            await producer.send_and_wait(
                prefix + topic,
                envelope.to_bytes(),
                key=envelope.key.encode(),
                headers=envelope.headers(),
            )
    finally:
        await producer.stop()


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with db.engine.connect() as conn:
        for table in orm.READ_MODELS:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    db: Database
    settings: Settings
    script: Script


async def _wait_for(db: Database, expected: int, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        async with db.engine.connect() as conn:
            seen = await conn.scalar(select(func.count()).select_from(orm.chassis.inbox)) or 0
        if seen >= expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"only {seen} of {expected} events consumed")


@pytest.fixture(scope="module")
async def world(stack: Stack) -> AsyncIterator[World]:
    async with isolated_service(stack, "reporting") as iso:
        settings = Settings(**{**iso.settings, "metrics_refresh_s": 3600})
        app = create_app(settings, verifier=TOKENS.verifier(), calendar=CALENDAR)
        db = Database(create_engine(settings.database_url, search_path=iso.schema))
        script = september_script()
        try:
            async with serve_in_process(app, base_url="http://reporting") as c:
                await produce(iso.bootstrap, iso.prefix, script)
                await _wait_for(db, len(script.events))
                yield World(app, c, db, settings, script)
        finally:
            await db.dispose()


LEADER = TOKENS.headers("ld.dung", ["office_leader"])
STAFF = TOKENS.headers("cv.an", ["specialist"])


async def test_monthly_report_matches_the_hand_computed_month(world: World) -> None:
    response = await world.client.get(
        "/reports/monthly", params={"month": "2025-09"}, headers=LEADER
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["as_of"].startswith("2025-09-30T17:00:00")
    assert report["counts"] == {
        "received": 6,  # D3 D4 D5 D6 D11 D7
        "processed": 3,  # D3 D6 D11
        "in_progress": 3,  # D4 D5 D7
        "overdue": 1,  # D4
        "processed_late": 2,  # D3 D6
        "registered_past_sla": 1,  # D5
        "returned": 1,  # D9
        "processed_in_month": 4,  # D2 D3 D6 D11
        "overdue_total": 2,  # D1 D4
    }
    overdue = [
        (
            d["arrival_number"],
            d["due_date"],
            d["working_days_overdue"],
            [h["user_id"] for h in d["handlers"]],
        )
        for d in report["overdue_documents"]
    ]
    assert overdue == [
        (101, "2025-08-29", 20, ["cv.an"]),  # the two holidays do not count
        (104, "2025-09-04", 18, ["cv.binh"]),
    ]
    lagging = [
        (
            p["user_id"],
            p["held_past_due"],
            p["forced_forwards"],
            p["late_registrations"],
            p["documents"],
        )
        for p in report["lagging_people"]
    ]
    assert lagging == [
        ("vanthu", 0, 0, 1, ["105/2025"]),
        ("cv.binh", 0 + 1, 0, 0, ["104/2025"]),
        ("cv.cuong", 1, 0, 0, ["103/2025"]),
        ("cv.an", 2, 1, 0, ["101/2025", "106/2025"]),
    ]


async def test_report_roles_and_bad_input(world: World) -> None:
    c = world.client
    assert (await c.get("/reports/monthly", params={"month": "2025-09"})).status_code == 401
    forbidden = await c.get("/reports/monthly", params={"month": "2025-09"}, headers=STAFF)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("application/problem+json")
    # A secretary acting for the committee leader (delegation) may read it.
    delegate = TOKENS.headers(
        "thuky",
        ["secretary"],
        delegations=[
            {
                "principal": "ct.hung",
                "scopes": ["committee_leader"],
                "valid_until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            }
        ],
    )
    ok = await c.get("/reports/monthly", params={"month": "2025-09"}, headers=delegate)
    assert ok.status_code == 200
    for bad in ("2025-13", "09-2025"):
        r = await c.get("/reports/monthly", params={"month": bad}, headers=LEADER)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await c.get(
        "/reports/registers/incoming",
        params={"from": "2025-09-30", "to": "2025-09-01"},
        headers=STAFF,
    )
    assert r.status_code == 400
    r = await c.get("/search", params={"page_size": 0}, headers=STAFF)
    assert r.status_code == 422


async def test_progress_per_unit_and_person(world: World) -> None:
    r = await world.client.get(
        "/reports/progress", params={"month": "2025-09", "by": "unit"}, headers=LEADER
    )
    assert r.status_code == 200, r.text
    units = {
        row["key"]: (row["open"], row["overdue"], row["done_this_month"])
        for row in r.json()["rows"]
    }
    assert units == {"VX": (2, 1, 3), "KT": (1, 1, 2)}
    r = await world.client.get(
        "/reports/progress",
        params={"month": "2025-09", "by": "person", "unit": "VX"},
        headers=LEADER,
    )
    people = {
        row["key"]: (row["name"], row["open"], row["overdue"], row["done_this_month"])
        for row in r.json()["rows"]
    }
    assert people == {
        "cv.an": ("Trần Văn An", 2, 1, 1),
        "cv.cuong": ("Phạm Quốc Cường", 0, 0, 2),
    }


async def test_registers_json_and_exports(world: World) -> None:
    c = world.client
    september = {"from": "2025-09-01", "to": "2025-09-30"}
    r = await c.get("/reports/registers/incoming", params=september, headers=STAFF)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 6
    assert [row["arrival_number"] for row in body["rows"]] == [103, 104, 105, 106, 107, 108]
    first = body["rows"][0]
    assert first["author"] == "Sở Tài chính"
    assert first["receiving"] == "Phạm Quốc Cường"
    assert first["arrival_date"].startswith("2025-09-01T00:30:00+07:00")

    r = await c.get("/reports/registers/follow-up", params=september, headers=STAFF)
    follow = {row["arrival_number"]: row for row in r.json()["rows"]}
    assert follow[103]["reply"] == "15/UBND-VX"
    assert follow[103]["progress"] == "Đã xử lý ngày 12/09/2025 (trễ hạn)"
    assert follow[107]["reply"] == "16/QĐ-UBND"
    assert follow[104]["progress"].startswith("Quá hạn")

    r = await c.get("/reports/registers/outgoing", params={"year": 2025}, headers=STAFF)
    out = r.json()["rows"]
    assert [(row["code"], row["state"]) for row in out] == [
        ("15/UBND-VX", "issued"),
        ("16/QĐ-UBND", "issued"),
        ("17/QĐ-UBND", "voided"),
    ]
    assert out[2]["notes"] == "Số bị hủy: Hỏng số"

    r = await c.get(
        "/reports/registers/incoming", params={**september, "format": "xlsx"}, headers=STAFF
    )
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header = values.index(
        [
            "Ngày đến",
            "Số đến",
            "Tác giả",
            "Số, ký hiệu",
            "Ngày tháng",
            "Tên loại và trích yếu nội dung",
            "Đơn vị hoặc người nhận",
            "Ngày chuyển",
            "Ký nhận",
            "Ghi chú",
        ]
    )
    rows = values[header + 1 :]
    assert [row[1] for row in rows] == [103, 104, 105, 106, 107, 108]
    assert rows[4][5] == "Quyết định: Quyết định về việc giao chỉ tiêu biên chế"

    r = await c.get(
        "/reports/registers/follow-up", params={**september, "format": "pdf"}, headers=STAFF
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")


async def test_monthly_exports_open_and_hold_the_rows(world: World) -> None:
    c = world.client
    r = await c.get(
        "/reports/monthly",
        params={"month": "2025-09", "format": "xlsx", "missing_features": "Ký số"},
        headers=LEADER,
    )
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    summary = [row for row in book.worksheets[0].iter_rows(values_only=True)]
    assert ("Tổng số văn bản đến trong tháng", 6) in [tuple(row[:2]) for row in summary]
    overdue = [row for row in book.worksheets[1].iter_rows(values_only=True)]
    assert [row[0] for row in overdue if row[0] in ("101/2025", "104/2025")] == [
        "101/2025",
        "104/2025",
    ]
    lagging = [row[0] for row in book.worksheets[2].iter_rows(values_only=True)]
    assert "Trần Văn An" in lagging
    assert "Ký số" in [row[0] for row in summary]

    r = await c.get(
        "/reports/monthly", params={"month": "2025-09", "format": "pdf"}, headers=LEADER
    )
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF-")
    assert r.content.count(b"/Type /Page\n") + r.content.count(b"/Type /Page ") >= 1
    # The title is stored as UTF-16 in the document information, readable without rendering.
    title = "BÁO CÁO TÌNH HÌNH XỬ LÝ VĂN BẢN ĐẾN THÁNG 09/2025"
    assert title.encode("utf-16-be").hex().upper().encode() in r.content.upper() or (
        title.encode("utf-16-be") in r.content
    )


async def test_search_is_accent_insensitive_with_filters_and_pages(world: World) -> None:
    c = world.client

    async def ids(**params: Any) -> tuple[int, list[str]]:
        r = await c.get("/search", params=params, headers=STAFF)
        assert r.status_code == 200, r.text
        body = r.json()
        return body["total"], [hit["id"] for hit in body["results"]]

    assert await ids(q="quyet dinh") == (2, ["O2", "D11"])
    assert await ids(q="Quyết định", kind="incoming") == (1, ["D11"])
    assert await ids(q="ĐƯỜNG le loi") == (1, ["O2"])
    assert await ids(q="duong le loi") == (1, ["O2"])
    assert await ids(q="12/QĐ-UBND") == (1, ["D11"])
    assert await ids(code="15/UBND") == (1, ["O1"])
    assert (await ids(kind="incoming", status="in_progress"))[0] == 5  # D1 D4 D5 D7 D8
    total, page1 = await ids(
        kind="incoming", **{"from": "2025-09-01", "to": "2025-09-30"}, page_size=4
    )
    assert total == 6
    assert len(page1) == 4
    _, page2 = await ids(
        kind="incoming", **{"from": "2025-09-01", "to": "2025-09-30"}, page_size=4, page=2
    )
    assert sorted(page1 + page2) == ["D11", "D3", "D4", "D5", "D6", "D7"]
    assert await ids(q="kien nghi cu tri", organ="mttq") == (1, ["D4"])
    assert await ids(q="khong co tu nay") == (0, [])


async def test_search_pages_from_the_newest_documents_and_caps_its_count(world: World) -> None:
    """A page found among the newest documents read in order (page size 1: the first hit fills
    it) is the same as the one the word index gives; the count stops at the limit."""
    pages = []
    for page in (1, 2, 3):
        r = await world.client.get(
            "/search", params={"q": "quyet dinh", "page_size": 1, "page": page}, headers=STAFF
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["total"], body["total_capped"]) == (2, False)
        pages.append([hit["id"] for hit in body["results"]])
    assert pages == [["O2"], ["D11"], []]
    async with queries.reading(world.db) as session:
        found = await queries.search(session, queries.SearchQuery(q="quyet dinh", total_limit=1))
    assert (found.total, found.capped) == (1, True)
    assert [r.id for r in found.rows] == ["O2", "D11"]


async def test_progress_keeps_the_people_with_nothing_open(world: World) -> None:
    """Everyone who held a task before the cut-off has a row, even with nothing to count."""
    r = await world.client.get(
        "/reports/progress",
        params={"month": "2025-11", "by": "person", "unit": "VX"},
        headers=LEADER,
    )
    assert r.status_code == 200, r.text
    rows = {
        row["key"]: (row["open"], row["overdue"], row["done_this_month"])
        for row in r.json()["rows"]
    }
    assert rows["cv.cuong"] == (0, 0, 0)  # both tasks ended in September
    assert rows["cv.an"][0] > 0


async def test_business_metrics(world: World) -> None:
    await metrics.refresh_gauges(world.db, now=SEPTEMBER.end)
    text_ = (await world.client.get("/metrics")).text
    assert 'qlvb_reporting_incoming_overdue{unit="VX"} 1.0' in text_
    assert 'qlvb_reporting_incoming_overdue{unit="KT"} 1.0' in text_
    assert 'qlvb_reporting_incoming_open{state="received"} 1.0' in text_
    assert 'qlvb_reporting_incoming_open{state="in_progress"} 5.0' in text_
    assert 'qlvb_reporting_outgoing_documents{state="voided"} 1.0' in text_
    assert "qlvb_reporting_incoming_registered_total" in text_
    assert "qlvb_reporting_time_to_register_seconds_bucket" in text_
    assert "qlvb_reporting_time_to_process_seconds_count" in text_


async def test_rebuild_from_the_log_gives_the_same_read_models(world: World) -> None:
    """Runs last in the module: it stops the service first, as an operator would."""
    live = await snapshot(world.db)
    async with world.db.uow() as uow:
        live_report = layouts.monthly_json(
            await queries.monthly_report(uow.session, CALENDAR, SEPTEMBER, datetime.now(UTC))
        )
    result = await rebuild(world.settings)
    assert result.events == len(world.script.events)
    assert result.invalid == 0
    assert result.failed == 0
    rebuilt = await snapshot(world.db)
    assert rebuilt == live
    async with world.db.uow() as uow:
        again = layouts.monthly_json(
            await queries.monthly_report(uow.session, CALENDAR, SEPTEMBER, datetime.now(UTC))
        )
        inbox = await uow.session.scalar(text("select count(*) from inbox"))
    assert again == live_report
    assert inbox == len(world.script.events)

    # Topics do not wait for each other: replaying issuance and routing before intake (replies
    # issued and cases closed before the documents are registered) must end the same.
    backwards = await rebuild(world.settings, topics=list(reversed(CONSUMED_TOPICS)))
    assert backwards.events == len(world.script.events)
    assert await snapshot(world.db) == live
