"""The topic registry: one entry per topic, the single source of truth for names and shapes.

Topic names are logical and stable; the schema version of a payload travels in the envelope, so a
new version never needs a new topic. Every topic has a dead-letter twin ``<name>.dlq`` that the
chassis writes to (ARCHITECTURE §3.3). ``./qlvb up`` creates the topics listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: str
    """What the message key is: the aggregate id that orders messages on this topic."""
    partitions: int = 4
    payloads: Mapping[str, Mapping[int, type[BaseModel]]] = field(default_factory=dict)
    """Event type -> schema version -> payload model."""
    external: bool = False
    """Written or read by parties outside the system (other agencies)."""

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


class TopicRegistry:
    def __init__(self, topics: list[Topic]) -> None:
        names = [t.name for t in topics]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate topic names in the registry: {names}")
        self._topics = {t.name: t for t in topics}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._topics.values())

    def __getitem__(self, name: str) -> Topic:
        return self._topics[name]

    def __contains__(self, name: object) -> bool:
        return name in self._topics

    def all_topic_names(self) -> list[tuple[str, int]]:
        """Every topic and its DLQ with their partition counts, for provisioning."""
        out: list[tuple[str, int]] = []
        for t in self._topics.values():
            out.append((t.name, t.partitions))
            out.append((t.dlq, 1))
        return out
