"""Record validation against the JSON Schemas in `schemas/`, the contract shared with the PWA.

The PWA validates with the very same files before a record is saved, and the gateway validates again here
before a record reaches CouchDB, so a record that one side accepts the other accepts too. Schemas are loaded
once, `$ref`s between them are resolved from disk through a `jsonschema_rs.Registry` (never over the
network), and one compiled jsonschema-rs validator per record type is cached. The same validator decides
validity and reports the errors; this module words them. Rules between two fields' values, which JSON
Schema cannot state, come after the schema, from the table in `records/rules.py` (the PWA runs the same).

Errors come back as `RecordError(field, message)`: `field` is the dotted path a form can highlight and
`message` says in plain English what is expected, so the gateway can pass it to the person who typed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema_rs import ValidationError, ValidationErrorKind

from records.nik import check_nik, mask_nik
from records.rules import broken_rules


def _schema_dir() -> Path:
    """The wheel carries the schemas inside this package (`records/_schemas`, copied by the build step in
    setup.py), since an installed package cannot reach the checkout; a checkout reads the top-level
    `schemas/` it shares with the PWA and the docs. Same rule as server/resources.py for the PWA."""
    package_dir = Path(__file__).resolve().parent
    bundled = package_dir / "_schemas"
    return bundled if bundled.is_dir() else package_dir.parent / "schemas"


SCHEMA_DIR = _schema_dir()

#: The record types that sync through the gateway, one schema file each.
RECORD_TYPES: tuple[str, ...] = ("document", "seal", "handoff", "photo", "visit", "complaint")

# RFC 3339 needs the "T", seconds and an offset; fromisoformat alone would also take other ISO 8601 forms.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", re.ASCII)


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    return datetime.fromisoformat(value).utcoffset() is not None


def _is_real_date_time(value: object) -> bool:
    """`_is_date_time` that says False, not ValueError, for "2026-11-31T10:00:00Z"."""
    try:
        return _is_date_time(value)
    except ValueError:
        return False


def _is_nik(value: object) -> bool:
    return not isinstance(value, str) or check_nik(value) is None


#: The keywords worded from a schema's title and examples, preferred when several fail on one field.
_WORDED = frozenset({"pattern", "format"})

#: Only the formats our schemas use; the PWA gives its validator the same two (lib/validate.js).
FORMATS = {"date-time": _is_real_date_time, "nik": _is_nik}


@dataclass(frozen=True)
class RecordError:
    """One reason a record was refused: `field` is a dotted path ("resident.nik"), `message` says why."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def schema_files() -> dict[str, Path]:
    """Every schema file by file name ("handoff.schema.json"), for serving to the PWA unchanged."""
    return dict(_schema_paths())


def schema_for(record_type: str) -> dict[str, object]:
    """Return (a copy of) the JSON Schema of one record type; raises ValueError for an unknown type."""
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unknown record type {record_type!r}; expected one of {', '.join(RECORD_TYPES)}")
    return deepcopy(_schemas()[f"{record_type}.schema.json"])


def validate_record(record: Mapping[str, object]) -> list[RecordError]:
    """Check one record against the schema of its `type`; an empty list means the record is valid."""
    if not isinstance(record, Mapping):
        return [RecordError("", "record: must be a JSON object")]
    record_type = record.get("type")
    if record_type is None:
        return [RecordError("type", f"type: is required, one of {', '.join(RECORD_TYPES)}")]
    if record_type not in RECORD_TYPES:
        expected = ", ".join(RECORD_TYPES)
        return [RecordError("type", f"type: must be one of {expected} (got {_shown(record_type)})")]
    instance = dict(record)
    validator = _validator(str(record_type))
    if validator.is_valid(instance):
        return [RecordError(rule.field, f"{rule.field}: {why}") for rule, why in broken_rules(instance)]
    by_field: dict[str, RecordError] = {}
    # One message per field is enough to fix it. A pattern (or format) says most, in the schema's own words
    # ("must be a base64url string, e.g. ..."), so it goes first when a length fails on the same field.
    errors = sorted(validator.iter_errors(instance), key=lambda error: error.kind.name not in _WORDED)
    for error in errors:
        for found in _translate(error):
            by_field.setdefault(found.field, found)
    return sorted(by_field.values(), key=lambda found: found.field)


