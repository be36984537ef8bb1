"""Turn a request's session cookie or device token into a Principal (or None: anonymous).

Cheap on purpose, because it runs on every request: a signed cookie is checked before any lookup, then the
session (or token) and its user are read together in one `_all_docs` request. Revocation is therefore
immediate: a revoked user, token or ended session is anonymous on the very next request.

To read both at once the user's id must be known before the session or token is read. Which user a session
or token belongs to never changes, so that one fact is remembered per app (`SessionOwners`, made once by
`create_app` and kept on `app.state`); whether the session, token and user are still valid is never
remembered. The first request of a token (or a process)
reads the two one after the other.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from starlette.requests import Request

from records.principal import Principal
from records.types import JSONDict
from server.identity.audit import record_event
from server.identity.sessions import session_id_of
from server.identity.store import IdentityStore, now, sha256_hex
from server.settings import Settings
from store.couch import CouchClient, CouchError, CouchUnavailable
from store.identity import IdentityDocs

logger = logging.getLogger(__name__)

MAX_REMEMBERED_OWNERS = 10_000


class SessionOwners:
    """Which user a session or token document belongs to (never changes), the newest `limit` remembered."""

    def __init__(self, limit: int = MAX_REMEMBERED_OWNERS) -> None:
        #: (identity database, session or token document id) -> its user id, newest last.
        self._owners: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.limit = limit

    def get(self, key: tuple[str, str]) -> str | None:
        return self._owners.get(key)

    def remember(self, key: tuple[str, str], user_id: str) -> None:
        self._owners[key] = user_id
        self._owners.move_to_end(key)
        while len(self._owners) > self.limit:
            self._owners.popitem(last=False)


def device_id_for_credential(credential_id: str) -> str:
    """A stable, short device id for a passkey (one phone), so re-logins keep the same checkpoints."""
    return "passkey-" + hashlib.sha256(credential_id.encode()).hexdigest()[:16]


def principal_from_user(
    user: JSONDict,
    *,
    device_id: str | None = None,
    session_id: str | None = None,
    token_id: str | None = None,
) -> Principal | None:
    if user.get("revoked"):
        return None
    return Principal(
        user_id=str(user["user_id"]),
        role=user["role"],
        office=user.get("office"),
        name=str(user.get("name") or ""),
        partner=user.get("partner"),
        van=user.get("van"),
        device_id=device_id,
        session_id=session_id,
        token_id=token_id,
    )


async def authenticate(request: Request) -> Principal | None:
    """The principal of a valid session cookie or `Authorization: Bearer <device token>`, else None."""
    settings: Settings = request.app.state.settings
    couch: CouchClient = request.app.state.couch
    store = IdentityStore(couch, settings)
    owners: SessionOwners = request.app.state.session_owners
    try:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return await _from_token(store, owners, header[7:].strip())
        session_id = session_id_of(request, settings)
        if session_id:
            return await _from_session(store, owners, session_id)
    except (CouchError, CouchUnavailable) as exc:
        # Identity unknown is anonymous: the handler then answers 401 and the PWA keeps its data offline.
        logger.warning("authentication lookup failed: %s", exc)
    return None


async def _with_user(
    store: IdentityStore, owners: SessionOwners, doc_id: str
) -> tuple[JSONDict | None, JSONDict | None]:
    """A session or token document and its user, both as the database holds them now (or None)."""
    key = (store.db.name, doc_id)
    owner = owners.get(key)
    keys = [doc_id, f"user:{owner}"] if owner else [doc_id]
    found = await IdentityDocs(store.db).with_users(keys)
    doc = found.get(doc_id)
    if doc is None:
        return None, None
    user_id = str(doc["user_id"])
    owners.remember(key, user_id)
    user = found.get(f"user:{user_id}") if owner == user_id else await store.get_user(user_id)
    return doc, user


async def _from_session(store: IdentityStore, owners: SessionOwners, session_id: str) -> Principal | None:
    session, user = await _with_user(store, owners, f"session:{session_id}")
    if session is None or float(session.get("expires_at", 0)) < now():
        return None
    if user is None:
        return None
    principal = principal_from_user(user, device_id=session.get("device_id"), session_id=session_id)
    if principal is None:
        return None
    # Slide the expiry once a quarter of the lifetime has passed: a write per request would cost too much.
    if float(session["expires_at"]) - now() < store.settings.session_max_age_s * 0.75:
        await store.extend_session(session)
    return principal


async def _from_token(store: IdentityStore, owners: SessionOwners, token: str) -> Principal | None:
    if not token:
        return None
    doc, user = await _with_user(store, owners, f"token:{sha256_hex(token)}")
    if doc is None or doc.get("revoked"):
        if doc is not None:
            await record_event(
                store.couch,
                store.settings,
                "token_refused",
                user_id=doc.get("user_id"),
                outcome="refused",
                reason="token revoked",
                token_id=doc.get("token_id"),
            )
        return None
    if user is None:
        return None
    principal = principal_from_user(user, device_id=f"token-{doc['token_id']}", token_id=str(doc["token_id"]))
    if principal is not None and await store.mark_token_used(doc):
        await record_event(
            store.couch,
            store.settings,
            "token_used",
            user_id=principal.user_id,
            office=principal.office,
            token_id=principal.token_id,
        )
    return principal
