"""What staff narrow the exceptions queue to, as it stands in the page's address, and the pager's links.

A filter is parsed from the query parameters and refused with a reason when it names something the queue
does not know, so a bookmarked or edited address never shows an empty page that looks like "nothing open".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from server.i18n import N_
from server.i18n import gettext as _
from server.office.exception_kinds import KINDS

#: Age filters: how long ago the exception was raised.
AGES: dict[str, str] = {
    "today": N_("Hari ini"),
    "1": N_("Lebih dari 1 hari"),
    "3": N_("Lebih dari 3 hari"),
    "7": N_("Lebih dari 7 hari"),
}
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
#: Partners a filter may name (server/office/intake.PARTNERS, repeated to keep this module light).
PARTNERS = ("gojek", "grab", "pos_indonesia", "maxim", "office")


class FilterError(Exception):
    """A filter in the address that the queue does not know; `reason` says what to choose instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class QueueFilter:
    """What staff narrowed the queue to, as it stands in the address (so a view can be bookmarked)."""

    kind: str | None = None
    courier: str | None = None
    partner: str | None = None
    age: str | None = None
    page: int = 0

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> QueueFilter:
        """From query parameters; an unknown kind, partner, age or courier id is refused with a reason."""
        kind = params.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise FilterError(_("Jenis pengecualian tidak dikenal; pilih jenis dari daftar."))
        courier = (params.get("courier") or "").strip().lower() or None
        if courier is not None and not _USER_ID.match(courier):
            raise FilterError(_("Kurir tidak dikenal; pilih kurir dari daftar."))
        partner = params.get("partner") or None
        if partner is not None and partner not in PARTNERS:
            raise FilterError(_("Mitra tidak dikenal; pilih mitra dari daftar."))
        age = params.get("age") or None
        if age is not None and age not in AGES:
            raise FilterError(_("Umur pengecualian tidak dikenal; pilih dari daftar."))
        try:
            page = max(int(params.get("page") or 0), 0)
        except ValueError:
            page = 0
        return cls(kind, courier, partner, age, page)

    def params(self, **changes: str | int | None) -> dict[str, str]:
        """The query parameters of this filter with `changes` applied (a changed filter starts at page 0)."""
        values: dict[str, str | int | None] = {
            "kind": self.kind,
            "courier": self.courier,
            "partner": self.partner,
            "age": self.age,
            "page": self.page,
        }
        if any(name != "page" for name in changes):
            values["page"] = 0
        values.update(changes)
        return {name: str(value) for name, value in values.items() if value not in (None, "", 0)}

    @property
    def narrowed(self) -> bool:
        return any((self.kind, self.courier, self.partner, self.age))


def page_links(page: int, pages: int, *, around: int = 2) -> list[int | None]:
    """The page numbers a pager shows (0-based): the first, the last and `around` either side of `page`,
    None where pages are left out."""
    wanted = {0, pages - 1, *range(page - around, page + around + 1)}
    shown = sorted(n for n in wanted if 0 <= n < pages)
    links: list[int | None] = []
    for n in shown:
        if links and n - (links[-1] or 0) > 1:
            links.append(None)
        links.append(n)
    return links
