"""The read-model consumers: one inbox consumer per event topic, all applying projections."""

from __future__ import annotations

from qlvb_chassis.service import ServiceRuntime
from qlvb_contracts.registry import (
    IDENTITY_EVENTS,
    INTAKE_DOCUMENTS,
    ISSUANCE_DOCUMENTS,
    ROUTING_EVENTS,
)
from qlvb_reporting.service_layer.projections import project

CONSUMED_TOPICS = (IDENTITY_EVENTS, INTAKE_DOCUMENTS, ROUTING_EVENTS, ISSUANCE_DOCUMENTS)


def group_id(base: str, topic: str) -> str:
    """A group per topic, so a slow topic never holds another back in a rebalance."""
    return f"{base}.{topic}"


def register_consumers(runtime: ServiceRuntime, base_group: str) -> None:
    for topic in CONSUMED_TOPICS:
        runtime.consume(topic, handler=project, group_id=group_id(base_group, topic))
