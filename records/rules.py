"""Rules between two fields' values, which JSON Schema cannot state: the one table of them on the server.

Everything a JSON Schema can say lives in `schemas/*.schema.json`, which the gateway and the PWA both run.
What is left is comparing one field's value with another's (JSON Schema has no `$data`): these rules. The
PWA has the same table, under the same names, in `pwa/static/js/lib/rules.js`; `schemas/rules.json` holds
the cases both must judge alike (`tests/unit/test_rules.py` runs them on both sides), so the two tables
cannot drift apart unnoticed.

A rule runs only on a record its schema accepts, so it may rely on the types the schema guarantees.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One named rule: `check` returns None when the record keeps it, else what `field` must be."""

    name: str
    record_type: str
    field: str
    check: Callable[[Mapping[str, object]], str | None]


def _seal_id_agrees(record: Mapping[str, object]) -> str | None:
    """The seal id carries office and seal number, so CouchDB refuses a second record for the same seal;
    an id naming another seal would defeat that."""
    expected = f"seal:{record.get('office')}:{record.get('number')}"
    if record.get("_id") == expected:
        return None
    return f"must be {json.dumps(expected)} to agree with office and number (got {_shown(record.get('_id'))})"


def _seal_match_agrees(record: Mapping[str, object]) -> str | None:
    """`seal_match` is what the office's follow-up filters on; it must say what the two numbers say."""
    equal = record.get("seal_number_scanned") == record.get("seal_number_expected")
    if record.get("seal_match") == equal:
        return None
    reason = "it must say whether seal_number_scanned equals seal_number_expected"
    return f"must be {json.dumps(equal)} ({reason}) (got {json.dumps(record.get('seal_match'))})"


#: Every cross-field rule, by name; the names are those of `pwa/static/js/lib/rules.js`.
RULES: tuple[Rule, ...] = (
    Rule("seal_id_agrees", "seal", "_id", _seal_id_agrees),
    Rule("seal_match_agrees", "handoff", "seal_match", _seal_match_agrees),
)


def broken_rules(record: Mapping[str, object]) -> list[tuple[Rule, str]]:
    """The rules for the record's type that it breaks, each with what its field must be."""
    found = []
    for rule in RULES:
        if rule.record_type == record.get("type"):
            expectation = rule.check(record)
            if expectation is not None:
                found.append((rule, expectation))
    return found


def _shown(value: object) -> str:
    rendered = json.dumps(value, ensure_ascii=False)
    return rendered if len(rendered) <= 60 else rendered[:56] + '..."'
