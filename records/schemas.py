"""Record validation against the JSON Schemas in `schemas/`, the contract shared with the PWA.

The PWA validates with the very same files before a record is saved, and the gateway validates again here
before a record reaches CouchDB, so a record that one side accepts the other accepts too. Schemas are loaded
once, `$ref`s between them are resolved from disk through a `referencing.Registry` (never over the network),
and one compiled validator per record type is cached.

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
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from records.nik import check_nik, mask_nik


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


def _is_nik(value: object) -> bool:
    return not isinstance(value, str) or check_nik(value) is None


def _format_checker() -> FormatChecker:
    """Only the formats our schemas use, implemented here so no optional jsonschema extra is needed."""
    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_is_date_time)
    checker.checks("nik")(_is_nik)
    return checker


FORMAT_CHECKER = _format_checker()


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
    by_field: dict[str, RecordError] = {}
    fast = _fast_validator(str(record_type))
    if not fast.is_valid(instance):
        for error in _validator(str(record_type)).iter_errors(instance):
            for found in _translate(error):
                # One message per field is enough to fix it; a pattern and a format failing together say
                # the same.
                by_field.setdefault(found.field, found)
        if not by_field:
            # The two validators differ only where Python's `re` is looser than the ECMA 262 regular
            # expressions JSON Schema specifies (and the PWA uses): `$` also matching before a final
            # newline. The stricter judgement stands, in jsonschema-rs's words.
            for rs_error in fast.iter_errors(instance):
                field = ".".join(str(part) for part in rs_error.instance_path)
                by_field.setdefault(field, RecordError(field, f"{field or 'record'}: {rs_error.message}"))
    if not by_field:
        by_field = {found.field: found for found in _consistency_errors(instance)}
    return sorted(by_field.values(), key=lambda found: found.field)


@cache
def _schema_paths() -> dict[str, Path]:
    return {path.name: path for path in sorted(SCHEMA_DIR.glob("*.schema.json"))}


@cache
def _schemas() -> dict[str, dict[str, object]]:
    return {name: json.loads(path.read_text(encoding="utf-8")) for name, path in _schema_paths().items()}


@cache
def _registry() -> Registry:
    resources = [
        (str(schema["$id"]), Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in _schemas().values()
    ]
    return Registry().with_resources(resources).crawl()


@cache
def _validator(record_type: str) -> Draft202012Validator:
    schema = _schemas()[f"{record_type}.schema.json"]
    inlined = _inline_refs(schema, _registry().resolver(str(schema["$id"])), ())
    return Draft202012Validator(inlined, registry=_registry(), format_checker=FORMAT_CHECKER)


@cache
def _fast_validator(record_type: str) -> jsonschema_rs.Draft202012Validator:
    """The same (inlined) schema compiled by jsonschema-rs, which decides validity about 50 times faster
    than jsonschema; jsonschema then explains a refusal in the words `_translate` builds. A test checks
    that both judge every example, and thousands of mutations of them, the same."""
    schema = {key: value for key, value in _validator(record_type).schema.items() if key != "$defs"}
    return jsonschema_rs.Draft202012Validator(
        schema,
        formats={"date-time": _is_real_date_time, "nik": _is_nik},
        validate_formats=True,
        retriever=_never_retrieve,
    )


def _is_real_date_time(value: object) -> bool:
    """`_is_date_time` for jsonschema-rs, which wants False, not ValueError, for "2026-11-31T…"."""
    try:
        return _is_date_time(value)
    except ValueError:
        return False


def _never_retrieve(uri: str) -> Any:
    raise ValueError(f"schemas are never fetched ({uri}): every $ref is resolved from schemas/ at load time")


def _inline_refs(node: object, resolver: Any, seen: tuple[int, ...]) -> object:
    """A copy of `node` with every `$ref` replaced by the schema it points to, resolved once, here.

    jsonschema otherwise resolves each `$ref` (URL joins, registry lookups) on every record it validates:
    about 40 % of the gateway's validation time. The inlined schema accepts and refuses exactly what the
    original does (a `$ref` with sibling keywords becomes one more `allOf` entry, which reports the same
    errors); a recursive `$ref` is left as it is.
    """
    if isinstance(node, list):
        return [_inline_refs(item, resolver, seen) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, object] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            continue
        # Keywords whose values are not schemas keep their values as they are (a property named "$ref").
        out[key] = value if key in _NOT_SCHEMAS else _inline_refs(value, resolver, seen)
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return out
    resolved = resolver.lookup(ref)  # a referencing.Resolver: where the target's own `$ref`s resolve from
    target = id(resolved.contents)  # the registry keeps every schema alive, so its identity is stable
    if target in seen:
        out["$ref"] = ref
        return out
    contents = _inline_refs(resolved.contents, resolved.resolver, (*seen, target))
    if isinstance(contents, dict):
        contents = {key: value for key, value in contents.items() if key not in ("$id", "$schema", "$defs")}
    if len(out) == 0:
        return contents
    out["allOf"] = [*list(out.get("allOf", [])), contents]  # type: ignore[call-overload]
    return out


#: Keywords whose value is data, not a schema (or a map of schemas), so `_inline_refs` leaves them alone.
_NOT_SCHEMAS = frozenset(
    {
        "const",
        "enum",
        "examples",
        "default",
        "required",
        "dependentRequired",
        "title",
        "description",
        "$comment",
        "$defs",
    }
)


def _translate(error: ValidationError) -> list[RecordError]:
    """Turn one jsonschema error into RecordErrors naming the field a person has to fix."""
    path = [str(part) for part in error.absolute_path]
    keyword = str(error.validator)
    context = _then_context(error)
    if keyword == "required":
        missing = [name for name in _names(error.validator_value) if name not in _keys(error.instance)]
        return [_error([*path, name], "is required", context) for name in missing]
    if keyword == "dependentRequired":
        return [
            _error([*path, needed], f"is required when {given} is given", context)
            for given, needs in dict(error.validator_value).items()
            if given in _keys(error.instance)
            for needed in _names(needs)
            if needed not in _keys(error.instance)
        ]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = [name for name in _keys(error.instance) if name not in known]
        unknown = "is not an allowed field (unknown fields are refused)"
        return [_error([*path, name], unknown) for name in extra]
    if keyword in {"oneOf", "anyOf"} and _required_branches(error.validator_value):
        return [_choice_error(path, keyword, _required_branches(error.validator_value), error, context)]
    return [_error(path, _expectation(error), context, got=_got(error))]


def _choice_error(
    path: list[str], keyword: str, branches: list[str], error: ValidationError, context: str | None
) -> RecordError:
    present = [name for name in branches if name in _keys(error.instance)]
    alternatives = " or ".join(branches)
    if keyword == "oneOf" and len(present) > 1:
        return _error([*path, present[1]], f"must not be given together with {present[0]}", context)
    return _error([*path, branches[0]], f"is required (give {alternatives})", context)


def _expectation(error: ValidationError) -> str:
    """What the field should have been, worded from the failing keyword and the schema's title/examples."""
    value = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    match str(error.validator):
        case "pattern" | "format" if schema.get("format") == "nik" and isinstance(error.instance, str):
            return check_nik(error.instance) or "must be a valid NIK"
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
    return str(error.message)


