"""The PWA's NIK check (pwa/static/js/lib/nik.js) agrees with records/nik.py on every case, run under node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from records.nik import check_nik, mask_nik

REPO_ROOT = Path(__file__).resolve().parents[2]
NIK_JS = REPO_ROOT / "pwa" / "static" / "js" / "lib" / "nik.js"

CASES = [
    "6471054506900012",  # woman born 05-06-1990
    "6471050506900012",  # man, same date
    "6471053002900012",  # 30 February
    "6471057102000001",  # woman born 31-02: no such date
    "6471052902000001",  # 29 Feb 2000: exists
    "6471052902010001",  # 29 Feb 1901/2001: no
    "6471057112990001",  # woman born 31-12-99
    "1001010101900001",  # province 10
    "9501010101900001",  # province 95
    "1101010101900001",  # province 11
    "9401010101900001",  # province 94
    "6471053201900001",  # day 32
    "6471054001900001",  # day 40
    "6471057201900001",  # day 72
    "6471050113900001",  # month 13
    "6471050100900001",  # month 00
    "6471050101900000",  # serial 0000
    "6471050101909999",
    "647105010190001",  # 15 digits
    "64710501019000123",  # 17 digits
    "6471-05010190001",
    "６４７１０５０１０１９０００１",  # full-width digits
    "",
    "abcdefghijklmnop",
]


def test_nik_js_agrees_with_python() -> None:
    script = (
        f"import {{ checkNik, maskNik }} from {json.dumps(NIK_JS.as_uri())};"
        f"const cases = {json.dumps(CASES)};"
        "const answer = (c) => [checkNik(c) === null, checkNik(c)?.code ?? null, maskNik(c)];"
        "console.log(JSON.stringify(cases.map(answer)));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True, timeout=30
    )
    answers = json.loads(result.stdout)
    for nik, (valid, code, masked) in zip(CASES, answers, strict=True):
        assert valid == (check_nik(nik) is None), (nik, code, check_nik(nik))
        assert masked == mask_nik(nik), nik
    assert sum(valid for valid, _, _ in answers) >= 6  # the list covers both sides
