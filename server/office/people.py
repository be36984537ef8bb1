"""Who the exceptions queue names: the office's users by name and partner, and the courier a record names.

A card says "Andi Saputra", not `gojek.andi`: the name a handoff gave the party then, else the office's user
record now, else (an unknown user) the id itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from records.types import JSONDict


@dataclass(frozen=True)
class Person:
    """A user of the office as the queue names them: couriers by name and partner."""

    user_id: str
    name: str
    partner: str | None
    role: str


def people_of(users: Iterable[JSONDict]) -> dict[str, Person]:
    """The office's users by id (revoked ones too: their old items still need a name). Staff carry
    partner "office", as on the assignment form."""
    people: dict[str, Person] = {}
    for user in users:
        role = str(user.get("role") or "")
        partner = "office" if role == "staff" else (str(user["partner"]) if user.get("partner") else None)
        user_id = str(user.get("user_id") or str(user.get("_id", "")).removeprefix("user:"))
        people[user_id] = Person(user_id, str(user.get("name") or user_id), partner, role)
    return people


def _party_name(record: JSONDict, user_id: str | None) -> str | None:
    """The name a handoff gives the party `user_id`, when it carries one."""
    for side in ("from", "to"):
        party = record.get(side)
        if isinstance(party, dict) and party.get("id") == user_id and party.get("name"):
            return str(party["name"])
    return None


def name_of(user_id: object, record: JSONDict, people: Mapping[str, Person]) -> str:
    """Who `user_id` is, by name: the handoff's own words (the name as it stood then), else the office's
    user record, else the id."""
    person = people.get(str(user_id))
    return _party_name(record, str(user_id)) or (person.name if person else str(user_id or "-"))


def courier_of(record: JSONDict) -> str | None:
    """The courier a record names, as the `reports/exceptions` view says it."""
    if record.get("type") == "handoff":
        giver, taker = record.get("from") or {}, record.get("to") or {}
        first, second = (taker, giver) if record.get("kind") == "picked_up" else (giver, taker)
        for party in (first, second):
            if party.get("party") == "courier" and party.get("id"):
                return str(party["id"])
        return None
    value = record.get("author") if record.get("type") == "photo" else record.get("user")
    return str(value) if value else None
