"""The clerk's flows over HTTP and Kafka: queue, files, numbering, issuing, edXML, void, recall,
the register book — and 64 concurrent issuers with failures leaving numbers 1..N gap-free."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import random
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.numbering import NumberAllocator
from qlvb_contracts.edxml import parse_edxml
from qlvb_contracts.payloads.routing import CaseOpened, DocumentFinalizedForIssuance
from qlvb_issuance.adapters import orm
from qlvb_issuance.service_layer import handlers

from .conftest import Svc
from .helpers import FINANCE, PAPER_AGENCY, PDF, eventually, finalized, produce, read_envelopes

pytestmark = pytest.mark.stack


async def queued(svc: Svc, draft_id: str) -> dict[str, Any] | None:
    response = await svc.client.get("/outgoing-documents/queue", headers=svc.clerk())
    assert response.status_code == 200, response.text
    return next((d for d in response.json() if d["draft_id"] == draft_id), None)


async def enqueue(svc: Svc, event: DocumentFinalizedForIssuance) -> str:
    """Straight through the consumer's handler (the Kafka path has its own test)."""
    async with svc.services.uow_factory() as uow:
        await handlers.on_finalized(event, uow)
        await uow.commit()
    doc = await queued(svc, event.draft_id)
    assert doc is not None
    return str(doc["outgoing_document_id"])


async def upload(svc: Svc, doc_id: str, kind: str = "signed", title: str | None = None) -> Any:
    params = {"kind": kind, "name": "ban-ky.pdf"}
    if title:
        params["title"] = title
    return await svc.client.post(
        f"/outgoing-documents/{doc_id}/attachments",
        params=params,
        content=PDF,
        headers={**svc.clerk(), "Content-Type": "application/pdf"},
    )


