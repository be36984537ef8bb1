"""Dashboard figures, all from reduce views: a page costs a handful of index reads, whatever the volume.

Days are the office's local days (the first ten characters of each record's own timestamp). Counts come
from the day rollups (see rollups.py: the reduce views' figures, kept as documents so PouchDB Server is fast
too). Overdue deliveries are open deliveries picked up longer ago than the SLA, within a look-back window.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from server.office.ledger import OFFICE_TZ, Ledger, key
from server.office.rollups import open_before, partners_of, read_days, update_rollups

#: The overdue list stops here (the tile then reads "200+"): a page lists what staff can follow up today.
OVERDUE_LIMIT = 200
TILE_KINDS = ("ready", "picked_up", "delivered", "failed_attempt", "returned", "lost", "complaint")
TILE_LABELS = {
    "ready": "Siap (terdaftar)",
    "picked_up": "Diserahkan ke kurir",
    "delivered": "Diterima penduduk",
    "failed_attempt": "Gagal antar",
    "returned": "Dikembalikan",
    "lost": "Hilang",
    "complaint": "Pengaduan",
}


@dataclass
class CourierRow:
    courier: str
    partner: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Dashboard:
    office: str
    days: list[str]
    per_day: dict[str, dict[str, int]]
    couriers: list[CourierRow]
    partners: dict[str, dict[str, int]]
    overdue: list[tuple[str, str]]  # (document id, picked up at), oldest first, at most OVERDUE_LIMIT
    sla_hours: int

    @property
    def overdue_label(self) -> str:
        return f"{OVERDUE_LIMIT}+" if len(self.overdue) >= OVERDUE_LIMIT else str(len(self.overdue))

    @property
    def today(self) -> dict[str, int]:
        return self.per_day.get(self.days[-1], {})

    def total(self, kind: str) -> int:
        return sum(day.get(kind, 0) for day in self.per_day.values())


def day_range(end: date, days: int) -> list[str]:
    return [(end - timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]


async def load_dashboard(
    ledger: Ledger,
    office: str,
    *,
    end: date | None = None,
    days: int = 14,
    sla_hours: int = 48,
    now: datetime | None = None,
) -> Dashboard:
    """Bring the rollups up to date (a few pages of changes at most), then read them."""
    await update_rollups(ledger, max_batches=4)
    now = now or datetime.now(OFFICE_TZ)
    end = end or now.date()
    span = day_range(end, days)
    rollups, partner_of, overdue = await asyncio.gather(
        read_days(ledger, office, span),
        partners_of(ledger, office),
        _overdue(office, ledger, now, sla_hours),
    )
    per_day = {day: dict(rollups[day]["counts"]) if day in rollups else {} for day in span}
    by_courier: dict[str, CourierRow] = {}
    for day in span:
        for courier, counts in (rollups.get(day) or {}).get("couriers", {}).items():
            entry = by_courier.setdefault(courier, CourierRow(courier, partner_of.get(courier, "lainnya")))
            for kind, count in counts.items():
                entry.counts[kind] = entry.counts.get(kind, 0) + int(count)
    couriers = sorted(by_courier.values(), key=lambda r: (-r.counts.get("delivered", 0), r.courier))
    partners: dict[str, dict[str, int]] = {}
    for row in couriers:
        bucket = partners.setdefault(row.partner, {})
        for kind, count in row.counts.items():
            bucket[kind] = bucket.get(kind, 0) + count
    return Dashboard(office, span, per_day, couriers, partners, overdue, sla_hours)


async def counts_from_views(ledger: Ledger, office: str, span: list[str]) -> dict[str, dict[str, int]]:
    """The same per-day counts straight from the `reports/daily` reduce view (exact; slow on PouchDB)."""
    rows = await ledger.records.view(
        "reports", "daily", startkey=key([office, span[0]]), endkey=key([office, span[-1], {}]), group_level=3
    )
    per_day: dict[str, dict[str, int]] = {day: {} for day in span}
    for row in rows["rows"]:
        _, day, kind = row["key"]
        if day in per_day:
            per_day[day][kind] = int(row["value"])
    return per_day


async def _overdue(
    office: str, ledger: Ledger, now: datetime, sla_hours: int, window_days: int = 30
) -> list[tuple[str, str]]:
    cutoff = (now - timedelta(hours=sla_hours)).astimezone(OFFICE_TZ).isoformat(timespec="seconds")
    since = (now - timedelta(days=window_days)).astimezone(OFFICE_TZ).isoformat(timespec="seconds")
    return await open_before(ledger, office, since, cutoff, limit=OVERDUE_LIMIT)


def chart_bars(
    dashboard: Dashboard, kinds: tuple[str, ...] = ("picked_up", "delivered", "failed_attempt")
) -> dict[str, object]:
    """Geometry for a grouped bar chart (inline SVG, drawn by the template): one group per day."""
    peak = max([1, *(dashboard.per_day[d].get(k, 0) for d in dashboard.days for k in kinds)])
    width, height, bar = 36, 160, 10
    bars = []
    for index, day in enumerate(dashboard.days):
        for offset, kind in enumerate(kinds):
            value = dashboard.per_day[day].get(kind, 0)
            h = round(height * value / peak)
            bars.append(
                {
                    "x": 40 + index * width + offset * bar,
                    "y": 10 + height - h,
                    "h": h,
                    "kind": kind,
                    "value": value,
                    "day": day,
                }
            )
    labels = [{"x": 40 + i * width + 15, "text": day[8:10]} for i, day in enumerate(dashboard.days)]
    return {
        "bars": bars,
        "labels": labels,
        "peak": peak,
        "width": 40 + len(dashboard.days) * width + 10,
        "height": height + 40,
        "baseline": height + 10,
    }
