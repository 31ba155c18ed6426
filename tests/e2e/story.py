"""The seed's story, step by step, as the people and the agency of the office play it.

An agency (Sở Tài chính) pushes an edXML document → the clerk registers it and forwards it to a
specialist → the specialist opens a work file, links a second, paper document with the same
request (Đ14.1), drafts a reply → the office leader returns it with a direction → the specialist
revises → the secretary confirms it finalized for the committee leader (Đ15) → the clerk issues
it → both incoming documents are processed, the follow-up is closed, the agency has status 01 and
03 and the outbound edXML with ResponseFor → the monthly report counts it all.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from qlvb_contracts import edxml
from qlvb_stack.agency import build_document

from .system import PDF, System

OFFICE = "000.00.00.H41"
AGENCY = "000.00.12.H41"
AGENCY_NAME = "Sở Tài chính"
SPECIALIST = "cv.nguyenvana"
REGISTER = "VBD-E2E"
STEPS = (
    "agency_sends",
    "clerk_registers_electronic",
    "clerk_registers_paper",
    "specialist_opens_work_file",
    "specialist_drafts",
    "leader_returns",
    "specialist_revises",
    "secretary_finalizes",
    "clerk_issues",
    "follow_up_closed",
)


def today_local() -> date:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


def edxml_package(code: str, subject: str, sender: str = AGENCY) -> tuple[str, bytes]:
    """One công văn from ``sender`` with a PDF attachment, as ``./qlvb agency send`` builds it."""
    return build_document(
        sender=sender,
        sender_name=AGENCY_NAME,
        recipient=OFFICE,
        recipient_name="Ủy ban nhân dân thành phố",
        code=code,
        subject=subject,
        type_name="Công văn",
        promulgated=today_local(),
        attachment=None,
    )


def paper_metadata(code: str, subject: str, **extra: Any) -> dict[str, Any]:
    number, _, notation = code.partition("/")
    return {
        "register_id": REGISTER,
        "first_handlers": [SPECIALIST],
        "OrganName": "Sở Kế hoạch và Đầu tư",
        "CodeNumber": number,
        "CodeNotation": notation,
        "PromulgationDate": today_local().isoformat(),
        "TypeName": "Công văn",
        "Subject": subject,
        "Priority": 0,
        **extra,
    }


def register_paper(system: System, metadata: dict[str, Any], **kwargs: Any) -> Any:
    return system.call(
        "POST",
        "intake",
        "/incoming-documents",
        "vanthu",
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files=[("files", ("scan.pdf", PDF, "application/pdf"))],
        **kwargs,
    )


def ensure_register(system: System) -> None:
    year = today_local().year
    r = system.call(
        "POST",
        "intake",
        "/registers",
        "hctc.admin",
        json={"id": REGISTER, "year": year, "name": f"Sổ văn bản đến {year}"},
        expect=(201, 409),
    )
    assert r.status_code in (201, 409)


@dataclass(frozen=True)
class AgencyView:
    statuses: list[str]
    outbound: list[dict[str, Any]]


@dataclass
class Story:
    system: System
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6].upper())
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    """Called after the named step (e.g. to kill -9 a service right then)."""
    ids: dict[str, Any] = field(default_factory=dict)

    def run(self) -> Story:
        for step in STEPS:
            getattr(self, step)()
            if step in self.hooks:
                self.hooks[step]()
        return self

    # -- steps ---------------------------------------------------------------------------------

    def agency_sends(self) -> None:
        s = self.system
        ensure_register(s)
        code = f"{int(uuid.uuid4().int % 9000) + 100}/STC-{self.tag}"
        self.ids["code"] = code
        self.ids["DocumentId"], package = edxml_package(
            code, f"V/v đề nghị hướng dẫn lập dự toán ngân sách năm 2027 ({self.tag})"
        )
        s.agency_send(AGENCY, package)

    def clerk_registers_electronic(self) -> None:
        s = self.system

        def in_inbox() -> str | None:
            items = s.call("GET", "intake", "/electronic-inbox", "vanthu").json()["items"]
            mine = [i for i in items if i["DocumentId"] == self.ids["DocumentId"]]
            return mine[0]["id"] if mine else None

        doc = s.wait_until("the agency's document in the electronic inbox", in_inbox, 90)
        r = s.call(
            "POST",
            "intake",
            f"/incoming-documents/{doc}/register",
            "vanthu",
            json={"register_id": REGISTER, "first_handlers": [SPECIALIST]},
            idempotency_key=f"reg-{self.tag}",
        ).json()
        self.ids["doc1"] = doc
        self.ids["arrival1"] = r["ArrivalNumber"]

    def clerk_registers_paper(self) -> None:
        r = register_paper(
            self.system,
            paper_metadata(f"77/KHĐT-{self.tag}", f"V/v dự toán ngân sách 2027 ({self.tag})"),
            idempotency_key=f"paper-{self.tag}",
        ).json()
        assert r["status"] == "registered", r
        self.ids["doc2"] = r["id"]
        self.ids["arrival2"] = r["ArrivalNumber"]

    def _case_of(self, doc: str) -> dict[str, Any]:
        s = self.system

        def case() -> dict[str, Any] | None:
            found = s.call(
                "GET", "routing", f"/cases?incoming_document_id={doc}", SPECIALIST
            ).json()
            items = found.get("items", found) if isinstance(found, dict) else found
            return items[0] if items else None

        return s.wait_until(f"routing to open the case of {doc}", case, 90)

    def specialist_opens_work_file(self) -> None:
        s = self.system
        case = self._case_of(self.ids["doc1"])
        self._case_of(self.ids["doc2"])
        self.ids["case1"] = case["case_id"]
        detail = s.call("GET", "routing", f"/cases/{case['case_id']}", SPECIALIST).json()
        task = next(t for t in detail["tasks"] if t["assignee"] == SPECIALIST)
        self.ids["task1"] = task["task_id"]
        wf = s.call(
            "POST",
            "routing",
            "/work-files",
            SPECIALIST,
            json={
                "Title": f"Hồ sơ dự toán ngân sách 2027 ({self.tag})",
                "task_id": task["task_id"],
            },
        ).json()
        self.ids["work_file"] = wf["work_file_id"]
        linked = s.call(
            "POST",
            "routing",
            f"/work-files/{wf['work_file_id']}/documents",
            SPECIALIST,
            json={"document_id": self.ids["doc2"]},
        ).json()
        assert linked["DocOrdinal"] == 2

    def _upload(self, name: str) -> str:
        r = self.system.call(
            "POST",
            "routing",
            f"/uploads?name={name}",
            SPECIALIST,
            content=PDF,
            headers={"Content-Type": "application/pdf"},
        )
        return str(r.json()["upload_id"])

    def _draft(self, approver: str, revision: int) -> None:
        self.system.call(
            "POST",
            "routing",
            f"/tasks/{self.ids['task1']}/draft",
            SPECIALIST,
            json={
                "TypeName": "Công văn",
                "Subject": f"V/v hướng dẫn lập dự toán ngân sách năm 2027 ({self.tag})",
                "approver": approver,
                "draft_upload_id": self._upload(f"du-thao-{revision}.pdf"),
                "proposal_upload_id": self._upload(f"to-trinh-{revision}.pdf"),
                "To": [{"OrganName": AGENCY_NAME, "OrganId": AGENCY}],
                "CodeNotation": "UBND-KT",
            },
        )

    def specialist_drafts(self) -> None:
        self._draft("lanhdao.vp", 1)

    def _approval_task(self, user: str, assignee: str) -> str:
        s = self.system

        def task() -> str | None:
            found = s.call(
                "GET", "routing", f"/tasks?assignee={assignee}&kind=approval&state=open", user
            ).json()
            items = found.get("items", found) if isinstance(found, dict) else found
            mine = [t for t in items if t.get("case_id") == self.ids["case1"]]
            return mine[0]["task_id"] if mine else None

        return s.wait_until(f"an approval task for {assignee}", task, 30)

    def leader_returns(self) -> None:
        task = self._approval_task("lanhdao.vp", "me")
        self.system.call(
            "POST",
            "routing",
            f"/tasks/{task}/return",
            "lanhdao.vp",
            json={"direction": "Bổ sung số liệu dự toán của các phòng, trình lại."},
        )

    def specialist_revises(self) -> None:
        self._draft("ct.ubnd", 2)

    def secretary_finalizes(self) -> None:
        task = self._approval_task("thuky.ct", "ct.ubnd")
        self.system.call("POST", "routing", f"/tasks/{task}/finalize", "thuky.ct", json={})

    def clerk_issues(self) -> None:
        s = self.system

        def queued() -> str | None:
            found = s.call("GET", "issuance", "/outgoing-documents/queue", "vanthu").json()
            items = found.get("items", found) if isinstance(found, dict) else found
            mine = [i for i in items if self.tag in i.get("Subject", "")]
            return mine[0]["outgoing_document_id"] if mine else None

        out = s.wait_until("the finalized document in the issue queue", queued, 90)
        s.call(
            "POST",
            "issuance",
            f"/outgoing-documents/{out}/attachments?kind=signed&name=cv-tra-loi.pdf",
            "vanthu",
            content=PDF,
            headers={"Content-Type": "application/pdf"},
        )
        issued = s.call(
            "POST",
            "issuance",
            f"/outgoing-documents/{out}/issue",
            "vanthu",
            json={"To": [{"OrganName": AGENCY_NAME, "OrganId": AGENCY}]},
            idempotency_key=f"issue-{self.tag}",
        ).json()
        self.ids["outgoing"] = out
        self.ids["outgoing_code"] = issued["Code"]
        self.ids["outgoing_DocumentId"] = issued.get("DocumentId")

    def follow_up_closed(self) -> None:
        s = self.system

        def processed() -> bool:
            for doc in ("doc1", "doc2"):
                case = self._case_of(self.ids[doc])
                detail = s.call("GET", "routing", f"/cases/{case['case_id']}", SPECIALIST).json()
                incoming = detail["incoming_document"]
                if not incoming["processed"]:
                    return False
                if incoming["follow_up"]["answered_by_code"] != self.ids["outgoing_code"]:
                    return False
            return True

        s.wait_until("both incoming documents processed by the reply", processed, 90)
        s.call("POST", "routing", f"/work-files/{self.ids['work_file']}/close", SPECIALIST, json={})

    # -- what the agency got -------------------------------------------------------------------

    def agency_view(self) -> AgencyView:
        """Status codes for our document and outbound packages answering it, as the agency sees
        them (distinct message ids)."""
        received = self.system.agency_received(AGENCY)
        statuses = [
            e["payload"]["StatusCode"]
            for e in received
            if e["topic"] == "exchange.status"
            and e["payload"]["ResponseFor"].get("DocumentId") == self.ids["DocumentId"]
        ]
        outbound = [
            e["payload"]
            for e in received
            if e["topic"] == "exchange.outbound"
            and any(
                r.get("DocumentId") == self.ids["DocumentId"]
                for r in e["payload"].get("ResponseFor", [])
            )
        ]
        return AgencyView(statuses=statuses, outbound=outbound)


def decode_outbound_edxml(package: dict[str, Any]) -> edxml.EdXmlDocument | None:
    raw = package.get("edxml")
    return edxml.parse_edxml(base64.b64decode(raw)) if raw else None


def month_now() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
