"""Inbox consumers: routing.events (the issue queue) and identity.events (read models)."""

from __future__ import annotations

from qlvb_chassis.consumer import Decoder, Delivery, Record, envelope_decoder
from qlvb_chassis.db import UnitOfWork
from qlvb_contracts.payloads.routing import DocumentFinalizedForIssuance
from qlvb_contracts.topics import TopicRegistry
from qlvb_issuance.service_layer import handlers

FINALIZED = DocumentFinalizedForIssuance.EVENT_TYPE


def routing_decoder(registry: TopicRegistry, topic_prefix: str) -> Decoder:
    """Only ``document.finalized_for_issuance`` concerns issuance: other routing events are
    recognised by their ``type`` header and skipped without parsing their payload."""
    full = envelope_decoder(registry, topic_prefix)

    def decode(record: Record) -> Delivery:
        event_type = dict(record.headers or ()).get("type")
        if event_type is not None and event_type != FINALIZED.encode():
            return Delivery(
                message_id=f"skipped:{record.topic}:{record.partition}:{record.offset}",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=None,
                payload=None,
            )
        return full(record)

    return decode


async def on_routing_event(delivery: Delivery, uow: UnitOfWork) -> None:
    if isinstance(delivery.payload, DocumentFinalizedForIssuance):
        await handlers.on_finalized(delivery.payload, uow)


async def on_identity_event(delivery: Delivery, uow: UnitOfWork) -> None:
    await handlers.on_identity(delivery.payload, uow)
