"""The exceptions queue as staff work it through a day: one office's open items, filtered, counted, paged.

Items come from two views, both keyed [office, kind, time, id]: `reports/exceptions` (records that show a
problem by themselves; the value names the document and, where the record says, the courier) and
`office/findings` (what the background checks found; the value names the subject and the document). An
item is open while the office ledger holds no `resolution:<kind>:<subject>`.

What one page load reads: the keys of every exception of the office, read kind by kind (no record
bodies), which of them have a resolution (ids only), and then the records of the 25 items shown. Only a
courier or partner filter reads more: the documents of open items whose record names no courier (a
complaint, a finding), for the courier the document was assigned to. Counts per kind come from the same
keys, so they are exact under the other filters. A kind with more than `MAX_SCANNED` exceptions ever raised
is read newest first up to that bound, and the page says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from records.nik import mask_nik
from records.types import JSONDict
from server.i18n import N_, label
from server.i18n import gettext as _
from server.local_time import happened_at, instant, local_time, parse, zone_for_code
from server.office.attachments import PhotoState, complaint_photo, complaint_photo_url
from server.office.exception_kinds import FINDING_KINDS, KINDS, LOSS_FORMER_KINDS, RECORD_KINDS
from server.office.ledger import Ledger, key, present_ids, view_keys
from store.couch import CouchNotFound, Database

#: Items shown per page.
PER_PAGE = 25
#: View rows read per request while a kind is scanned.
PAGE = 1000
#: At most this many rows of one kind are read per page load (newest first); older open items show once
#: newer ones are closed.
MAX_SCANNED = 20_000

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


@dataclass(frozen=True)
class OpenRow:
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

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def anchor(self) -> str:
        return anchor_of(self.key)


def anchor_of(item_key: str) -> str:
    """The element id of an item on the page: short, CSS-safe, no record id in it."""
    return "q-" + hashlib.sha256(item_key.encode()).hexdigest()[:12]


@dataclass
class QueueItem:
    """One open exception, as a card names it."""

    kind: str
    subject: str  # the record the exception is about
    office: str
    time: str
    document_id: str | None
    detail: str
    #: A complaint's photo: staff judge a "broken seal" by seeing it, not by reading that one was sent.
    photo: PhotoState = None
    resident_name: str | None = None
    #: The resident's NIK, masked: the queue never shows a full one.
    nik_masked: str | None = None
    doc_kind: str | None = None
    seal: str | None = None
    courier: str | None = None
    courier_name: str | None = None
    partner: str | None = None

    @property
    def photo_url(self) -> str:
        return complaint_photo_url(self.subject)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def anchor(self) -> str:
        return anchor_of(self.key)

    @property
    def label(self) -> str:
        return _(KINDS[self.kind][0])

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        return tuple((value, _(words)) for value, words in KINDS[self.kind][1])


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


# --- reading the views -----------------------------------------------------------------------------------

#: Kinds whose raise ends by itself (a photo that arrives, a conflict chosen): a resolution may outlive its
#: raise, so their counts prove nothing and every day of theirs is read.
VOLATILE_KINDS = frozenset({"photo_missing", "conflict"})
#: At most this many stretches of open days are read per kind (one request each, at least).
MAX_RANGES = 12

#: A day as the views key it: the first ten characters of the item's time, null when it has none.
Day = str | None
#: Days of one kind to read, oldest and newest; None for the whole kind.
DayRange = tuple[Day, Day] | None


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


# --- filtering and paging ----------------------------------------------------------------------------------


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
        records = await _docs(ledger.records, bare)
        rows = [
            replace(r, document_id=_document_of(records[r.subject]), courier=_courier_of(records[r.subject]))
            if r.subject in records and r.document_id is None and r.courier is None
            else r
            for r in rows
        ]
    needed = sorted({r.document_id for r in rows if r.document_id and (r.courier not in people)})
    documents = await _docs(ledger.records, needed)
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


# --- what each item says ---------------------------------------------------------------------------------


async def _docs(db: Database, ids: Iterable[str], **params: str | int | bool) -> dict[str, JSONDict]:
    """Documents by id in one request per thousand; missing and deleted ones are left out."""
    wanted = sorted(set(ids))
    found: dict[str, JSONDict] = {}
    for start in range(0, len(wanted), 1000):
        for row in await db.rows_for_keys(wanted[start : start + 1000], include_docs=True, **params):
            doc = row.get("doc")
            if doc:
                found[str(doc["_id"])] = doc
    return found


async def describe(
    ledger: Ledger, office: str, rows: list[OpenRow], people: Mapping[str, Person], zone: str | None = None
) -> list[QueueItem]:
    """The cards of `rows`: their records, documents, receipts and findings in three requests (a fourth
    for the seals of documents whose record does not carry one)."""
    record_ids = {r.subject for r in rows} | {r.document_id for r in rows if r.document_id}
    record_ids |= {f"receipt:{r.subject}" for r in rows if r.subject.startswith("handoff:")}
    records, findings = await asyncio.gather(
        _docs(ledger.records, record_ids, conflicts=True),
        _docs(ledger.office, [r.source_id for r in rows if r.kind in FINDING_KINDS]),
    )
    zone = zone or zone_for_code(office)
    items = [_item(office, row, records, findings.get(row.source_id), people, zone) for row in rows]
    unsealed = sorted({i.document_id for i in items if i.document_id and not i.seal})
    if unsealed:
        seals = await _current_seals(ledger, unsealed)
        for item in items:
            if not item.seal and item.document_id:
                item.seal = seals.get(item.document_id)
    return items


async def _current_seals(ledger: Ledger, document_ids: list[str]) -> dict[str, str]:
    """The seal last bound to each document (`seal:<office>:<number>`, the number read from the id)."""
    latest: dict[str, tuple[str, str]] = {}
    for row in await view_keys(ledger.records, "records", "seals_by_document", document_ids):
        bound, number = str(row.get("value") or ""), str(row["id"]).rsplit(":", 1)[-1]
        if row["key"] not in latest or instant(bound) >= instant(latest[row["key"]][0]):
            latest[str(row["key"])] = (bound, number)
    return {document_id: number for document_id, (_bound, number) in latest.items()}


def _item(
    office: str,
    row: OpenRow,
    records: Mapping[str, JSONDict],
    finding: JSONDict | None,
    people: Mapping[str, Person],
    zone: str,
) -> QueueItem:
    subject = records.get(row.subject) or {}
    document_id = row.document_id or _document_of(subject)
    document = records.get(document_id or "") or {}
    if document.get("type") != "document":
        document = {}
    assignment = document.get("assignment") or {}
    courier = row.courier or assignment.get("courier")
    person = people.get(courier or "")
    receipt = records.get(f"receipt:{row.subject}") or {}
    resident = document.get("resident") or {}
    if row.kind in FINDING_KINDS:
        # Imported here: finding_texts reads delivery_checks' labels, and delivery_checks reads this module.
        from server.office.finding_texts import finding_text

        detail = finding_text(finding) if finding else ""
    else:
        detail = _detail(row.kind, subject, people, zone)
    return QueueItem(
        kind=row.kind,
        subject=row.subject,
        office=office,
        time=str(happened_at(row.time, receipt.get("received_at"))),
        document_id=document_id,
        detail=detail,
        photo=complaint_photo(subject) if row.kind == "complaint" else None,
        resident_name=resident.get("name"),
        nik_masked=mask_nik(str(resident["nik"])) if resident.get("nik") else None,
        doc_kind=document.get("doc_kind"),
        seal=_seal_of(subject),
        courier=courier,
        # Who the courier is now (the office's user record), else the name the record gives them.
        courier_name=(person.name if person else _name(courier, subject, people)) if courier else None,
        partner=(person.partner if person and person.partner else assignment.get("partner")),
    )


def _document_of(record: JSONDict) -> str | None:
    if record.get("type") == "document":
        return str(record["_id"])
    if record.get("type") == "refusal":
        return (record.get("record") or {}).get("document_id")
    value = record.get("document_id")
    return str(value) if value else None


def _seal_of(record: JSONDict) -> str | None:
    if record.get("type") == "refusal":
        record = record.get("record") or {}
    value = record.get("seal_number_expected")
    return str(value) if value else None


def _party_name(record: JSONDict, user_id: str | None) -> str | None:
    """The name a handoff gives the party `user_id`, when it carries one."""
    for side in ("from", "to"):
        party = record.get(side)
        if isinstance(party, dict) and party.get("id") == user_id and party.get("name"):
            return str(party["name"])
    return None


def _name(user_id: object, record: JSONDict, people: Mapping[str, Person]) -> str:
    """Who `user_id` is, by name: the handoff's own words (the name as it stood then), else the office's
    user record, else the id."""
    person = people.get(str(user_id))
    return _party_name(record, str(user_id)) or (person.name if person else str(user_id or "-"))


def _courier_of(record: JSONDict) -> str | None:
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


def _detail(kind: str, doc: JSONDict, people: Mapping[str, Person], zone: str) -> str:
    if kind == "lost":
        return _loss_detail(doc, people)
    if kind == "seal_mismatch":
        return _("Dipindai %(scanned)s, seharusnya %(expected)s.") % {
            "scanned": doc.get("seal_number_scanned") or "-",
            "expected": doc.get("seal_number_expected"),
        }
    if kind == "seal_damaged":
        return _("Segel %(condition)s saat %(event)s oleh %(who)s.") % {
            "condition": label("seal_condition", doc.get("seal_condition")),
            "event": label("handoff", doc.get("kind")).lower(),
            "who": _name(doc.get("author"), doc, people),
        }
    if kind == "photo_missing":
        return (
            _("Catatan tanpa foto segel.")
            if doc.get("type") == "handoff"
            else _("Foto belum sampai di server.")
        )
    if kind == "complaint":
        return f"{label('complaint', doc.get('kind'))}: {doc.get('description')}"
    if kind == "unsigned":
        return _("%(event)s oleh %(who)s tanpa passkey: %(reason)s") % {
            "event": label("handoff", doc.get("kind")),
            "who": _name(doc.get("author"), doc, people),
            "reason": doc.get("unsigned_reason"),
        }
    if kind == "refused" and doc.get("type") == "refusal_tally":
        return _tally_detail(doc, people, zone)
    if kind == "refused":
        return _("%(what)s dari %(user)s ditolak (%(why)s): %(reason)s") % {
            "what": label("record_type", doc.get("record_type")),
            "user": _name(doc.get("user"), doc, people),
            "why": label("refusal", doc.get("code")),
            "reason": _refusal_reason(doc),
        }
    if kind == "conflict":
        return _("%(n)s revisi bertentangan.") % {"n": len(doc.get("_conflicts") or [])}
    return ""


def _refusal_reason(doc: JSONDict) -> str:
    """The gateway's reason in the reader's language (its msgid and values, sync/refusals.py); a refusal
    stored before they were kept says it in both languages, as the phone was told."""
    message, args = doc.get("message"), doc.get("message_args")
    if not isinstance(message, str) or not message:
        return str(doc.get("reason") or "-")
    return _(message) % args if isinstance(args, dict) and args else _(message)


def _loss_detail(doc: JSONDict, people: Mapping[str, Person]) -> str:
    """ "Dilaporkan hilang oleh Andi Saputra." when the courier reported it on the phone; recorded at the
    desk, who recorded it and who held the envelope; then the courier's own account."""
    holder = _courier_of(doc)
    courier = _name(holder, doc, people) if holder else _("kurir tidak diketahui")
    if holder is None or doc.get("author") == holder:
        text = _("Dilaporkan hilang oleh %(courier)s.") % {"courier": courier}
    else:
        text = _("Dicatat hilang oleh %(who)s; terakhir dibawa %(courier)s.") % {
            "who": _name(doc.get("author"), doc, people),
            "courier": courier,
        }
    if doc.get("note"):
        text += " " + _("Kronologi: %(note)s") % {"note": doc["note"]}
    return text


def _tally_detail(doc: JSONDict, people: Mapping[str, Person], zone: str) -> str:
    """One user's refusals of one hour (sync/refusals.py): "23 catatan ditolak dari Andi, ..." instead of
    23 items, however much junk one device sends."""
    hour = str(doc.get("hour", ""))
    counts: JSONDict = doc["counts"] if isinstance(doc.get("counts"), dict) else {}
    codes = ", ".join(
        f"{label('refusal', code)} {n}" for code, n in sorted(counts.items(), key=lambda item: -int(item[1]))
    )
    start = parse(hour[:13] + ":00:00Z") if len(hour) >= 13 else None
    return _(
        "%(total)s catatan ditolak dari %(user)s, mulai %(hour)s selama satu jam (%(codes)s). "
        "%(stored)s pertama disimpan utuh untuk diperiksa."
    ) % {
        "total": doc.get("total", 0),
        "user": _name(doc.get("user"), doc, people),
        "hour": local_time(start, zone) if start else hour,
        "codes": codes,
        "stored": doc.get("stored", 0),
    }


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
