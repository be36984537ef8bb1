"""Dashboard figures, all from reduce views: a page costs a handful of index reads, whatever the volume.

Days are the office's local days (the first ten characters of each record's own timestamp). Counts per day,
per courier and each courier's partner come straight from the `reports` reduce views: CouchDB keeps the
reductions in its B-tree, so a grouped `_count` over two weeks of one office is a few milliseconds at any
volume, and exact on a cluster (a count kept from the changes feed is not, since a clustered feed may repeat
rows). Overdue deliveries are open deliveries picked up longer ago than the SLA, within a look-back window.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from server.i18n import N_, Labels
from server.office.deliveries import open_before
from server.office.ledger import OFFICE_TZ, Ledger, docs_by_ids, key, view_keys

#: The overdue list stops here (the tile then reads "200+"): a page lists what staff can follow up today.
OVERDUE_LIMIT = 200
TILE_KINDS = (
    "ready",
    "picked_up",
    "delivered",
    "delivery_pending",
    "failed_attempt",
    "returned",
    "lost",
    "complaint",
)
TILE_LABELS = Labels(
    {
        "ready": N_("Siap (terdaftar)"),
        "picked_up": N_("Diserahkan ke kurir"),
        "delivered": N_("Diterima penduduk (terbukti)"),
        "delivery_pending": N_("Diantar, menunggu kepastian"),
        "failed_attempt": N_("Gagal antar"),
        "returned": N_("Dikembalikan"),
        "lost": N_("Hilang"),
        "complaint": N_("Pengaduan"),
    }
)


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


@dataclass(frozen=True)
class OverdueRow:
    """One late delivery as staff follow it up: who, what, which seal, since when."""

    document_id: str
    picked_up_at: str
    name: str
    kind: str
    seal: str


#: How many late deliveries the dashboard lists by name (the tile counts up to `OVERDUE_LIMIT`).
OVERDUE_SHOWN = 50


async def overdue_rows(
    ledger: Ledger, overdue: list[tuple[str, str]], kinds: dict[str, str]
) -> list[OverdueRow]:
    """The first `OVERDUE_SHOWN` late deliveries with the resident's name, the document kind and its latest
    seal: two requests (the documents by id, their seals by document), not one per row."""
    shown = overdue[:OVERDUE_SHOWN]
    ids = [doc_id for doc_id, _ in shown]
    documents, seal_rows = await asyncio.gather(
        docs_by_ids(ledger.records, ids), view_keys(ledger.records, "records", "seals_by_document", ids)
    )
    seals: dict[str, tuple[str, str]] = {}
    for row in seal_rows:
        number = str(row["id"]).rsplit(":", 1)[-1]
        bound = str(row.get("value") or "")
        if row["key"] not in seals or bound >= seals[row["key"]][0]:
            seals[str(row["key"])] = (bound, number)
    rows = []
    for doc_id, at in shown:
        doc = documents.get(doc_id) or {}
        kind = str(doc.get("doc_kind") or "")
        rows.append(
            OverdueRow(
                document_id=doc_id,
                picked_up_at=at,
                name=str((doc.get("resident") or {}).get("name") or "(dokumen tidak terbaca)"),
                kind=kinds.get(kind, kind or "-"),
                seal=seals.get(doc_id, ("", "-"))[1],
            )
        )
    return rows


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
    """Read the views, as `segel worker` last brought them up to date (open deliveries, verdicts)."""
    now = now or datetime.now(OFFICE_TZ)
    end = end or now.date()
    span = day_range(end, days)
    per_day, per_courier, partner_of, overdue = await asyncio.gather(
        counts_per_day(ledger, office, span),
        counts_per_courier(ledger, office, span),
        partners_of(ledger, office),
        _overdue(office, ledger, now, sla_hours),
    )
    couriers = sorted(
        (
            CourierRow(courier, partner_of.get(courier, "other"), counts)
            for courier, counts in per_courier.items()
        ),
        key=lambda r: (-r.counts.get("delivered", 0), r.courier),
    )
    partners: dict[str, dict[str, int]] = {}
    for row in couriers:
        bucket = partners.setdefault(row.partner, {})
        for kind, count in row.counts.items():
            bucket[kind] = bucket.get(kind, 0) + count
    return Dashboard(office, span, per_day, couriers, partners, overdue, sla_hours)


async def counts_per_day(ledger: Ledger, office: str, span: list[str]) -> dict[str, dict[str, int]]:
    """[day][kind] -> count, from the `reports/daily` and `office/deliveries` reduce views.

    A delivery counts as delivered only once it is proven or settled (`delivery_checks`); the rest of the
    deliveries couriers recorded are "delivery_pending"."""
    window: dict[str, str | int | bool] = {
        "startkey": key([office, span[0]]),
        "endkey": key([office, span[-1], {}]),
        "group_level": 3,
    }
    rows, judged = await asyncio.gather(
        ledger.records.view("reports", "daily", **window),
        ledger.office.view("office", "deliveries", **window),
    )
    per_day: dict[str, dict[str, int]] = {day: {} for day in span}
    for row in rows["rows"]:
        _, day, kind = row["key"]
        if day in per_day and kind != "delivered":
            per_day[day][kind] = int(row["value"])
    states: dict[str, Counter[str]] = {day: Counter() for day in span}
    for row in judged["rows"]:
        _, day, state = row["key"]
        if day in states:
            states[day][str(state)] = int(row["value"])
    for day, state in states.items():
        delivered = state["proven"] + state["settled"]
        waiting = max(state["disputed"] - state["settled"], 0)
        if delivered:
            per_day[day]["delivered"] = delivered
        if waiting:
            per_day[day]["delivery_pending"] = waiting
    return per_day


async def counts_per_courier(ledger: Ledger, office: str, span: list[str]) -> dict[str, dict[str, int]]:
    """[courier][kind] -> count over the span, from the `reports/by_courier` reduce view."""
    rows = await ledger.records.view(
        "reports",
        "by_courier",
        startkey=key([office, span[0]]),
        endkey=key([office, span[-1], {}]),
        group_level=4,
    )
    out: dict[str, dict[str, int]] = {}
    for row in rows["rows"]:
        _, day, courier, kind = row["key"]
        if span[0] <= day <= span[-1]:
            counts = out.setdefault(str(courier), {})
            counts[kind] = counts.get(kind, 0) + int(row["value"])
    return out


async def partners_of(ledger: Ledger, office: str) -> dict[str, str]:
    """Each courier's partner, as the office's assignments name it most often."""
    rows = await ledger.records.view(
        "reports",
        "courier_partner",
        startkey=key([office]),
        endkey=key([office, {}]),
        group_level=3,
    )
    tally: dict[str, Counter[str]] = {}
    for row in rows["rows"]:
        _, courier, partner = row["key"]
        if courier and partner:
            tally.setdefault(str(courier), Counter())[str(partner)] += int(row["value"])
    return {courier: counts.most_common(1)[0][0] for courier, counts in tally.items()}


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
