"""Passkey ceremonies: enrollment (registration) and login (authentication) with the `webauthn` package.

Challenges are random, single use, expire in minutes and are bound to the browser that asked for them (the
pre-login cookie); they live in CouchDB as `challenge:<challenge>` so any app instance can finish a ceremony
another one started. The challenge is found again from the browser's own clientDataJSON, so the client never
has to carry an extra id.

Every refusal is a `Refusal` with an HTTP status, a reason a person can act on (from the catalogue, in the
request's language), and the audit event to record; the routes turn it into a 4xx and an audit entry.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from records.types import JSONDict
from server.i18n import gettext as _
from server.identity.store import IdentityStore, iso, now
from store.couch import CouchConflict

CHALLENGE_TTL_S = 5 * 60
ENROLLMENT_TTL_S = 24 * 3600


class Refusal(Exception):
    """A ceremony step refused: `status`/`error`/`reason` for the client, `event` for the audit log."""

    def __init__(
        self,
        status: int,
        error: str,
        reason: str,
        *,
        event: str,
        user_id: str | None = None,
        credential_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.event = event
        self.user_id = user_id
        self.credential_id = credential_id


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def login_counter_problem(stored: int, new: int) -> str | None:
    """The counter rule for interactive login (see docs/security.md); None when the counter is acceptable.

    A passkey that reports 0 (synced passkeys do) is accepted while it has only ever reported 0. A counting
    passkey must report more than any value seen before for it, in logins and in signed records: an honest
    authenticator only counts up, so an equal or lower value means a copy of the key is in use.
    """
    if new == 0 and stored == 0:
        return None
    if new <= stored:
        return _(
            "Penghitung passkey mundur (%(new)s ≤ %(stored)s): kemungkinan passkey disalin; hubungi kantor."
        ) % {"new": new, "stored": stored}
    return None


# ---- challenges -----------------------------------------------------------------------------------


async def new_challenge(store: IdentityStore, purpose: str, binding: str, **extra: str | None) -> bytes:
    challenge = secrets.token_bytes(32)
    moment = now()
    await store.save_challenge(
        {
            "_id": f"challenge:{bytes_to_base64url(challenge)}",
            "type": "challenge",
            "purpose": purpose,
            "binding": binding,
            "created_at": iso(moment),
            "expires_at": moment + CHALLENGE_TTL_S,
            "used_at": None,
            **extra,
        }
    )
    return challenge


def _client_challenge(credential: JSONDict) -> str:
    try:
        client_data = json.loads(b64url_decode(str(credential["response"]["clientDataJSON"])))
        return str(client_data["challenge"])
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise Refusal(
            400,
            "bad_request",
            _("Jawaban passkey tidak lengkap; coba lagi."),
            event="challenge_refused",
        ) from exc


async def consume_challenge(
    store: IdentityStore, credential: JSONDict, purpose: str, binding: str | None
) -> tuple[JSONDict, bytes]:
    """The challenge this answer is for, marked used; refuses unknown, foreign, expired or reused ones."""
    challenge = _client_challenge(credential)
    doc = await store.get_challenge(challenge)
    if doc is None or doc.get("purpose") != purpose:
        raise Refusal(
            400,
            "bad_request",
            _("Tantangan tidak dikenal. Muat ulang halaman lalu coba lagi."),
            event="challenge_refused",
        )
    if not binding or doc.get("binding") != binding:
        raise Refusal(
            400,
            "bad_request",
            _("Tantangan ini milik sesi browser lain. Muat ulang halaman lalu coba lagi."),
            event="challenge_refused",
        )
    if float(doc["expires_at"]) < now():
        raise Refusal(
            400,
            "bad_request",
            _("Tantangan sudah kedaluwarsa. Muat ulang halaman lalu coba lagi."),
            event="challenge_refused",
        )
    if not await store.mark_used(doc):
        raise Refusal(
            400,
            "bad_request",
            _("Tantangan sudah dipakai (jawaban diputar ulang?). Muat ulang halaman lalu coba lagi."),
            event="challenge_refused",
        )
    return doc, b64url_decode(challenge)


# ---- enrollment -----------------------------------------------------------------------------------


async def usable_enrollment(store: IdentityStore, token: str) -> tuple[JSONDict, JSONDict]:
    """The enrollment link document and its user, or a Refusal saying why the link cannot be used."""
    link = await store.get_enrollment(token) if token else None
    if link is None:
        raise Refusal(
            404,
            "not_found",
            _("Tautan pendaftaran tidak dikenal. Minta tautan baru ke petugas kantor."),
            event="enroll_refused",
        )
    user_id = str(link["user_id"])
    if link.get("used_at"):
        raise Refusal(
            410,
            "gone",
            _("Tautan pendaftaran sudah dipakai. Minta tautan baru ke petugas kantor."),
            event="enroll_refused",
            user_id=user_id,
        )
    if float(link["expires_at"]) < now():
        raise Refusal(
            410,
            "gone",
            _("Tautan pendaftaran sudah kedaluwarsa. Minta tautan baru ke petugas kantor."),
            event="enroll_refused",
            user_id=user_id,
        )
    user = await store.get_user(user_id)
    if user is None or user.get("revoked"):
        raise Refusal(
            403,
            "forbidden",
            _("Akun ini dinonaktifkan; hubungi petugas kantor."),
            event="enroll_refused",
            user_id=user_id,
        )
    return link, user


async def registration_options(store: IdentityStore, token: str, binding: str) -> JSONDict:
    link, user = await usable_enrollment(store, token)
    existing = [c for c in await store.credentials_of(str(user["user_id"])) if not c.get("revoked")]
    challenge = await new_challenge(
        store, "enroll", binding, user_id=str(user["user_id"]), enroll=str(link["_id"])
    )
    settings = store.settings
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name=settings.rp_name,
        user_name=str(user["user_id"]),
        user_display_name=str(user.get("name") or user["user_id"]),
        user_id=b64url_decode(str(user["user_handle"])),
        challenge=challenge,
        timeout=120000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=b64url_decode(c["credential_id"])) for c in existing
        ],
    )
    loaded: JSONDict = json.loads(options_to_json(options))
    return loaded


@dataclass(frozen=True)
class Enrolled:
    user: JSONDict
    credential: JSONDict


async def finish_registration(
    store: IdentityStore, token: str, credential: JSONDict, binding: str | None, label: str = ""
) -> Enrolled:
    """Enroll the phone's new passkey with a valid link: challenge, attestation, unique, then saved."""
    link, user = await usable_enrollment(store, token)
    user_id = str(user["user_id"])
    challenge = await _enrollment_challenge(store, credential, binding, link, user_id)
    verified = _verified_registration(store, credential, challenge, user_id)
    credential_id = bytes_to_base64url(verified.credential_id)
    await _refuse_known_credential(store, credential_id, user_id)
    doc = await _save_then_use_link(
        store, link, user_id, _credential_doc(credential, verified, link, user_id, label)
    )
    return Enrolled(user=user, credential=doc)


