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
    #: Seconds `segel worker` waits after a round that found nothing (rollups, checks, outbox, closures).
    worker_interval_s: int = 30
    #: Hours after custody ended (delivered, returned, lost) before the office ends the assignment, so the
    #: document leaves the courier's phone; 0 keeps assignments forever.
    close_after_hours: int = 24
    #: Hours a handoff's seal photos may take to reach the server before staff are asked to follow up.
    photo_wait_hours: int = 24
    #: Seconds a worker holds a claimed message; a message still `sending` after that is claimed again (its
    #: worker died). Far longer than one send may take (10 s).
    outbox_lease_s: int = 120
    #: Tries before a message becomes a dead letter staff can look at and resend.
    outbox_max_attempts: int = 6
    #: Wait before the first retry, doubled after each failure (30 s, 1, 2, 4, 8 min: about 15 min in all).
    outbox_backoff_s: int = 30

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
            ("outbox_lease_s", "SEGEL_OUTBOX_LEASE_S"),
            ("outbox_max_attempts", "SEGEL_OUTBOX_MAX_ATTEMPTS"),
            ("outbox_backoff_s", "SEGEL_OUTBOX_BACKOFF_S"),
        ):
            raw = env.get(var)
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError as exc:
                    raise ValueError(f"{var} must be a whole number (got {raw!r}).") from exc
        return cls(**values)
