"""Passkey signatures on handoffs (sync/signatures.verify_handoff): verified, unsigned, and every refusal.

Records are signed by a software authenticator exactly as the PWA's passkey.js signs them: the record hash
(RFC 8785, records/custody.py) is the WebAuthn challenge.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from records.custody import record_hash
from records.principal import Principal
from records.types import JSONDict
from server.identity.audit import events
from server.identity.store import IdentityStore
from server.settings import Settings
from store.couch import CouchClient
from sync.signatures import SignatureVerdict, verify_handoff
from tests.support.identity import enroll_passkey, make_office, make_user
from tests.support.records import pickup
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio


def handoff(author: str, n: int = 0) -> JSONDict:
    """A valid pickup by `author`, not yet signed."""
    return pickup(n, author)


def signed(record: JSONDict, phone: SoftAuthenticator, **kwargs: object) -> JSONDict:
    return {**record, "signature": phone.sign_record_hash(record_hash(record), **kwargs)}


def courier(user_id: str = "gojek.andi", office: str = "6471") -> Principal:
    return Principal(user_id=user_id, role="courier", office=office, partner="gojek")


async def verify(
    couch: CouchClient, settings: Settings, record: JSONDict, who: Principal
) -> SignatureVerdict:
    return await verify_handoff(
        couch,
        settings.identity_db,
        record,
        who,
        origin=settings.origin,
        rp_id=settings.rp_id,
        audit_db=settings.audit_db,
    )


@pytest.fixture
async def phone(client: TestClient, couch: CouchClient, settings: Settings) -> SoftAuthenticator:
    """Andi's phone, with a passkey enrolled through the real ceremony."""
    await make_office(couch, settings)
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek")
    authenticator = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, "gojek.andi", authenticator)
    return authenticator


async def _assert_refused(
    couch: CouchClient, settings: Settings, verdict: SignatureVerdict, words: str
) -> None:
    assert verdict.status == "invalid"
    assert verdict.reason is not None and words in verdict.reason
    refused = [e for e in await events(couch, settings) if e["event"] == "signature_refused"]
    assert any(words in str(e["reason"]) for e in refused)


async def test_signed_handoff_verifies_and_a_retry_verifies_again(
    couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    record = signed(handoff("gojek.andi"), phone)
    first = await verify(couch, settings, record, courier())
    assert first == SignatureVerdict("verified", None, phone.credentials[0].id)
    # The gateway may call again after a crash with the very same record: not a replay.
    assert (await verify(couch, settings, {**record, "_rev": "1-abc"}, courier())).status == "verified"
    assert any(e["event"] == "signature_verified" for e in await events(couch, settings))


async def test_unsigned_handoff_is_accepted_and_flagged(couch: CouchClient, settings: Settings) -> None:
    await make_office(couch, settings)
    record = {**handoff("gojek.andi"), "unsigned_reason": "ponsel tanpa passkey"}
    verdict = await verify(couch, settings, record, courier())
    assert verdict == SignatureVerdict("unsigned", "ponsel tanpa passkey", None)
    # No passkey was used, so nothing for the identity audit (the gateway's receipt keeps the verdict).
    assert not [e for e in await events(couch, settings) if e.get("record_id") == record["_id"]]


async def test_record_altered_after_signing_is_refused(
    couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    record = signed(handoff("gojek.andi"), phone)
    record["seal_condition"] = "damaged" if record["seal_condition"] != "damaged" else "intact"
    await _assert_refused(couch, settings, await verify(couch, settings, record, courier()), "altered")


async def test_record_signed_with_another_users_passkey_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    await make_user(couch, settings, "grab.dedi", "courier", partner="grab")
    dedi_phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, "grab.dedi", dedi_phone)
    # Dedi signs a record claiming to be Andi's and pushes it as himself…
    forged = signed(handoff("gojek.andi"), dedi_phone)
    verdict = await verify(couch, settings, forged, courier("grab.dedi"))
    await _assert_refused(couch, settings, verdict, "author")
    # …or pushes Andi's record signed with his own passkey while signed in as Andi's session would be.
    verdict = await verify(couch, settings, forged, courier("gojek.andi"))
    await _assert_refused(couch, settings, verdict, "another user's passkey")


async def test_wrong_origin_and_rp_id_are_refused(
    couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    record = handoff("gojek.andi")
    phished = signed(record, phone, origin="https://segel-login.example")
    await _assert_refused(couch, settings, await verify(couch, settings, phished, courier()), "wrong origin")
    other_rp = signed(handoff("gojek.andi", 1), phone, rp_id="segel-login.example")
    await _assert_refused(couch, settings, await verify(couch, settings, other_rp, courier()), "wrong RP ID")


async def test_revoked_passkey_signature_is_refused(
    couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    record = signed(handoff("gojek.andi"), phone)
    await IdentityStore(couch, settings).revoke_credential(phone.credentials[0].id)
    await _assert_refused(couch, settings, await verify(couch, settings, record, courier()), "revoked")


async def test_offline_signatures_may_arrive_out_of_order(
    couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    records = [signed(handoff("gojek.andi", n), phone) for n in range(3)]  # counters 1, 2, 3
    for record in reversed(records):
        assert (await verify(couch, settings, record, courier())).status == "verified"


async def test_cloned_passkey_reusing_a_counter_is_refused(
    couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    original = signed(handoff("gojek.andi", 0), phone, counter=7)
    assert (await verify(couch, settings, original, courier())).status == "verified"
    clone = signed(handoff("gojek.andi", 1), phone, counter=7)
    await _assert_refused(couch, settings, await verify(couch, settings, clone, courier()), "seen twice")
    zero = signed(handoff("gojek.andi", 2), phone, counter=0)
    await _assert_refused(couch, settings, await verify(couch, settings, zero, courier()), "back to 0")


async def test_replayed_hash_with_another_passkey_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, phone: SoftAuthenticator
) -> None:
    record = signed(handoff("gojek.andi"), phone)
    assert (await verify(couch, settings, record, courier())).status == "verified"
    second_phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, "gojek.andi", second_phone)
    again = {**record, "signature": second_phone.sign_record_hash(record_hash(record))}
    await _assert_refused(couch, settings, await verify(couch, settings, again, courier()), "seen before")


async def test_signatures_are_verified_on_push_only_with_no_endpoint_that_writes_markers(
    client: TestClient, phone: SoftAuthenticator
) -> None:
    """Verification writes replay and counter markers, so only the gateway's push runs it: a signed-in
    user cannot make the server verify (and mark) a record outside a push."""
    record = signed(handoff("gojek.andi"), phone)
    assert client.post("/auth/verify-signature", json={"record": record}).status_code == 404
