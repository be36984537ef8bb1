"""Verification of passkey signatures on pushed handoffs: the one function the sync gateway calls.

A courier's phone signs a handoff offline by using the record's custody hash (records/custody.py) as the
WebAuthn challenge. Such a challenge is not random, so replay protection comes from the record itself: the
hash covers the record's id, the author's sequence number and the previous handoff's hash, so an assertion
can never be moved to another record, and a record hash already signed with another passkey is refused.
An exact re-push of the same record (a gateway retrying after a crash) verifies again: it is not a replay.

Counter rule for signatures (docs/security.md): 0 is accepted from a passkey that has only ever reported 0
(synced passkeys); any value above 0 may arrive out of order (offline phones push late) but never twice for
one credential with different records, and never 0 after the passkey has counted.

This module reads the identity database through `store.identity` and writes its audit entries through
`store.audit`, so `sync/` stays free of server code and of the identity database's document layout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from webauthn import verify_authentication_response
from webauthn.helpers.exceptions import WebAuthnException

from records.custody import CanonicalFormError, record_hash
from records.principal import Principal
from records.types import JSONDict
from store.audit import AuditLog
from store.couch import CouchClient, CouchConflict, CouchError, CouchUnavailable
from store.identity import IdentityDocs
from sync.verdicts import SignatureVerdict

logger = logging.getLogger(__name__)


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signature_counter_problem(stored_max: int, counter: int) -> str | None:
    """The part of the counter rule that needs no history: 0 after counting is a clone or a reset."""
    if counter == 0 and stored_max > 0:
        return (
            f"penghitung passkey kembali ke 0 setelah {stored_max}: kemungkinan passkey disalin "
            f"(counter back to 0 after {stored_max}: possible cloned passkey)"
        )
    return None


def _b64url_decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise _Invalid("tanda tangan tidak lengkap (signature field missing or not text)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _Invalid("tanda tangan rusak (signature field is not base64url)") from exc


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _legacy_audit_db(identity_db: str) -> str:
    """The audit database of a caller that still names only the identity database (the demo loader, until it
    passes `audit_db=Settings.audit_db`). Remove with the `identity_db` parameter of `write_audit_entries`."""
    return identity_db.removesuffix("_identity") + "_audit"


async def verify_handoff(
    couch: CouchClient,
    identity_db: str,
    record: Mapping[str, Any],
    principal: Principal,
    *,
    origin: str,
    rp_id: str,
    audit_db: str | None = None,
) -> SignatureVerdict:
    """Check the passkey signature of one pushed handoff (see the module docstring).

    Audited, unless the handoff is unsigned (no passkey was used)."""
    verdicts = await verify_handoffs(
        couch, identity_db, [record], principal, origin=origin, rp_id=rp_id, audit_db=audit_db
    )
    return verdicts[0]


async def verify_handoffs(
    couch: CouchClient,
    identity_db: str,
    records: Sequence[Mapping[str, Any]],
    principal: Principal,
    *,
    origin: str,
    rp_id: str,
    audit_db: str | None = None,
) -> list[SignatureVerdict]:
    """`verify_handoff` for a pushed batch: one verdict per record, in order, audited in one bulk write."""
    verdicts, entries = await assess_handoffs(
        couch, identity_db, records, principal, origin=origin, rp_id=rp_id
    )
    await write_audit_entries(couch, identity_db, entries, audit_db=audit_db)
    return verdicts


async def assess_handoffs(
    couch: CouchClient,
    identity_db: str,
    records: Sequence[Mapping[str, Any]],
    principal: Principal,
    *,
    origin: str,
    rp_id: str,
) -> tuple[list[SignatureVerdict], list[JSONDict]]:
    """Verdicts for a batch of handoffs and their audit entries, which the caller must write (with
    `write_audit_entries`) before it answers, so the gateway can write them beside the records.

    Unsigned handoffs need no database at all; signed ones read and write their replay and counter markers,
    a few at a time, since two handoffs of one batch may share a passkey.
    """
    db = IdentityDocs(couch.db(identity_db))
    limit = asyncio.Semaphore(8)

    async def one(record: Mapping[str, Any]) -> SignatureVerdict:
        signature = record.get("signature")
        credential_id = signature.get("credential_id") if isinstance(signature, dict) else None
        credential_id = str(credential_id) if credential_id else None
        try:
            if signature is None:
                reason = record.get("unsigned_reason")
                if not isinstance(reason, str) or not reason.strip():
                    raise _Invalid(
                        "tidak ditandatangani dan tanpa alasan (neither signature nor unsigned_reason)"
                    )
                return SignatureVerdict("unsigned", reason, None)
            async with limit:
                return await _verify_signed(db, record, principal, origin=origin, rp_id=rp_id)
        except _Invalid as exc:
            return SignatureVerdict("invalid", exc.reason, credential_id)

    verdicts = list(await asyncio.gather(*(one(record) for record in records)))
    # Audited: every use of a passkey, good or refused. An unsigned handoff used none: it is not an
    # identity event, and the gateway keeps its verdict and reason in the record's receipt (flagged for
    # staff), written in the same request as the record itself.
    entries = [
        _audit_entry(record, principal, verdict)
        for record, verdict in zip(records, verdicts, strict=True)
        if verdict.status != "unsigned"
    ]
    return verdicts, entries


async def _verify_signed(
    db: IdentityDocs, record: Mapping[str, Any], principal: Principal, *, origin: str, rp_id: str
) -> SignatureVerdict:
    signature = record["signature"]
    if not isinstance(signature, dict):
        raise _Invalid("tanda tangan rusak (signature must be an object)")
    credential_id = str(signature.get("credential_id") or "")
    _b64url_decode(credential_id)
    credential = await db.credential(credential_id) if credential_id else None
    if credential is None:
        raise _Invalid("passkey tidak terdaftar (unknown passkey)")
    owner = str(credential["user_id"])
    if owner != principal.user_id:
        raise _Invalid(
            f"ditandatangani dengan passkey milik pengguna lain (signed with another user's passkey, {owner})"
        )
    if record.get("author") != owner:
        raise _Invalid("penanda tangan bukan pembuat catatan (the signer is not the record's author)")
    if credential.get("revoked"):
        raise _Invalid("passkey sudah dicabut (passkey revoked)")
    try:
        digest = record_hash(record)
    except CanonicalFormError as exc:
        raise _Invalid(f"catatan tidak dapat dikanonikalkan ({exc})") from exc
    expected = bytes.fromhex(digest)
    client_data = _client_data(signature)
    if client_data.get("type") != "webauthn.get":
        raise _Invalid("jenis tanda tangan salah (clientDataJSON.type is not webauthn.get)")
    if client_data.get("challenge") != _b64url(expected):
        raise _Invalid("catatan diubah setelah ditandatangani (record altered after signing: hash differs)")
    if client_data.get("origin") != origin:
        raise _Invalid(f"asal tanda tangan salah (wrong origin {client_data.get('origin')!r})")
    authenticator_data = _b64url_decode(signature.get("authenticator_data"))
    if len(authenticator_data) < 37:
        raise _Invalid("data autentikator rusak (authenticator data too short)")
    if authenticator_data[:32] != hashlib.sha256(rp_id.encode()).digest():
        raise _Invalid("RP ID salah (wrong RP ID)")
    if not authenticator_data[32] & 0x04:
        raise _Invalid("pengguna tidak diverifikasi oleh passkey (user verification flag missing)")
    assertion = {
        "id": credential_id,
        "rawId": credential_id,
        "type": "public-key",
        "response": {
            "clientDataJSON": signature.get("client_data_json"),
            "authenticatorData": signature.get("authenticator_data"),
            "signature": signature.get("signature"),
            **({"userHandle": signature["user_handle"]} if signature.get("user_handle") else {}),
        },
        "clientExtensionResults": {},
    }
    try:
        verified = verify_authentication_response(
            credential=assertion,
            expected_challenge=expected,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=_b64url_decode(credential["public_key"]),
            credential_current_sign_count=0,  # the counter rule below replaces the library's
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise _Invalid(f"tanda tangan tidak sah ({exc})") from exc
    await _check_replay_and_counter(db, credential, record, digest, verified.new_sign_count)
    return SignatureVerdict("verified", None, credential_id)


def _client_data(signature: JSONDict) -> JSONDict:
    try:
        parsed = json.loads(_b64url_decode(signature.get("client_data_json")))
    except (ValueError, RecursionError) as exc:  # RecursionError: `[[[[…` deeper than the parser's stack
        raise _Invalid("clientDataJSON rusak (malformed clientDataJSON)") from exc
    if not isinstance(parsed, dict):
        raise _Invalid("clientDataJSON rusak (malformed clientDataJSON)")
    return parsed


async def _check_replay_and_counter(
    db: IdentityDocs, credential: JSONDict, record: Mapping[str, Any], digest: str, counter: int
) -> None:
    credential_id = str(credential["credential_id"])
    seen = await db.signed_marker(digest)
    if seen is not None:
        if seen.get("credential_id") == credential_id:
            return  # the same record pushed again (a retry): verified again, nothing new to record
        raise _Invalid("hash catatan ini sudah pernah ditandatangani (record hash seen before: replay)")
    problem = signature_counter_problem(int(credential.get("sign_count") or 0), counter)
    if problem:
        raise _Invalid(problem)
    if counter > 0:
        try:
            await db.add_counter_marker(credential_id, counter, {"record_hash": digest, "at": _now_iso()})
        except CouchConflict as exc:
            other = await db.counter_marker(credential_id, counter)
            if other is None or other.get("record_hash") != digest:
                raise _Invalid(
                    f"penghitung passkey {counter} sudah dipakai untuk catatan lain: "
                    "kemungkinan passkey disalin "
                    f"(counter {counter} seen twice: possible cloned passkey)"
                ) from exc
    try:
        await db.add_signed_marker(
            digest,
            {
                "credential_id": credential_id,
                "record_id": record.get("_id"),
                "counter": counter,
                "at": _now_iso(),
            },
        )
    except CouchConflict as exc:
        seen = await db.signed_marker(digest)
        if seen is None or seen.get("credential_id") != credential_id:
            raise _Invalid(
                "hash catatan ini sudah pernah ditandatangani (record hash seen before: replay)"
            ) from exc
    await _raise_counter(db, credential, counter)


async def _raise_counter(db: IdentityDocs, credential: JSONDict, counter: int) -> None:
    for _ in range(5):
        if int(credential.get("sign_count") or 0) >= counter:
            return
        credential["sign_count"] = counter
        try:
            await db.save_credential(credential)
            return
        except CouchConflict:
            fresh = await db.credential(str(credential["credential_id"]))
            if fresh is None:
                return
            credential = fresh


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _audit_entry(record: Mapping[str, Any], principal: Principal, verdict: SignatureVerdict) -> JSONDict:
    event = {"verified": "signature_verified", "invalid": "signature_refused"}
    moment = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}Z"
    if verdict.status == "invalid":
        logger.warning("handoff %s signature refused: %s", record.get("_id"), verdict.reason)
    return {
        "_id": f"audit:{stamp}:{secrets.token_hex(4)}",
        "type": "audit",
        "category": "identity",
        "event": event[verdict.status],
        "outcome": "refused" if verdict.status == "invalid" else "ok",
        "user_id": principal.user_id,
        "office": principal.office,
        "reason": verdict.reason,
        "record_id": record.get("_id"),
        "credential_id": verdict.credential_id,
        "at": stamp,
    }


async def write_audit_entries(
    couch: CouchClient, identity_db: str | None, entries: Sequence[JSONDict], *, audit_db: str | None = None
) -> None:
    """Append audit entries to `audit_db` (`Settings.audit_db`) in one `_bulk_docs`; a database hiccup is
    logged, never turned into a refusal. `identity_db` is only read when `audit_db` is not given (a caller
    not yet updated); pass `None` and `audit_db=`."""
    if not entries:
        return
    if audit_db is None:
        if identity_db is None:
            raise ValueError("write_audit_entries needs audit_db (Settings.audit_db)")
        audit_db = _legacy_audit_db(identity_db)
    try:
        result = await AuditLog(couch.db(audit_db)).append_many(entries)
    except (CouchError, CouchUnavailable) as exc:
        logger.error("%d signature audit entries not written: %s", len(entries), exc)
        return
    for row in result:
        if row.get("error"):
            logger.error("audit entry %s not written: %s", row.get("id"), row.get("error"))
