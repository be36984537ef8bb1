"""The record contract: every example under schemas/examples behaves as its file name says."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from records.nik import NIK_PATTERN
from records.schemas import (
    RECORD_TYPES,
    RecordError,
    schema_files,
    schema_for,
    validate_record,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
VALID = sorted(EXAMPLES.glob("*/valid-*.json"))
INVALID = sorted(EXAMPLES.glob("*/invalid-*.json"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _example_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _walk(schema: object, trail: str = "#") -> list[tuple[str, dict[str, object]]]:
    """Every subschema under a `properties` keyword, with where it is, to check their descriptions.

    `if` conditions are skipped: they test a property the record already describes, they do not define one.
    """
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict):
                found.append((f"{trail}/properties/{name}", sub))
        for key, sub in schema.items():
            if key != "if":
                found.extend(_walk(sub, f"{trail}/{key}"))
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            found.extend(_walk(sub, f"{trail}/{index}"))
    return found


def test_every_record_type_has_a_schema_file() -> None:
    names = set(schema_files())
    assert names == {f"{kind}.schema.json" for kind in RECORD_TYPES} | {"common.schema.json"}
    assert all(path.is_file() for path in schema_files().values())


@pytest.mark.parametrize("name", sorted(schema_files()))
def test_schema_files_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads(schema_files()[name].read_text(encoding="utf-8"))
    jsonschema_rs.meta.validate(schema)
    assert schema["$id"] == f"https://segel.example/schemas/{name}"


@pytest.mark.parametrize("name", sorted(schema_files()))
def test_every_property_is_described(name: str) -> None:
    schema = json.loads(schema_files()[name].read_text(encoding="utf-8"))
    undescribed = [where for where, sub in _walk(schema) if not sub.get("description")]
    assert undescribed == []


def test_common_nik_pattern_is_the_python_one() -> None:
    common = json.loads(schema_files()["common.schema.json"].read_text(encoding="utf-8"))
    assert common["$defs"]["nik"]["pattern"] == NIK_PATTERN


def test_schema_for_returns_a_copy() -> None:
    schema_for("handoff")["title"] = "changed"
    assert schema_for("handoff")["title"] == "Handoff"


def test_schema_for_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown record type"):
        schema_for("stop")


def test_there_are_enough_examples_per_type() -> None:
    for kind in RECORD_TYPES:
        assert len(list((EXAMPLES / kind).glob("valid-*.json"))) >= 3, kind
        assert len(list((EXAMPLES / kind).glob("invalid-*.json"))) >= 4, kind


@pytest.mark.parametrize("path", VALID, ids=_example_id)
def test_valid_example_passes(path: Path) -> None:
    record = _load(path)
    assert record["type"] == path.parent.name
    assert validate_record(record) == []


@pytest.mark.parametrize("path", INVALID, ids=_example_id)
def test_invalid_example_fails_on_the_expected_field(path: Path) -> None:
    example = _load(path)
    assert set(example) == {"why", "expect_field", "record"}
    errors = validate_record(example["record"])
    assert example["expect_field"] in [error.field for error in errors], errors
    assert all(error.message.startswith(f"{error.field}:") for error in errors)


def test_missing_type_is_reported_on_type() -> None:
    assert [error.field for error in validate_record({"office": "6471"})] == ["type"]


def test_unknown_type_is_reported_on_type() -> None:
    errors = validate_record({"type": "stop"})
    assert errors == [RecordError("type", errors[0].message)]
    assert '"stop"' in errors[0].message


def test_message_names_the_field_and_the_value() -> None:
    record = _load(EXAMPLES / "document" / "valid-ektp-assigned-to-courier.json")
    record["resident"]["nik"] = "123"
    [error] = validate_record(record)
    assert error.field == "resident.nik"
    assert error.message == 'resident.nik: must be exactly 16 digits (this one has 3) (got "123")'


def test_nik_in_a_message_is_masked() -> None:
    record = _load(EXAMPLES / "document" / "valid-ektp-assigned-to-courier.json")
    record["resident"]["nik"] = "6471063002920004"
    [error] = validate_record(record)
    assert "6471063002920004" not in error.message
    assert "647106********04" in error.message


def test_if_then_message_says_why() -> None:
    record = _load(EXAMPLES / "visit" / "valid-recorded.json")
    record["health"]["applicant_temperature_c"] = 38.1
    [error] = validate_record(record)
    assert error.field == "emergency_reason"
    assert "37.5" in error.message


def test_missing_fields_are_each_named() -> None:
    record = _load(EXAMPLES / "seal" / "valid-seal.json")
    del record["number"], record["bound_at"]
    fields = [error.field for error in validate_record(record)]
    assert "number" in fields and "bound_at" in fields


def test_seal_id_must_agree_with_number() -> None:
    record = _load(EXAMPLES / "seal" / "valid-seal.json")
    record["number"] = "BP00099999"
    assert [error.field for error in validate_record(record)] == ["_id"]


def test_seal_match_must_agree_with_numbers() -> None:
    record = _load(EXAMPLES / "handoff" / "valid-delivered-with-receipt-code.json")
    record["seal_number_scanned"] = "BP00099999"
    assert [error.field for error in validate_record(record)] == ["seal_match"]
    record["seal_match"] = False
    assert validate_record(record) == []


def test_mapping_that_is_not_a_dict_is_accepted() -> None:
    from types import MappingProxyType

    record = _load(EXAMPLES / "seal" / "valid-seal.json")
    assert validate_record(MappingProxyType(record)) == []


def test_schemas_resolve_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("schema validation tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert validate_record(_load(EXAMPLES / "handoff" / "valid-sealed-signed.json")) == []


_ODD_VALUES: list[object] = [
    None,
    0,
    -1,
    1.5,
    10**12,
    "",
    "x",
    "a" * 300,
    "2026-02-30T10:00:00Z",
    [],
    {},
    True,
]


def _mutations(record: dict[str, Any], rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Copies of a valid record with one thing wrong (or right by chance): a field dropped, replaced by an
    odd value, or a string slightly changed, anywhere in the record, nested fields included."""
    out = []
    for _ in range(count):
        copy = json.loads(json.dumps(record))
        parent: Any = copy
        while True:
            keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
            if not keys:
                break
            key = rng.choice(keys)
            child = parent[key]
            if isinstance(child, dict | list) and child and rng.random() < 0.6:
                parent = child
                continue
            action = rng.random()
            if action < 0.25 and isinstance(parent, dict):
                del parent[key]
            elif action < 0.6 or not isinstance(child, str):
                parent[key] = rng.choice(_ODD_VALUES)
            else:
                position = rng.randrange(len(child) + 1)
                parent[key] = (
                    child[:position] + rng.choice(["", "Z", "9", "-", ":", " "]) + child[position + 1 :]
                )
            break
        out.append(copy)
    return out


