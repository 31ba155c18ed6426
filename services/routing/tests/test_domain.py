"""Domain rules of routing, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from qlvb_chassis.calendar import WorkingCalendar, office_instant
from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import Recipient, StoredAttachment
from qlvb_contracts.payloads.routing import (
    DocumentFinalizedForIssuance,
    LinkedDocumentKind,
    TaskRole,
    WaitingReason,
)
from qlvb_contracts.reference import Urgency
from qlvb_routing.domain import deadlines
from qlvb_routing.domain.errors import Conflict, Invalid, NotAllowed
from qlvb_routing.domain.files import DOCX, sniff_draft_file
from qlvb_routing.domain.model import (
    Acting,
    Assignment,
    CaseState,
    DraftContent,
    DraftState,
    HandlingCase,
    TaskKind,
    TaskState,
    resolve_acting,
)
from qlvb_routing.domain.work_file import WorkFile

NOW = datetime(2024, 7, 15, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hanoi
CAL = WorkingCalendar()
FILE = StoredAttachment(object_key="k", sha256="0" * 64, content_type="application/pdf", size=1)
CONTENT = DraftContent(
    TypeName="Công văn",
    Subject="V/v trả lời",
    draft_file=FILE,
    To=(Recipient(OrganName="Sở Tài chính"),),
)


def me(user: str) -> Acting:
    return Acting(user, user)


def new_case(*handlers: str) -> HandlingCase:
    case = HandlingCase.open(
        subject="Đề nghị",
        priority=Urgency.NORMAL,
        handlers=handlers or ("cv.an",),
        due_at=CAL.add_working_days(NOW, 10),
        now=NOW,
        incoming_document_id="doc-1",
    )
    case.events.clear()
    return case


# -- deadlines --------------------------------------------------------------------------------


def test_due_date_of_the_document_wins_and_means_close_of_business() -> None:
    due = deadlines.due_at(CAL, received_at=NOW, due_date=date(2024, 7, 31), priority=Urgency.FLASH)
    assert due == office_instant(date(2024, 7, 31), time(17, 0))


def test_default_due_by_urgency_counts_working_days() -> None:
    normal = deadlines.due_at(CAL, received_at=NOW, due_date=None, priority=Urgency.NORMAL)
    urgent = deadlines.due_at(
        CAL, received_at=NOW, due_date=None, priority=Urgency.URGENT, default_working_days={1: 2}
    )
    assert normal == CAL.add_working_days(NOW, 10)  # two weeks later, weekends skipped
    assert deadlines.office_date(normal) == date(2024, 7, 29)
    assert deadlines.office_date(urgent) == date(2024, 7, 17)


def test_waiting_still_counts_toward_overdue() -> None:
    case = new_case()
    task = case.tasks[0]
    case.wait(
        task.task_id,
        me("cv.an"),
        reason=WaitingReason.MEETING,
        summary="chờ họp",
        until=None,
        now=NOW,
    )
    assert task.state is TaskState.WAITING
    assert task.due_at is not None
    later = task.due_at.replace(year=2025)
    assert deadlines.is_overdue(task.due_at, now=later, ended_at=None)
    assert not deadlines.is_overdue(task.due_at, now=NOW, ended_at=None)


# -- opening and simple acts ------------------------------------------------------------------


def test_open_case_first_handler_leads_others_support() -> None:
    case = HandlingCase.open(
        subject="S",
        priority=Urgency.URGENT,
        handlers=["ld.binh", "cv.an", "ld.binh"],
        due_at=None,
        now=NOW,
        incoming_document_id="d",
    )
    assert [(t.assignee, t.role) for t in case.tasks] == [
        ("ld.binh", TaskRole.LEAD),
        ("cv.an", TaskRole.SUPPORT),
    ]
    assert [e.EVENT_TYPE for e in case.events] == ["case.opened", "task.assigned", "task.assigned"]


def test_forward_closes_the_task_and_opens_the_next() -> None:
    case = new_case()
    first = case.tasks[0]
    new = case.forward(first.task_id, me("cv.an"), to_user="cv.binh", note="nhờ xử lý", now=NOW)
    assert first.state is TaskState.CLOSED
    assert new.assignee == "cv.binh"
    assert new.parent_task_id == first.task_id
    assert new.due_at == first.due_at
    assert [e.EVENT_TYPE for e in case.events] == ["task.forwarded", "task.assigned"]
    with pytest.raises(Conflict):
        case.forward(first.task_id, me("cv.an"), to_user="cv.binh", note=None, now=NOW)


def test_only_the_assignee_or_their_delegate_acts() -> None:
    case = new_case("ld.binh")
    task = case.tasks[0]
    with pytest.raises(NotAllowed):
        case.file_for_reference(task.task_id, me("cv.an"), note=None, now=NOW)
    secretary = resolve_acting("tk.hoa", None, {"ld.binh"}, owner="ld.binh")
    assert secretary == Acting("ld.binh", "tk.hoa", "ld.binh")
    case.file_for_reference(task.task_id, secretary, note=None, now=NOW)
    assert case.state is CaseState.COMPLETED


def test_forward_to_oneself_is_invalid() -> None:
    case = new_case()
    with pytest.raises(Invalid):
        case.forward(case.tasks[0].task_id, me("cv.an"), to_user="cv.an", note=None, now=NOW)


def test_processing_slip_ends_handling_with_the_cited_reply() -> None:
    case = new_case()
    case.processing_slip(
        case.tasks[0].task_id,
        me("cv.an"),
        content="Đã trả lời",
        answered_by_code="12/UBND-VX",
        now=NOW,
    )
    (event,) = case.events
    assert event.EVENT_TYPE == "task.processing_slip"
    assert event.model_dump()["case_completed"] is True
    assert case.state is CaseState.COMPLETED


def test_file_for_reference_by_a_supporter_leaves_the_case_open() -> None:
    case = new_case("cv.an", "cv.binh")
    case.file_for_reference(case.tasks[1].task_id, me("cv.binh"), note=None, now=NOW)
    assert case.state is CaseState.OPEN


def test_leader_assigns_one_lead_and_supporters_with_deadlines() -> None:
    case = new_case("ld.binh")
    due = CAL.add_working_days(NOW, 3)
    created = case.assign(
        case.tasks[0].task_id,
        me("ld.binh"),
        assignments=[
            Assignment("cv.an", TaskRole.LEAD, due, "chủ trì"),
            Assignment("cv.chi", TaskRole.SUPPORT),
        ],
        now=NOW,
    )
    assert [t.due_at for t in created] == [due, case.tasks[0].due_at]
    with pytest.raises(Invalid):
        case.assign(
            created[0].task_id,
            me("cv.an"),
            assignments=[Assignment("x", TaskRole.SUPPORT)],
            now=NOW,
        )


# -- drafts -----------------------------------------------------------------------------------


def test_draft_return_revise_approve_finalize() -> None:
    case = new_case()
    own = case.tasks[0]
    draft = case.submit_draft(
        own.task_id,
        me("cv.an"),
        content=CONTENT,
        approver="ld.binh",
        incoming_document_ids=["doc-1"],
        now=NOW,
    )
    assert own.state is TaskState.AWAITING_APPROVAL
    approval = case.tasks[-1]
    assert approval.kind is TaskKind.APPROVAL
    assert approval.assignee == "ld.binh"
    with pytest.raises(Conflict):  # the specialist waits for the approval
        case.forward(own.task_id, me("cv.an"), to_user="x", note=None, now=NOW)

    case.return_draft(approval.task_id, me("ld.binh"), direction="Sửa lại", due_at=None, now=NOW)
    assert draft.state is DraftState.RETURNED
    assert own.state.value == "open"  # the return reopened it
    assert own.instruction == "Sửa lại"

    again = case.submit_draft(
        own.task_id,
        me("cv.an"),
        content=CONTENT,
        approver="ld.binh",
        incoming_document_ids=["doc-1"],
        now=NOW,
    )
    assert again is draft
    assert draft.revision == 2
    second = case.approve_draft(
        case.tasks[-1].task_id, me("ld.binh"), next_approver="ct.thanh", comment=None, now=NOW
    )
    case.events.clear()
    secretary = resolve_acting("tk.hoa", None, {"ct.thanh"}, owner="ct.thanh")
    case.finalize(
        second.task_id,
        secretary,
        signer=Signer(FullName="Lê Văn Thành"),
        responds_to=[],
        comment=None,
        now=NOW,
    )
    assert draft.state.value == "finalized"
    assert draft.approved_by == "ct.thanh"
    assert draft.approvers == ["ld.binh", "ct.thanh"]
    assert own.state.value == "awaiting_issuance"
    final = case.events[-1]
    assert isinstance(final, DocumentFinalizedForIssuance)
    assert final.approved_by == "ct.thanh"
    assert final.document == FILE

    case.reply_issued(outgoing_document_id="out-1", work_file_id=None, now=NOW)
    assert case.state.value == "completed"
    assert draft.state.value == "issued"
    assert not case.active_tasks()


def test_nobody_approves_their_own_draft() -> None:
    case = new_case()
    with pytest.raises(NotAllowed):
        case.submit_draft(
            case.tasks[0].task_id,
            me("cv.an"),
            content=CONTENT,
            approver="cv.an",
            incoming_document_ids=[],
            now=NOW,
        )


def test_approving_needs_the_current_approver() -> None:
    case = new_case()
    case.submit_draft(
        case.tasks[0].task_id,
        me("cv.an"),
        content=CONTENT,
        approver="ld.binh",
        incoming_document_ids=[],
        now=NOW,
    )
    with pytest.raises(NotAllowed):
        case.finalize(
            case.tasks[-1].task_id,
            me("cv.an"),
            signer=Signer(FullName="x"),
            responds_to=[],
            comment=None,
            now=NOW,
        )


def test_draft_viewers_are_handlers_and_approver_chain() -> None:
    case = new_case()
    case.submit_draft(
        case.tasks[0].task_id,
        me("cv.an"),
        content=CONTENT,
        approver="ld.binh",
        incoming_document_ids=[],
        now=NOW,
    )
    assert case.draft_viewers() == {"cv.an", "ld.binh"}


# -- work files -------------------------------------------------------------------------------


def test_work_file_ordinals_are_automatic_and_never_reused() -> None:
    wf = WorkFile.open(title="Hồ sơ", creator="cv.an", today=date(2024, 7, 15), now=NOW)
    a = wf.link(me("cv.an"), document_id="d1", kind=LinkedDocumentKind.INCOMING, now=NOW)
    b = wf.link(me("cv.an"), document_id="d2", kind=LinkedDocumentKind.INCOMING, now=NOW)
    assert (a.ordinal, b.ordinal) == (1, 2)
    with pytest.raises(Conflict):
        wf.link(me("cv.an"), document_id="d1", kind=LinkedDocumentKind.INCOMING, now=NOW)
    with pytest.raises(NotAllowed):
        wf.link(me("cv.binh"), document_id="d3", kind=LinkedDocumentKind.INCOMING, now=NOW)
    wf.unlink(me("cv.an"), document_id="d2", reason="nhầm", now=NOW)
    c = wf.link(me("cv.an"), document_id="d2", kind=LinkedDocumentKind.INCOMING, now=NOW)
    assert c.ordinal == 3
    wf.close(me("cv.an"), summary="xong", today=date(2024, 7, 20))
    assert not wf.follow_up
    assert wf.events[-1].model_dump()["DocTotal"] == 2
    with pytest.raises(Conflict):
        wf.link(me("cv.an"), document_id="d4", kind=LinkedDocumentKind.INCOMING, now=NOW)


# -- files ------------------------------------------------------------------------------------


def test_draft_files_are_recognised_by_content() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("word/document.xml", "<w/>")
    assert sniff_draft_file(b"%PDF-1.7 ...") == "application/pdf"
    assert sniff_draft_file(buffer.getvalue()) == DOCX
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("evil.exe", "MZ")
    assert sniff_draft_file(other.getvalue()) is None
    assert sniff_draft_file(b"MZ\x90\x00") is None
