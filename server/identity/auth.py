"""Turn a request's session cookie or device token into a Principal (or None: anonymous).

Cheap on purpose, because it runs on every request: a signed cookie is checked before any lookup, then one
GET for the session (or token) and one for the user. Revocation is therefore immediate: a revoked user,
token or ended session is anonymous on the very next request.
"""

from __future__ import annotations

import hashlib
import logging

from starlette.requests import Request

from server.identity.audit import record_event
from server.identity.sessions import session_id_of
from server.identity.store import IdentityStore, now
from server.settings import Settings
from sync.couch import CouchClient, CouchError, CouchUnavailable
from sync.principal import Principal
from sync.types import JSONDict

logger = logging.getLogger(__name__)


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
    try:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return await _from_token(store, header[7:].strip())
        session_id = session_id_of(request, settings)
        if session_id:
            return await _from_session(store, session_id)
    except (CouchError, CouchUnavailable) as exc:
        # Identity unknown is anonymous: the handler then answers 401 and the PWA keeps its data offline.
        logger.warning("authentication lookup failed: %s", exc)
    return None


async def _from_session(store: IdentityStore, session_id: str) -> Principal | None:
    session = await store.get_session(session_id)
    if session is None or float(session.get("expires_at", 0)) < now():
        return None
    user = await store.get_user(str(session["user_id"]))
    if user is None:
        return None
    principal = principal_from_user(user, device_id=session.get("device_id"), session_id=session_id)
    if principal is None:
        return None
    # Slide the expiry once a quarter of the lifetime has passed: a write per request would cost too much.
    if float(session["expires_at"]) - now() < store.settings.session_max_age_s * 0.75:
        await store.extend_session(session)
    return principal


async def _from_token(store: IdentityStore, token: str) -> Principal | None:
    if not token:
        return None
    doc = await store.get_token(token)
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
    user = await store.get_user(str(doc["user_id"]))
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