@cache
def _schema_paths() -> dict[str, Path]:
    return {path.name: path for path in sorted(SCHEMA_DIR.glob("*.schema.json"))}


@cache
def _schemas() -> dict[str, dict[str, object]]:
    return {name: json.loads(path.read_text(encoding="utf-8")) for name, path in _schema_paths().items()}


@cache
def _schemas_by_id() -> dict[str, dict[str, Any]]:
    return {str(schema["$id"]): schema for schema in _schemas().values()}


@cache
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry(list(_schemas_by_id().items()), retriever=_never_retrieve)


@cache
def _validator(record_type: str) -> jsonschema_rs.Validator:
    """The compiled schema of one record type; its `$ref`s resolve from the registry, once, here."""
    return jsonschema_rs.Draft202012Validator(
        _schemas()[f"{record_type}.schema.json"],
        formats=FORMATS,
        validate_formats=True,
        registry=_registry(),
        retriever=_never_retrieve,
    )


def _never_retrieve(uri: str) -> Any:
    raise ValueError(f"schemas are never fetched ({uri}): every $ref is resolved from schemas/ at load time")


@dataclass(frozen=True)
class _Failure:
    """One jsonschema-rs error with what wording it needs: the failing keyword, the (sub)schema holding it
    (read from the schema files at `absolute_keyword_location`, `$ref`s already followed), for its title,
    examples and description, and whether it failed inside the `then` of an if/then rule."""

    keyword: str
    path: list[str]
    schema: dict[str, Any]
    value: Any
    instance: Any
    in_then: bool
    message: str


def _failure(error: ValidationError) -> _Failure:
    uri, _, pointer = (error.absolute_keyword_location or "").partition("#")
    segments = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    keyword, holder = (segments[-1], segments[:-1]) if segments else (error.kind.name, [])
    if len(segments) >= 2 and segments[-2] == "dependentRequired":  # located at the needed name's index
        keyword, holder = "dependentRequired", segments[:-2]
    node: Any = _schemas_by_id().get(uri, {})
    for part in holder:
        node = node[int(part)] if isinstance(node, list) else node.get(part, {})
    schema = node if isinstance(node, dict) else {}
    return _Failure(
        keyword=keyword,
        path=[str(part) for part in error.instance_path],
        schema=schema,
        value=schema.get(keyword),
        instance=error.instance,
        in_then="then" in error.evaluation_path,
        message=error.message,
    )


def _translate(error: ValidationError) -> list[RecordError]:
    """Turn one jsonschema-rs error into RecordErrors naming the field a person has to fix."""
    failure = _failure(error)
    path, keyword, kind = failure.path, failure.keyword, error.kind
    context = _then_context(failure)
    if isinstance(kind, ValidationErrorKind.Required) and keyword == "dependentRequired":
        given = [
            name
            for name, needs in dict(failure.value or {}).items()
            if name in _keys(failure.instance) and kind.property in _names(needs)
        ]
        reason = f"is required when {given[0] if given else 'its partner'} is given"
        return [_error([*path, kind.property], reason, context)]
    if isinstance(kind, ValidationErrorKind.Required):
        return [_error([*path, kind.property], "is required", context)]
    if isinstance(kind, ValidationErrorKind.AdditionalProperties):
        unknown = "is not an allowed field (unknown fields are refused)"
        return [_error([*path, str(name)], unknown) for name in kind.unexpected]
    if keyword in {"oneOf", "anyOf"} and _required_branches(failure.value):
        return [_choice_error(path, keyword, _required_branches(failure.value), failure, context)]
    return [_error(path, _expectation(failure), context, got=_got(failure))]


def _choice_error(
    path: list[str], keyword: str, branches: list[str], failure: _Failure, context: str | None
) -> RecordError:
    present = [name for name in branches if name in _keys(failure.instance)]
    alternatives = " or ".join(branches)
    if keyword == "oneOf" and len(present) > 1:
        return _error([*path, present[1]], f"must not be given together with {present[0]}", context)
    return _error([*path, branches[0]], f"is required (give {alternatives})", context)


