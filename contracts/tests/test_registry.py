"""The registry is complete, and every example is a valid message of its (topic, type, version)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qlvb_contracts.edxml import parse_edxml
from qlvb_contracts.envelope import Envelope, parse_payload
from qlvb_contracts.registry import REGISTRY
from qlvb_contracts.schemas import default_schema_dir, schema_file
from qlvb_contracts.topics import Payload, payload_versions

CONTRACTS = Path(__file__).resolve().parents[1]
EXAMPLES = CONTRACTS / "examples"

PUBLISHED = [
    (topic.name, event_type, version, model)
    for topic in REGISTRY
    for event_type, versions in topic.payloads.items()
    for version, model in versions.items()
]
PUBLISHED_IDS = [f"{t}/{e}.v{v}" for t, e, v, _ in PUBLISHED]
EXAMPLE_FILES = sorted(EXAMPLES.glob("*/*.json"))


def test_schema_dir_is_found_from_the_source_tree() -> None:
    assert default_schema_dir() == CONTRACTS / "schemas"


@pytest.mark.parametrize("topic", list(REGISTRY), ids=lambda t: t.name)
def test_every_topic_is_fully_described(topic: Any) -> None:
    assert topic.description
    assert topic.producers
    assert topic.consumers
    assert topic.key
    assert topic.partitions >= 1
    assert topic.dlq == f"{topic.name}.dlq"
    assert (topic.dlq, 1) in REGISTRY.all_topic_names()
    assert topic.payloads or topic.raw_types, "a topic must carry at least one message type"


@pytest.mark.parametrize(("topic", "event_type", "version", "model"), PUBLISHED, ids=PUBLISHED_IDS)
def test_every_payload_has_an_example_and_a_schema(
    topic: str, event_type: str, version: int, model: type[Payload]
) -> None:
    assert (event_type, version) == (model.EVENT_TYPE, model.SCHEMA_VERSION)
    assert model.model_config.get("extra") == "ignore", "readers must tolerate unknown fields"
    assert (EXAMPLES / topic / f"{event_type}.v{version}.json").is_file()
    assert (CONTRACTS / "schemas" / schema_file(topic, event_type, version)).is_file()
    assert REGISTRY.topic_of(model).name == topic


def test_raw_types_have_a_parseable_example() -> None:
    raw = [(t.name, name) for t in REGISTRY for name in t.raw_types]
    assert raw == [("exchange.inbound", "edxml")]
    for topic, name in raw:
        document = parse_edxml((EXAMPLES / topic / f"{name}.xml").read_bytes())
        assert document.header.From.OrganName == "Sở Tài chính"


def test_payload_versions_refuses_two_models_for_one_version() -> None:
    class First(Payload):
        EVENT_TYPE = "thing.happened"
        SCHEMA_VERSION = 1

    class Second(Payload):
        EVENT_TYPE = "thing.happened"
        SCHEMA_VERSION = 1

    with pytest.raises(ValueError, match=r"thing.happened v1"):
        payload_versions(First, Second)


def _unknown_keys(example: Any, dumped: Any, path: str = "") -> Iterator[str]:
    # Readers ignore unknown fields, so a misspelt example key would pass silently; catch it here.
    if isinstance(example, dict) and isinstance(dumped, dict):
        for key, value in example.items():
            if key not in dumped:
                yield f"{path}/{key}"
            else:
                yield from _unknown_keys(value, dumped[key], f"{path}/{key}")
    elif isinstance(example, list) and isinstance(dumped, list):
        for index, (value, other) in enumerate(zip(example, dumped, strict=False)):
            yield from _unknown_keys(value, other, f"{path}[{index}]")


def test_there_is_an_example_for_every_published_payload_and_no_other() -> None:
    expected = {f"{t}/{e}.v{v}.json" for t, e, v, _ in PUBLISHED}
    actual = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLE_FILES}
    assert actual == expected


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_example_is_a_valid_message(path: Path) -> None:
    topic = path.parent.name
    raw = json.loads(path.read_text(encoding="utf-8"))
    envelope = Envelope.from_bytes(path.read_bytes())

    assert path.name == f"{envelope.type}.v{envelope.schema_version}.json"
    payload = parse_payload(REGISTRY, topic, envelope)
    assert envelope.key == payload.aggregate_key()
    assert envelope.producer in REGISTRY[topic].producers or REGISTRY[topic].external

    assert list(_unknown_keys(raw, envelope.model_dump(mode="json"))) == []
    assert list(_unknown_keys(raw["payload"], payload.model_dump(mode="json"))) == []
    # What a producer would write for this payload reads back the same.
    assert type(payload).model_validate_json(payload.model_dump_json()) == payload
