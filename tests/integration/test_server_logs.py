"""The real server's log (uvicorn, JSON lines on stderr) holds no resident link, receipt code or NIK."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from server.identity.sessions import SESSION_COOKIE
from server.residents.links import issue_link
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_office, make_user, open_session
from tests.support.logscan import find_leaks
from tests.support.office import NIKS, put_document, ready_ledger
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


def access_lines(server: ServerProcess, wanted: int) -> list[str]:
    """The `segel.access` messages, once `wanted` of them are written (each is logged after its answer)."""
    deadline = time.monotonic() + 10
    while True:
        entries = [
            json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")
        ]
        found = [str(e["message"]) for e in entries if e["logger"] == "segel.access"]
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


async def test_access_log_leaves_out_the_link_token_the_searched_code_and_nik(
    server_process: ServerProcess, couch: CouchClient, settings: Settings
) -> None:
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    ledger = await ready_ledger(couch, settings)
    document = await put_document(ledger, nik=NIKS[1])
    link = await issue_link(ledger, document)
    code = str(document["receipt_code"])
    before = len(access_lines(server_process, 0))

    with httpx.Client(base_url=server_process.url, timeout=30) as http:
        page = http.get(f"/r/{link}")
        assert page.status_code == 200 and code in page.text  # the resident sees their code
        http.cookies.set(SESSION_COOKIE, await open_session(couch, settings, "budi.santoso"))
        for query in (code, NIKS[1]):
            found = http.get("/office/documents", params={"q": query})
            assert found.status_code == 200 and str(document["_id"]) in found.text

    lines = access_lines(server_process, before + 3)[before:]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /r/<link> 200",
        "GET /office/documents 200",
        "GET /office/documents 200",
    ]
    log = server_process.log_path.read_text()
    assert link not in log and code not in log and NIKS[1] not in log
    assert find_leaks(log.splitlines(), "server", [code]) == []