def _expectation(failure: _Failure) -> str:
    """What the field should have been, worded from the failing keyword and the schema's title/examples."""
    value, schema, instance = failure.value, failure.schema, failure.instance
    match failure.keyword:
        case "pattern" | "format" if schema.get("format") == "nik" and isinstance(instance, str):
            return check_nik(instance) or "must be a valid NIK"
        case "pattern" | "format" if schema.get("title"):
            examples = schema.get("examples")
            example = f", e.g. {json.dumps(examples[0], ensure_ascii=False)}" if examples else ""
            return f"must be {schema['title']}{example}"
        case "pattern":
            return f"must match the pattern {value}"
        case "format":
            return f"must be a valid {value}"
        case "type":
            return f"must be {_type_phrase(value)}"
        case "const":
            return f"must be {schema.get('title') or json.dumps(value)}"
        case "enum":
            return "must be one of " + ", ".join(json.dumps(item) for item in value)
        case "minimum":
            return f"must be at least {value}"
        case "maximum":
            return f"must be at most {value}"
        case "exclusiveMinimum":
            return f"must be more than {value}"
        case "exclusiveMaximum":
            return f"must be less than {value}"
        case "minLength":
            return f"must be at least {value} characters long"
        case "maxLength":
            return f"must be at most {value} characters long"
        case "minItems":
            return f"must have at least {value} item{'' if value == 1 else 's'}"
        case "maxItems":
            return f"must have at most {value} items"
        case "uniqueItems":
            return "must not list the same item twice"
        case "maxProperties":
            return "must be empty" if value == 0 else f"must have at most {value} entries"
    return failure.message


def _got(failure: _Failure) -> str:
    keyword, instance = failure.keyword, failure.instance
    if keyword in {"minLength", "maxLength"} and isinstance(instance, str):
        return f"{len(instance)} characters"
    if keyword in {"minItems", "maxItems"} and isinstance(instance, list):
        return f"{len(instance)}"
    if keyword in {"uniqueItems", "maxProperties"}:
        return ""
    secret = failure.schema.get("format") == "nik"
    return _shown(instance, secret=secret)


def _shown(value: object, *, secret: bool = False) -> str:
    """A short rendering of the offending value; NIKs are masked since messages may end up in logs."""
    if isinstance(value, str):
        text = mask_nik(value) if secret and len(value) > 8 else value
        rendered = json.dumps(text, ensure_ascii=False)
        return rendered if len(rendered) <= 60 else rendered[:56] + '..."'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)


def _error(path: list[str], expectation: str, context: str | None = None, got: str = "") -> RecordError:
    field = ".".join(path)
    message = f"{field or 'record'}: {expectation}"
    if context:
        message += f" ({context})"
    if got:
        message += f" (got {got})"
    return RecordError(field, message)


def _then_context(failure: _Failure) -> str | None:
    """The `description` of an if/then rule, which tells why the field is needed in this case."""
    if not failure.in_then:
        return None
    description = failure.schema.get("description")
    return str(description) if description else None


def _required_branches(branches: object) -> list[str]:
    """Names from `oneOf`/`anyOf` branches that each only require one property, else an empty list."""
    if not isinstance(branches, list):
        return []
    names = []
    for branch in branches:
        if not (isinstance(branch, dict) and set(branch) == {"required"} and len(branch["required"]) == 1):
            return []
        names.append(str(branch["required"][0]))
    return names


def _type_phrase(value: object) -> str:
    phrases = {
        "string": "a string",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
        "object": "an object",
        "array": "a list",
        "null": "null",
    }
    types = value if isinstance(value, list) else [value]
    return " or ".join(phrases.get(str(name), str(name)) for name in types)


def _keys(instance: object) -> Iterable[str]:
    return instance.keys() if isinstance(instance, dict) else ()


def _names(value: object) -> list[str]:
    return [str(name) for name in value] if isinstance(value, list) else []
