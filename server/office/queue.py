"""The exceptions queue as staff work it through a day: one office's open items, filtered, counted, paged.

The open items come from the views (server/office/open_items.py), the filter from the page's address
(queue_filter.py), and the cards of the page shown from their records (queue_items.py). What one page load
reads: the keys of the open days of every kind, which of them have a resolution, and the records of the 25
items shown. Only a courier or partner filter reads more: the documents of open items whose record names no
courier (a complaint, a finding), for the courier the document was assigned to. Counts per kind come from
the same keys, so they are exact under the other filters.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from server.local_time import instant, local_time, parse, zone_for_code
from server.office.exception_kinds import KINDS, RECORD_KINDS
from server.office.ledger import Ledger
from server.office.open_items import OpenRow, anchor_of, open_rows
from server.office.people import Person, courier_of, people_of
from server.office.queue_filter import QueueFilter
from server.office.queue_items import QueueItem, describe, document_of, records_by_id

#: Also said here: the queue's tests and tools reach the whole queue through this module.
__all__ = [
    "PER_PAGE",
    "Queue",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "anchor_of",
    "list_queue",
    "load_page",
    "open_queue",
    "open_rows",
    "people_of",
]

#: Items shown per page.
PER_PAGE = 25


@dataclass
class Queue:
    """Open exceptions, and the kinds whose list stopped at the limit (more are open than shown)."""

    items: list[QueueItem]
    more: set[str]


@dataclass
class QueuePage:
    """One page of the filtered queue, the counts per kind under the other filters, and where it is."""

    items: list[QueueItem]
    counts: dict[str, int]
    total: int
    page: int
    pages: int
    more: set[str] = field(default_factory=set)
    #: The anchor of the first item of the next page: after the last item shown is closed, it moves up.
    following: str | None = None

    @property
    def first(self) -> int:
        return self.page * PER_PAGE + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.page * PER_PAGE + len(self.items)

    @property
    def all_kinds(self) -> int:
        return sum(self.counts.values())


def _older_than(time: str, age: str, now: datetime, zone: str) -> bool:
    moment = parse(time)
    if moment is None:
        return age != "today"  # an unreadable time is old news, never today's
    if age == "today":
        return local_time(moment, zone, date_only=True) == local_time(now, zone, date_only=True)
    return now - moment > timedelta(days=int(age))


async def _with_couriers(ledger: Ledger, rows: list[OpenRow], people: Mapping[str, Person]) -> list[OpenRow]:
    """Rows whose record names no courier (or one unknown here) get the courier and partner of their
    document's assignment: one read of those documents. (Rows of the older view, which named neither
    document nor courier, read their records first: only until bootstrap has swapped the new view in.)"""
    bare = [r.subject for r in rows if r.document_id is None and r.courier is None and r.kind in RECORD_KINDS]
    if bare:
        records = await records_by_id(ledger.records, bare)
        rows = [
            replace(r, document_id=document_of(records[r.subject]), courier=courier_of(records[r.subject]))
            if r.subject in records and r.document_id is None and r.courier is None
            else r
            for r in rows
        ]
    needed = sorted({r.document_id for r in rows if r.document_id and (r.courier not in people)})
    documents = await records_by_id(ledger.records, needed)
    filled = []
    for row in rows:
        assignment = (documents.get(row.document_id or "") or {}).get("assignment") or {}
        if assignment:
            row = replace(
                row, courier=row.courier or assignment.get("courier"), partner=assignment.get("partner")
            )
        filled.append(row)
    return filled


def _partner_of(row: OpenRow, people: Mapping[str, Person]) -> str | None:
    person = people.get(row.courier or "")
    return person.partner if person is not None and person.partner else row.partner


async def load_page(
    ledger: Ledger,
    office: str,
    wanted: QueueFilter,
    people: Mapping[str, Person],
    zone: str | None = None,
    *,
    now: datetime | None = None,
) -> QueuePage:
    """One page of the open queue under `wanted`, newest first, with the counts per kind under the other
    filters; a page past the end shows the last one."""
    zone = zone or zone_for_code(office)
    now = now or datetime.now(UTC)
    rows, more = await open_rows(ledger, office)
    if wanted.age:
        rows = [r for r in rows if _older_than(r.time, wanted.age, now, zone)]
    if wanted.courier or wanted.partner:
        rows = await _with_couriers(ledger, rows, people)
        if wanted.courier:
            rows = [r for r in rows if r.courier == wanted.courier]
        if wanted.partner:
            rows = [r for r in rows if _partner_of(r, people) == wanted.partner]
    counts = Counter(r.kind for r in rows)
    chosen = [r for r in rows if wanted.kind is None or r.kind == wanted.kind]
    chosen.sort(key=lambda r: (-instant(r.time), r.kind, r.subject))
    pages = max(1, math.ceil(len(chosen) / PER_PAGE))
    page = min(wanted.page, pages - 1)
    start = page * PER_PAGE
    shown = chosen[start : start + PER_PAGE]
    following = chosen[start + PER_PAGE].anchor if len(chosen) > start + PER_PAGE else None
    return QueuePage(
        items=await describe(ledger, office, shown, people, zone),
        counts={kind: counts[kind] for kind in KINDS if counts[kind]},
        total=len(chosen),
        page=page,
        pages=pages,
        more=more,
        following=following,
    )


async def open_queue(ledger: Ledger, office: str, *, limit: int = 200) -> Queue:
    """Every open exception of one office, newest first within each kind (at most `limit` per kind; a kind
    with more is in `more`). The page reads `load_page`; this is for the worker's tests and tools."""
    rows, more = await open_rows(ledger, office)
    kept: list[OpenRow] = []
    for kind in KINDS:
        of_kind = sorted((r for r in rows if r.kind == kind), key=lambda r: -instant(r.time))
        if len(of_kind) > limit:
            more.add(kind)
        kept.extend(of_kind[:limit])
    return Queue(await describe(ledger, office, kept, {}), more)


async def list_queue(ledger: Ledger, office: str, *, limit: int = 200) -> list[QueueItem]:
    """Open exceptions of one office, newest first within each kind (at most `limit` per kind)."""
    return (await open_queue(ledger, office, limit=limit)).items
