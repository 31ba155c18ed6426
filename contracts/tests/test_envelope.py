"""The envelope: round trip, unknown fields, and the ContractError a consumer dead-letters."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

import pytest

from qlvb_contracts.edxml import EdXMLError
from qlvb_contracts.envelope import Actor, Envelope, parse_payload
from qlvb_contracts.errors import (
    ContractError,
    InvalidPayload,
    UnknownMessageType,
    UnsupportedSchemaVersion,
)
from qlvb_contracts.payloads.routing import CaseOpened, TaskAssigned, TaskRole
from qlvb_contracts.reference import Urgency
from qlvb_contracts.registry import REGISTRY, ROUTING_EVENTS


def _case() -> CaseOpened:
    return CaseOpened(
        case_id="case-1",
        incoming_document_id="doc-1",
        Subject="V/v hướng dẫn xây dựng dự toán ngân sách nhà nước năm 2025",
        Priority=Urgency.URGENT,
        DueDate=date(2024, 7, 31),
    )


def test_new_takes_type_version_and_key_from_the_payload() -> None:
    envelope = Envelope.new(payload=_case(), producer="routing", actor=Actor(user="lvhung"))

    assert envelope.type == "case.opened"
    assert envelope.schema_version == 1
    assert envelope.key == "case-1"
    assert envelope.correlation_id == str(envelope.message_id)
    assert envelope.causation_id is None
    assert envelope.occurred_at.tzinfo is UTC
    assert envelope.payload["Priority"] == 1


def test_round_trip_through_bytes() -> None:
    cause = Envelope.new(payload=_case(), producer="routing")
    task = TaskAssigned(case_id="case-1", task_id="t-1", assignee="tvminh", role=TaskRole.LEAD)
    envelope = Envelope.new(
        payload=task,
        producer="routing",
        actor=Actor(user="pthoa", on_behalf_of="nvthanh"),
        correlation_id=cause.correlation_id,
        causation_id=str(cause.message_id),
        occurred_at=datetime(2024, 7, 15, 16, 20, tzinfo=timezone(timedelta(hours=7))),
    )

    data = envelope.to_bytes()
    back = Envelope.from_bytes(data)

    assert back == envelope
    assert back.occurred_at == datetime(2024, 7, 15, 9, 20, tzinfo=UTC)
    assert back.actor == Actor(user="pthoa", on_behalf_of="nvthanh")
    assert parse_payload(REGISTRY, ROUTING_EVENTS, back) == task


def test_bytes_are_utf8_json_with_vietnamese_unescaped() -> None:
    data = Envelope.new(payload=_case(), producer="routing").to_bytes()
    assert "dự toán ngân sách".encode() in data
    assert json.loads(data.decode("utf-8"))["type"] == "case.opened"


def test_readers_ignore_unknown_fields_in_envelope_and_payload() -> None:
    raw = json.loads(Envelope.new(payload=_case(), producer="routing").to_bytes())
    raw["trace_id"] = "added-by-a-newer-producer"
    raw["actor"]["device"] = "tablet"
    raw["payload"]["lead_unit_id"] = "phong-kt"

    envelope = Envelope.from_bytes(json.dumps(raw).encode())
    payload = parse_payload(REGISTRY, ROUTING_EVENTS, envelope)

    assert payload == _case()


def test_explicit_type_must_match_the_payload() -> None:
    with pytest.raises(ContractError, match="does not match"):
        Envelope.new(payload=_case(), producer="routing", type="task.assigned")


def test_naive_occurred_at_is_refused() -> None:
    with pytest.raises(ContractError, match="occurred_at"):
        Envelope.new(payload=_case(), producer="routing", occurred_at=datetime(2024, 7, 15, 9, 0))


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1, 2]", b"{}", b"\xff\xfe garbage"],
    ids=["empty", "text", "array", "no fields", "not utf-8"],
)
def test_not_an_envelope_is_a_contract_error(data: bytes) -> None:
    with pytest.raises(ContractError, match="invalid envelope"):
        Envelope.from_bytes(data)


def _with(**changes: object) -> Envelope:
    raw = json.loads(Envelope.new(payload=_case(), producer="routing").to_bytes())
    raw.update(changes)
    return Envelope.model_validate(raw)


def test_unknown_type_is_a_contract_error() -> None:
    with pytest.raises(UnknownMessageType, match=r"case\.reopened"):
        parse_payload(REGISTRY, ROUTING_EVENTS, _with(type="case.reopened"))


def test_unknown_version_is_a_contract_error() -> None:
    with pytest.raises(UnsupportedSchemaVersion, match=r"schema_version 7 .*known: v1"):
        parse_payload(REGISTRY, ROUTING_EVENTS, _with(schema_version=7))


def test_invalid_payload_is_a_contract_error_naming_the_field() -> None:
    envelope = _with(payload={"case_id": "case-1", "Subject": "", "Priority": 9})
    with pytest.raises(InvalidPayload, match="payload/Subject") as info:
        parse_payload(REGISTRY, ROUTING_EVENTS, envelope)
    assert "payload/Priority" in str(info.value)


def test_unknown_topic_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="unknown topic"):
        parse_payload(REGISTRY, "routing.evnets", _with())


def test_contract_errors_are_value_errors_and_distinguishable() -> None:
    # The chassis dead-letters ContractError and retries everything else.
    for error in (UnknownMessageType, UnsupportedSchemaVersion, InvalidPayload, EdXMLError):
        assert issubclass(error, ContractError)
    assert issubclass(ContractError, ValueError)
    assert not issubclass(ConnectionError, ContractError)


def test_headers_name_the_format_and_type() -> None:
    envelope = Envelope.new(payload=_case(), producer="routing")
    headers = dict(envelope.headers())
    assert headers["content-type"] == b"application/json"
    assert headers["type"] == b"case.opened"
    assert headers["schema-version"] == b"1"
    assert isinstance(envelope.message_id, UUID)
