"""The end-of-run log check finds a planted NIK or receipt code, and lets ids, hashes and seal numbers be."""

from __future__ import annotations

import json
import logging
import secrets

from records.custody import record_hash
from server.logs import loggable_path, new_request_id
from tests.support import logscan
from tests.support.logscan import find_leaks

NIK = "6471061503920004"


def whats(*lines: str, codes: tuple[str, ...] = ()) -> list[str]:
    return [leak.what for leak in find_leaks(lines, "test", codes)]


def test_a_planted_nik_is_found_plain_in_json_and_url_encoded() -> None:
    assert whats(f"document registered for {NIK}") == ["NIK 647106**********"]
    assert whats(json.dumps({"message": f"nik={NIK}"})) == ["NIK 647106**********"]
    assert whats(f"GET /db/_design/reports/_view/search?key=%22{NIK}%22") == ["NIK 647106**********"]


def test_a_planted_receipt_code_is_found_after_its_key() -> None:
    assert whats("delivered with receipt_code=K7M4QX") == ["receipt code K7M4QX"]
    assert whats('{"message": "kode penerimaan salah", "kode": "Q7M4QX"}') == ["receipt code Q7M4QX"]
    assert whats("GET /office/documents?q=K7M4QX 200") == ["receipt code K7M4QX"]


def test_a_link_token_in_a_json_line_is_found_but_not_in_console_output() -> None:
    token = secrets.token_urlsafe(24)
    assert whats(json.dumps({"message": f"GET /r/{token} 200"})) == ["link token"]
    assert whats(json.dumps({"message": f"GET /auth/enroll/{token} 200"})) == ["link token"]
    assert whats(f"      http://localhost:8000/auth/enroll/{token}") == []  # `scripts/run` prints these
    assert whats(json.dumps({"message": "GET /r/<link> 200"})) == []


def test_a_code_the_app_generated_is_found_without_a_key() -> None:
    assert whats("search for HX3P9W found 1", codes=("HX3P9W",)) == ["receipt code HX3P9W"]


def test_the_report_does_not_repeat_the_nik() -> None:
    [leak] = find_leaks([f"nik {NIK}"], "server.log")
    assert NIK not in str(leak) and "647106" in str(leak)


def test_ids_hashes_revisions_seals_and_numbers_are_not_leaks() -> None:
    sha = record_hash({"_id": "handoff:01JD3X9K2V7Q4M8N5P6R7S8T9V", "seq": 3})
    lines = (
        f"receipt receipt:handoff:01JD3X9K2V7Q4M8N5P6R7S8T9V written, hash {sha}",
        "document:6471-01JD3X9K2V7Q4M8N5P6R7S8T9V rev 3-4f1c0a9e0b1d2c3e4f5a6b7c8d9e0f11",
        "seal BP00000777 bound; seal number BP6471061503920004X",
        "GET /office/documents/document:6471-01JD3X9K 200 12.3ms",
        "1234567890123456 is no NIK: digits 7-8 (the birth day) are 78",
        "error code 404; status code INTERNAL",
        f"request id {new_request_id()}",  # never a bare run of 16 digits
    )
    assert whats(*lines) == []


def test_in_process_log_lines_reach_the_collected_file() -> None:
    collector = logscan.collector()
    assert collector is not None, "tests/conftest.py must start collecting before any test runs"
    marker = secrets.token_hex(8)
    logging.getLogger("server.office.example").info("collected line %s", marker)
    collector.handler.flush()
    text = (collector.directory / "in-process.log").read_text()
    assert marker in text and json.loads(text.splitlines()[-1])["logger"] == "server.office.example"


def test_the_access_line_of_a_link_leaves_its_token_out() -> None:
    assert loggable_path("/r/AbCdEfGhIjKlMnOpQrStUvWxYz012345") == "/r/<link>"
    assert loggable_path("/r/AbCdEfGhIjKlMnOpQrStUvWx/complaint") == "/r/<link>/complaint"
    assert loggable_path("/auth/enroll/go1bigxmvS4lebiaeZ0VfOz0QsMszXwEsJQszhP4kkk") == "/auth/enroll/<link>"
    assert loggable_path("/auth/enroll/verify") == "/auth/enroll/verify"
    assert loggable_path("/office/documents") == "/office/documents"
    assert loggable_path("/rekap/r/x") == "/rekap/r/x"
