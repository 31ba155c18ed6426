"""Handling cases, tasks and drafts (xử lý văn bản đến, dự thảo, trình duyệt) — pure rules.

A :class:`HandlingCase` is opened for every registered incoming document (or, seed Đ13, for a
work file started on the office's own initiative). People work on it through :class:`Task`\\ s;
each act is allowed only to the task's assignee or to a delegate acting for them (the acting user
and the one acted for are both recorded, in :class:`Acting`). Every act appends the contract
events it causes to ``case.events``; the service layer stores the case and publishes them in one
transaction.

Task states::

    open ──forward / assign / file / slip──▶ closed
    open ◀──▶ waiting          (Đ12.3; still counts toward overdue)
    open ──submit draft──▶ awaiting_approval ──returned──▶ open
                                           └──finalized──▶ awaiting_issuance ──issued──▶ closed

An approval task (the approver's) ends when they approve (passing the draft to the next
approver), return it with a direction (bút phê), or confirm it finalized (Đ15).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from qlvb_contracts.edxml import Signer
from qlvb_contracts.payloads.common import Recipient, ResponseLink, StoredAttachment
from qlvb_contracts.payloads.routing import (
    CaseOpened,
    DirectionRecorded,
    DocumentFinalizedForIssuance,
    DraftApproved,
    DraftReturned,
    DraftSubmitted,
    TaskAssigned,
    TaskCompleted,
    TaskFiledForReference,
    TaskForwarded,
    TaskOutcome,
    TaskProcessingSlip,
    TaskRole,
    TaskWaiting,
    WaitingReason,
)
from qlvb_contracts.reference import Urgency
from qlvb_contracts.topics import Payload
from qlvb_routing.domain.deadlines import office_date
from qlvb_routing.domain.errors import Conflict, Invalid, NotAllowed, NotFound


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Acting:
    """Who acts: ``user`` is the person whose task it is (the delegating leader when a
    secretary acts for them), ``acted_by`` who pressed the button."""

    user: str
    acted_by: str
    on_behalf_of: str | None = None


def resolve_acting(
    acted_by: str, on_behalf_of: str | None, delegators: Collection[str], owner: str
) -> Acting:
    """Whom an act is done for. An explicit (already verified) on_behalf_of wins; otherwise the
    user acts for themselves, or for ``owner`` when they hold a valid delegation from them —
    so a secretary need not name the leader for every click on the leader's own tasks."""
    if on_behalf_of and on_behalf_of != acted_by:
        return Acting(on_behalf_of, acted_by, on_behalf_of)
    if acted_by != owner and owner in delegators:
        return Acting(owner, acted_by, owner)
    return Acting(acted_by, acted_by, None)


class CaseState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    """Đã xử lý: handling ended (slip, reference, reply issued)."""


class TaskKind(StrEnum):
    HANDLING = "handling"
    """Xử lý văn bản: the person must do something with the document."""
    APPROVAL = "approval"
    """Duyệt dự thảo: a draft waits for this person's approval."""


class TaskState(StrEnum):
    OPEN = "open"
    WAITING = "waiting"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_ISSUANCE = "awaiting_issuance"
    CLOSED = "closed"


class TaskEnd(StrEnum):
    FORWARDED = "forwarded"
    ASSIGNED = "assigned"
    FILED_FOR_REFERENCE = "filed_for_reference"
    PROCESSING_SLIP = "processing_slip"
    APPROVED = "approved"
    RETURNED = "returned"
    FINALIZED = "finalized"
    REPLY_ISSUED = "reply_issued"