@pytest.mark.parametrize("path", VALID, ids=_example_id)
def test_every_near_miss_is_refused_on_a_named_field(path: Path) -> None:
    """Hundreds of near-miss records: each refusal names a field of the record (or the record itself) and
    says what is wrong in a message starting with that field, never the validator's raw dump of the record."""
    record = _load(path)
    rng = random.Random(path.name)
    refused = 0
    for mutated in _mutations(record, rng, 150):
        errors = validate_record(mutated)
        refused += bool(errors)
        for error in errors:
            assert error.message.startswith(f"{error.field or 'record'}:"), error
            assert "{" not in error.message, error  # no record (and so no NIK) pasted into the message
    assert refused, "the mutations must produce invalid records to be a test"


def test_a_value_ending_in_a_newline_is_refused_as_the_pwa_refuses_it() -> None:
    """Python's `re` would let `$` match before a final newline; JSON Schema's regular expressions (ECMA 262,
    as in the PWA's validator, and jsonschema-rs) do not: the record is refused, the field named."""
    record = _load(sorted((EXAMPLES / "handoff").glob("valid-*.json"))[0])
    errors = validate_record({**record, "_id": record["_id"] + "\n"})
    assert [error.field for error in errors] == ["_id"]
    assert errors[0].message.startswith("_id: ")
