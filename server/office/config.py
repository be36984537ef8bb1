"""Office tunables, read from the environment once: the delivery SLA, the GPS distance that is "far", and
the grace period before a delivered assignment is closed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OfficeConfig:
    #: A pickup not followed by delivery, return or loss within this many hours is overdue.
    sla_hours: int = 48
    #: A delivery recorded farther than this from the document's pinned address is an exception.
    gps_far_m: int = 500
    #: Resident page requests allowed per link token (and per client address) per hour.
    resident_rate_per_hour: int = 60
    #: Seconds between rounds of the background worker (rollups, checks, outbox); 0 turns it off.
    worker_interval_s: int = 30
    #: Hours after custody ended (delivered, returned, lost) before the office ends the assignment, so the
    #: document leaves the courier's phone; 0 keeps assignments forever.
    close_after_hours: int = 24
    #: Hours a handoff's seal photos may take to reach the server before staff are asked to follow up.
    photo_wait_hours: int = 24

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OfficeConfig:
        env = os.environ if env is None else env
        values: dict[str, int] = {}
        for name, var in (
            ("sla_hours", "SEGEL_SLA_HOURS"),
            ("gps_far_m", "SEGEL_GPS_FAR_M"),
            ("resident_rate_per_hour", "SEGEL_RESIDENT_RATE_PER_HOUR"),
            ("worker_interval_s", "SEGEL_OFFICE_WORKER_S"),
            ("close_after_hours", "SEGEL_CLOSE_AFTER_HOURS"),
            ("photo_wait_hours", "SEGEL_PHOTO_WAIT_HOURS"),
        ):
            raw = env.get(var)
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError as exc:
                    raise ValueError(f"{var} must be a whole number (got {raw!r}).") from exc
        return cls(**values)
