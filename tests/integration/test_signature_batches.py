"""A pushed batch of handoffs is verified at once (sync/signatures.verify_handoffs): one verdict per record,
in order, each audited, with the audit entries written in one request."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from records.custody import record_hash
from records.principal import Principal
from records.types import JSONDict
from server.identity.audit import events
from server.settings import Settings
from store.couch import CouchClient
from sync.signatures import verify_handoffs
from tests.support.identity import enroll_passkey, make_office, make_user
from tests.support.records import pickup
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio


def handoff(n: int) -> JSONDict:
    return pickup(n, "gojek.andi")


async def test_a_batch_gets_one_verdict_and_one_audit_entry_per_handoff_in_order(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_office(couch, settings)
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek")
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, "gojek.andi", phone)
    good = handoff(0)
    good = {**good, "signature": phone.sign_record_hash(record_hash(good))}
    altered = handoff(1)
    altered = {**altered, "signature": phone.sign_record_hash(record_hash(altered))}
    altered["seal_condition"] = "damaged" if altered["seal_condition"] != "damaged" else "intact"
    unsigned = {**handoff(2), "unsigned_reason": "ponsel tanpa passkey"}
    no_reason = handoff(3)
    batch = [good, altered, unsigned, no_reason, good]  # the last one: the same record again (a retry)
    who = Principal(user_id="gojek.andi", role="courier", office="6471", partner="gojek")

    verdicts = await verify_handoffs(
        couch,
        settings.identity_db,
        batch,
        who,
        origin=settings.origin,
        rp_id=settings.rp_id,
        audit_db=settings.audit_db,
    )

    assert [v.status for v in verdicts] == ["verified", "invalid", "unsigned", "invalid", "verified"]
    assert verdicts[1].reason is not None and "altered" in verdicts[1].reason
    assert verdicts[2].reason == "ponsel tanpa passkey"
    assert verdicts[3].reason is not None and "unsigned_reason" in verdicts[3].reason
    audited = [e for e in await events(couch, settings) if e.get("record_id")]
    by_record = sorted((str(e["record_id"]), str(e["event"])) for e in audited)
    assert by_record == sorted(
        [
            (good["_id"], "signature_verified"),
            (altered["_id"], "signature_refused"),
            (no_reason["_id"], "signature_refused"),
            (good["_id"], "signature_verified"),
        ]
    )
