"""The open items of the exceptions queue, as the views tell them: keys and view values, no record bodies.

Items come from two views, both keyed [office, kind, day, time, id]: `reports/exceptions` (records that show
a problem by themselves; the value names the document and, where the record says, the courier) and
`office/findings` (what the background checks found; the value names the subject and the document). An
item is open while the office ledger holds no `resolution:<kind>:<subject>`.

What is read: the views' counts per kind and day, raised against resolved (reduce queries), then only the
days with something open, kind by kind, and which of their items have a resolution (ids only). A kind with
more than `MAX_SCANNED` exceptions on its open days is read newest first up to that bound, and the page
says so. A resolution records the key time of what it closed (`raised_at`), so its day can count as closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from records.types import JSONDict
from server.office.exception_kinds import FINDING_KINDS, LOSS_FORMER_KINDS, RECORD_KINDS
from server.office.ledger import Ledger, key, present_ids
from store.couch import CouchNotFound, Database

#: View rows read per request while a kind is scanned.
PAGE = 1000
#: At most this many rows of one kind are read per page load (newest first); older open items show once
#: newer ones are closed.
MAX_SCANNED = 20_000

#: Kinds whose raise ends by itself (a photo that arrives, a conflict chosen): a resolution may outlive its
#: raise, so their counts prove nothing and every day of theirs is read.
VOLATILE_KINDS = frozenset({"photo_missing", "conflict"})
#: At most this many stretches of open days are read per kind (one request each, at least).
MAX_RANGES = 12

#: A day as the views key it: the first ten characters of the item's time, null when it has none.
Day = str | None
#: Days of one kind to read, oldest and newest; None for the whole kind.
DayRange = tuple[Day, Day] | None


class Keyed:
    """What names an exception on the page and in links: its kind and subject (a view row's, an item's)."""

    kind: str
    subject: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def anchor(self) -> str:
        return anchor_of(self.key)


@dataclass(frozen=True)
class OpenRow(Keyed):
    """One open exception as the views tell it, before any of its records is read."""

    kind: str
    subject: str
    time: str
    document_id: str | None
    courier: str | None
    #: The view row's id: the record itself, or the finding about it.
    source_id: str
    #: The partner of the document's assignment, when the document was read for a filter.
    partner: str | None = None


def anchor_of(item_key: str) -> str:
    """The element id of an item on the page: short, CSS-safe, no record id in it."""
    return "q-" + hashlib.sha256(item_key.encode()).hexdigest()[:12]


async def open_rows(ledger: Ledger, office: str) -> tuple[list[OpenRow], set[str]]:
    """Every open exception of `office` (keys and view values only), and the kinds cut at `MAX_SCANNED`.

    The views' counts per kind and day come first, raised against resolved (reduce queries, answered by
    CouchDB from stored reductions): a day whose every item of a kind is resolved is not read at all, so
    what a page load reads grows with what is open, not with the office's history.
    """
    raised_records, raised_findings, closed = await asyncio.gather(
        _per_day(ledger.records, "reports", "exceptions", office),
        _per_day(ledger.office, "office", "findings", office),
        _closed_per_day(ledger.office, office),
    )
    scans = []
    for kinds, raised, db, ddoc, view in (
        (RECORD_KINDS, raised_records, ledger.records, "reports", "exceptions"),
        (FINDING_KINDS, raised_findings, ledger.office, "office", "findings"),
    ):
        for kind in kinds:
            ranges = open_ranges(kind, raised.get(kind, {}), closed.get(kind, {}))
            if ranges:
                scans.append(_scan(db, ddoc, view, office, kind, ranges))
    rows: list[OpenRow] = []
    more: set[str] = set()
    for found, cut in await asyncio.gather(*scans):
        rows.extend(found)
        if cut:
            more.add(found[0].kind)
    return await _unresolved(ledger, rows), more


async def _per_day(db: Database, ddoc: str, view: str, office: str) -> dict[str, dict[Day, int]]:
    """Rows per kind and day of `office` (the view's `_count`, grouped by [office, kind, day])."""
    rows = await db.view_rows(
        ddoc, view, startkey=key([office]), endkey=key([office, {}]), reduce=True, group_level=3
    )
    counts: dict[str, dict[Day, int]] = {}
    for row in rows:
        kind, day = str(row["key"][1]), row["key"][2] if len(row["key"]) > 2 else None
        counts.setdefault(kind, {})[day] = int(row.get("value") or 0)
    return counts


async def _closed_per_day(db: Database, office: str) -> dict[str, dict[Day, int]]:
    """Resolutions per kind and day of what they closed; those that name no day are left out."""
    try:
        counts = await _per_day(db, "office", "resolved", office)
    except CouchNotFound:
        # The view is new: while bootstrap builds its index the older design document serves, without
        # it. Then every day counts as open: slower, the same answer.
        return {}
    return {kind: {day: n for day, n in days.items() if day is not None} for kind, days in counts.items()}


def open_ranges(kind: str, raised: Mapping[Day, int], closed: Mapping[Day, int]) -> list[DayRange]:
    """The stretches of days of `kind` to read: days with more raised than resolved, or of a volatile kind
    or no day; consecutive such days (among the days anything was raised) as one range. [] when every day
    is closed, [None] (the whole kind) when every day is open. Beyond `MAX_RANGES` stretches, the two with
    the fewest rows between them are read as one, until few enough are left."""
    days = sorted(raised, key=lambda d: (d is not None, d or ""))  # as CouchDB collates: null first
    is_open = [kind in VOLATILE_KINDS or d is None or closed.get(d, 0) != raised[d] for d in days]
    if not any(is_open):
        return []
    if all(is_open):
        return [None]
    stretches: list[list[int]] = []  # [first, last] indices into days
    for index, open_ in enumerate(is_open):
        if open_ and stretches and stretches[-1][1] == index - 1:
            stretches[-1][1] = index
        elif open_:
            stretches.append([index, index])
    while len(stretches) > MAX_RANGES:
        gaps = [sum(raised[d] for d in days[a[1] + 1 : b[0]]) for a, b in itertools.pairwise(stretches)]
        narrowest = gaps.index(min(gaps))
        stretches[narrowest : narrowest + 2] = [[stretches[narrowest][0], stretches[narrowest + 1][1]]]
    return [(days[first], days[last]) for first, last in stretches]


async def _scan(
    db: Database, ddoc: str, view: str, office: str, kind: str, ranges: list[DayRange]
) -> tuple[list[OpenRow], bool]:
    """The rows of one kind in `ranges`, newest first, page by page (keys end in a record id, so a page
    resumes exactly where the last one stopped); True when `MAX_SCANNED` cut the scan."""
    found: list[OpenRow] = []
    for span in reversed(ranges):
        top: list[object] = [office, kind, {}] if span is None else [office, kind, span[1], {}]
        bottom: list[object] = [office, kind] if span is None else [office, kind, span[0]]
        read = 0
        while True:
            rows = await db.view_rows(
                ddoc,
                view,
                startkey=key(top),
                endkey=key(bottom),
                descending=True,
                reduce=False,
                limit=PAGE,
                skip=1 if read else 0,
            )
            read += len(rows)
            found.extend(_row(kind, row, finding=ddoc == "office") for row in rows)
            if len(rows) < PAGE:
                break
            if len(found) >= MAX_SCANNED:
                return found, True
            top = rows[-1]["key"]
        if len(found) >= MAX_SCANNED and span is not ranges[0]:
            return found, True  # older stretches left unread
    return found, False


def _row(kind: str, row: JSONDict, *, finding: bool) -> OpenRow:
    # [office, kind, day, time, id]; the older views, until bootstrap swaps the new ones in: [.., time, id]
    time = str(row["key"][3] if len(row["key"]) > 4 else row["key"][2])
    value = row.get("value")
    values = value if isinstance(value, list) else [value, None]
    if finding:  # [subject, document id]
        subject, document_id = str(values[0]), values[1] if len(values) > 1 else None
        return OpenRow(kind, subject, time, document_id, None, str(row["id"]))
    document_id, courier = values[0], values[1] if len(values) > 1 else None
    record_id = str(row["id"])
    return OpenRow(kind, record_id, time, document_id, courier, record_id)


def _resolution_ids(row: OpenRow) -> list[str]:
    ids = [f"resolution:{row.kind}:{row.subject}"]
    if row.kind == "lost":
        ids += [f"resolution:{former}:{row.subject}" for former in LOSS_FORMER_KINDS]
    return ids


async def _unresolved(ledger: Ledger, rows: list[OpenRow]) -> list[OpenRow]:
    """The rows without a resolution (a loss is also closed by the resolutions of what it showed as
    before it was a kind of its own), looked up by id: the rows of the open days only."""
    resolved = await present_ids(ledger.office, [i for row in rows for i in _resolution_ids(row)])
    open_ = []
    for row in rows:
        own, *former = _resolution_ids(row)
        if own in resolved or (former and all(i in resolved for i in former)):
            continue
        open_.append(row)
    return open_


def raised_time(kind: str, record: JSONDict) -> str | None:
    """The time an item's view keys it under: a finding's `created_at`; a refusal's time of refusal;
    otherwise the record's own time, as `reports/exceptions` picks it."""
    if kind in FINDING_KINDS:
        value = record.get("created_at")
    elif record.get("type") == "refusal":
        value = record.get("refused_at")
    elif record.get("type") == "refusal_tally":
        value = record.get("first_refused_at")
    else:
        value = record.get("device_time") or record.get("created_at")
    return value if isinstance(value, str) and value else None


async def raised_at(ledger: Ledger, kind: str, record: JSONDict) -> str | None:
    """What a resolution of this item records as `raised_at`: its key time, once the view is seen to hold
    the item under it; None otherwise (the resolution then counts under no day, and days stay read).
    `record` is the finding for a finding's kind, else the record the item is about."""
    time = raised_time(kind, record)
    if time is None or kind in VOLATILE_KINDS:
        return None
    db, ddoc, view = (
        (ledger.office, "office", "findings")
        if kind in FINDING_KINDS
        else (ledger.records, "reports", "exceptions")
    )
    wanted = [record.get("office"), kind, time[:10], time, record.get("_id")]
    rows = await db.view_rows(ddoc, view, key=key(wanted), reduce=False)
    return time if rows else None


async def raised_at_of(ledger: Ledger, kind: str, subject: str) -> str | None:
    """`raised_at` for the item (kind, subject), reading its finding or its record first."""
    if kind in FINDING_KINDS:
        record = await ledger.office.get_or_none(f"finding:{kind}:{subject}")
    else:
        record = await ledger.records.get_or_none(subject)
    return await raised_at(ledger, kind, record) if record else None
