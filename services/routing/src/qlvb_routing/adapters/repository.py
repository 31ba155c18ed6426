"""Loading and storing the routing aggregates, the read models and the audit log (SQL Core)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from qlvb_chassis.audit import ChainHead
from qlvb_contracts.payloads.common import Recipient, StoredAttachment
from qlvb_contracts.payloads.routing import LinkedDocumentKind, TaskRole, WaitingReason
from qlvb_contracts.reference import Urgency
from qlvb_routing.adapters import orm
from qlvb_routing.domain.model import (
    CaseState,
    Draft,
    DraftContent,
    DraftState,
    HandlingCase,
    Task,
    TaskEnd,
    TaskKind,
    TaskState,
)
from qlvb_routing.domain.work_file import LinkedDocument, WorkFile, WorkFileState

_UPSERTS: dict[tuple[str, tuple[str, ...]], Insert] = {}


def _upsert_statement(table: Table, columns: tuple[str, ...]) -> Insert:
    """One statement per (table, columns), values bound at execution: building a statement with
    its values costs more CPU than running it."""
    statement = _UPSERTS.get((table.name, columns))
    if statement is None:
        keys = [c.name for c in table.primary_key.columns]
        insert = pg_insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=keys,
            set_={k: insert.excluded[k] for k in columns if k not in keys},
        )
        _UPSERTS[(table.name, columns)] = statement
    return statement


async def _upsert(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    await session.execute(_upsert_statement(table, tuple(values)), values)


async def _upsert_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Upsert rows in one statement per column set."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for columns, group in groups.items():
        await session.execute(_upsert_statement(table, columns), group)


# -- handling cases ---------------------------------------------------------------------------


def _content_json(content: DraftContent) -> dict[str, Any]:
    return {
        "TypeName": content.TypeName,
        "Subject": content.Subject,
        "draft_file": content.draft_file.model_dump(mode="json"),
        "proposal_file": (
            content.proposal_file.model_dump(mode="json") if content.proposal_file else None
        ),
        "To": [r.model_dump(mode="json") for r in content.To],
        "CodeNotation": content.CodeNotation,
        "Appendixes": list(content.Appendixes),
        "PageAmount": content.PageAmount,
    }


def _content(raw: dict[str, Any]) -> DraftContent:
    return DraftContent(
        TypeName=raw["TypeName"],
        Subject=raw["Subject"],
        draft_file=StoredAttachment.model_validate(raw["draft_file"]),
        proposal_file=(
            StoredAttachment.model_validate(raw["proposal_file"]) if raw["proposal_file"] else None
        ),
        To=tuple(Recipient.model_validate(r) for r in raw["To"]),
        CodeNotation=raw["CodeNotation"],
        Appendixes=tuple(raw["Appendixes"]),
        PageAmount=raw["PageAmount"],
    )


def task_from_row(row: RowMapping) -> Task:
    return Task(
        task_id=row["task_id"],
        case_id=row["case_id"],
        assignee=row["assignee"],
        kind=TaskKind(row["kind"]),
        role=TaskRole(row["role"]),
        state=TaskState(row["state"]),
        created_at=row["created_at"],
        due_at=row["due_at"],
        instruction=row["instruction"],
        parent_task_id=row["parent_task_id"],
        draft_id=row["draft_id"],
        closed_at=row["closed_at"],
        end=TaskEnd(row["end_reason"]) if row["end_reason"] else None,
        note=row["note"],
        waiting_reason=WaitingReason(row["waiting_reason"]) if row["waiting_reason"] else None,
        waiting_summary=row["waiting_summary"],
        waiting_until=row["waiting_until"],
    )


def task_row(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "case_id": task.case_id,
        "assignee": task.assignee,
        "kind": task.kind.value,
        "role": task.role.value,
        "state": task.state.value,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "instruction": task.instruction,
        "parent_task_id": task.parent_task_id,
        "draft_id": task.draft_id,
        "closed_at": task.closed_at,
        "end_reason": task.end.value if task.end else None,
        "note": task.note,
        "waiting_reason": task.waiting_reason.value if task.waiting_reason else None,
        "waiting_summary": task.waiting_summary,
        "waiting_until": task.waiting_until,
    }


class Cases:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: str, *, lock: bool = True) -> HandlingCase | None:
        """The case with its tasks and drafts; ``lock`` serialises acts on one case."""
        query = select(orm.cases).where(orm.cases.c.case_id == case_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        task_rows = (
            await self.session.execute(
                select(orm.tasks)
                .where(orm.tasks.c.case_id == case_id)
                .order_by(orm.tasks.c.created_at, orm.tasks.c.task_id)
            )
        ).mappings()
        draft_rows = (
            await self.session.execute(
                select(orm.drafts)
                .where(orm.drafts.c.case_id == case_id)
                .order_by(orm.drafts.c.submitted_at)
            )
        ).mappings()
        return HandlingCase(
            case_id=row["case_id"],
            subject=row["subject"],
            priority=Urgency(row["priority"]),
            opened_at=row["opened_at"],
            due_at=row["due_at"],
            incoming_document_id=row["incoming_document_id"],
            state=CaseState(row["state"]),
            completed_at=row["completed_at"],
            work_file_id=row["work_file_id"],
            tasks=[task_from_row(t) for t in task_rows],
            drafts=[
                Draft(
                    draft_id=d["draft_id"],
                    case_id=d["case_id"],
                    author=d["author"],
                    author_task_id=d["author_task_id"],
                    revision=d["revision"],
                    state=DraftState(d["state"]),
                    content=_content(d["content"]),
                    submitted_at=d["submitted_at"],
                    approver=d["approver"],
                    approvers=list(d["approvers"]),
                    work_file_id=d["work_file_id"],
                    approved_by=d["approved_by"],
                    finalized_at=d["finalized_at"],
                )
                for d in draft_rows
            ],
        )

    async def case_of_incoming(self, incoming_document_id: str) -> str | None:
        return (
            await self.session.execute(
                select(orm.cases.c.case_id).where(
                    orm.cases.c.incoming_document_id == incoming_document_id
                )
            )
        ).scalar_one_or_none()

    async def cases_of_work_file(self, work_file_id: str) -> list[str]:
        rows = await self.session.execute(
            select(orm.cases.c.case_id).where(orm.cases.c.work_file_id == work_file_id)
        )
        return [r for (r,) in rows]

    async def add(self, case: HandlingCase) -> bool:
        """Insert a new case; False when one exists for the same incoming document already."""
        inserted = await self.session.execute(
            pg_insert(orm.cases)
            .values(**self._case_row(case))
            .on_conflict_do_nothing()
            .returning(orm.cases.c.case_id)
        )
        if inserted.first() is None:
            return False
        await self._save_children(case)
        return True

    async def save(self, case: HandlingCase) -> None:
        await _upsert(self.session, orm.cases, self._case_row(case))
        await self._save_children(case)

    @staticmethod
    def _case_row(case: HandlingCase) -> dict[str, Any]:
        return {
            "case_id": case.case_id,
            "incoming_document_id": case.incoming_document_id,
            "subject": case.subject,
            "priority": int(case.priority),
            "state": case.state.value,
            "opened_at": case.opened_at,
            "due_at": case.due_at,
            "completed_at": case.completed_at,
            "work_file_id": case.work_file_id,
        }

    async def _save_children(self, case: HandlingCase) -> None:
        await _upsert_many(self.session, orm.tasks, [task_row(task) for task in case.tasks])
        for d in case.drafts:
            await _upsert(
                self.session,
                orm.drafts,
                {
                    "draft_id": d.draft_id,
                    "case_id": d.case_id,
                    "author": d.author,
                    "author_task_id": d.author_task_id,
                    "revision": d.revision,
                    "state": d.state.value,
                    "content": _content_json(d.content),
                    "submitted_at": d.submitted_at,
                    "approver": d.approver,
                    "approvers": d.approvers,
                    "work_file_id": d.work_file_id,
                    "approved_by": d.approved_by,
                    "finalized_at": d.finalized_at,
                },
            )


# -- work files -------------------------------------------------------------------------------


class WorkFiles:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, work_file_id: str, *, lock: bool = True) -> WorkFile | None:
        query = select(orm.work_files).where(orm.work_files.c.work_file_id == work_file_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        if row is None:
            return None
        docs = (
            await self.session.execute(
                select(orm.work_file_documents)
                .where(orm.work_file_documents.c.work_file_id == work_file_id)
                .order_by(orm.work_file_documents.c.ordinal)
            )
        ).mappings()
        return WorkFile(
            work_file_id=row["work_file_id"],
            Title=row["title"],
            Creator=row["creator"],
            StartDate=row["start_date"],
            created_at=row["created_at"],
            FileCode=row["file_code"],
            Maintenance=row["maintenance"],
            Description=row["description"],
            unit_id=row["unit_id"],
            case_id=row["case_id"],
            follow_up=row["follow_up"],
            state=WorkFileState(row["state"]),
            EndDate=row["end_date"],
            summary=row["summary"],
            documents=[
                LinkedDocument(
                    ordinal=d["ordinal"],
                    document_id=d["document_id"],
                    kind=LinkedDocumentKind(d["kind"]),
                    linked_at=d["linked_at"],
                    linked_by=d["linked_by"],
                    DocumentId=d["document_identifier"],
                    Subject=d["subject"],
                    unlinked_at=d["unlinked_at"],
                    unlink_reason=d["unlink_reason"],
                )
                for d in docs
            ],
        )

    async def save(self, wf: WorkFile) -> None:
        await _upsert(
            self.session,
            orm.work_files,
            {
                "work_file_id": wf.work_file_id,
                "title": wf.Title,
                "creator": wf.Creator,
                "start_date": wf.StartDate,
                "created_at": wf.created_at,
                "file_code": wf.FileCode,
                "maintenance": wf.Maintenance,
                "description": wf.Description,
                "unit_id": wf.unit_id,
                "case_id": wf.case_id,
                "follow_up": wf.follow_up,
                "state": wf.state.value,
                "end_date": wf.EndDate,
                "summary": wf.summary,
            },
        )
        for d in wf.documents:
            await _upsert(
                self.session,
                orm.work_file_documents,
                {
                    "work_file_id": wf.work_file_id,
                    "ordinal": d.ordinal,
                    "document_id": d.document_id,
                    "kind": d.kind.value,
                    "linked_at": d.linked_at,
                    "linked_by": d.linked_by,
                    "document_identifier": d.DocumentId,
                    "subject": d.Subject,
                    "unlinked_at": d.unlinked_at,
                    "unlink_reason": d.unlink_reason,
                },
            )


# -- read models ------------------------------------------------------------------------------


async def upsert_if_newer(
    session: AsyncSession, table: Table, key: str, values: dict[str, Any]
) -> None:
    """Identity events carry whole snapshots with a revision: keep the newest only."""
    stmt = pg_insert(table).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[key],
            set_={k: stmt.excluded[k] for k in values if k != key},
            where=table.c.revision < stmt.excluded.revision,
        )
    )


async def user_row(session: AsyncSession, user_id: str) -> RowMapping | None:
    return (
        (await session.execute(select(orm.users).where(orm.users.c.user_id == user_id)))
        .mappings()
        .first()
    )


async def incoming_rows(session: AsyncSession, ids: Sequence[str]) -> dict[str, RowMapping]:
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(orm.incoming_documents).where(
                orm.incoming_documents.c.incoming_document_id.in_(list(ids))
            )
        )
    ).mappings()
    return {r["incoming_document_id"]: r for r in rows}


# -- audit log --------------------------------------------------------------------------------

_AUDIT_LOCK = 0x526F7574  # one chain per schema: writers take turns appending to it
GENESIS = "0" * 64
_AUDIT_HEAD = ChainHead(
    "routing",
    lock=text("select pg_advisory_xact_lock(:k)"),
    lock_params={"k": _AUDIT_LOCK},
    head=select(orm.audit_log.c.hash).order_by(orm.audit_log.c.seq.desc()).limit(1),
    genesis=GENESIS,
)


async def audit(
    session: AsyncSession,
    *,
    action: str,
    at: datetime,
    acted_by: str | None,
    on_behalf_of: str | None,
    details: dict[str, Any],
    case_id: str | None = None,
    work_file_id: str | None = None,
) -> None:
    """Append to the hash chain: each entry's hash covers the previous one's, so a removed or
    edited row breaks every hash after it."""
    prev = await _AUDIT_HEAD.get(session)
    canonical = json.dumps(
        [prev, at.isoformat(), acted_by, on_behalf_of, action, case_id, work_file_id, details],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    entry_hash = hashlib.sha256(canonical.encode()).hexdigest()
    await session.execute(
        orm.audit_log.insert().values(
            at=at,
            acted_by=acted_by,
            on_behalf_of=on_behalf_of,
            action=action,
            case_id=case_id,
            work_file_id=work_file_id,
            details=details,
            prev_hash=prev,
            hash=entry_hash,
        )
    )
    _AUDIT_HEAD.advance(session, entry_hash)


async def verify_audit_chain(session: AsyncSession) -> bool:
    prev = GENESIS
    rows = await session.execute(select(orm.audit_log).order_by(orm.audit_log.c.seq))
    for row in rows.mappings():
        canonical = json.dumps(
            [
                prev,
                row["at"].isoformat(),
                row["acted_by"],
                row["on_behalf_of"],
                row["action"],
                row["case_id"],
                row["work_file_id"],
                row["details"],
            ],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        if (
            row["prev_hash"] != prev
            or hashlib.sha256(canonical.encode()).hexdigest() != row["hash"]
        ):
            return False
        prev = row["hash"]
    return True


async def count(session: AsyncSession, table: Table) -> int:
    return int((await session.execute(select(func.count()).select_from(table))).scalar_one())
