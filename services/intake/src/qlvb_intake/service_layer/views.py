"""JSON views of intake's records, in DOMAIN.md's field names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row

from qlvb_contracts import reference as ref


def iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def code_of(row: Any) -> str | None:
    if row.code_number and row.code_notation:
        return f"{row.code_number}/{row.code_notation}"
    return row.code_number or None


def attachment_view(row: Row[Any] | Mapping[str, Any]) -> dict[str, Any]:
    r = row._mapping if isinstance(row, Row) else row
    return {
        "id": r["id"],
        "AttachmentName": r["name"],
        "Description": r["description"],
        "content_type": r["content_type"],
        "size": r["size"],
        "sha256": r["sha256"],
        "origin": r["origin"],
        "superseded": r["superseded"],
    }


def amendment_view(row: Row[Any]) -> dict[str, Any]:
    kind = ref.BusinessDocType(row.kind)
    return {
        "id": row.id,
        "BussinessDocType": int(kind),
        "label": kind.label,
        "reason": row.reason,
        "received_at": iso(row.received_at),
        "applied": row.applied,
        "package": row.package,
    }


def document_view(
    row: Row[Any], attachments: Iterable[Row[Any]] = (), amendments: Iterable[Row[Any]] = ()
) -> dict[str, Any]:
    amendment_list = [amendment_view(a) for a in amendments]
    return {
        "id": row.id,
        "channel": row.channel,
        "status": row.status,
        "register_id": row.register_id,
        "year": row.year,
        "ArrivalNumber": row.arrival_number,
        "ArrivalDate": iso(row.received_at),
        "received_by": row.received_by,
        "backfilled": row.backfilled,
        "registered_at": iso(row.registered_at),
        "registered_by": row.registered_by,
        "registered_on_behalf_of": row.registered_on_behalf_of,
        "first_handlers": row.first_handlers,
        "sla_deadline": iso(row.sla_deadline),
        "sla_met": row.sla_met,
        "notes": row.notes,
        "DocumentId": row.document_id,
        "OrganId": row.organ_id,
        "OrganName": row.organ_name,
        "CodeNumber": row.code_number,
        "CodeNotation": row.code_notation,
        "Code": code_of(row),
        "TypeName": row.type_name,
        "Subject": row.subject,
        "PromulgationDate": iso(row.promulgation_date),
        "PromulgationPlace": row.promulgation_place,
        "SignerInfo": row.signer,
        "Priority": row.priority,
        "DueDate": iso(row.due_date),
        "PageAmount": row.page_amount,
        "ToPlaces": row.to_places,
        "ResponseFor": row.response_for,
        "source_format": row.source_format,
        "attachments": [attachment_view(a) for a in attachments],
        "amendments": amendment_list,
        "pending_amendments": sum(1 for a in amendment_list if not a["applied"]),
        "return": None
        if row.returned_at is None
        else {
            "reason": row.return_reason,
            "returned_at": iso(row.returned_at),
            "returned_by": row.returned_by,
            "returned_on_behalf_of": row.returned_on_behalf_of,
            "return_slip": row.return_slip_key is not None,
        },
    }


def register_view(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "year": row.year,
        "name": row.name,
        "description": row.description,
        "active": row.active,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
    }
