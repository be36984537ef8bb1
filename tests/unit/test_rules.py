"""The rules the PWA runs are the rules the gateway runs, checked by running the PWA's code under node.

Cross-field rules exist once per side (records/rules.py, pwa/static/js/lib/rules.js) under the same names;
schemas/rules.json lists the cases both must judge alike. The PWA's whole validator
(pwa/static/js/lib/validate.js: the schema files through @cfworker/json-schema, then the rules) must also
accept and refuse every schema example exactly as `validate_record` does, on the same field (or the object
holding it).
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from records.rules import RULES
from records.schemas import validate_record

REPO_ROOT = Path(__file__).resolve().parents[2]
LIB = REPO_ROOT / "pwa" / "static" / "js" / "lib"
SCHEMAS = REPO_ROOT / "schemas"
CASES: list[dict[str, Any]] = json.loads((SCHEMAS / "rules.json").read_text(encoding="utf-8"))["cases"]
EXAMPLES = sorted((SCHEMAS / "examples").glob("*/*.json"))

# Runs in node: the schema files are served to validate.js by a fetch that reads schemas/ (as the service
# worker would from its cache); every example and every case goes through the PWA's own code.
_SCRIPT = """
import { readFileSync } from 'node:fs';
const SCHEMAS = %(schemas)s;
globalThis.fetch = async (url) => ({ ok: true, status: 200,
  json: async () => JSON.parse(readFileSync(SCHEMAS + '/' + String(url).split('/').pop(), 'utf8')) });
const { validateRecord } = await import(%(validate)s);
const { RULES } = await import(%(rules)s);
const records = %(records)s;
const cases = %(cases)s;
const byName = Object.fromEntries(RULES.map((rule) => [rule.name, rule]));
console.log(JSON.stringify({
  rules: RULES.map(({ name, type, field }) => ({ name, type, field })),
  verdicts: cases.map((c) => byName[c.rule] && (byName[c.rule].check(c.record) === null ? 'pass' : 'fail')),
  problems: await Promise.all(records.map(async (r) => (await validateRecord(r)).map((p) => p.field))),
}));
"""


def _record(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded.get("record", loaded) if path.name.startswith("invalid-") else loaded


@cache
def _pwa() -> dict[str, Any]:
    """What the PWA's code says about every example and case (one node run for the whole module)."""
    records = [_record(path) for path in EXAMPLES] + [case["record"] for case in CASES]
    script = _SCRIPT % {
        "schemas": json.dumps(str(SCHEMAS)),
        "validate": json.dumps((LIB / "validate.js").as_uri()),
        "rules": json.dumps((LIB / "rules.js").as_uri()),
        "records": json.dumps(records),
        "cases": json.dumps(CASES),
    }
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_both_sides_have_the_same_rules() -> None:
    python = [{"name": rule.name, "type": rule.record_type, "field": rule.field} for rule in RULES]
    assert _pwa()["rules"] == python


def test_every_rule_has_cases_it_passes_and_fails() -> None:
    for rule in RULES:
        verdicts = {case["verdict"] for case in CASES if case["rule"] == rule.name}
        assert verdicts == {"pass", "fail"}, rule.name
    assert {case["rule"] for case in CASES} <= {rule.name for rule in RULES}


@pytest.mark.parametrize("index", range(len(CASES)), ids=lambda index: f"{CASES[index]['rule']}-{index}")
def test_rule_case_is_judged_alike_on_both_sides(index: int) -> None:
    case = CASES[index]
    rule = next(rule for rule in RULES if rule.name == case["rule"])
    assert ("pass" if rule.check(case["record"]) is None else "fail") == case["verdict"]
    assert _pwa()["verdicts"][index] == case["verdict"]
    # A case's record is valid by its schema, so the rule alone decides the server's verdict.
    errors = validate_record(case["record"])
    assert [error.field for error in errors] == ([] if case["verdict"] == "pass" else [rule.field])


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=lambda index: EXAMPLES[index].stem)
def test_the_pwa_judges_every_schema_example_like_the_server(index: int) -> None:
    path = EXAMPLES[index]
    pwa_fields = _pwa()["problems"][index]
    server_fields = [error.field for error in validate_record(_record(path))]
    if path.name.startswith("valid-"):
        assert pwa_fields == [] and server_fields == []
    else:
        expected = json.loads(path.read_text(encoding="utf-8"))["expect_field"]
        assert expected in server_fields
        # The PWA names the field, or for a rule between fields (dependentRequired, oneOf) the object holding
        # them, which is where its form shows the message.
        assert any(_holds(field, expected) for field in pwa_fields), pwa_fields


def _holds(pwa_field: str, field: str) -> bool:
    return pwa_field in (field, "(record)") or field.startswith(f"{pwa_field}.")
