"""Identity documents in CouchDB: offices, users, sessions, device tokens, passkeys, challenges, links.

Everything lives in `settings.identity_db`, a database the sync gateway never exposes, so that several app
instances share one truth and nothing lives only in process memory (the principal cache of
`server/identity/principal_cache.py` is a copy that the database's changes evict). Secrets never reach the
database in the clear: device tokens and enrollment-link tokens are stored only as their SHA-256, so a copy
of the database cannot be used to sign in.

Document ids say what a document is, so a lookup is one GET:
`office:<code>`, `user:<user_id>`, `session:<random>`, `token:<sha256 of token>`,
`credential:<base64url id>`, `challenge:<random>`, `ratelimit:<key>:<window>`, `enroll:<sha256 of token>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass

from records.principal import ROLES
from records.types import JSONDict
from server.identity.principal_cache import STALE_AFTER_S
from server.local_time import office_zone, valid_zone, zone_for_code
from server.ratelimit import count_hit
from server.settings import Settings
from store.couch import CouchClient, CouchConflict, Database
from store.identity import IdentityDocs

#: How long a revocation waits after its write before it reports done. Every instance's principal cache
#: either has the change from its identity follower by then (milliseconds on a live feed) or has heard
#: nothing for that long and stopped trusting itself, so the request after "revoked" is refused everywhere:
#: revocation holds on the very next request, not just within a second.
REVOCATION_SETTLE_S = STALE_AFTER_S + 0.2

USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
OFFICE_CODE = re.compile(r"^[0-9]{4}$")
PARTNER = re.compile(r"^[a-z0-9_]{2,32}$")
VAN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

#: A device token's public id: the first characters of its hash, enough to name it in a CLI or a log.
TOKEN_ID_LENGTH = 16


class IdentityError(ValueError):
    """A request to the store that cannot be honoured; the message says what to change."""


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def now() -> float:
    return time.time()


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


@dataclass(frozen=True)
class IssuedToken:
    """A device token as shown once to whoever issued it; only `token_id` and the hash are kept."""

    token: str
    token_id: str


class IdentityStore:
    """Thin, typed access to the identity database; every method is one or two CouchDB requests."""

    def __init__(self, couch: CouchClient, settings: Settings) -> None:
        self.couch = couch
        self.settings = settings
        self.db: Database = couch.db(settings.identity_db)

    # ---- offices ----------------------------------------------------------------------------------

    async def create_office(self, code: str, name: str, timezone: str | None = None) -> tuple[JSONDict, bool]:
        """Create an office (or return the existing one unchanged); True when this call created it.

        `timezone` (an IANA name) is the zone its pages show times in; by default its province's (6471
        Balikpapan: Asia/Makassar, WITA), see server/local_time.py.
        """
        if not OFFICE_CODE.match(code):
            raise IdentityError(f"Office code must be 4 digits, e.g. 6471 (got {code!r}).")
        if not name.strip():
            raise IdentityError("Give the office a name, e.g. 'Disdukcapil Kota Balikpapan'.")
        zone = timezone or zone_for_code(code)
        if not valid_zone(zone):
            raise IdentityError(f"Time zone must be an IANA name, e.g. Asia/Makassar (got {zone!r}).")
        existing = await self.db.get_or_none(f"office:{code}")
        if existing is not None:
            return existing, False
        doc: JSONDict = {
            "_id": f"office:{code}",
            "type": "office",
            "code": code,
            "name": name.strip(),
            "timezone": zone,
            "created_at": iso(now()),
        }
        try:
            doc["_rev"] = await self.db.put(doc)
        except CouchConflict:
            return await self.db.get(f"office:{code}"), False
        return doc, True

    async def get_office(self, code: str) -> JSONDict | None:
        return await self.db.get_or_none(f"office:{code}")

    async def office_zone(self, code: str) -> str:
        """The IANA zone of an office's times: its record's `timezone`, else its province's."""
        return office_zone(await self.get_office(code), code)

    # ---- users ------------------------------------------------------------------------------------

    async def create_user(
        self,
        user_id: str,
        role: str,
        *,
        office: str | None,
        name: str | None = None,
        partner: str | None = None,
        van: str | None = None,
        phone: str | None = None,
    ) -> tuple[JSONDict, bool]:
        """Create a user (idempotent for the same id); True when this call created it.

        Staff, couriers and van operators belong to exactly one office that must exist; couriers name their
        delivery partner and van operators their van. Admins act for the whole deployment. `phone` is how the
        office reaches the person (shown on the office's users page only).
        """
        if not USER_ID.match(user_id):
            raise IdentityError(
                f"User id {user_id!r} must be 3-64 lowercase letters, digits, '.', '_' or '-' "
                "(e.g. gojek.andi)."
            )
        if role not in ROLES:
            raise IdentityError(f"Role must be one of {', '.join(ROLES)} (got {role!r}).")
        if role != "admin":
            if office is None:
                raise IdentityError(f"A {role} belongs to one office: give --office <code>.")
            if await self.get_office(office) is None:
                raise IdentityError(f"Office {office!r} does not exist: create it first (create-office).")
        if role == "courier" and not (partner and PARTNER.match(partner)):
            raise IdentityError("A courier needs a delivery partner: --partner gojek|grab|pos_indonesia|…")
        if role == "van_operator" and not (van and VAN.match(van)):
            raise IdentityError("A van operator needs a van id: --van van-balikpapan-1.")
        existing = await self.get_user(user_id)
        if existing is not None:
            return existing, False
        doc: JSONDict = {
            "_id": f"user:{user_id}",
            "type": "user",
            "user_id": user_id,
            "name": (name or user_id).strip(),
            "role": role,
            "office": office,
            "partner": partner if role == "courier" else None,
            "van": van if role == "van_operator" else None,
            **({"phone": phone} if phone else {}),
            # The WebAuthn user handle: random, never the user id, so an authenticator reveals nothing.
            "user_handle": secrets.token_urlsafe(32),
            "revoked": False,
            "created_at": iso(now()),
        }
        try:
            doc["_rev"] = await self.db.put(doc)
        except CouchConflict:
            return await self.db.get(f"user:{user_id}"), False
        return doc, True

    async def get_user(self, user_id: str) -> JSONDict | None:
        return await self.db.get_or_none(f"user:{user_id}")

    async def revoke_user(self, user_id: str) -> bool:
        """Mark a user revoked: every session and token of theirs stops working on every instance. Returns
        only after `REVOCATION_SETTLE_S`, when every instance's principal cache has dropped them."""
        doc = await self.get_user(user_id)
        if doc is None:
            raise IdentityError(f"No user {user_id!r}.")
        if doc.get("revoked"):
            return False
        doc["revoked"] = True
        doc["revoked_at"] = iso(now())
        await self.db.put(doc)
        await asyncio.sleep(REVOCATION_SETTLE_S)
        return True

    async def users_of_office(self, office: str) -> list[JSONDict]:
        result = await self.db.all_docs(startkey='"user:"', endkey='"user:\ufff0"', include_docs=True)
        return [row["doc"] for row in result["rows"] if row["doc"].get("office") == office]

    # ---- sessions ---------------------------------------------------------------------------------

    async def create_session(
        self, user_id: str, *, device_id: str | None = None, credential_id: str | None = None
    ) -> JSONDict:
        """Open a server-side session; the cookie only carries its signed random id."""
        moment = now()
        doc: JSONDict = {
            "_id": f"session:{secrets.token_urlsafe(24)}",
            "type": "session",
            "user_id": user_id,
            "device_id": device_id,
            "credential_id": credential_id,
            "created_at": iso(moment),
            "expires_at": moment + self.settings.session_max_age_s,
        }
        doc["_rev"] = await self.db.put(doc)
        return doc

    async def get_session(self, session_id: str) -> JSONDict | None:
        return await self.db.get_or_none(f"session:{session_id}")

    async def extend_session(self, session: JSONDict) -> None:
        """Slide the expiry forward; a conflict means another request just did the same, which is fine."""
        session["expires_at"] = now() + self.settings.session_max_age_s
        with contextlib.suppress(CouchConflict):
            session["_rev"] = await self.db.put(session)

    async def end_session(self, session_id: str) -> bool:
        doc = await self.get_session(session_id)
        if doc is None:
            return False
        try:
            await self.db.delete(str(doc["_id"]), str(doc["_rev"]))
        except CouchConflict:
            fresh = await self.get_session(session_id)
            if fresh is not None:
                await self.db.delete(str(fresh["_id"]), str(fresh["_rev"]))
        return True

    # ---- device tokens ----------------------------------------------------------------------------

    async def issue_token(self, user_id: str, label: str) -> IssuedToken:
        """Create a device token for a machine client; the plain token is returned once and never stored."""
        user = await self.get_user(user_id)
        if user is None or user.get("revoked"):
            raise IdentityError(f"No active user {user_id!r}: create the user first.")
        token = "sgl_" + secrets.token_urlsafe(32)
        digest = sha256_hex(token)
        doc: JSONDict = {
            "_id": f"token:{digest}",
            "type": "token",
            "token_id": digest[:TOKEN_ID_LENGTH],
            "user_id": user_id,
            "label": label,
            "revoked": False,
            "created_at": iso(now()),
            "last_used_at": None,
        }
        await self.db.put(doc)
        return IssuedToken(token=token, token_id=digest[:TOKEN_ID_LENGTH])

    async def get_token(self, token: str) -> JSONDict | None:
        return await self.db.get_or_none(f"token:{sha256_hex(token)}")

    async def find_token(self, token_id: str) -> JSONDict | None:
        """A token by its public id (the first hex digits of its hash)."""
        if not re.fullmatch(f"[0-9a-f]{{{TOKEN_ID_LENGTH}}}", token_id):
            raise IdentityError(f"A token id is {TOKEN_ID_LENGTH} hex digits, as printed by issue-token.")
        result = await self.db.all_docs(
            startkey=f'"token:{token_id}"', endkey=f'"token:{token_id}\ufff0"', include_docs=True
        )
        rows = result["rows"]
        return rows[0]["doc"] if rows else None

    async def revoke_token(self, token_id: str) -> JSONDict:
        doc = await self.find_token(token_id)
        if doc is None:
            raise IdentityError(f"No device token {token_id!r}.")
        if not doc.get("revoked"):
            doc["revoked"] = True
            doc["revoked_at"] = iso(now())
            await self.db.put(doc)
            await asyncio.sleep(REVOCATION_SETTLE_S)
        return doc

    async def mark_token_used(self, doc: JSONDict) -> bool:
        """Note when a token was last used, at most once an hour (a write per request would cost too much)."""
        last = doc.get("last_used_epoch") or 0
        if now() - float(last) < 3600:
            return False
        doc["last_used_epoch"] = now()
        doc["last_used_at"] = iso(now())
        try:
            doc["_rev"] = await self.db.put(doc)
        except CouchConflict:
            return False
        return True

    # ---- passkeys (WebAuthn credentials) ----------------------------------------------------------

    async def credentials_of(self, user_id: str) -> list[JSONDict]:
        """Every passkey of a user (revoked ones included, flagged), via the identity view."""
        return await IdentityDocs(self.db).credentials(user_id)

    async def get_credential(self, credential_id: str) -> JSONDict | None:
        return await IdentityDocs(self.db).credential(credential_id)

    async def save_credential(self, doc: JSONDict) -> JSONDict:
        doc["_rev"] = await self.db.put(doc)
        return doc

    async def revoke_credential(self, credential_id: str) -> JSONDict:
        doc = await self.get_credential(credential_id)
        if doc is None:
            raise IdentityError(f"No passkey {credential_id!r}: list them with `segel list-passkeys <user>`.")
        if not doc.get("revoked"):
            doc["revoked"] = True
            doc["revoked_at"] = iso(now())
            await self.db.put(doc)
        return doc

    # ---- challenges -------------------------------------------------------------------------------

    async def save_challenge(self, doc: JSONDict) -> None:
        await self.db.put(doc)

    async def get_challenge(self, challenge: str) -> JSONDict | None:
        return await self.db.get_or_none(f"challenge:{challenge}")

    async def mark_used(self, doc: JSONDict) -> bool:
        """Mark a single-use document used; False when another request used it first (or it was used)."""
        if doc.get("used_at"):
            return False
        doc["used_at"] = iso(now())
        try:
            doc["_rev"] = await self.db.put(doc)
        except CouchConflict:
            return False
        return True

    # ---- enrollment links -------------------------------------------------------------------------

    async def create_enrollment(self, user_id: str, *, created_by: str, ttl_s: int) -> str:
        """A one-time enrollment link token for `user_id`; only its hash is stored."""
        user = await self.get_user(user_id)
        if user is None or user.get("revoked"):
            raise IdentityError(f"No active user {user_id!r}: create the user first (create-user).")
        token = secrets.token_urlsafe(32)
        moment = now()
        await self.db.put(
            {
                "_id": f"enroll:{sha256_hex(token)}",
                "type": "enroll",
                "user_id": user_id,
                "created_by": created_by,
                "created_at": iso(moment),
                "expires_at": moment + ttl_s,
                "used_at": None,
            }
        )
        return token

    async def get_enrollment(self, token: str) -> JSONDict | None:
        return await self.db.get_or_none(f"enroll:{sha256_hex(token)}")

    # ---- rate limits ------------------------------------------------------------------------------

    async def count_attempt(self, key: str, window_s: int) -> int:
        """Count one attempt for `key` in the current time window; returns the count including this one.

        One document per key and window (`server.ratelimit`), updated with CouchDB's revision check, so
        every app instance counts into the same number.
        """
        return await count_hit(self.db, key, window_s, at=now(), attempts=8)

    # ---- housekeeping ----------------------------------------------------------------------------------

    async def purge_expired(self, *, grace_s: int = 24 * 3600) -> int:
        """Delete challenges, sessions and rate-limit windows that expired more than `grace_s` ago.

        They are worthless once expired, and keeping them forever would only grow the database. Used
        `sigcount:`/`signed:` documents are kept: they are what detects a cloned passkey or a replay.
        """
        cutoff = now() - grace_s
        deleted = 0
        for prefix in ("challenge:", "session:", "ratelimit:"):
            result = await self.db.all_docs(
                startkey=json.dumps(prefix), endkey=json.dumps(prefix + "\ufff0"), include_docs=True
            )
            stale = [
                {"_id": row["id"], "_rev": row["doc"]["_rev"], "_deleted": True}
                for row in result["rows"]
                if float(row["doc"].get("expires_at") or 0) < cutoff
            ]
            for start in range(0, len(stale), 500):
                answers = await self.db.bulk_docs(stale[start : start + 500])
                deleted += sum(1 for answer in answers if "error" not in answer)
        return deleted
