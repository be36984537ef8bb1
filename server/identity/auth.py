"""Turn a request's session cookie or device token into a Principal (or None: anonymous).

Cheap on purpose, because it runs on every request: a signed cookie is checked before any lookup, then the
session (or token) and its user come from this process's principal cache
(`server/identity/principal_cache.py`) when it holds them, and are read from the identity database
otherwise, together in one `_all_docs` request. The cache is evicted by the process's follower of the
identity database's `_changes` (`server/identity/follower.py`), so a revoked user or token, or an ended
session, is refused by every instance within a second (`tests/integration/test_instances.py` measures it);
while that follower cannot confirm it is current, the cache is empty and every request reads the database.
Expiry is still checked on every request, from the cached document.

To read a session and its user at once the user's id must be known before the session or token is read.
Which user a session or token belongs to never changes, so that one fact is remembered per app
(`SessionOwners`); the first read of a token (or in a process) reads the two one after the other.

Writes stay rare: the sliding expiry is written once a quarter of the session's lifetime has passed, a token's
last use once an hour, whatever the cache holds (both read from the document, cached or not).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from starlette.requests import Request

from records.principal import Principal
from records.types import JSONDict
from server.identity.audit import record_event
from server.identity.principal_cache import PrincipalCache
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
    lookup = _Lookup(store, request.app.state.session_owners, request.app.state.principal_cache)
    try:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return await _from_token(lookup, header[7:].strip())
        session_id = session_id_of(request, settings)
        if session_id:
            return await _from_session(lookup, session_id)
    except (CouchError, CouchUnavailable) as exc:
        # Identity unknown is anonymous: the handler then answers 401 and the PWA keeps its data offline.
        logger.warning("authentication lookup failed: %s", exc)
    return None


class _Lookup:
    """Where one request finds a session or token with its user: the cache, else the database."""

    def __init__(self, store: IdentityStore, owners: SessionOwners, cache: PrincipalCache) -> None:
        self.store = store
        self.owners = owners
        self.cache = cache

    async def with_user(self, doc_id: str) -> tuple[JSONDict | None, JSONDict | None]:
        """A session or token document and its user, as the database holds them now (or None)."""
        key = (self.store.db.name, doc_id)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        ticket = self.cache.ticket()  # before the read: an eviction during it voids what it read
        doc, user = await self._read(key)
        if doc is not None and user is not None:
            self.cache.put(key, doc, user, ticket)
        return doc, user

    async def _read(self, key: tuple[str, str]) -> tuple[JSONDict | None, JSONDict | None]:
        doc_id = key[1]
        owner = self.owners.get(key)
        keys = [doc_id, f"user:{owner}"] if owner else [doc_id]
        found = await IdentityDocs(self.store.db).with_users(keys)
        doc = found.get(doc_id)
        if doc is None:
            return None, None
        user_id = str(doc["user_id"])
        self.owners.remember(key, user_id)
        user = found.get(f"user:{user_id}") if owner == user_id else await self.store.get_user(user_id)
        return doc, user

    def wrote(self, doc_id: str) -> None:
        """This request rewrote the document: its cached copy (old revision) goes at once."""
        self.cache.forget((self.store.db.name, doc_id))


async def _from_session(lookup: _Lookup, session_id: str) -> Principal | None:
    store = lookup.store
    session, user = await lookup.with_user(f"session:{session_id}")
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
        lookup.wrote(str(session["_id"]))
    return principal


async def _from_token(lookup: _Lookup, token: str) -> Principal | None:
    if not token:
        return None
    store = lookup.store
    doc, user = await lookup.with_user(f"token:{sha256_hex(token)}")
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
        lookup.wrote(str(doc["_id"]))
        await record_event(
            store.couch,
            store.settings,
            "token_used",
            user_id=principal.user_id,
            office=principal.office,
            token_id=principal.token_id,
        )
    return principal
