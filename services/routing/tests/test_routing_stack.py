"""Routing on the real stack: the seed's story driven over HTTP and real Kafka messages.

One routing service per module (throwaway schema, topic prefix of its own, fake token issuer);
intake, issuance and identity are played by producing their events, built from the contracts'
payload models, onto the prefixed topics.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_contracts.edxml import Signer
from qlvb_contracts.envelope import Actor, Envelope
from qlvb_contracts.payloads.common import Recipient
from qlvb_contracts.payloads.identity import UserChanged
from qlvb_contracts.payloads.intake import Channel, IncomingDocumentRegistered
from qlvb_contracts.payloads.issuance import OutgoingDocumentIssued
from qlvb_contracts.reference import Urgency
from qlvb_contracts.registry import (
    IDENTITY_EVENTS,
    INTAKE_DOCUMENTS,
    ISSUANCE_DOCUMENTS,
    ROUTING_EVENTS,
)
from qlvb_contracts.topics import Payload
from qlvb_routing.adapters import orm
from qlvb_routing.adapters.repository import verify_audit_chain
from qlvb_routing.app import create_app
from qlvb_routing.settings import Settings
from qlvb_stack.stack import Stack
from qlvb_stack.testing import isolated_service, serve_in_process

pytestmark = pytest.mark.stack

PDF = b"%PDF-1.7\n% du thao\n"
PEOPLE = {
    "vanthu": ("Nguyễn Thị Văn Thư", "clerk", "Văn thư"),
    "cv.an": ("Trần Văn An", "specialist", "Chuyên viên"),
    "cv.chi": ("Lê Thị Chi", "specialist", "Chuyên viên"),
    "ld.binh": ("Phạm Văn Bình", "office_leader", "Phó Chánh Văn phòng"),
    "ct.thanh": ("Lê Văn Thành", "committee_leader", "Chủ tịch"),
    "tk.hoa": ("Phạm Thị Hòa", "secretary", "Thư ký"),
    "qt.lan": ("Đỗ Thị Lan", "records_admin", "Chuyên viên HC-TC"),
}


@dataclass
class Routing:
    client: httpx.AsyncClient
    issuer: FakeTokenIssuer
    produce: Callable[[str, Payload], Awaitable[Envelope]]
    send_raw: Callable[[str, Envelope], Awaitable[None]]
    prefix: str
    bootstrap: str
    db: Any

    def as_(self, user: str, **kwargs: Any) -> dict[str, str]:
        roles = kwargs.pop("roles", [PEOPLE[user][1]])
        return self.issuer.headers(user, roles, **kwargs)

    def secretary(self) -> dict[str, str]:
        valid = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        return self.as_(
            "tk.hoa",
            delegations=[
                {"principal": "ct.thanh", "scopes": ["committee_leader"], "valid_until": valid}
            ],
        )


async def _until(probe: Callable[[], Awaitable[Any]], what: str, wait_s: float = 30) -> Any:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
async def routing(stack: Stack) -> AsyncIterator[Routing]:
    async with isolated_service(stack, "routing") as iso:
        settings = Settings(**iso.settings)
        issuer = FakeTokenIssuer()
        app = create_app(settings, issuer.verifier())
        producer = AIOKafkaProducer(bootstrap_servers=iso.bootstrap, enable_idempotence=False)
        await producer.start()

        async def send_raw(topic: str, envelope: Envelope) -> None:
            await producer.send_and_wait(
                iso.prefix + topic,
                envelope.to_bytes(),
                key=envelope.key.encode(),
                headers=envelope.headers(),
            )

        async def produce(topic: str, payload: Payload) -> Envelope:
            producer_name = topic.split(".")[0]
            envelope = Envelope.new(
                payload=payload, producer=producer_name, actor=Actor(user="vanthu")
            )
            await send_raw(topic, envelope)
            return envelope

        try:
            async with serve_in_process(app, base_url="http://routing") as client:
                db = app.state.routing.runtime.db
                for n, (user, (name, role, position)) in enumerate(PEOPLE.items()):
                    await produce(
                        IDENTITY_EVENTS,
                        UserChanged(
                            user_id=user,
                            revision=1 + n % 2,
                            username=user,
                            full_name=name,
                            roles=[role],
                            position=position,
                            unit_id="HCTC",
                            active=True,
                        ),
                    )

                async def users_known() -> bool:
                    async with db.uow() as uow:
                        count = await uow.session.scalar(
                            select(func.count()).select_from(orm.users)
                        )
                    return bool(count == len(PEOPLE))

                await _until(users_known, "the users read model")
                yield Routing(client, issuer, produce, send_raw, iso.prefix, iso.bootstrap, db)
        finally:
            await producer.stop()


def registered(handlers: list[str], **overrides: Any) -> IncomingDocumentRegistered:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "incoming_document_id": str(uuid.uuid4()),
        "register_id": "VBDEN",
        "year": now.year,
        "ArrivalNumber": 1,
        "ArrivalDate": now,
        "channel": Channel.PAPER,
        "CodeNumber": "1234",
        "CodeNotation": "STC-QLNS",
        "OrganName": "Sở Tài chính",
        "TypeName": "Công văn",
        "Subject": "V/v hướng dẫn xây dựng dự toán ngân sách nhà nước năm 2025",
        "PromulgationDate": date(2024, 7, 10),
        "Priority": Urgency.URGENT,
        "first_handlers": handlers,
        "sla_deadline": now + timedelta(hours=4),
        "sla_met": True,
    }
    fields.update(overrides)
    return IncomingDocumentRegistered(**fields)


async def open_case(r: Routing, doc: IncomingDocumentRegistered) -> dict[str, Any]:
    async def case() -> Any:
        answer = await r.client.get(
            "/cases",
            params={"incoming_document_id": doc.incoming_document_id},
            headers=r.as_("vanthu"),
        )
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        return items[0] if items else None

    return dict(await _until(case, f"the case of {doc.incoming_document_id}"))


def lead_task(case: dict[str, Any]) -> str:
    return str(next(t for t in case["tasks"] if t["state"] != "closed")["task_id"])


async def upload(r: Routing, user: str, data: bytes = PDF, name: str = "du-thao.pdf") -> str:
    answer = await r.client.post(
        "/uploads", params={"name": name}, content=data, headers=r.as_(user)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["upload_id"])


async def routing_events(r: Routing, predicate: Callable[[Envelope], bool]) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        r.prefix + ROUTING_EVENTS,
        bootstrap_servers=r.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not found:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    envelope = Envelope.from_bytes(record.value)
                    if predicate(envelope):
                        found.append(envelope)
    finally:
        await consumer.stop()
    return found


async def test_seed_story_from_registration_to_issued_reply(routing: Routing) -> None:
    r = routing
    doc1 = registered(["cv.an"])
    doc2 = registered(
        ["cv.an"],
        channel=Channel.ELECTRONIC,
        OrganId="000.00.12.H41",
        DocumentId="000.00.12.H41,2024/07/12,1240/STC-QLNS",
        CodeNumber="1240",
        ArrivalNumber=2,
        DueDate=date(2030, 7, 31),
    )
    # A redelivered registration (same message id twice) opens one case only.
    first = await r.produce(INTAKE_DOCUMENTS, doc1)
    await r.send_raw(INTAKE_DOCUMENTS, first)
    await r.produce(INTAKE_DOCUMENTS, doc2)
    case1 = await open_case(r, doc1)
    case2 = await open_case(r, doc2)
    assert case1["current_handlers"] == ["cv.an"]
    assert case1["overdue"] is False
    assert case2["due_at"].startswith("2030-07-31T10:00")  # 17:00 in Hanoi
    async with r.db.uow() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(orm.cases)
            .where(orm.cases.c.incoming_document_id == doc1.incoming_document_id)
        )
    assert count == 1

    inbox = (await r.client.get("/tasks", params={"state": "open"}, headers=r.as_("cv.an"))).json()
    mine = {t["case_id"] for t in inbox["items"]}
    assert {case1["case_id"], case2["case_id"]} <= mine
    task1 = lead_task(case1)

    # Đ11 c.3 / Đ14.1: a work file from the first document, the second linked to it.
    opened = await r.client.post(
        "/work-files",
        json={"Title": "Dự toán ngân sách 2025", "task_id": task1},
        headers={**r.as_("cv.an"), "Idempotency-Key": "wf-1"},
    )
    assert opened.status_code == 201, opened.text
    wf = opened.json()
    again = await r.client.post(
        "/work-files",
        json={"Title": "Dự toán ngân sách 2025", "task_id": task1},
        headers={**r.as_("cv.an"), "Idempotency-Key": "wf-1"},
    )
    assert again.json()["work_file_id"] == wf["work_file_id"]
    assert [d["DocOrdinal"] for d in wf["documents"]] == [1]
    wf_id = wf["work_file_id"]
    linked = await r.client.post(
        f"/work-files/{wf_id}/documents",
        json={"document_id": doc2.incoming_document_id},
        headers=r.as_("cv.an"),
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["DocOrdinal"] == 2
    stranger_link = await r.client.post(
        f"/work-files/{wf_id}/documents",
        json={"document_id": doc2.incoming_document_id},
        headers=r.as_("cv.chi"),
    )
    assert stranger_link.status_code == 403

    # Đ11 c.2 / Đ12.1: draft and proposal to the office leader.
    draft_body = {
        "TypeName": "Công văn",
        "Subject": "V/v xây dựng dự toán ngân sách nhà nước năm 2025",
        "approver": "ld.binh",
        "draft_upload_id": await upload(r, "cv.an"),
        "proposal_upload_id": await upload(r, "cv.an", name="to-trinh.pdf"),
        "To": [{"OrganName": "Sở Tài chính", "OrganId": "000.00.12.H41"}],
        "CodeNotation": "UBND-KT",
    }
    submitted = await r.client.post(
        f"/tasks/{task1}/draft", json=draft_body, headers=r.as_("cv.an")
    )
    assert submitted.status_code == 201, submitted.text
    draft_id = submitted.json()["draft_id"]

    # Đ4.2: everyone sees the case, only handlers and approvers its draft.
    public = (await r.client.get(f"/cases/{case1['case_id']}", headers=r.as_("cv.chi"))).json()
    assert public["Subject"] == doc1.Subject
    assert public["drafts"] is None
    for path in (f"/drafts/{draft_id}", f"/drafts/{draft_id}/files/draft"):
        refused = await r.client.get(path, headers=r.as_("cv.chi"))
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    link = await r.client.get(f"/drafts/{draft_id}/files/proposal", headers=r.as_("ld.binh"))
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient() as s3:
        assert (await s3.get(link.json()["url"])).content == PDF

    # The leader is not the specialist's assignee; the specialist waits for approval.
    not_mine = await r.client.post(
        f"/tasks/{task1}/forward", json={"to_user": "cv.chi"}, headers=r.as_("ld.binh")
    )
    assert not_mine.status_code == 403
    assert "assigned to cv.an" in not_mine.json()["detail"]
    waiting = await r.client.post(
        f"/tasks/{task1}/forward", json={"to_user": "cv.chi"}, headers=r.as_("cv.an")
    )
    assert waiting.status_code == 409

    # The office leader returns it with a direction (bút phê).
    approvals = (
        await r.client.get("/tasks", params={"kind": "approval"}, headers=r.as_("ld.binh"))
    ).json()["items"]
    (approval,) = [t for t in approvals if t["draft_id"] == draft_id]
    returned = await r.client.post(
        f"/tasks/{approval['task_id']}/return",
        json={"direction": "Bổ sung số liệu năm 2024"},
        headers=r.as_("ld.binh"),
    )
    assert returned.status_code == 200, returned.text
    twice = await r.client.post(
        f"/tasks/{approval['task_id']}/return",
        json={"direction": "again"},
        headers=r.as_("ld.binh"),
    )
    assert twice.status_code == 409

    # The specialist revises and sends it to the committee leader.
    draft_body |= {"approver": "ct.thanh", "draft_upload_id": await upload(r, "cv.an")}
    revised = await r.client.post(f"/tasks/{task1}/draft", json=draft_body, headers=r.as_("cv.an"))
    assert revised.status_code == 201, revised.text
    assert revised.json()["revision"] == 2
    assert revised.json()["draft_id"] == draft_id

    # Đ15: the secretary, by delegation, confirms it finalized for the committee leader.
    leader_inbox = await r.client.get(
        "/tasks", params={"assignee": "ct.thanh"}, headers=r.secretary()
    )
    assert leader_inbox.status_code == 200, leader_inbox.text
    (approval2,) = [t for t in leader_inbox.json()["items"] if t["draft_id"] == draft_id]
    final = await r.client.post(
        f"/tasks/{approval2['task_id']}/finalize", json={}, headers=r.secretary()
    )
    assert final.status_code == 200, final.text
    assert final.json()["state"] == "finalized"
    assert final.json()["approved_by"] == "ct.thanh"

    (finalized,) = await routing_events(
        r,
        lambda e: e.type == "document.finalized_for_issuance" and e.payload["draft_id"] == draft_id,
    )
    assert finalized.actor == Actor(user="tk.hoa", on_behalf_of="ct.thanh")
    payload = finalized.payload
    assert payload["work_file_id"] == wf_id
    assert payload["SignerInfo"]["FullName"] == "Lê Văn Thành"
    assert {(x["incoming_document_id"], x["DocumentId"]) for x in payload["responds_to"]} == {
        (doc1.incoming_document_id, None),
        (doc2.incoming_document_id, doc2.DocumentId),
    }

    # Đ11 c.2: issuance issues it → both incoming documents processed.
    outgoing_id = str(uuid.uuid4())
    await r.produce(
        ISSUANCE_DOCUMENTS,
        OutgoingDocumentIssued(
            register_id="VBDI",
            year=2024,
            CodeNumber=5,
            CodeNotation="UBND-KT",
            Code="05/UBND-KT",
            outgoing_document_id=outgoing_id,
            IssuedDate=date(2024, 7, 26),
            TypeName="Công văn",
            Subject=payload["Subject"],
            SignerInfo=Signer(FullName="Lê Văn Thành"),
            incoming_document_ids=[doc1.incoming_document_id, doc2.incoming_document_id],
            work_file_id=wf_id,
            case_id=case1["case_id"],
            To=[Recipient(OrganName="Sở Tài chính")],
        ),
    )

    async def processed(case_id: str) -> Any:
        view = (await r.client.get(f"/cases/{case_id}", headers=r.as_("cv.an"))).json()
        return view if view["incoming_document"]["processed"] else None

    done1 = await _until(lambda: processed(case1["case_id"]), "doc1 processed")
    done2 = await _until(lambda: processed(case2["case_id"]), "doc2 processed")
    for done in (done1, done2):
        assert done["state"] == "completed"
        assert done["incoming_document"]["follow_up"]["answered_by_code"] == "05/UBND-KT"
        assert all(t["state"] == "closed" for t in done["tasks"])

    # The reply joined the file; the follow-up stays on until the specialist closes it.
    view = (await r.client.get(f"/work-files/{wf_id}", headers=r.as_("cv.chi"))).json()
    assert [(d["DocOrdinal"], d["kind"]) for d in view["documents"]] == [
        (1, "incoming"),
        (2, "incoming"),
        (3, "outgoing"),
    ]
    assert view["follow_up"] is True
    closed = await r.client.post(f"/work-files/{wf_id}/close", json={}, headers=r.as_("cv.an"))
    assert closed.status_code == 200
    assert closed.json()["follow_up"] is False

    history = (
        await r.client.get(f"/cases/{case1['case_id']}/history", headers=r.as_("cv.chi"))
    ).json()["items"]
    actions = [h["action"] for h in history]
    assert actions[0] == "case.opened"
    assert "document.finalized_for_issuance" in actions
    by_secretary = [h for h in history if h["action"] == "document.finalized_for_issuance"]
    assert by_secretary[0]["acted_by"] == "tk.hoa"
    assert by_secretary[0]["on_behalf_of"] == "ct.thanh"
    assert all("document" not in h["details"] for h in history)
    async with r.db.uow() as uow:
        assert await verify_audit_chain(uow.session)


async def test_handling_acts_and_illegal_transitions(routing: Routing) -> None:
    r = routing
    docs = [registered(["cv.an"]) for _ in range(3)] + [registered(["ld.binh"])]
    for doc in docs:
        await r.produce(INTAKE_DOCUMENTS, doc)
    cases = [await open_case(r, doc) for doc in docs]
    slip_task, reference_task, wait_task, leader_task = (lead_task(c) for c in cases)

    # Đ14.2: a processing slip citing the outgoing document that already answered it.
    slip = await r.client.post(
        f"/tasks/{slip_task}/processing-slip",
        json={"content": "Đã trả lời tại Công văn số 12/UBND-VX", "answered_by_code": "12/UBND-VX"},
        headers=r.as_("cv.an"),
    )
    assert slip.status_code == 200
    assert slip.json()["case_state"] == "completed"
    again = await r.client.post(
        f"/tasks/{slip_task}/file-for-reference", json={}, headers=r.as_("cv.an")
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/illegal-transition")

    # Đ11 a then b: forwarded to a colleague, who files it for reference.
    fwd = await r.client.post(
        f"/tasks/{reference_task}/forward",
        json={"to_user": "cv.chi", "note": "Chị xem"},
        headers=r.as_("cv.an"),
    )
    assert fwd.status_code == 200, fwd.text
    new_task = fwd.json()["new_task"]["task_id"]
    unknown = await r.client.post(
        f"/tasks/{new_task}/forward", json={"to_user": "nobody"}, headers=r.as_("cv.chi")
    )
    assert unknown.status_code == 422
    ref = await r.client.post(
        f"/tasks/{new_task}/file-for-reference", json={"note": "để biết"}, headers=r.as_("cv.chi")
    )
    assert ref.status_code == 200
    assert ref.json()["case_state"] == "completed"

    # Đ12.3: waiting keeps the task (and its due time); then the records admin forces it on (Đ9).
    wait = await r.client.post(
        f"/tasks/{wait_task}/waiting",
        json={"reason": "meeting", "summary": "Chờ họp UBND ngày 30/7"},
        headers=r.as_("cv.an"),
    )
    assert wait.status_code == 200
    assert wait.json()["state"] == "waiting"
    inbox = (
        await r.client.get("/tasks", params={"state": "waiting"}, headers=r.as_("cv.an"))
    ).json()
    assert wait_task in {t["task_id"] for t in inbox["items"]}
    nosy = await r.client.get("/tasks", params={"assignee": "cv.an"}, headers=r.as_("cv.chi"))
    assert nosy.status_code == 403
    specialist_force = await r.client.post(
        f"/tasks/{wait_task}/force-forward", json={"to_user": "cv.chi"}, headers=r.as_("cv.chi")
    )
    assert specialist_force.status_code == 403
    forced = await r.client.post(
        f"/tasks/{wait_task}/force-forward",
        json={"to_user": "cv.chi", "note": "Chuyển thay (Đ9)"},
        headers=r.as_("qt.lan"),
    )
    assert forced.status_code == 200, forced.text
    history = (
        await r.client.get(f"/cases/{cases[2]['case_id']}/history", headers=r.as_("cv.chi"))
    ).json()["items"]
    (forward_entry,) = [h for h in history if h["action"] == "task.forwarded"]
    assert forward_entry["acted_by"] == "qt.lan"
    assert forward_entry["details"]["forced"] is True

    # Đ18: the office leader assigns a lead and a coordinating handler with deadlines.
    bad = await r.client.post(
        f"/tasks/{leader_task}/assign",
        json={"assignments": [{"assignee": "cv.an", "role": "support"}]},
        headers=r.as_("ld.binh"),
    )
    assert bad.status_code == 422
    assigned = await r.client.post(
        f"/tasks/{leader_task}/assign",
        json={
            "assignments": [
                {"assignee": "cv.an", "role": "lead", "DueDate": "2030-01-15"},
                {"assignee": "cv.chi", "role": "support", "instruction": "Phối hợp"},
            ]
        },
        headers=r.as_("ld.binh"),
    )
    assert assigned.status_code == 200, assigned.text
    lead, support = assigned.json()["tasks"]
    assert lead["assignee"] == "cv.an"
    assert lead["due_at"].startswith("2030-01-15T10:00")
    assert support["role"] == "support"
    malformed = await r.client.post(
        f"/tasks/{lead['task_id']}/waiting", json={"reason": "x"}, headers=r.as_("cv.an")
    )
    assert malformed.status_code == 422
    missing = await r.client.post(
        "/tasks/nope/forward", json={"to_user": "cv.chi"}, headers=r.as_("cv.an")
    )
    assert missing.status_code == 404
    anonymous = await r.client.get("/tasks")
    assert anonymous.status_code == 401

    # Upload content is checked by its bytes.
    exe = await r.client.post("/uploads", content=b"MZ\x90\x00evil", headers=r.as_("cv.an"))
    assert exe.status_code == 422


async def test_work_file_without_incoming_document(routing: Routing) -> None:
    """Đ13: a work file on the office's own initiative opens its own case; the creator drafts,
    the office leader approves on to the committee leader, who finalizes himself."""
    r = routing
    opened = await r.client.post(
        "/work-files",
        json={"Title": "Kế hoạch chuyển đổi số 2025", "Maintenance": "10 năm"},
        headers=r.as_("cv.chi"),
    )
    assert opened.status_code == 201, opened.text
    wf = opened.json()
    assert wf["documents"] == []
    assert wf["task_id"]
    draft = await r.client.post(
        f"/tasks/{wf['task_id']}/draft",
        json={
            "TypeName": "Kế hoạch",
            "Subject": "Kế hoạch chuyển đổi số năm 2025",
            "approver": "ld.binh",
            "draft_upload_id": await upload(r, "cv.chi"),
            "To": [{"OrganName": "Các phòng, ban", "unit_id": "HCTC"}],
        },
        headers=r.as_("cv.chi"),
    )
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["draft_id"]
    approval = next(
        t
        for t in (await r.client.get("/tasks", headers=r.as_("ld.binh"))).json()["items"]
        if t["draft_id"] == draft_id
    )
    approved = await r.client.post(
        f"/tasks/{approval['task_id']}/approve",
        json={"next_approver": "ct.thanh", "comment": "Đồng ý, trình Chủ tịch"},
        headers=r.as_("ld.binh"),
    )
    assert approved.status_code == 200, approved.text
    final = await r.client.post(
        f"/tasks/{approved.json()['next_task']['task_id']}/finalize",
        json={"SignerInfo": {"Competence": "TM. ỦY BAN NHÂN DÂN", "FullName": "Lê Văn Thành"}},
        headers=r.as_("ct.thanh"),
    )
    assert final.status_code == 200, final.text
    (event,) = await routing_events(
        r,
        lambda e: e.type == "document.finalized_for_issuance" and e.payload["draft_id"] == draft_id,
    )
    assert event.payload["responds_to"] == []
    assert event.payload["work_file_id"] == wf["work_file_id"]
    # The clerks who issue it may now fetch the finalized file.
    clerk = await r.client.get(f"/drafts/{draft_id}/files/draft", headers=r.as_("vanthu"))
    assert clerk.status_code == 200, clerk.text
