"""JSON Schemas of the envelope and every published payload, committed under ``contracts/schemas``.

    python -m qlvb_contracts.schemas export   # write the files from the code
    python -m qlvb_contracts.schemas check    # exit 1 if the files differ from the code

The committed file of a version is its published contract. ``export`` refuses to overwrite it with
a backward-incompatible schema (a removed field, a newly required field, a changed type or enum):
such a change needs a new schema version instead. New optional fields are compatible.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qlvb_contracts.envelope import Envelope
from qlvb_contracts.registry import REGISTRY
from qlvb_contracts.topics import TopicRegistry

ENVELOPE_SCHEMA = "envelope.json"

Schema = Mapping[str, Any]


def default_schema_dir() -> Path:
    """``contracts/schemas`` of the source tree this module runs from."""
    return Path(__file__).resolve().parents[2] / "schemas"


def schema_file(topic: str, event_type: str, version: int) -> str:
    """Path of a payload schema relative to the schema directory."""
    return f"{topic}/{event_type}.v{version}.json"


def current_schemas(registry: TopicRegistry = REGISTRY) -> dict[str, dict[str, Any]]:
    """Relative path -> JSON Schema, generated from the code."""
    out = {ENVELOPE_SCHEMA: Envelope.model_json_schema()}
    for topic in registry:
        for event_type, versions in topic.payloads.items():
            for version, model in versions.items():
                out[schema_file(topic.name, event_type, version)] = model.model_json_schema()
    return out


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# --- compatibility -------------------------------------------------------------------------------


def compatibility_problems(old: Schema, new: Schema) -> list[str]:
    """Why a reader or writer of ``old`` would break on ``new``; empty if compatible."""
    return _compare(old, new, old, new, "")


def _resolve(node: Schema, root: Schema) -> Schema:
    seen: set[str] = set()
    while "$ref" in node:
        ref = str(node["$ref"])
        if ref in seen or not ref.startswith("#/$defs/"):
            break
        seen.add(ref)
        node = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return node


def _variants(node: Schema) -> Sequence[Schema] | None:
    variants = node.get("anyOf", node.get("oneOf"))
    return None if variants is None else list(variants)


def _shape(node: Schema) -> str:
    """What a value must look like, ignoring documentation and range constraints."""
    keys = ("type", "format", "enum", "const", "pattern", "contentEncoding")
    return json.dumps({k: node[k] for k in keys if k in node}, ensure_ascii=False, sort_keys=True)


def _compare(old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    where = path or "/"
    old_variants, new_variants = _variants(old), _variants(new)
    if old_variants is not None or new_variants is not None:
        olds, news = old_variants or [old], new_variants or [new]
        if len(olds) != len(news):
            return [f"{where}: type changed (alternatives {len(olds)} -> {len(news)})"]
        return [
            problem
            for o, n in zip(olds, news, strict=True)
            for problem in _compare(o, n, old_root, new_root, path)
        ]
    if _shape(old) != _shape(new):
        return [f"{where}: type changed ({_shape(old)} -> {_shape(new)})"]

    problems: list[str] = []
    old_props: Mapping[str, Schema] = old.get("properties", {})
    new_props: Mapping[str, Schema] = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}/{name}: field removed")
        else:
            problems += _compare(old_prop, new_props[name], old_root, new_root, f"{path}/{name}")
    for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
        problems.append(f"{path}/{name}: field is now required")
    for key in ("items", "additionalProperties"):
        if isinstance(old.get(key), Mapping) and isinstance(new.get(key), Mapping):
            problems += _compare(old[key], new[key], old_root, new_root, f"{path}/{key}")
    return problems


# --- export and check ----------------------------------------------------------------------------


def _committed(directory: Path) -> dict[str, str]:
    if not directory.is_dir():
        return {}
    return {
        p.relative_to(directory).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*.json"))
    }


def check(directory: Path, registry: TopicRegistry = REGISTRY) -> list[str]:
    """Differences between the committed files and the code; empty when in sync."""
    committed = _committed(directory)
    problems = []
    for name, schema in current_schemas(registry).items():
        if name not in committed:
            problems.append(f"{name}: not committed (run export)")
            continue
        if committed[name] != render(schema):
            breaking = compatibility_problems(json.loads(committed[name]), schema)
            detail = "; ".join(breaking) if breaking else "compatible change, run export"
            problems.append(f"{name}: differs from the code ({detail})")
    for name in sorted(set(committed) - set(current_schemas(registry))):
        problems.append(f"{name}: committed but no model has it (a published version was removed)")
    return problems


def export(
    directory: Path, registry: TopicRegistry = REGISTRY, *, allow_breaking: bool = False
) -> list[str]:
    """Write the schemas; returns the files written. Writes nothing if a change is breaking."""
    committed = _committed(directory)
    schemas = current_schemas(registry)
    if not allow_breaking:
        breaking = [
            f"{name}{problem}"
            for name, schema in schemas.items()
            if name in committed
            for problem in compatibility_problems(json.loads(committed[name]), schema)
        ]
        if breaking:
            raise SystemExit(
                "refusing to overwrite published schemas with breaking changes "
                "(add a new schema version instead, or pass --allow-breaking):\n  "
                + "\n  ".join(breaking)
            )
    written = []
    for name, schema in schemas.items():
        text = render(schema)
        if committed.get(name) != text:
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qlvb_contracts.schemas", description=__doc__)
    parser.add_argument("command", choices=("export", "check"))
    parser.add_argument("--dir", type=Path, default=None, help="default: contracts/schemas")
    parser.add_argument(
        "--allow-breaking", action="store_true", help="export even if a published schema breaks"
    )
    args = parser.parse_args(argv)
    directory: Path = args.dir or default_schema_dir()
    if args.command == "export":
        written = export(directory, allow_breaking=args.allow_breaking)
        print(f"{len(written)} schema file(s) written to {directory}")
        for name in written:
            print(f"  {name}")
        return 0
    problems = check(directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} problem(s); schemas in {directory} are out of date", file=sys.stderr
        )
        return 1
    print(f"schemas in {directory} match the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
