"""The PWA's recordHash (pwa/static/js/lib/canonical.js, run under node) equals the server's record_hash."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from records.custody import record_hash
from records.types import JSONDict

REPO_ROOT = Path(__file__).resolve().parents[2]

TRICKY_RECORDS: list[JSONDict] = [
    {
        "_id": "handoff:01JD3X9K2V7Q4M8N5P6R7S8T9V",
        "temp": 36.6,
        "big": 1e21,
        "small": 1e-7,
        "neg": -0.0,
        "int_float": 37.0,
        "max_safe": 9007199254740991,
        "third": 1 / 3,
    },
    {"name": "Ñoño Dürüm 😀 日本", "escape": 'tab\tquote"back\\slash\u0001\u007f\u2028', "empty": ""},
    {
        "nested": {"z": [1, {"b": None, "a": True}], "a": {"y": False, "x": []}},
        "_rev": "3-abc",
        "signature": {"signature": "AAAA"},
        "_attachments": {"a.jpg": {"stub": True}},
    },
    {"\u00e9": 1, "e\u0301": 2, "😀": 3, "\uff21": 4, "a": 5, "B": 6, "_id": "x"},
]


def test_python_and_javascript_hash_tricky_records_identically() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed for the PWA build and this test"
    script = (
        "import { recordHash } from './pwa/static/js/lib/canonical.js';\n"
        "let input = ''; for await (const chunk of process.stdin) input += chunk;\n"
        "const out = []; for (const r of JSON.parse(input)) out.push(await recordHash(r));\n"
        "console.log(JSON.stringify(out));\n"
    )
    result = subprocess.run(
        [node, "--no-warnings", "--input-type=module", "-e", script],
        input=json.dumps(TRICKY_RECORDS),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [record_hash(r) for r in TRICKY_RECORDS]