def _got(error: ValidationError) -> str:
    keyword, instance = str(error.validator), error.instance
    if keyword in {"minLength", "maxLength"} and isinstance(instance, str):
        return f"{len(instance)} characters"
    if keyword in {"minItems", "maxItems"} and isinstance(instance, list):
        return f"{len(instance)}"
    if keyword in {"uniqueItems", "maxProperties"}:
        return ""
    secret = isinstance(error.schema, dict) and error.schema.get("format") == "nik"
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


def _then_context(error: ValidationError) -> str | None:
    """The `description` of an if/then rule, which tells why the field is needed in this case."""
    if "then" not in error.schema_path or not isinstance(error.schema, dict):
        return None
    description = error.schema.get("description")
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


def _consistency_errors(record: dict[str, object]) -> list[RecordError]:
    """Rules between fields that JSON Schema cannot state, checked once the fields themselves are valid."""
    if record.get("type") == "seal":
        office, number, record_id = record.get("office"), record.get("number"), record.get("_id")
        expected = f"seal:{office}:{number}"
        if isinstance(office, str) and isinstance(number, str) and record_id != expected:
            reason = "to agree with office and number"
            return [_error(["_id"], f"must be {json.dumps(expected)} {reason}", got=_shown(record_id))]
    if record.get("type") == "handoff":
        scanned, expected_seal = record.get("seal_number_scanned"), record.get("seal_number_expected")
        match = record.get("seal_match")
        if isinstance(scanned, str) and isinstance(match, bool) and match != (scanned == expected_seal):
            wanted = "true" if scanned == expected_seal else "false"
            reason = "it must say whether seal_number_scanned equals seal_number_expected"
            return [_error(["seal_match"], f"must be {wanted}", reason, got=json.dumps(match))]
    return []
