"""What the fuzz run (tests/integration/test_fuzz.py) found, pinned as plain tests so it stays fixed even if
the generated examples change: JSON nested past the parser's stack, which /auth/* answered with 500, in a
request body, in a passkey's clientDataJSON at login and in a handoff's signature."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from records.custody import record_hash
from records.principal import Principal
from server.settings import Settings
from store.couch import CouchClient
from sync.signatures import verify_handoff
from tests.support.identity import enroll_passkey, ensure_databases, make_office, make_user
from tests.support.records import pickup
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio

DEEP_ROUTES = ("/auth/login/options", "/auth/login/verify", "/auth/enroll/options")


@pytest.fixture
def no_raise(client: TestClient) -> Iterator[TestClient]:
    """The app's own 500 page instead of the exception: what a real client would get."""
    client.raise_server_exceptions = False
    yield client


def identity_docs(settings: Settings) -> dict[str, str]:
    """Every identity document (id -> revision) but attempt counters and challenges."""
    with httpx.Client(
        base_url=settings.couchdb_url, auth=(settings.couchdb_user or "", settings.couchdb_password or "")
    ) as admin:
        rows = admin.get(f"/{settings.identity_db}/_all_docs").json()["rows"]
    logs = ("ratelimit:", "challenge:")
    return {row["id"]: row["value"]["rev"] for row in rows if not row["id"].startswith(logs)}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("body", [b"[" * 100_000, b"[" * 40 + b"]" * 40], ids=["parser overflow", "too deep"])
async def test_identity_json_nested_past_the_parser_stack_is_refused_not_a_500(
    no_raise: TestClient, couch: CouchClient, settings: Settings, body: bytes
) -> None:
    """`[[[[…` 100,000 deep made json.loads raise RecursionError, which /auth/* answered with 500."""
    await ensure_databases(couch, settings)
    before = identity_docs(settings)
    for path in DEEP_ROUTES:
        response = no_raise.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text[:300])
        assert "terlalu dalam" in response.json()["reason"], path
    assert identity_docs(settings) == before


async def test_passkey_answer_with_client_data_nested_past_the_parser_stack_is_refused_not_a_500(
    no_raise: TestClient, couch: CouchClient, settings: Settings
) -> None:
    """clientDataJSON is JSON inside base64: nested past the parser's stack it is a bad answer (400)."""
    await ensure_databases(couch, settings)
    begun = no_raise.post("/auth/login/options", json={})
    assert begun.status_code == 200, begun.text
    before = identity_docs(settings)
    credential = {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "clientDataJSON": _b64url(b"[" * 100_000),
            "authenticatorData": "AAAA",
            "signature": "AAAA",
            "userHandle": "AAAA",
        },
    }
    response = no_raise.post("/auth/login/verify", json={"credential": credential})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["reason"]
    assert identity_docs(settings) == before


async def test_handoff_signature_with_client_data_nested_past_the_parser_stack_is_invalid_not_a_500(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    """The same JSON-in-base64 in a handoff's signature (checked on every push): an invalid verdict with a
    reason, as the gateway's verifier gives it."""
    await make_office(couch, settings)
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek")
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, "gojek.andi", phone)
    record = pickup(0, "gojek.andi")
    signature = phone.sign_record_hash(record_hash(record))
    record["signature"] = {**signature, "client_data_json": _b64url(b"[" * 100_000)}
    andi = Principal(user_id="gojek.andi", role="courier", office="6471", partner="gojek")
    verdict = await verify_handoff(
        couch,
        settings.identity_db,
        record,
        andi,
        origin=settings.origin,
        rp_id=settings.rp_id,
        audit_db=settings.audit_db,
    )
    assert verdict.status == "invalid"
    assert verdict.reason and "clientDataJSON" in verdict.reason
