"""The identity administration commands, run in-process as `segel <command>` against the real database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from devtools.demo.identities import demo_login_hint
from devtools.demo.office import demo_people
from records.types import JSONDict
from server.app import create_app
from server.cli import main
from server.databases import SEGEL_DATABASES
from server.identity.audit import events
from server.identity.store import IdentityStore
from server.settings import Settings, open_couch
from store.bootstrap import bootstrap
from store.couch import CouchClient
from tests.conftest import settings_env
from tests.support.records import custody_chain

T = TypeVar("T")
Segel = Callable[..., tuple[int, str, str]]


@pytest.fixture
def segel(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Segel:
    """`segel <argv>` in-process with the test's environment; returns (exit code, stdout, stderr)."""
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _with_store(settings: Settings, action: Callable[[IdentityStore, CouchClient], Awaitable[T]]) -> T:
    async def go() -> T:
        couch = open_couch(settings)
        try:
            return await action(IdentityStore(couch, settings), couch)
        finally:
            await couch.aclose()

    return asyncio.run(go())


def test_office_user_link_token_and_revocation(segel: Segel, settings: Settings) -> None:
    assert segel("create-office", "6471", "Disdukcapil Kota Balikpapan")[0] == 0
    code, out, _ = segel(
        "create-user", "gojek.andi", "--role", "courier", "--office", "6471", "--partner", "gojek"
    )
    assert code == 0 and "dibuat" in out
    assert (
        "sudah ada"
        in segel("create-user", "gojek.andi", "--role", "courier", "--office", "6471", "--partner", "gojek")[
            1
        ]
    )
    code, _, err = segel("create-user", "budi", "--role", "staff", "--office", "9999")
    assert code == 1 and "create it first" in err

    code, out, _ = segel("enroll-link", "gojek.andi")
    url = re.search(r"http://\S+/auth/enroll/(\S+)", out)
    assert code == 0 and url is not None and "█" in out  # a QR code drawn in the terminal
    token_in_url = url.group(1)
    link = _with_store(settings, lambda store, couch: store.get_enrollment(token_in_url))
    assert link is not None and link["user_id"] == "gojek.andi"

    code, out, _ = segel("issue-token", "gojek.andi", "--label", "scanner")
    found = re.search(r"id ([0-9a-f]{16})", out)
    assert found is not None
    token_id = found.group(1)
    token = out.strip().splitlines()[-1]
    stored: Any = _with_store(settings, lambda store, couch: store.get_token(token))
    assert stored["token_id"] == token_id and token not in str(stored)  # only the hash is kept
    assert segel("revoke-token", token_id)[0] == 0
    revoked_token: Any = _with_store(settings, lambda store, couch: store.get_token(token))
    assert revoked_token["revoked"] is True

    assert segel("revoke-user", "gojek.andi")[0] == 0
    revoked_user: Any = _with_store(settings, lambda store, couch: store.get_user("gojek.andi"))
    assert revoked_user["revoked"] is True
    assert segel("revoke-passkey", "nope")[0] == 1
    # A credential id is base64url: one in 64 starts with "-", and must still be read as the id.
    code, _, err = segel("revoke-passkey", "-Swgvyg_fpHmGtFBAVM6p")
    assert code == 1 and "No passkey '-Swgvyg_fpHmGtFBAVM6p'" in err


def _chain() -> list[JSONDict]:
    """A custody chain that verifies: sealed, picked up, a failed attempt, delivered."""
    return custody_chain()


def test_verify_chain_names_the_first_bad_link(segel: Segel, settings: Settings) -> None:
    chain = _chain()
    assert segel("create-office", "6471", "Disdukcapil Kota Balikpapan")[0] == 0  # also bootstraps
    _with_store(settings, lambda store, couch: couch.db(settings.records_db).bulk_docs(chain))
    code, out, _ = segel("verify-chain", chain[0]["document_id"])
    assert code == 0 and "Rantai utuh" in out

    async def tamper(store: IdentityStore, couch: CouchClient) -> None:
        db = couch.db(settings.records_db)
        doc = await db.get(chain[1]["_id"])
        doc["seal_condition"] = "damaged" if doc["seal_condition"] != "damaged" else "intact"
        await db.put(doc)

    _with_store(settings, tamper)
    code, out, _ = segel("verify-chain", chain[0]["document_id"])
    assert code == 1 and f"#3 ({chain[2]['_id']})" in out and chain[1]["_id"] in out
    audit = _with_store(settings, lambda store, couch: events(couch, settings))
    broken = [e for e in audit if e["event"] == "chain_broken"]
    assert len(broken) == 1 and broken[0]["record_id"] == chain[2]["_id"] and "#3" in broken[0]["reason"]
    assert segel("verify-chain", "document:NOSUCHDOCUMENT")[0] == 1


def test_demo_login_hint_is_idempotent_and_its_links_work(settings: Settings) -> None:
    async def go() -> tuple[str, str, int]:
        couch = open_couch(settings)
        try:
            await bootstrap(couch, settings.db_prefix, SEGEL_DATABASES)
            first = await demo_login_hint(couch, settings)
            second = await demo_login_hint(couch, settings)
            users = await IdentityStore(couch, settings).users_of_office("6471")
            return first, second, len(users)
        finally:
            await couch.aclose()

    first, second, user_count = asyncio.run(go())
    assert user_count == len(demo_people().users)
    for hint in (first, second):
        assert "gojek.andi" in hint and "budi.santoso" in hint and "van.agus" in hint
    links = re.findall(r"http://\S+/auth/enroll/\S+", first + second)
    assert len(set(links)) == 6  # fresh links every run, never the same users twice
    with TestClient(create_app(settings), base_url="http://localhost:8000") as client:
        page = client.get(links[0].removeprefix(settings.origin))
        assert page.status_code == 200 and "Andi Saputra" in page.text


def test_purge_identity_removes_only_what_expired(segel: Segel, settings: Settings) -> None:
    async def setup(store: IdentityStore, couch: CouchClient) -> tuple[str, str]:
        await store.create_office("6471", "Disdukcapil Kota Balikpapan")
        await store.create_user("budi.santoso", "staff", office="6471")
        old = await store.create_session("budi.santoso")
        old["expires_at"] -= 3 * 24 * 3600
        await store.db.put(old)
        fresh = await store.create_session("budi.santoso")
        return str(old["_id"]), str(fresh["_id"])

    assert segel("bootstrap")[0] == 0
    old_id, fresh_id = _with_store(settings, setup)
    code, out, _ = segel("purge-identity")
    assert code == 0 and out.startswith("1 ")

    async def remaining(store: IdentityStore, couch: CouchClient) -> tuple[bool, bool]:
        return await store.db.get_or_none(old_id) is None, await store.db.get_or_none(fresh_id) is not None

    assert _with_store(settings, remaining) == (True, True)
