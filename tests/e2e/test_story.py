"""The seed's story end to end, its unhappy paths, and a kill -9 of each service mid-story."""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import pytest

from .conftest import kill_and_restart
from .story import (
    Story,
    decode_outbound_edxml,
    edxml_package,
    month_now,
    paper_metadata,
    register_paper,
)
from .system import System

pytestmark = [pytest.mark.stack, pytest.mark.slow]

FRESH = os.environ.get("QLVB_E2E_REUSE") != "1"


def monthly(system: System) -> dict[str, Any]:
    report = system.call(
        "GET", "reporting", f"/reports/monthly?month={month_now()}", "lanhdao.vp"
    ).json()
    return dict(report["counts"])


def test_the_seed_story(system: System) -> None:
    before = monthly(system)
    story = Story(system).run()
    ids = story.ids

    if FRESH:
        assert ids["arrival1"] == 1, "the first incoming document of the year is số đến 1"
    assert ids["arrival2"] == ids["arrival1"] + 1

    view = story.agency_view()
    assert sorted(view.statuses) == ["01", "03"]
    assert len(view.outbound) == 1, view.outbound
    package = view.outbound[0]
    assert package["Code"]["CodeNotation"] == "UBND-KT"
    edxml_doc = decode_outbound_edxml(package)
    assert edxml_doc is not None
    assert any(r.DocumentId == ids["DocumentId"] for r in edxml_doc.header.ResponseFor)

    def counted() -> dict[str, Any] | None:
        now = monthly(system)
        ok = (
            now["received"] >= before["received"] + 2
            and now["processed"] >= before["processed"] + 2
        )
        return now if ok else None

    after = system.wait_until("the monthly report to count the story", counted, 60)
    assert after["received"] - before["received"] == 2
    assert after["processed"] - before["processed"] == 2


def test_unhappy_paths(system: System) -> None:
    # A malformed paper document (no seal) gets a return slip and no arrival number.
    returned = register_paper(
        system, paper_metadata("15/XD-QLXD", "V/v cấp phép xây dựng", has_seal=False)
    ).json()
    assert returned["status"] == "returned"
    assert returned["ArrivalNumber"] is None
    slip = system.call(
        "GET", "intake", f"/incoming-documents/{returned['id']}/return-slip/url", "vanthu"
    ).json()
    assert slip["url"].startswith("http")

    # A confidential one is refused and nothing of it is stored.
    refused = register_paper(
        system,
        paper_metadata("3/CA-PV", "Tài liệu mật", confidentiality="Mật"),
        expect=422,
    )
    assert refused.headers["content-type"].startswith("application/problem+json")

    # An unknown agency gets status 02 and its package lands in the DLQ, never registered.
    stranger = "000.00.99.H99"
    document_id, package = edxml_package("9/XX-YY", "V/v thử", sender=stranger)
    system.agency_send(stranger, package)

    def rejected() -> list[Any] | None:
        got = system.agency_received(stranger)
        codes = [e["payload"]["StatusCode"] for e in got if e["topic"] == "exchange.status"]
        return codes or None

    assert system.wait_until("status 02 to the unknown agency", rejected, 60) == ["02"]
    inbox = system.call("GET", "intake", "/electronic-inbox", "vanthu").json()["items"]
    assert all(i["DocumentId"] != document_id for i in inbox)


def test_overdue_task_shows_in_report_and_leaders_view(system: System) -> None:
    # Received and due yesterday (backfilled after an outage, seed Đ3.4): overdue at once.
    from datetime import timedelta

    from .story import today_local

    yesterday = today_local() - timedelta(days=1)
    doc = register_paper(
        system,
        paper_metadata("21/TNMT-QLĐĐ", "V/v báo cáo quá hạn", DueDate=yesterday.isoformat()),
    ).json()

    def overdue_listed() -> list[Any] | None:
        report = system.call(
            "GET", "reporting", f"/reports/monthly?month={month_now()}", "lanhdao.vp"
        ).json()
        mine = [
            d
            for d in report["overdue_documents"]
            if d.get("ArrivalNumber") == doc["ArrivalNumber"]
            or d.get("incoming_document_id") == doc["id"]
        ]
        return mine or None

    system.wait_until("the overdue document in the monthly report", overdue_listed, 60)

    # The leaders' view counts tasks, which come from routing's events: another topic, so it may
    # lag the document's own row a little.
    def specialist_overdue() -> int | None:
        progress = system.call(
            "GET", "reporting", f"/reports/progress?by=person&month={month_now()}", "lanhdao.vp"
        ).json()
        rows = progress.get("rows", progress) if isinstance(progress, dict) else progress
        person = next((r for r in rows if r["key"] == "cv.nguyenvana"), None)
        return int(person["overdue"]) if person and person["overdue"] >= 1 else None

    assert system.wait_until("the overdue task in the leaders' view", specialist_overdue, 60) >= 1


@pytest.mark.parametrize(
    ("service", "after_step"),
    [
        ("intake", "agency_sends"),
        ("routing", "clerk_registers_paper"),
        ("issuance", "secretary_finalizes"),
        ("reporting", "clerk_registers_electronic"),
        ("identity", "specialist_drafts"),
    ],
)
def test_story_survives_kill_9(system: System, service: str, after_step: str) -> None:
    before = monthly(system)
    story = Story(system, hooks={after_step: partial(kill_and_restart, system.stack, service)})
    story.run()
    ids = story.ids
    assert ids["arrival2"] == ids["arrival1"] + 1, "no lost or doubled arrival number"
    view = story.agency_view()
    assert sorted(view.statuses) == ["01", "03"], "each status once"
    assert len(view.outbound) == 1, "one outbound package"

    def counted() -> dict[str, Any] | None:
        now = monthly(system)
        return now if now["processed"] - before["processed"] >= 2 else None

    after = system.wait_until("the report after the restart", counted, 90)
    assert after["received"] - before["received"] == 2, "reporting counted each document once"
    assert after["processed"] - before["processed"] == 2
