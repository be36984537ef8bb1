"""Who a document may be assigned to: the office's active couriers, by name and partner, from the identity
database (and the office's own staff, partner "office", when the office delivers itself).

The partner always comes from the courier's own user record, never from a form: an assignment decides which
phone a document replicates to, so a typo or a wrong partner would leave it on no phone, or on the wrong
company's books. Anything not on the list is refused before a document changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from records.types import JSONDict
from server.i18n import gettext as _
from server.i18n import label
from server.identity.store import IdentityStore
from server.office.intake import PARTNERS, IntakeError
from server.office.ledger import docs_by_ids

#: Roles that may carry an office's documents: couriers of a partner, and the office's own staff.
ASSIGNABLE_ROLES = ("courier", "staff")


@dataclass(frozen=True)
class Assignee:
    """A person a document can be assigned to, as the assignment form lists them."""

    user_id: str
    name: str
    partner: str

    @property
    def label(self) -> str:
        partner = _("kantor sendiri") if self.partner == "office" else label("partner", self.partner)
        return f"{self.name} ({self.user_id}) · {partner}"


def _as_assignee(user: JSONDict) -> Assignee:
    partner = "office" if user.get("role") == "staff" else str(user.get("partner") or "")
    return Assignee(str(user["user_id"]), str(user.get("name") or user["user_id"]), partner)


async def assignees_of(store: IdentityStore, office: str) -> list[Assignee]:
    """The office's active couriers (partner, then name), then its staff (partner "office")."""
    users = [
        user
        for user in await store.users_of_office(office)
        if user.get("role") in ASSIGNABLE_ROLES and not user.get("revoked")
    ]
    people = [_as_assignee(user) for user in users]
    return sorted(people, key=lambda a: (a.partner == "office", a.partner, a.name.lower(), a.user_id))


async def assignee_for(store: IdentityStore, office: str, user_id: str) -> Assignee:
    """The courier `user_id` of `office`, or an `IntakeError` that says why they cannot be chosen.

    A user of another office is answered like an unknown one, so the form reveals nothing about other
    offices' people.
    """
    chosen = user_id.strip()
    if not chosen:
        raise IntakeError(_("Pilih kurir dari daftar."))
    user = await store.get_user(chosen)
    if user is None or user.get("office") != office:
        raise IntakeError(
            _(
                "Kurir %(courier)r tidak terdaftar di kantor %(office)s; pilih kurir dari daftar. "
                "Tidak ada yang diubah."
            )
            % {"courier": chosen, "office": office}
        )
    if user.get("role") not in ASSIGNABLE_ROLES:
        raise IntakeError(
            _("%(user)s bukan kurir (peran: %(role)s); pilih kurir dari daftar. Tidak ada yang diubah.")
            % {"user": chosen, "role": label("role", user.get("role"))}
        )
    if user.get("revoked"):
        raise IntakeError(
            _("Kurir %(courier)s sudah dinonaktifkan; pilih kurir lain. Tidak ada yang diubah.")
            % {"courier": chosen}
        )
    assignee = _as_assignee(user)
    if assignee.partner not in PARTNERS:
        raise IntakeError(
            _(
                "Mitra %(partner)r dari kurir %(courier)s belum didukung Segel (%(known)s); "
                "minta admin memperbaiki data kurir."
            )
            % {"partner": assignee.partner, "courier": chosen, "known": ", ".join(PARTNERS)}
        )
    return assignee


async def unassignable(store: IdentityStore, wanted: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Of (office, user id, partner) assignments, those naming nobody who may carry that office's documents.

    The sync gateway asks this (in one identity read per push) about every document a client pushes with a
    new assignment, so the rules of the assignment form hold for replicated documents too: an active courier
    of the same office with their own partner, or the office's own staff with partner "office".
    """
    if not wanted:
        return set()
    users = await docs_by_ids(store.db, sorted({f"user:{user_id}" for _, user_id, _ in wanted}))
    refused: set[tuple[str, str, str]] = set()
    for office, user_id, partner in wanted:
        user = users.get(f"user:{user_id}")
        if (
            user is None
            or user.get("revoked")
            or user.get("office") != office
            or user.get("role") not in ASSIGNABLE_ROLES
            or _as_assignee(user).partner != partner
        ):
            refused.add((office, user_id, partner))
    return refused


Assignment = tuple[str, str, str]


def gateway_assignee_check(store: IdentityStore) -> Callable[[list[Assignment]], Awaitable[set[Assignment]]]:
    """The checker the server hands the sync gateway (`sync.push.AssigneeCheck`)."""

    async def check(wanted: list[Assignment]) -> set[Assignment]:
        return await unassignable(store, wanted)

    return check
