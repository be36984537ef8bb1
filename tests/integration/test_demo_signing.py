"""The demo's handoff history arrives signed and verified by the gateway's own check; the passkeys that
signed it are revoked once it is loaded, so nothing can sign with them again (real CouchDB)."""

from __future__ import annotations

import pytest

from devtools.demo.loader import load_demo
from devtools.demo.signing import LABEL
from devtools.demo.steps import DESK_REASON, UNSIGNED_REASONS
from server.identity.auth import principal_from_user
from server.identity.store import IdentityStore
from server.settings import Settings
from store.couch import CouchClient
from sync.signatures import assess_handoffs
from tests.support.identity import ensure_databases

pytestmark = pytest.mark.anyio


async def test_the_demo_loads_signed_verified_and_with_its_signing_keys_revoked(
    couch: CouchClient, settings: Settings
) -> None:
    await ensure_databases(couch, settings)
    assert await load_demo(couch, settings) is True
    db = couch.db(settings.records_db)
    rows = await db.all_docs(startkey='"handoff:"', endkey='"handoff:\ufff0"', include_docs=True)
    handoffs = [row["doc"] for row in rows["rows"]]
    away = [h for h in handoffs if h.get("unsigned_reason") != DESK_REASON]
    receipts = await couch.json(
        "POST",
        f"{couch.db(settings.receipts_db).path}/_all_docs",
        params={"include_docs": True},
        json={"keys": [f"receipt:{h['_id']}" for h in away]},
    )
    verdicts = {
        row["doc"]["record_id"]: row["doc"]["signature"] for row in receipts["rows"] if row.get("doc")
    }
    assert len(verdicts) == len(away), "every handoff made away from the desk has its receipt"
    signed = [h for h in away if "signature" in h]
    assert len(signed) > 0.8 * len(away)
    assert {verdicts[h["_id"]]["status"] for h in signed} == {"verified"}
    for handoff in away:
        if "signature" not in handoff:
            assert handoff["unsigned_reason"] in UNSIGNED_REASONS
            assert verdicts[handoff["_id"]]["status"] == "unsigned"

    # The history passkeys are revoked: the very same signatures no longer verify, for any author.
    store = IdentityStore(couch, settings)
    author = str(signed[0]["author"])
    credential = await store.get_credential(str(signed[0]["signature"]["credential_id"]))
    assert credential is not None and credential["label"] == LABEL and credential["revoked"] is True
    user = await store.get_user(author)
    assert user is not None
    principal = principal_from_user(user)
    assert principal is not None
    again, _ = await assess_handoffs(
        couch, settings.identity_db, [signed[0]], principal, origin=settings.origin, rp_id=settings.rp_id
    )
    assert again[0].status == "invalid" and "revoked" in str(again[0].reason)

    # Loaded once: a second call changes nothing.
    assert await load_demo(couch, settings) is False


async def test_a_load_cut_off_before_its_receipts_is_finished_by_the_next_one(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after writing the records: the next load judges them, then retires every key."""
    from devtools.demo import loader as demo_loader

    await ensure_databases(couch, settings)
    real_receipts = demo_loader._receipts

    async def dies(*args: object, **kwargs: object) -> int:
        raise ConnectionResetError("process killed")

    monkeypatch.setattr(demo_loader, "_receipts", dies)
    with pytest.raises(ConnectionResetError):
        await load_demo(couch, settings)
    monkeypatch.setattr(demo_loader, "_receipts", real_receipts)
    assert await load_demo(couch, settings) is True

    db = couch.db(settings.records_db)
    rows = await db.all_docs(startkey='"handoff:"', endkey='"handoff:\ufff0"', include_docs=True)
    signed = [row["doc"] for row in rows["rows"] if "signature" in row["doc"]]
    receipts = await couch.json(
        "POST",
        f"{couch.db(settings.receipts_db).path}/_all_docs",
        params={"include_docs": True},
        json={"keys": [f"receipt:{h['_id']}" for h in signed]},
    )
    assert [row["doc"]["signature"]["status"] for row in receipts["rows"]] == ["verified"] * len(signed)
    store = IdentityStore(couch, settings)
    history = [
        credential
        for author in {str(h["author"]) for h in signed}
        for credential in await store.credentials_of(author)
        if credential.get("label") == LABEL
    ]
    assert len(history) == 2 * len({str(h["author"]) for h in signed})  # one per author and load
    assert all(credential["revoked"] for credential in history)
