"""The typed views in `records.shapes` say what `schemas/` says: a field added, renamed, made required or
given another type in a schema fails here until its TypedDict follows."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Required, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from records import shapes

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
JSON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def _resolve(schema: dict[str, Any], file: str) -> tuple[dict[str, Any], str]:
    """Follow `$ref` (into this file's or common.schema.json's `$defs`); local keywords win."""
    while "$ref" in schema:
        target_file, _, pointer = schema["$ref"].partition("#")
        target_file = target_file or file
        target: Any = _load(target_file)
        for part in pointer.strip("/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        file = target_file
    return schema, file


def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return list(get_args(annotation))
    return [annotation]


def _check_value(annotation: Any, schema: dict[str, Any], file: str, where: str) -> None:
    schema, file = _resolve(schema, file)
    if get_origin(annotation) is Required:
        (annotation,) = get_args(annotation)
    if "const" in schema:
        assert get_origin(annotation) is Literal and get_args(annotation) == (schema["const"],), where
        return
    if "enum" in schema:
        assert get_origin(annotation) is Literal, f"{where}: an enum is a Literal"
        assert set(get_args(annotation)) == set(schema["enum"]), where
        return
    wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    members = _members(annotation)
    assert len(members) == len(wanted), f"{where}: {annotation} for types {wanted}"
    for json_type, member in zip(sorted(wanted), sorted(members, key=_json_type_of), strict=True):
        assert _json_type_of(member) == json_type, f"{where}: {member} is no {json_type}"
        if json_type == "array" and "items" in schema:
            (item,) = get_args(member)
            _check_value(item, schema["items"], file, f"{where}[]")
        if json_type == "object" and "properties" in schema:
            assert is_typeddict(member), f"{where}: an object with properties has a TypedDict"
            _check_object(member, schema, file, where)


def _json_type_of(annotation: Any) -> str:
    if is_typeddict(annotation) or get_origin(annotation) is dict or annotation is dict:
        return "object"
    if get_origin(annotation) is list:
        return "array"
    if get_origin(annotation) is Literal:
        return "string"
    names = {python: name for name, python in JSON_TYPES.items()}
    return names[annotation]


def _check_object(typed: Any, schema: dict[str, Any], file: str, where: str) -> None:
    hints = get_type_hints(typed, include_extras=True)
    properties: dict[str, Any] = schema["properties"]
    missing, extra = sorted(set(properties) - set(hints)), sorted(set(hints) - set(properties))
    assert not missing and not extra, f"{where}: missing {missing}, extra {extra}"
    assert set(typed.__required_keys__) == set(schema.get("required", [])), f"{where}: required fields"
    for key, prop in properties.items():
        _check_value(hints[key], prop, file, f"{where}.{key}")


@pytest.mark.parametrize("record_type", sorted(shapes.SHAPES))
def test_typed_record_matches_its_schema(record_type: str) -> None:
    file = f"{record_type}.schema.json"
    schema = _load(file)
    assert schema["additionalProperties"] is False  # so "no extra keys" holds in the record as well
    _check_object(shapes.SHAPES[record_type], schema, file, record_type)


def test_every_record_schema_has_a_typed_view() -> None:
    schemas = {path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.schema.json")}
    assert schemas - {"common"} == set(shapes.SHAPES)
    assert set(typing.get_args(shapes.Record)) == set(shapes.SHAPES.values())


def test_drift_is_caught() -> None:
    """The checker itself: a TypedDict with a wrong type or a missing field fails."""
    schema = _load("seal.schema.json")
    wrong = typing.TypedDict("wrong", {**get_type_hints(shapes.Seal, include_extras=True), "number": int})
    with pytest.raises(AssertionError, match="number"):
        _check_object(wrong, schema, "seal.schema.json", "seal")
    hints = get_type_hints(shapes.Seal, include_extras=True)
    hints.pop("bound_at")
    with pytest.raises(AssertionError, match="bound_at"):
        _check_object(typing.TypedDict("short", hints), schema, "seal.schema.json", "seal")  # type: ignore[operator]