async def test_finalized_event_on_kafka_is_queued_then_issued_with_edxml(svc: Svc) -> None:
    event = finalized(appendixes=("Phụ lục I: Biểu dự toán",))
    noise = CaseOpened(case_id=event.case_id, Subject="unrelated routing event")
    await produce(svc.bootstrap, svc.prefix + "routing.events", [noise, event], "routing")
    doc = await eventually(lambda: queued(svc, event.draft_id))
    doc_id = doc["outgoing_document_id"]
    assert doc["status"] == "queued"
    assert doc["Appendixes"] == ["Phụ lục I: Biểu dự toán"]

    path = f"/outgoing-documents/{doc_id}/issue"
    refused = await svc.client.post(path, json={}, headers=svc.clerk())
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("signed-file-missing")
    not_pdf = await svc.client.post(
        f"/outgoing-documents/{doc_id}/attachments",
        params={"kind": "signed"},
        content=b"MZ\x90\x00 not a pdf",
        headers=svc.clerk(),
    )
    assert not_pdf.status_code == 422
    assert (await upload(svc, doc_id)).status_code == 201
    refused = await svc.client.post(path, json={}, headers=svc.clerk())
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("appendix-missing")
    assert (await upload(svc, doc_id, "appendix", "Phụ lục II: khác")).status_code == 422
    assert (await upload(svc, doc_id, "appendix", "Phụ lục I: Biểu dự toán")).status_code == 201

    unknown = {"To": [{"OrganName": "Không rõ", "OrganId": "000.00.99.Z99"}]}
    refused = await svc.client.post(path, json=unknown, headers=svc.clerk())
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("unknown-agency")
    assert (await svc.client.post(path, json={}, headers=svc.staff())).status_code == 403

    body = {
        "To": [
            {"OrganName": "x", "OrganId": FINANCE},
            {"OrganName": "x", "OrganId": PAPER_AGENCY},
            {"OrganName": "x", "unit_id": "KT"},
        ],
        "IssuedAmount": 5,
    }
    headers = {**svc.clerk(), "Idempotency-Key": "issue-" + doc_id}
    issued = await svc.client.post(path, json=body, headers=headers)
    assert issued.status_code == 200, issued.text
    result = issued.json()
    assert result["status"] == "issued"
    assert result["Code"] == "01/UBND-KT"
    assert result["CodeNumber"] == 1
    assert result["register_id"] == "VBHC"
    assert [r["OrganName"] for r in result["To"]] == [
        "Sở Tài chính",
        "UBND quận Một",
        "Phòng Kinh tế",
    ]
    assert result["electronic_recipients"] == [FINANCE]
    replay = await svc.client.post(path, json=body, headers=headers)
    assert replay.status_code == 200
    assert replay.json() == result
    again = await svc.client.post(path, json=body, headers=svc.clerk())
    assert again.status_code == 409

    events = await read_envelopes(
        svc.bootstrap,
        svc.prefix + "issuance.outgoing-documents",
        until=lambda es: any(e.type == "outgoing_document.issued" for e in es),
    )
    issued_event = next(e for e in events if e.type == "outgoing_document.issued")
    assert issued_event.payload["Code"] == "01/UBND-KT"
    assert issued_event.payload["incoming_document_ids"] == [
        event.responds_to[0].incoming_document_id
    ]
    assert issued_event.payload["work_file_id"] == event.work_file_id
    assert issued_event.actor.user == "vanthu"
    assert any(e.type == "outgoing_document.numbered" for e in events)

    packages = await read_envelopes(
        svc.bootstrap, svc.prefix + "exchange.outbound", until=lambda es: len(es) >= 1
    )
    assert [p.key for p in packages] == [FINANCE]  # the paper agency gets no package
    package = packages[0].payload
    assert package["recipient"] == FINANCE
    assert {a["kind"] for a in package["attachments"]} == {"claim_check"}
    xml = parse_edxml(base64.b64decode(package["edxml"]))
    assert xml.header.Code.CodeNumber == "01"
    assert xml.header.DocumentId == result["DocumentId"]
    assert [r.DocumentId for r in xml.header.ResponseFor] == [event.responds_to[0].DocumentId]
    assert xml.header.From.OrganId == svc.settings.organ_id
    assert xml.trace.Bussiness is not None
    assert xml.trace.Bussiness.BussinessDocType == 0

    book = await svc.client.get(f"/registers/VBHC/years/{result['year']}/book", headers=svc.staff())
    assert book.status_code == 200
    row = next(r for r in book.json()["rows"] if r["outgoing_document_id"] == doc_id)
    assert row["code"] == "01/UBND-KT"
    assert row["copies"] == 5
    assert row["file_copy"] == "VT, KT"
    assert row["signer"] == "TM. ỦY BAN NHÂN DÂN Chủ tịch Lê Văn Thành"

    attachment = result["attachments"][0]["attachment_id"]
    link = await svc.client.get(
        f"/outgoing-documents/{doc_id}/attachments/{attachment}/download", headers=svc.staff()
    )
    assert link.status_code == 200
    assert link.json()["url"].startswith("http")


