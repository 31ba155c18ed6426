"""The envelope every JSON message travels in, and how a reader turns it into a typed payload.

The envelope is the same for every topic; ``type`` and ``schema_version`` say which payload model
the ``payload`` dict follows (looked up in the topic registry). Readers ignore unknown fields at
both levels, so producers can add optional fields without a coordinated deploy.

A reader does::

    envelope = Envelope.from_bytes(value)              # ContractError if not an envelope
    payload = parse_payload(REGISTRY, topic, envelope)  # ContractError if unknown/invalid

and sends any ContractError to the dead-letter topic; other exceptions are retried.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from qlvb_contracts.errors import ContractError, InvalidPayload, summarize
from qlvb_contracts.topics import Payload, TopicRegistry

CONTENT_TYPE_HEADER = "content-type"
"""Kafka header naming the format of the message value."""
ENVELOPE_CONTENT_TYPE = "application/json"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalized to UTC (naive datetimes are refused)."""


class Actor(BaseModel):
    """Who caused the event; both None for the system itself (a timer, a relay)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: str | None = None
    """The user who acted (acted_by)."""
    on_behalf_of: str | None = None
    """The principal of a delegation: the leader a secretary or HC-TC acts for (ủy quyền)."""


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: UUID
    """Unique per message; consumers record it in their inbox table to drop redeliveries."""
    type: str = Field(min_length=1)
    """Event type, e.g. "incoming_document.registered"."""
    schema_version: int = Field(ge=1)
    occurred_at: UtcDatetime
    """When the act happened (for backfilled acts, the true time of the act, not of entry)."""
    producer: str = Field(min_length=1)
    """The service (or agency OrganId on exchange.inbound) that wrote the message."""
    correlation_id: str = Field(min_length=1)
    """Shared by every message of one business flow; the first message uses its own id."""
    causation_id: str | None = None
    """message_id of the message that caused this one, if any."""
    actor: Actor = Field(default_factory=Actor)
    key: str = Field(min_length=1)
    """The Kafka key: the aggregate id (document, case, register, OrganId)."""
    payload: dict[str, Any]

    @classmethod
    def new(
        cls,
        *,
        payload: Payload,
        producer: str,
        type: str | None = None,  # named like the wire field; shadows the builtin here only
        key: str | None = None,
        actor: Actor | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Wrap a payload. Type and schema version come from the payload class, the key from
        ``payload.aggregate_key()`` unless given; correlation_id defaults to the new message id.
        """
        event_type = payload.EVENT_TYPE
        if type is not None and type != event_type:
            raise ContractError(f"type {type!r} does not match the payload's {event_type!r}")
        message_id = uuid.uuid4()
        try:
            return cls(
                message_id=message_id,
                type=event_type,
                schema_version=payload.SCHEMA_VERSION,
                occurred_at=occurred_at if occurred_at is not None else datetime.now(UTC),
                producer=producer,
                correlation_id=correlation_id if correlation_id is not None else str(message_id),
                causation_id=causation_id,
                actor=actor if actor is not None else Actor(),
                key=key if key is not None else payload.aggregate_key(),
                payload=payload.model_dump(mode="json"),
            )
        except ValidationError as exc:
            raise ContractError(f"invalid envelope: {summarize(exc)}") from None

    def to_bytes(self) -> bytes:
        """UTF-8 JSON, Vietnamese text unescaped."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | str) -> Envelope:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise ContractError(f"invalid envelope: {summarize(exc)}") from None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers that let tools route or inspect a message without decoding it."""
        return [
            (CONTENT_TYPE_HEADER, ENVELOPE_CONTENT_TYPE.encode()),
            ("type", self.type.encode()),
            ("schema-version", str(self.schema_version).encode()),
        ]


def parse_payload(registry: TopicRegistry, topic: str, envelope: Envelope) -> Payload:
    """Validate ``envelope.payload`` with the model registered for (topic, type, schema_version).

    Raises UnknownMessageType, UnsupportedSchemaVersion or InvalidPayload (all ContractError).
    """
    model = registry.payload_model(topic, envelope.type, envelope.schema_version)
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise InvalidPayload(
            f"invalid payload of {envelope.type} v{envelope.schema_version} on {topic} "
            f"(message {envelope.message_id}): {summarize(exc, prefix='payload')}"
        ) from None
