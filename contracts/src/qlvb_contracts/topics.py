"""The topic registry: one entry per topic, the single source of truth for names and shapes.

Topic names are logical and stable; the schema version of a payload travels in the envelope, so a
new version never needs a new topic. Every topic has a dead-letter twin ``<name>.dlq`` that the
chassis writes to (ARCHITECTURE §3.3). ``./qlvb up`` creates the topics listed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from qlvb_contracts.errors import ContractError, UnknownMessageType, UnsupportedSchemaVersion

DLQ_SUFFIX = ".dlq"


class Payload(BaseModel):
    """Base of every event payload: one class per (event type, schema version).

    Readers ignore fields they do not know, so a producer may add optional fields to a published
    version; anything else is a new version (checked by ``python -m qlvb_contracts.schemas``).
    """

    model_config = ConfigDict(extra="ignore")

    EVENT_TYPE: ClassVar[str]
    """The envelope ``type``, e.g. "incoming_document.registered"."""
    SCHEMA_VERSION: ClassVar[int]

    def aggregate_key(self) -> str:
        """The Kafka key: the id of the aggregate whose order this event belongs to."""
        raise NotImplementedError(f"{type(self).__name__} does not define its aggregate key")


def payload_versions(*models: type[Payload]) -> dict[str, dict[int, type[Payload]]]:
    """Build ``Topic.payloads`` from payload classes, refusing two classes for one version."""
    out: dict[str, dict[int, type[Payload]]] = {}
    for model in models:
        versions = out.setdefault(model.EVENT_TYPE, {})
        if model.SCHEMA_VERSION in versions:
            raise ValueError(f"two models for {model.EVENT_TYPE} v{model.SCHEMA_VERSION}")
        versions[model.SCHEMA_VERSION] = model
    return out


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: str
    """What the message key is: the aggregate id that orders messages on this topic."""
    partitions: int = 4
    payloads: Mapping[str, Mapping[int, type[Payload]]] = field(default_factory=dict)
    """Event type -> schema version -> payload model (messages wrapped in the JSON envelope)."""
    raw_types: Mapping[str, str] = field(default_factory=dict)
    """Message type -> content type, for messages sent as-is without the envelope (edXML)."""
    external: bool = False
    """Written or read by parties outside the system (other agencies)."""

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX

    def payload_model(self, event_type: str, version: int) -> type[Payload]:
        """The model for (type, version); raises a ContractError subclass when there is none."""
        versions = self.payloads.get(event_type)
        if versions is None:
            known = ", ".join(sorted(self.payloads)) or "none"
            raise UnknownMessageType(
                f"unknown message type {event_type!r} on topic {self.name} (known: {known})"
            )
        model = versions.get(version)
        if model is None:
            known = ", ".join(f"v{v}" for v in sorted(versions))
            raise UnsupportedSchemaVersion(
                f"unsupported schema_version {version} of {event_type!r} on topic {self.name} "
                f"(known: {known})"
            )
        return model

    def latest_version(self, event_type: str) -> int:
        if event_type not in self.payloads:
            raise UnknownMessageType(f"unknown message type {event_type!r} on topic {self.name}")
        return max(self.payloads[event_type])


class TopicRegistry:
    def __init__(self, topics: list[Topic]) -> None:
        names = [t.name for t in topics]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate topic names in the registry: {names}")
        self._topics = {t.name: t for t in topics}

    def __iter__(self) -> Iterator[Topic]:
        return iter(self._topics.values())

    def __getitem__(self, name: str) -> Topic:
        return self._topics[name]

    def __contains__(self, name: object) -> bool:
        return name in self._topics

    def topic(self, name: str) -> Topic:
        """Like ``registry[name]`` but an unknown topic is a ContractError, not a KeyError."""
        try:
            return self._topics[name]
        except KeyError:
            raise ContractError(f"unknown topic {name!r}") from None

    def payload_model(self, topic: str, event_type: str, version: int) -> type[Payload]:
        return self.topic(topic).payload_model(event_type, version)

    def topic_of(self, model: type[Payload]) -> Topic:
        """The topic a payload model is published on (each model belongs to exactly one)."""
        for t in self._topics.values():
            if t.payloads.get(model.EVENT_TYPE, {}).get(model.SCHEMA_VERSION) is model:
                return t
        raise ContractError(f"{model.__name__} is not registered on any topic")

    def all_topic_names(self) -> list[tuple[str, int]]:
        """Every topic and its DLQ with their partition counts, for provisioning."""
        out: list[tuple[str, int]] = []
        for t in self._topics.values():
            out.append((t.name, t.partitions))
            out.append((t.dlq, 1))
        return out
