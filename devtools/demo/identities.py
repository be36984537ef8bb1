"""Demo identities for `scripts/run`: the demo office and users exist, and a fresh link lets people in.

Called by devtools/devrun.py after the demo records are loaded. Idempotent: users that exist are left as they
are (a second run never duplicates anyone or touches their passkeys); only new one-time enrollment links
are made on each run, because a link is how a person gets a passkey on first run.
"""

from __future__ import annotations

from devtools.demo.office import demo_people
from records.types import JSONDict
from server.identity.audit import record_event
from server.identity.enrollment import enrollment_url
from server.identity.passkeys import ENROLLMENT_TTL_S
from server.identity.store import IdentityStore
from server.settings import Settings
from store.couch import CouchClient

#: Whose links are printed: one of each kind of person who logs in.
HINT_ROLES = ("courier", "staff", "van_operator")


async def ensure_demo_identities(couch: CouchClient, settings: Settings) -> list[JSONDict]:
    """Create the demo office and users unless they exist; returns the users as stored."""
    demo = demo_people()
    store = IdentityStore(couch, settings)
    office, created = await store.create_office(
        demo.office["code"], demo.office["name"], demo.office.get("timezone")
    )
    if created:
        await record_event(couch, settings, "office_created", office=office["code"], actor="demo")
    users = []
    for spec in demo.users:
        user, created = await store.create_user(
            str(spec["id"]),
            str(spec["role"]),
            office=spec.get("office"),
            name=spec.get("name"),
            partner=spec.get("partner"),
            van=spec.get("van"),
        )
        if created:
            await record_event(
                couch,
                settings,
                "user_created",
                user_id=user["user_id"],
                office=user.get("office"),
                actor="demo",
            )
        users.append(user)
    return users


async def demo_login_hint(couch: CouchClient, settings: Settings) -> str:
    """Start-up banner text: a fresh enrollment link for a courier, a staff member and a van operator."""
    users = await ensure_demo_identities(couch, settings)
    store = IdentityStore(couch, settings)
    lines = [
        "  Masuk dengan passkey: buka salah satu tautan sekali pakai ini (berlaku 24 jam) di browser dengan",
        "  passkey, daftarkan passkey, lalu masuk di /auth/login. (One-time enrollment links; then sign in.)",
    ]
    for role in HINT_ROLES:
        user = next((u for u in users if u["role"] == role and not u.get("revoked")), None)
        if user is None:
            continue
        token = await store.create_enrollment(str(user["user_id"]), created_by="demo", ttl_s=ENROLLMENT_TTL_S)
        lines.append(f"    {role:13} {user['name']} ({user['user_id']}):")
        lines.append(f"      {enrollment_url(settings, token)}")
    lines.append("  Tautan baru: `python -m server enroll-link <user_id>`; staf: /auth/office/users")
    return "\n".join(lines)
