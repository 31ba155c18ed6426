"""Committed JSON Schemas match the code, and no published version changed incompatibly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from qlvb_contracts.reference import Urgency
from qlvb_contracts.registry import REGISTRY
from qlvb_contracts.schemas import (
    check,
    compatibility_problems,
    current_schemas,
    default_schema_dir,
    export,
    main,
    render,
)
from qlvb_contracts.topics import Payload, Topic, TopicRegistry, payload_versions

SCHEMAS = default_schema_dir()


def test_committed_schemas_match_the_code() -> None:
    problems = check(SCHEMAS)
    assert problems == [], "run: python -m qlvb_contracts.schemas export\n" + "\n".join(problems)


@pytest.mark.parametrize("name", sorted(current_schemas()))
def test_published_versions_stay_backward_compatible(name: str) -> None:
    committed = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert compatibility_problems(committed, current_schemas()[name]) == []


# --- the compatibility rule on small models ------------------------------------------------------


class Signer(BaseModel):
    FullName: str
    Position: str | None = None


class V1(BaseModel):
    case_id: str
    Subject: str
    Priority: Urgency = Urgency.NORMAL
    SignerInfo: Signer
    handlers: list[str] = Field(default_factory=list)


def _problems(new: type[BaseModel]) -> list[str]:
    return compatibility_problems(V1.model_json_schema(), new.model_json_schema())


def test_identical_and_new_optional_fields_are_compatible() -> None:
    class NewOptional(V1):
        note: str | None = None
        lead_unit_id: str = "phong-kt"

    assert _problems(V1) == []
    assert _problems(NewOptional) == []


def test_removed_field_breaks() -> None:
    class Removed(BaseModel):
        case_id: str
        Priority: Urgency = Urgency.NORMAL
        SignerInfo: Signer
        handlers: list[str] = Field(default_factory=list)

    assert _problems(Removed) == ["/Subject: field removed"]


def test_new_required_field_breaks() -> None:
    class NewRequired(V1):
        register_id: str

    assert _problems(NewRequired) == ["/register_id: field is now required"]


def test_optional_becoming_required_breaks() -> None:
    class NowRequired(BaseModel):
        case_id: str
        Subject: str
        Priority: Urgency
        SignerInfo: Signer
        handlers: list[str] = Field(default_factory=list)

    assert _problems(NowRequired) == ["/Priority: field is now required"]


def test_changed_types_break() -> None:
    class ChangedScalar(BaseModel):
        case_id: int
        Subject: str
        Priority: Urgency = Urgency.NORMAL
        SignerInfo: Signer
        handlers: list[str] = Field(default_factory=list)

    class ChangedItems(BaseModel):
        case_id: str
        Subject: str
        Priority: Urgency = Urgency.NORMAL
        SignerInfo: Signer
        handlers: list[int] = Field(default_factory=list)

    class NowNullable(BaseModel):
        case_id: str
        Subject: str | None
        Priority: Urgency = Urgency.NORMAL
        SignerInfo: Signer
        handlers: list[str] = Field(default_factory=list)

    assert [p.split(" (")[0] for p in _problems(ChangedScalar)] == ["/case_id: type changed"]
    assert [p.split(" (")[0] for p in _problems(ChangedItems)] == ["/handlers/items: type changed"]
    assert [p.split(" (")[0] for p in _problems(NowNullable)] == ["/Subject: type changed"]


def test_nested_changes_and_enum_changes_break() -> None:
    class OtherSigner(BaseModel):
        FullName: str

    class Nested(BaseModel):
        case_id: str
        Subject: str
        Priority: Urgency = Urgency.NORMAL
        SignerInfo: OtherSigner
        handlers: list[str] = Field(default_factory=list)

    class Level(BaseModel):
        case_id: str
        Subject: str
        Priority: int = 0
        SignerInfo: Signer
        handlers: list[str] = Field(default_factory=list)

    assert _problems(Nested) == ["/SignerInfo/Position: field removed"]
    assert [p.split(" (")[0] for p in _problems(Level)] == ["/Priority: type changed"]


# --- export and check on a scratch directory -----------------------------------------------------


class ThingV1(Payload):
    EVENT_TYPE = "thing.happened"
    SCHEMA_VERSION = 1
    thing_id: str

    def aggregate_key(self) -> str:
        return self.thing_id


class ThingV1Breaking(Payload):
    EVENT_TYPE = "thing.happened"
    SCHEMA_VERSION = 1
    thing_id: str
    required_now: int


def _registry(*models: type[Payload]) -> TopicRegistry:
    return TopicRegistry(
        [
            Topic(
                name="things",
                description="test",
                producers=("a",),
                consumers=("b",),
                key="thing id",
                payloads=payload_versions(*models),
            )
        ]
    )


def test_export_then_check(tmp_path: Path) -> None:
    registry = _registry(ThingV1)
    assert len(check(tmp_path, registry)) == 2  # envelope and the payload are missing
    written = export(tmp_path, registry)
    assert written == ["envelope.json", "things/thing.happened.v1.json"]
    assert check(tmp_path, registry) == []
    assert export(tmp_path, registry) == []  # nothing changed


def test_export_refuses_to_break_a_published_version(tmp_path: Path) -> None:
    export(tmp_path, _registry(ThingV1))
    with pytest.raises(SystemExit, match="required_now: field is now required"):
        export(tmp_path, _registry(ThingV1Breaking))
    assert check(tmp_path, _registry(ThingV1)) == []  # nothing was written
    problems = check(tmp_path, _registry(ThingV1Breaking))
    assert problems == [
        "things/thing.happened.v1.json: differs from the code "
        "(/required_now: field is now required)"
    ]
    assert export(tmp_path, _registry(ThingV1Breaking), allow_breaking=True) == [
        "things/thing.happened.v1.json"
    ]


def test_check_reports_a_removed_version(tmp_path: Path) -> None:
    export(tmp_path, _registry(ThingV1))
    (tmp_path / "things" / "thing.happened.v0.json").write_text(render({"type": "object"}))
    assert check(tmp_path, _registry(ThingV1)) == [
        "things/thing.happened.v0.json: committed but no model has it "
        "(a published version was removed)"
    ]


def test_cli_check_fails_on_an_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--dir", str(tmp_path)]) == 1
    assert "not committed" in capsys.readouterr().err
    assert main(["export", "--dir", str(tmp_path)]) == 0
    assert main(["check", "--dir", str(tmp_path)]) == 0
    exported: dict[str, Any] = json.loads((tmp_path / "envelope.json").read_text())
    assert exported["title"] == "Envelope"
    assert len(list(tmp_path.rglob("*.json"))) == len(current_schemas(REGISTRY))
