"""Who is acting: the one identity type that the server and the sync gateway both understand.

Identity code (server/identity) produces a Principal from a session cookie or a device token; the gateway
and the pages only read it. Keeping it here lets `sync/` stay free of page and identity code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "staff", "courier", "van_operator"]
ROLES: tuple[Role, ...] = ("admin", "staff", "courier", "van_operator")
#: Who may open the office's user management (`/auth/office/users`): staff add and revoke their office's
#: couriers and van crews, admins also staff. The office menu shows the page to exactly these roles.
USER_MANAGERS: tuple[Role, ...] = ("staff", "admin")


@dataclass(frozen=True)
class Principal:
    """An authenticated user for the duration of one request.

    `office` is None only for deployment-wide admins. `partner` is set for couriers (gojek, grab,
    pos_indonesia, …), `van` for van operators. `device_id` names the phone or machine client (session or
    token) so replication checkpoints can be kept apart per device.
    """

    user_id: str
    role: Role
    office: str | None
    name: str = ""
    partner: str | None = None
    van: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    token_id: str | None = None

    def can_act_for_office(self, office: str | None) -> bool:
        """Admins act for every office; everyone else only for their own."""
        return self.role == "admin" or (office is not None and office == self.office)

    @property
    def may_manage_users(self) -> bool:
        return self.role in USER_MANAGERS
