"""Mobile-van visits per van and day: recorded, failed, revisits needed and protocol checks missed."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.i18n import N_, Labels
from server.office.ledger import Ledger, key

OUTCOMES = ("recorded", "failed", "revisit_needed", "protocol_missed")
OUTCOME_LABELS = Labels(
    {
        "recorded": N_("Terekam"),
        "failed": N_("Gagal"),
        "revisit_needed": N_("Perlu kunjungan ulang"),
        "protocol_missed": N_("Protokol kesehatan terlewat"),
    }
)


@dataclass
class VanDay:
    van: str
    day: str
    counts: dict[str, int] = field(default_factory=dict)


async def load_visits(ledger: Ledger, office: str, since_day: str) -> list[VanDay]:
    """Per van and day since `since_day`, newest day first (from the `reports/visits` reduce view)."""
    rows = await ledger.records.view(
        "reports", "visits", startkey=key([office]), endkey=key([office, {}]), group_level=4
    )
    table: dict[tuple[str, str], VanDay] = {}
    for row in rows["rows"]:
        _, van, day, outcome = row["key"]
        if day is None or day < since_day:
            continue
        entry = table.setdefault((van, day), VanDay(van, day))
        entry.counts[outcome] = int(row["value"])
    return sorted(table.values(), key=lambda v: (v.day, v.van), reverse=True)