async def test_number_void_renumber_recall_and_register_book(svc: Svc) -> None:
    await svc.client.post(
        "/registers",
        json={
            "register_id": "QD-TEST",
            "name": "Quyết định (test)",
            "series": "administrative",
            "type_names": ["Quyết định"],
        },
        headers=svc.clerk("qt.hoso"),
    )
    first = await enqueue(
        svc, finalized(type_name="Quyết định", notation=None, responds_to_electronic=False)
    )
    second = await enqueue(
        svc, finalized(type_name="Quyết định", notation=None, responds_to_electronic=False)
    )
    numbered = await svc.client.post(
        f"/outgoing-documents/{first}/number", json={}, headers=svc.clerk()
    )
    assert numbered.status_code == 200, numbered.text
    assert numbered.json()["Code"] == "01/QĐ-UBND"
    assert numbered.json()["register_id"] == "QD-TEST"

    no_reason = await svc.client.post(
        f"/outgoing-documents/{first}/void-number", json={"reason": "  "}, headers=svc.clerk()
    )
    assert no_reason.status_code == 422
    voided = await svc.client.post(
        f"/outgoing-documents/{first}/void-number",
        json={"reason": "Hỏng giấy khi in"},
        headers=svc.clerk(),
    )
    assert voided.status_code == 200
    assert voided.json()["status"] == "queued"
    assert voided.json()["Code"] is None

    for doc_id in (second, first):
        assert (await upload(svc, doc_id)).status_code == 201
        issued = await svc.client.post(
            f"/outgoing-documents/{doc_id}/issue",
            json={"To": [{"OrganName": "x", "OrganId": FINANCE}]},
            headers=svc.clerk(),
        )
        assert issued.status_code == 200, issued.text
    docs = {
        d: (await svc.client.get(f"/outgoing-documents/{d}", headers=svc.staff())).json()
        for d in (first, second)
    }
    assert docs[second]["Code"] == "02/QĐ-UBND"  # 01 stays voided, never reused
    assert docs[first]["Code"] == "03/QĐ-UBND"

    void_issued = await svc.client.post(
        f"/outgoing-documents/{first}/void-number", json={"reason": "x"}, headers=svc.clerk()
    )
    assert void_issued.status_code == 409

    recalled = await svc.client.post(
        f"/outgoing-documents/{first}/recall",
        json={"reason": "Sai thẩm quyền ban hành"},
        headers=svc.clerk(),
    )
    assert recalled.status_code == 200
    assert recalled.json()["status"] == "recalled"
    again = await svc.client.post(
        f"/outgoing-documents/{first}/recall", json={"reason": "x"}, headers=svc.clerk()
    )
    assert again.status_code == 409
    frozen = await upload(svc, first)
    assert frozen.status_code == 409

    year = docs[first]["year"]
    book = (
        await svc.client.get(f"/registers/QD-TEST/years/{year}/book", headers=svc.staff())
    ).json()
    assert [(r["number"], r["status"]) for r in book["rows"]] == [
        (1, "voided"),
        (2, "issued"),
        (3, "recalled"),
    ]
    assert "Hỏng giấy khi in" in book["rows"][0]["notes"]
    assert book["rows"][0]["code"] == "01/QĐ-UBND"
    assert "Sai thẩm quyền" in book["rows"][2]["notes"]
    xlsx = await svc.client.get(
        f"/registers/QD-TEST/years/{year}/book", params={"format": "xlsx"}, headers=svc.staff()
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert [v[0] for v in values] == ["01/QĐ-UBND", "02/QĐ-UBND", "03/QĐ-UBND"]

    envelopes = await read_envelopes(
        svc.bootstrap,
        svc.prefix + "exchange.outbound",
        until=lambda es: any(e.payload.get("BussinessDocType") == 1 for e in es),
    )
    revocation = next(e for e in envelopes if e.payload.get("BussinessDocType") == 1)
    assert revocation.payload["outgoing_document_id"] == first
    xml = parse_edxml(base64.b64decode(revocation.payload["edxml"]))
    assert xml.trace.Bussiness is not None
    assert xml.trace.Bussiness.BussinessDocReason == "Sai thẩm quyền ban hành"
    kinds = await read_envelopes(
        svc.bootstrap,
        svc.prefix + "issuance.outgoing-documents",
        until=lambda es: any(e.type == "outgoing_document.recalled" for e in es),
    )
    assert any(e.type == "outgoing_document.number_voided" for e in kinds)


async def test_registers_catalog_rules(svc: Svc) -> None:
    clerk = svc.clerk()
    listing = (await svc.client.get("/registers", headers=svc.staff())).json()
    assert {"VBHC", "QPPL-QD", "BANSAO"} <= {r["register_id"] for r in listing}
    bad = await svc.client.post(
        "/registers",
        json={"register_id": "QPPL-X", "name": "x", "series": "normative", "type_names": []},
        headers=clerk,
    )
    assert bad.status_code == 422
    unknown_type = await svc.client.post(
        "/registers",
        json={
            "register_id": "X1",
            "name": "x",
            "series": "administrative",
            "type_names": ["Không có"],
        },
        headers=clerk,
    )
    assert unknown_type.status_code == 422
    dup = await svc.client.post(
        "/registers",
        json={"register_id": "VBHC", "name": "x", "series": "administrative"},
        headers=clerk,
    )
    assert dup.status_code == 409
    closed = await svc.client.patch("/registers/BANSAO", json={"active": False}, headers=clerk)
    assert closed.status_code == 200
    assert closed.json()["active"] is False
    forbidden = await svc.client.post(
        "/registers",
        json={"register_id": "X2", "name": "x", "series": "administrative"},
        headers=svc.staff(),
    )
    assert forbidden.status_code == 403
    missing = await svc.client.get("/outgoing-documents/nope", headers=svc.staff())
    assert missing.status_code == 404


class FlakyAllocator(NumberAllocator):
    """Takes the number, then sometimes fails the transaction (a crash after the counter row
    was updated): the rollback must give the number back."""

    def __init__(self, rate: float) -> None:
        super().__init__(orm.chassis)
        self.rate = rate

    async def allocate(
        self, session: AsyncSession, register_id: str, year: int, reference: str
    ) -> int:
        number = await super().allocate(session, register_id, year, reference)
        await asyncio.sleep(random.uniform(0, 0.005))
        if random.random() < self.rate:
            raise RuntimeError("injected failure after allocation")
        return number


async def test_64_concurrent_issuers_with_failures_leave_no_gap(svc: Svc) -> None:
    register = "CONC"
    created = await svc.client.post(
        "/registers",
        json={
            "register_id": register,
            "name": "Thông báo (test)",
            "series": "administrative",
            "type_names": ["Thông báo"],
        },
        headers=svc.clerk(),
    )
    assert created.status_code == 201, created.text
    docs = await asyncio.gather(
        *(
            enqueue(
                svc, finalized(type_name="Thông báo", notation=None, responds_to_electronic=False)
            )
            for _ in range(64)
        )
    )
    uploads = await asyncio.gather(*(upload(svc, d) for d in docs))
    assert {u.status_code for u in uploads} == {201}

    original = svc.services
    svc.app.state.issuance = dataclasses.replace(original, numbers=FlakyAllocator(0.25))
    good = {"To": [{"OrganName": "x", "OrganId": FINANCE}, {"OrganName": "x", "unit_id": "VX"}]}
    bad = {"To": [{"OrganName": "x", "OrganId": "000.00.99.Z99"}]}
    outcomes: dict[str, int] = {}

    async def issue(doc_id: str) -> None:
        roll = random.random()
        body = bad if roll < 0.15 else good
        request = svc.client.post(
            f"/outgoing-documents/{doc_id}/issue",
            json=body,
            headers={**svc.clerk(), "Idempotency-Key": f"k-{doc_id}-{roll}"},
        )
        try:
            if roll > 0.85:  # the client gives up mid-request: the handler is cancelled
                response = await asyncio.wait_for(request, timeout=random.uniform(0.001, 0.05))
            else:
                response = await request
        except TimeoutError:
            outcomes["cancelled"] = outcomes.get("cancelled", 0) + 1
            return
        key = str(response.status_code)
        outcomes[key] = outcomes.get(key, 0) + 1

    try:
        await asyncio.gather(*(issue(d) for d in docs))
    finally:
        svc.app.state.issuance = original
    assert outcomes.get("500", 0) + outcomes.get("422", 0) + outcomes.get("cancelled", 0) > 0

    # The clerks retry what did not go through.
    for _ in range(5):
        pending = [
            d
            for d in docs
            if (await svc.client.get(f"/outgoing-documents/{d}", headers=svc.staff())).json()[
                "status"
            ]
            != "issued"
        ]
        if not pending:
            break
        results = await asyncio.gather(
            *(
                svc.client.post(f"/outgoing-documents/{d}/issue", json=good, headers=svc.clerk())
                for d in pending
            )
        )
        assert {r.status_code for r in results} <= {200, 409}, [r.text for r in results]
    final = [
        (await svc.client.get(f"/outgoing-documents/{d}", headers=svc.staff())).json() for d in docs
    ]
    assert {d["status"] for d in final} == {"issued"}
    numbers = sorted(d["CodeNumber"] for d in final)
    assert numbers == list(range(1, 65)), numbers
    async with svc.services.uow_factory() as uow:
        book = await svc.services.numbers.register_book(uow.session, register, final[0]["year"])
    assert [n.number for n in book] == list(range(1, 65))
    assert all(n.voided_at is None for n in book)
    assert {n.reference.split(" ")[1] for n in book} == set(docs)