async def _enrollment_challenge(
    store: IdentityStore, credential: JSONDict, binding: str | None, link: JSONDict, user_id: str
) -> bytes:
    """Consume the enrollment challenge, which must have been issued for this very link."""
    challenge_doc, challenge = await consume_challenge(store, credential, "enroll", binding)
    if challenge_doc.get("enroll") != link["_id"]:
        raise Refusal(
            400,
            "bad_request",
            _("Tantangan ini untuk tautan lain. Buka lagi tautan pendaftaran Anda lalu coba lagi."),
            event="enroll_refused",
            user_id=user_id,
        )
    return challenge


def _verified_registration(
    store: IdentityStore, credential: JSONDict, challenge: bytes, user_id: str
) -> VerifiedRegistration:
    try:
        return verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=store.settings.rp_id,
            expected_origin=store.settings.origin,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise Refusal(
            400,
            "bad_request",
            _("Passkey tidak dapat diverifikasi (%(reason)s); coba lagi.") % {"reason": exc},
            event="enroll_refused",
            user_id=user_id,
        ) from exc


async def _refuse_known_credential(store: IdentityStore, credential_id: str, user_id: str) -> None:
    if await store.get_credential(credential_id) is not None:
        raise Refusal(
            409,
            "conflict",
            _("Passkey ini sudah terdaftar; masuk dengan passkey ini."),
            event="enroll_refused",
            user_id=user_id,
            credential_id=credential_id,
        )


def _credential_doc(
    credential: JSONDict, verified: VerifiedRegistration, link: JSONDict, user_id: str, label: str
) -> JSONDict:
    """The `credential:` document of a verified passkey, as the identity database keeps it."""
    credential_id = bytes_to_base64url(verified.credential_id)
    return {
        "_id": f"credential:{credential_id}",
        "type": "credential",
        "credential_id": credential_id,
        "user_id": user_id,
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "device_type": str(verified.credential_device_type.value),
        "backed_up": verified.credential_backed_up,
        "transports": list(credential.get("response", {}).get("transports") or []),
        "label": label[:60],
        "enrolled_with": str(link["_id"]).removeprefix("enroll:")[:12],
        "created_at": iso(now()),
        "last_used_at": None,
        "revoked": False,
    }


async def _save_then_use_link(
    store: IdentityStore, link: JSONDict, user_id: str, credential: JSONDict
) -> JSONDict:
    """Save the passkey first, then consume the link: if two phones race for one link, the loser's passkey
    is removed again, and a crash in between leaves a usable link rather than a lost enrollment."""
    doc = await store.save_credential(credential)
    if not await store.mark_used(link):
        await store.db.delete(str(doc["_id"]), str(doc["_rev"]))
        raise Refusal(
            410,
            "gone",
            _("Tautan pendaftaran sudah dipakai. Minta tautan baru ke petugas kantor."),
            event="enroll_refused",
            user_id=user_id,
        )
    return doc


