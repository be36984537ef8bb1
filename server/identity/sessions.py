"""Session cookies: a signed random id in an HttpOnly cookie, the truth in a server-side record.

The cookie is signed (itsdangerous, with `settings.secret_key`) so a forged id is refused before any
database lookup; the record in the identity database decides every request (read through the instance's
principal cache, which the identity feed evicts: `server/identity/auth.py`), so logout and revocation take
effect on every instance within a second. Expiry slides: a session in use is extended, an idle one ends.

A second, short-lived "pre-login" cookie binds WebAuthn challenges to the browser that asked for them before
anyone is signed in.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from server.settings import Settings

SESSION_COOKIE = "segel_session"
PRELOGIN_COOKIE = "segel_prelogin"
PRELOGIN_MAX_AGE_S = 15 * 60


def _serializer(settings: Settings, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=f"segel-{purpose}")


def sign_session_id(settings: Settings, session_id: str) -> str:
    return str(_serializer(settings, "session").dumps(session_id))


def unsign_session_id(settings: Settings, cookie: str) -> str | None:
    try:
        value = _serializer(settings, "session").loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def session_id_of(request: Request, settings: Settings) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return unsign_session_id(settings, cookie) if cookie else None


#: The cookie outlives any session: the server-side record decides when a session ends (sliding expiry),
#: and the cookie cannot be refreshed from the authentication middleware, which has no response.
COOKIE_MAX_AGE_S = 30 * 24 * 3600


def set_session_cookie(response: Response, settings: Settings, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        sign_session_id(settings, session_id),
        max_age=max(COOKIE_MAX_AGE_S, settings.session_max_age_s),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )


def prelogin_id(request: Request, settings: Settings) -> str | None:
    cookie = request.cookies.get(PRELOGIN_COOKIE)
    if not cookie:
        return None
    try:
        value = _serializer(settings, "prelogin").loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def prelogin_binding(request: Request, settings: Settings) -> tuple[str, bool]:
    """The pre-login id of this browser and whether it is new (then `set_prelogin_cookie` must send it)."""
    existing = prelogin_id(request, settings)
    if existing:
        return existing, False
    return secrets.token_urlsafe(18), True


def set_prelogin_cookie(response: Response, settings: Settings, binding: str) -> None:
    response.set_cookie(
        PRELOGIN_COOKIE,
        str(_serializer(settings, "prelogin").dumps(binding)),
        max_age=PRELOGIN_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/auth/",
    )


def csrf_token(settings: Settings, binding: str) -> str:
    """A form token derived from the session (or pre-login) id: double-submit without extra storage."""
    return str(_serializer(settings, "csrf").dumps(binding))


def check_csrf_token(settings: Settings, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    try:
        value = _serializer(settings, "csrf").loads(token)
    except BadSignature:
        return False
    return isinstance(value, str) and hmac.compare_digest(value, binding)