class DraftState(StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    FINALIZED = "finalized"
    """Văn bản hoàn thành: handed to the clerks for numbering (Đ15)."""
    ISSUED = "issued"


_ACTIONABLE = (TaskState.OPEN, TaskState.WAITING)


@dataclass
class Task:
    """Một lượt xử lý: one person's part in a case."""

    task_id: str
    case_id: str
    assignee: str
    kind: TaskKind
    role: TaskRole
    state: TaskState
    created_at: datetime
    due_at: datetime | None = None
    instruction: str | None = None
    parent_task_id: str | None = None
    draft_id: str | None = None
    closed_at: datetime | None = None
    end: TaskEnd | None = None
    note: str | None = None
    waiting_reason: WaitingReason | None = None
    waiting_summary: str | None = None
    waiting_until: date | None = None

    @property
    def active(self) -> bool:
        return self.state is not TaskState.CLOSED


@dataclass(frozen=True)
class DraftContent:
    """What the specialist sends up with a draft (Đ11 c.2, Đ12.1)."""

    TypeName: str
    Subject: str
    draft_file: StoredAttachment
    proposal_file: StoredAttachment | None = None
    To: tuple[Recipient, ...] = ()
    CodeNotation: str | None = None
    Appendixes: tuple[str, ...] = ()
    PageAmount: int | None = None


@dataclass
class Draft:
    """Dự thảo văn bản đi with its tờ trình; revised in place after each return."""

    draft_id: str
    case_id: str
    author: str
    author_task_id: str
    revision: int
    state: DraftState
    content: DraftContent
    submitted_at: datetime
    approver: str | None
    approvers: list[str] = field(default_factory=list)
    """Everyone it was sent to, in order: the approver chain that may see it (Đ4.2)."""
    work_file_id: str | None = None
    approved_by: str | None = None
    finalized_at: datetime | None = None


@dataclass(frozen=True)
class Assignment:
    """Phân công: one person and their part, given by a leader."""

    assignee: str
    role: TaskRole
    due_at: datetime | None = None
    instruction: str | None = None


@dataclass
class HandlingCase:
    """Hồ sơ xử lý of one incoming document (or of a work file without one, Đ13)."""

    case_id: str
    subject: str
    priority: Urgency
    opened_at: datetime
    due_at: datetime | None
    incoming_document_id: str | None = None
    state: CaseState = CaseState.OPEN
    completed_at: datetime | None = None
    work_file_id: str | None = None
    tasks: list[Task] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    events: list[Payload] = field(default_factory=list, repr=False)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        subject: str,
        priority: Urgency,
        handlers: Iterable[str],
        due_at: datetime | None,
        now: datetime,
        incoming_document_id: str | None = None,
        work_file_id: str | None = None,
        case_id: str | None = None,
    ) -> HandlingCase:
        """The first handler leads (chủ trì); any others the clerk chose coordinate."""
        people = list(dict.fromkeys(handlers))
        if not people:
            raise Invalid("a case needs at least one handler")
        case = cls(
            case_id=case_id or new_id(),
            subject=subject,
            priority=priority,
            opened_at=now,
            due_at=due_at,
            incoming_document_id=incoming_document_id,
            work_file_id=work_file_id,
        )
        case.events.append(
            CaseOpened(
                case_id=case.case_id,
                incoming_document_id=incoming_document_id,
                work_file_id=work_file_id,
                Subject=subject,
                Priority=priority,
                DueDate=office_date(due_at) if due_at else None,
            )
        )
        for n, person in enumerate(people):
            case._new_task(
                person,
                role=TaskRole.LEAD if n == 0 else TaskRole.SUPPORT,
                due_at=due_at,
                now=now,
            )
        return case

    # -- lookups ---------------------------------------------------------------------------

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.task_id == task_id:
                return task
        raise NotFound(f"task {task_id} is not part of case {self.case_id}")

    def draft(self, draft_id: str) -> Draft:
        for draft in self.drafts:
            if draft.draft_id == draft_id:
                return draft
        raise NotFound(f"draft {draft_id} is not part of case {self.case_id}")

    def active_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.active]

    def current_handlers(self) -> set[str]:
        return {t.assignee for t in self.active_tasks()}

    def draft_viewers(self) -> set[str]:
        """Who may see drafts and proposals (Đ4.2): the current handlers, the drafts' authors
        and everyone in their approver chain."""
        viewers = self.current_handlers()
        for draft in self.drafts:
            viewers.add(draft.author)
            viewers.update(draft.approvers)
        return viewers

    # -- handling acts (Đ11) ---------------------------------------------------------------

    def forward(
        self,
        task_id: str,
        who: Acting,
        *,
        to_user: str,
        note: str | None,
        now: datetime,
        forced: bool = False,
    ) -> Task:
        """Chuyển tiếp (Đ11 a); ``forced`` is the records admin passing it on for a handler who
        did not (Đ9): no assignee check, recorded as such."""
        task = self.task(task_id) if forced else self._own_task(task_id, who)
        self._require_actionable(task)
        if to_user == task.assignee:
            raise Invalid(f"the task is already {to_user}'s; choose someone else")
        self._close(task, TaskEnd.FORWARDED, now, note=note)
        new = self._new_task(
            to_user,
            role=task.role,
            due_at=task.due_at,
            now=now,
            instruction=note,
            parent=task,
            announce=False,
        )
        self.events.append(
            TaskForwarded(
                case_id=self.case_id,
                task_id=task.task_id,
                to_user=to_user,
                new_task_id=new.task_id,
                note=note,
                forced=forced,
            )
        )
        self._announce(new)
        return new

    def file_for_reference(
        self, task_id: str, who: Acting, *, note: str | None, now: datetime
    ) -> None:
        """Lưu tham khảo (Đ11 b): the person only needed to know; their task ends."""
        task = self._own_task(task_id, who)
        self._require_actionable(task)
        self._close(task, TaskEnd.FILED_FOR_REFERENCE, now, note=note)
        done = self._complete_if_handled(now)
        self.events.append(
            TaskFiledForReference(
                case_id=self.case_id, task_id=task.task_id, note=note, case_completed=done
            )
        )

    def processing_slip(
        self,
        task_id: str,
        who: Acting,
        *,
        content: str,
        answered_by_code: str | None,
        now: datetime,
    ) -> None:
        """Phiếu XLVB (Đ11 c.1, Đ14.2): why nothing more is needed, or the outgoing document
        that already answered it; ends the handling."""
        task = self._own_task(task_id, who)
        self._require_actionable(task)
        if not content.strip():
            raise Invalid("a processing slip needs its content (lý do / nội dung xử lý)")
        self._close(task, TaskEnd.PROCESSING_SLIP, now, note=content)
        done = self._complete_if_handled(now)
        self.events.append(
            TaskProcessingSlip(
                case_id=self.case_id,
                task_id=task.task_id,
                content=content,
                answered_by_code=answered_by_code,
                case_completed=done,
            )
        )

    def wait(
        self,
        task_id: str,
        who: Acting,
        *,
        reason: WaitingReason,
        summary: str,
        until: date | None,
        now: datetime,
    ) -> None:
        """Chờ (Đ12.3): waiting for files, a verification or a meeting; the due time stays."""
        task = self._own_task(task_id, who)
        self._require_actionable(task)
        if not summary.strip():
            raise Invalid("waiting needs a summary of the handling so far")
        task.state = TaskState.WAITING
        task.waiting_reason, task.waiting_summary, task.waiting_until = reason, summary, until
        self.events.append(
            TaskWaiting(
                case_id=self.case_id,
                task_id=task.task_id,
                reason=reason,
                summary=summary,
                until=until,
            )
        )

    def require_handler(self, task_id: str, who: Acting) -> Task:
        """The task ``who`` is acting through, for acts outside the case (a work file)."""
        task = self._own_task(task_id, who)
        self._require_actionable(task)
        return task

    # -- leaders (Đ18, Đ15) ----------------------------------------------------------------

    def assign(
        self, task_id: str, who: Acting, *, assignments: list[Assignment], now: datetime
    ) -> list[Task]:
        """Phân công: one lead (chủ trì) and any coordinating handlers, each with a deadline."""
        task = self._own_task(task_id, who)
        self._require_actionable(task)
        leads = [a for a in assignments if a.role is TaskRole.LEAD]
        if len(leads) != 1:
            raise Invalid("an assignment names exactly one lead handler (chủ trì)")
        people = [a.assignee for a in assignments]
        if len(set(people)) != len(people):
            raise Invalid("each person is assigned once")
        self._close(task, TaskEnd.ASSIGNED, now)
        created = [
            self._new_task(
                a.assignee,
                role=a.role,
                due_at=a.due_at or task.due_at,
                now=now,
                instruction=a.instruction,
                parent=task,
                announce=False,
            )
            for a in assignments
        ]
        lead = next(t for t in created if t.role is TaskRole.LEAD)
        self.events.append(
            TaskForwarded(
                case_id=self.case_id,
                task_id=task.task_id,
                to_user=lead.assignee,
                new_task_id=lead.task_id,
                note=lead.instruction,
            )
        )
        for new in created:
            self._announce(new)
        return created

    def record_direction(
        self,
        task_id: str,
        who: Acting,
        *,
        text: str,
        return_to: str | None,
        due_at: datetime | None,
        now: datetime,
    ) -> str:
        """Bút phê: the leader's direction on the case; with ``return_to`` the case goes (back)
        to that specialist to carry it out (Đ15: the secretary records it for the leader)."""
        task = self._own_task(task_id, who)
        self._require_actionable(task)
        direction_id = new_id()
        self.events.append(
            DirectionRecorded(
                case_id=self.case_id,
                direction_id=direction_id,
                leader=who.user,
                text=text,
                incoming_document_id=self.incoming_document_id,
                DueDate=office_date(due_at) if due_at else None,
                return_to=return_to,
            )
        )
        if return_to is not None:
            if due_at is not None:
                task.due_at = due_at
            self.forward(task_id, who, to_user=return_to, note=text, now=now)
        return direction_id

    # -- drafts (Đ11 c.2, Đ12, Đ15) --------------------------------------------------------

    def submit_draft(
        self,
        task_id: str,
        who: Acting,
        *,
        content: DraftContent,
        approver: str,
        incoming_document_ids: list[str],
        now: datetime,
    ) -> Draft:
        task = self._own_task(task_id, who)
        if task.kind is not TaskKind.HANDLING:
            raise Conflict("drafts are submitted from a handling task, not an approval")
        self._require_actionable(task)
        if approver == who.user:
            raise NotAllowed("nobody approves their own draft: choose the leader who approves it")
        if not content.To:
            raise Invalid("a draft names at least one recipient (nơi nhận)")
        pending = [
            d for d in self.drafts if d.state in (DraftState.SUBMITTED, DraftState.FINALIZED)
        ]
        if pending:
            raise Conflict(
                f"draft {pending[0].draft_id} of this case is already {pending[0].state}"
            )
        returned = next(
            (d for d in self.drafts if d.state is DraftState.RETURNED and d.author == who.user),
            None,
        )
        if returned is not None:
            draft = returned
            draft.revision += 1
            draft.state, draft.content, draft.submitted_at = DraftState.SUBMITTED, content, now
            draft.author_task_id, draft.approver = task.task_id, approver
            draft.work_file_id = self.work_file_id
        else:
            draft = Draft(
                draft_id=new_id(),
                case_id=self.case_id,
                author=who.user,
                author_task_id=task.task_id,
                revision=1,
                state=DraftState.SUBMITTED,
                content=content,
                submitted_at=now,
                approver=approver,
                work_file_id=self.work_file_id,
            )
            self.drafts.append(draft)
        if approver not in draft.approvers:
            draft.approvers.append(approver)
        task.state = TaskState.AWAITING_APPROVAL
        self.events.append(
            DraftSubmitted(
                case_id=self.case_id,
                draft_id=draft.draft_id,
                revision=draft.revision,
                submitted_to=approver,
                work_file_id=draft.work_file_id,
                incoming_document_ids=incoming_document_ids,
                TypeName=content.TypeName,
                Subject=content.Subject,
                draft=content.draft_file,
                proposal=content.proposal_file,
            )
        )
        self._new_task(
            approver,
            kind=TaskKind.APPROVAL,
            role=TaskRole.LEAD,
            due_at=task.due_at,
            now=now,
            instruction=f"Duyệt dự thảo: {content.Subject}",
            parent=task,
            draft_id=draft.draft_id,
        )
        return draft

    def approve_draft(
        self,
        task_id: str,
        who: Acting,
        *,
        next_approver: str,
        comment: str | None,
        now: datetime,
    ) -> Task:
        """The approver agrees and sends the draft on to the next approver (trình tiếp)."""
        task, draft = self._approval(task_id, who)
        if next_approver in (who.user, draft.author):
            raise Invalid("the next approver must be someone other than you and the author")
        self._close(task, TaskEnd.APPROVED, now, note=comment)
        draft.approver = next_approver
        if next_approver not in draft.approvers:
            draft.approvers.append(next_approver)
        self.events.append(
            DraftApproved(
                case_id=self.case_id,
                draft_id=draft.draft_id,
                revision=draft.revision,
                comment=comment,
                next_approver=next_approver,
            )
        )
        return self._new_task(
            next_approver,
            kind=TaskKind.APPROVAL,
            role=TaskRole.LEAD,
            due_at=task.due_at,
            now=now,
            instruction=f"Duyệt dự thảo: {draft.content.Subject}",
            parent=task,
            draft_id=draft.draft_id,
        )

    def return_draft(
        self,
        task_id: str,
        who: Acting,
        *,
        direction: str,
        due_at: datetime | None,
        now: datetime,
    ) -> str:
        """Trả lại với bút phê: the draft goes back to its author with the leader's direction."""
        task, draft = self._approval(task_id, who)
        if not direction.strip():
            raise Invalid("returning a draft needs the leader's direction (bút phê)")
        self._close(task, TaskEnd.RETURNED, now, note=direction)
        draft.state, draft.approver = DraftState.RETURNED, None
        author_task = self.task(draft.author_task_id)
        author_task.state = TaskState.OPEN
        author_task.instruction = direction
        if due_at is not None:
            author_task.due_at = due_at
        self.events.append(
            DraftReturned(
                case_id=self.case_id,
                draft_id=draft.draft_id,
                revision=draft.revision,
                returned_to=draft.author,
                comment=direction,
            )
        )
        direction_id = new_id()
        self.events.append(
            DirectionRecorded(
                case_id=self.case_id,
                direction_id=direction_id,
                leader=who.user,
                text=direction,
                incoming_document_id=self.incoming_document_id,
                DueDate=office_date(due_at) if due_at else None,
                return_to=draft.author,
            )
        )
        return direction_id

    def finalize(
        self,
        task_id: str,
        who: Acting,
        *,
        signer: Signer,
        responds_to: list[ResponseLink],
        comment: str | None,
        now: datetime,
    ) -> Draft:
        """Xác nhận văn bản hoàn thành (Đ15): the last approver signs off; the clerks number
        and issue it."""
        task, draft = self._approval(task_id, who)
        self._close(task, TaskEnd.FINALIZED, now, note=comment)
        draft.state, draft.approved_by, draft.finalized_at = DraftState.FINALIZED, who.user, now
        draft.approver = None
        self.task(draft.author_task_id).state = TaskState.AWAITING_ISSUANCE
        content = draft.content
        self.events.append(
            DraftApproved(
                case_id=self.case_id,
                draft_id=draft.draft_id,
                revision=draft.revision,
                comment=comment,
                next_approver=None,
            )
        )
        self.events.append(
            DocumentFinalizedForIssuance(
                case_id=self.case_id,
                draft_id=draft.draft_id,
                approved_by=who.user,
                work_file_id=draft.work_file_id,
                responds_to=responds_to,
                document=content.draft_file,
                Appendixes=list(content.Appendixes),
                TypeName=content.TypeName,
                CodeNotation=content.CodeNotation,
                Subject=content.Subject,
                SignerInfo=signer,
                Priority=self.priority,
                PageAmount=content.PageAmount,
                To=list(content.To),
            )
        )
        return draft

    # -- issuance (Đ11 c.2, Đ14.1) ---------------------------------------------------------

    def reply_issued(
        self, *, outgoing_document_id: str, work_file_id: str | None, now: datetime
    ) -> bool:
        """The outgoing document answering this case was issued: the document is processed and
        every task still open on it ends. False when the case was already completed."""
        for draft in self.drafts:
            if draft.state is DraftState.FINALIZED:
                draft.state = DraftState.ISSUED
        if self.state is CaseState.COMPLETED:
            return False
        remaining = self.active_tasks()
        self.state, self.completed_at = CaseState.COMPLETED, now
        for n, task in enumerate(remaining, start=1):
            self._close(task, TaskEnd.REPLY_ISSUED, now)
            self.events.append(
                TaskCompleted(
                    case_id=self.case_id,
                    task_id=task.task_id,
                    outcome=TaskOutcome.REPLY_ISSUED,
                    outgoing_document_id=outgoing_document_id,
                    work_file_id=work_file_id or self.work_file_id,
                    case_completed=n == len(remaining),
                )
            )
        return True

    # -- internals -------------------------------------------------------------------------

    def _own_task(self, task_id: str, who: Acting) -> Task:
        task = self.task(task_id)
        if task.assignee != who.user:
            raise NotAllowed(
                f"task {task_id} is assigned to {task.assignee}; only they, or someone acting "
                f"for them by delegation, may act on it (you act as {who.user})",
                slug="not-assignee",
            )
        if not task.active:
            raise Conflict(f"task {task_id} is closed ({task.end}); nothing more can be done on it")
        return task

    def _approval(self, task_id: str, who: Acting) -> tuple[Task, Draft]:
        task = self._own_task(task_id, who)
        if task.kind is not TaskKind.APPROVAL or task.draft_id is None:
            raise Conflict(f"task {task_id} is not an approval of a draft")
        draft = self.draft(task.draft_id)
        if draft.author == who.user:
            raise NotAllowed("nobody approves their own draft", slug="own-draft")
        if draft.state is not DraftState.SUBMITTED or draft.approver != task.assignee:
            raise Conflict(f"draft {draft.draft_id} is {draft.state}, not awaiting your approval")
        return task, draft

    @staticmethod
    def _require_actionable(task: Task) -> None:
        if task.state is TaskState.AWAITING_APPROVAL:
            raise Conflict(f"task {task.task_id} waits for the approval of its draft")
        if task.state is TaskState.AWAITING_ISSUANCE:
            raise Conflict(f"task {task.task_id} waits for its finalized draft to be issued")
        if task.state not in _ACTIONABLE:
            raise Conflict(f"task {task.task_id} is {task.state}")

    def _close(self, task: Task, end: TaskEnd, now: datetime, *, note: str | None = None) -> None:
        task.state, task.end, task.closed_at = TaskState.CLOSED, end, now
        if note is not None:
            task.note = note

    def _complete_if_handled(self, now: datetime) -> bool:
        """The case is processed when no handling task remains and no draft is pending."""
        if self.state is CaseState.COMPLETED:
            return False
        if any(t.kind is TaskKind.HANDLING for t in self.active_tasks()):
            return False
        if any(d.state in (DraftState.SUBMITTED, DraftState.FINALIZED) for d in self.drafts):
            return False
        self.state, self.completed_at = CaseState.COMPLETED, now
        return True

    def _new_task(
        self,
        assignee: str,
        *,
        role: TaskRole,
        due_at: datetime | None,
        now: datetime,
        kind: TaskKind = TaskKind.HANDLING,
        instruction: str | None = None,
        parent: Task | None = None,
        draft_id: str | None = None,
        announce: bool = True,
    ) -> Task:
        if self.state is CaseState.COMPLETED:
            raise Conflict(f"case {self.case_id} is completed")
        task = Task(
            task_id=new_id(),
            case_id=self.case_id,
            assignee=assignee,
            kind=kind,
            role=role,
            state=TaskState.OPEN,
            created_at=now,
            due_at=due_at,
            instruction=instruction,
            parent_task_id=parent.task_id if parent else None,
            draft_id=draft_id,
        )
        self.tasks.append(task)
        if announce:
            self._announce(task)
        return task

    def _announce(self, task: Task) -> None:
        self.events.append(
            TaskAssigned(
                case_id=self.case_id,
                task_id=task.task_id,
                assignee=task.assignee,
                role=task.role,
                DueDate=office_date(task.due_at) if task.due_at else None,
                instruction=task.instruction,
                parent_task_id=task.parent_task_id,
                kind=task.kind.value,
                draft_id=task.draft_id,
            )
        )
