"""Rate limits on login and enrollment attempts, counted in CouchDB so every app instance shares them."""

from __future__ import annotations

import hashlib

from server.i18n import gettext as _
from server.identity.passkeys import Refusal
from server.identity.store import IdentityStore

#: action -> (attempts allowed, per window of seconds), per client address.
LIMITS: dict[str, tuple[int, int]] = {
    "login": (60, 300),  # options + verify = 2 per login: 30 sign-ins per 5 minutes from one address
    "enroll": (60, 900),  # page + options + verify = 3 per phone: a whole office can enroll together
}


async def check_rate(store: IdentityStore, action: str, client: str) -> Refusal | None:
    """Count one attempt; a Refusal (429) once the client went over the limit for this window."""
    allowed, window_s = LIMITS[action]
    # The address is hashed so the identity database holds no raw IP addresses.
    key = f"{action}:{hashlib.sha256(client.encode()).hexdigest()[:16]}"
    count = await store.count_attempt(key, window_s)
    if count <= allowed:
        return None
    minutes = max(1, window_s // 60)
    return Refusal(
        429,
        "too_many_requests",
        _("Terlalu banyak percobaan. Tunggu %(minutes)s menit lalu coba lagi.") % {"minutes": minutes},
        event="rate_limited",
    )