# ---- login ----------------------------------------------------------------------------------------


async def login_options(store: IdentityStore, binding: str) -> JSONDict:
    """Options for a discoverable-credential login: the phone offers its Segel passkeys, no name typed."""
    challenge = await new_challenge(store, "login", binding)
    options = generate_authentication_options(
        rp_id=store.settings.rp_id,
        challenge=challenge,
        timeout=120000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    loaded: JSONDict = json.loads(options_to_json(options))
    return loaded


async def finish_login(store: IdentityStore, credential: JSONDict, binding: str | None) -> Enrolled:
    """Sign in with a passkey: a known, live credential of an active user, verified, counter checked."""
    _, challenge = await consume_challenge(store, credential, "login", binding)
    credential_id = str(credential.get("id") or "")
    doc = await _live_credential(store, credential_id)
    user_id = str(doc["user_id"])
    user = await _active_user(store, user_id, credential_id)
    verified = _verified_login(store, credential, challenge, doc, user_id, credential_id)
    _check_login_answer(credential, user, doc, credential_id, verified.new_sign_count)
    doc = await record_counter(store, doc, verified.new_sign_count, "login")
    return Enrolled(user=user, credential=doc)


def _login_refusal(message: str, user_id: str, credential_id: str, event: str = "login_failed") -> Refusal:
    return Refusal(401, "unauthorized", message, event=event, user_id=user_id, credential_id=credential_id)


async def _live_credential(store: IdentityStore, credential_id: str) -> JSONDict:
    """The stored passkey offered at login, unless unknown or revoked."""
    doc = await store.get_credential(credential_id) if credential_id else None
    if doc is None:
        raise Refusal(
            401,
            "unauthorized",
            _("Passkey ini tidak terdaftar di Segel; daftar dulu dengan tautan dari petugas kantor."),
            event="login_failed",
            credential_id=credential_id[:16] or None,
        )
    if doc.get("revoked"):
        raise _login_refusal(
            _("Passkey ini sudah dicabut; minta tautan pendaftaran baru."),
            str(doc["user_id"]),
            credential_id,
        )
    return doc


async def _active_user(store: IdentityStore, user_id: str, credential_id: str) -> JSONDict:
    user = await store.get_user(user_id)
    if user is None or user.get("revoked"):
        raise _login_refusal(_("Akun ini dinonaktifkan; hubungi petugas kantor."), user_id, credential_id)
    return user


def _verified_login(
    store: IdentityStore,
    credential: JSONDict,
    challenge: bytes,
    doc: JSONDict,
    user_id: str,
    credential_id: str,
) -> VerifiedAuthentication:
    try:
        return verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=store.settings.rp_id,
            expected_origin=store.settings.origin,
            credential_public_key=b64url_decode(str(doc["public_key"])),
            credential_current_sign_count=0,  # our own counter rule below replaces the library's
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise _login_refusal(
            _("Passkey tidak dapat diverifikasi (%(reason)s); coba lagi.") % {"reason": exc},
            user_id,
            credential_id,
        ) from exc


def _check_login_answer(
    credential: JSONDict, user: JSONDict, doc: JSONDict, credential_id: str, new_sign_count: int
) -> None:
    """The authenticator answered for this user, and its counter did not go back (a cloned passkey)."""
    user_id = str(doc["user_id"])
    handle = credential.get("response", {}).get("userHandle")
    if handle and handle != user.get("user_handle"):
        raise _login_refusal(
            _("Passkey tidak cocok dengan akunnya; minta tautan pendaftaran baru."), user_id, credential_id
        )
    problem = login_counter_problem(int(doc.get("sign_count") or 0), new_sign_count)
    if problem:
        raise _login_refusal(problem, user_id, credential_id, event="counter_refused")


async def record_counter(store: IdentityStore, doc: JSONDict, counter: int, what: str) -> JSONDict:
    """Keep the highest counter seen, and remember this value so a clone repeating it is noticed."""
    if counter > 0:
        try:
            await store.db.put(
                {
                    "_id": f"sigcount:{doc['credential_id']}:{counter}",
                    "type": "sigcount",
                    "record_hash": what,
                    "at": iso(now()),
                }
            )
        except CouchConflict as exc:
            raise Refusal(
                401,
                "unauthorized",
                _(
                    "Penghitung passkey %(counter)s sudah pernah dipakai: kemungkinan passkey disalin; "
                    "hubungi kantor."
                )
                % {"counter": counter},
                event="counter_refused",
                user_id=str(doc["user_id"]),
                credential_id=str(doc["credential_id"]),
            ) from exc
    for _attempt in range(5):
        doc["sign_count"] = max(int(doc.get("sign_count") or 0), counter)
        doc["last_used_at"] = iso(now())
        try:
            doc["_rev"] = await store.db.put(doc)
            return doc
        except CouchConflict:
            fresh = await store.get_credential(str(doc["credential_id"]))
            if fresh is None:
                return doc
            doc = fresh
    return doc
