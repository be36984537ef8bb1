"""Design documents of the office's databases, as data: the views the office pages read (counts per day,
per courier, exceptions, timelines), the records views behind the timeline and the chain checks, and the
office ledger's views. `DATABASES` hands them to bootstrap (`server/databases.py`).

Every office page answers from these views (reduce views keyed by office first) instead of scanning records,
so a page over 100,000 documents costs a few index lookups. Day keys are the first ten characters of the
record's own timestamp, which is written with the office's UTC offset: a "day" is the office's local day.

`OFFICE_DESIGN` lives in the office ledger database (`<prefix>_office`), which holds what the office writes
about records (findings, resolutions, handovers, liabilities, resident links, the notification outbox) and is
never exposed by the sync gateway.
"""

from __future__ import annotations

from records.types import JSONDict
from store.design_docs import DatabaseSpec

_DAY = "function day(t) { return typeof t === 'string' ? t.slice(0, 10) : null; }"

REPORTS_DESIGN: JSONDict = {
    "_id": "_design/reports",
    "language": "javascript",
    "views": {
        # Dashboard tiles and chart: [office, day, kind] -> count. Kinds: ready (document registered),
        # handoff kinds (picked_up, delivered, failed_attempt, returned, lost, ...), complaint.
        "daily": {
            "map": (
                "function (doc) { " + _DAY + " if (!doc.office) { return; } "
                "if (doc.type === 'document') "
                "{ emit([doc.office, day(doc.created_at), 'ready'], null); } "
                "else if (doc.type === 'handoff') "
                "{ emit([doc.office, day(doc.device_time), doc.kind], null); } "
                "else if (doc.type === 'complaint') "
                "{ emit([doc.office, day(doc.created_at), 'complaint'], null); }"
                " }"
            ),
            "reduce": "_count",
        },
        # Throughput per courier: [office, day, courier, kind] -> count. The courier is the one taking the
        # envelope at pickup and the one giving it up afterwards.
        "by_courier": {
            "map": (
                "function (doc) { "
                + _DAY
                + " if (doc.type !== 'handoff' || doc.kind === 'sealed') { return; } "
                "var c = doc.kind === 'picked_up' ? doc.to : doc.from; "
                "var id = (c && c.party === 'courier' && c.id) ? c.id : doc.author; "
                "emit([doc.office, day(doc.device_time), id, doc.kind], null); }"
            ),
            "reduce": "_count",
        },
        # Which partner each courier works for, from the documents' assignments: [office, courier, partner].
        "courier_partner": {
            "map": (
                "function (doc) { if (doc.type === 'document' && doc.assignment) "
                "{ emit([doc.office, doc.assignment.courier, doc.assignment.partner], null); } }"
            ),
            "reduce": "_count",
        },
        # Overdue deliveries: pickups by time, and the documents whose custody has ended.
        "picked_up_at": {
            "map": (
                "function (doc) { if (doc.type === 'handoff' && doc.kind === 'picked_up') "
                "{ emit([doc.office, doc.device_time], doc.document_id); } }"
            ),
        },
        "closed": {
            "map": (
                "function (doc) { if (doc.type === 'handoff' && (doc.kind === 'delivered' || "
                "doc.kind === 'returned' || doc.kind === 'lost' || doc.kind === 'reprinted')) "
                "{ emit(doc.document_id, doc.kind); } }"
            ),
        },
        # Custody that ended, for closing assignments after a grace period (server/office/closure.py):
        # ['device', UTC time, handoff id] for delivered/returned/lost handoffs by device time (value:
        # document id). The 'server' clock, the gateway's receipts of handoffs by arrival time, is read from
        # the receipts database's `_changes` feed. UTC so offsets (WIB, WITA, WIT) compare.
        "custody_ended": {
            "map": (
                "function (doc) { function utc(t) { var d = new Date(t); "
                "return (typeof t === 'string' && !isNaN(d.getTime())) ? d.toISOString() : null; } "
                "if (doc.type === 'handoff' && (doc.kind === 'delivered' || doc.kind === 'returned' || "
                "doc.kind === 'lost')) { var t = utc(doc.device_time); "
                "if (t) { emit(['device', t, doc._id], doc.document_id); } } }"
            ),
        },
        # The office's documents, newest first: the intake desk's worklist.
        "documents": {
            "map": (
                "function (doc) { if (doc.type === 'document') "
                "{ emit([doc.office, doc.created_at], null); } }"
            ),
        },
        # The custody kinds of each document, [UTC device time, seq, kind] by document id: the documents list
        # shows each one's status from its latest handoff, for a page of documents in one request.
        "handoff_kinds": {
            "map": (
                "function (doc) { if (doc.type !== 'handoff' || !doc.document_id) { return; } "
                "var d = new Date(doc.device_time), t = isNaN(d.getTime()) ? '' : d.toISOString(); "
                "emit(doc.document_id, [t, doc.seq || 0, doc.kind]); }"
            ),
        },
        # Finding a document at the desk: [office, field, value] for its receipt code, the resident's NIK,
        # phone and name (lower case, searched by prefix).
        "lookup": {
            "map": (
                "function (doc) { if (doc.type !== 'document') { return; } var r = doc.resident || {}; "
                "if (doc.receipt_code) { emit([doc.office, 'code', doc.receipt_code], null); } "
                "if (r.nik) { emit([doc.office, 'nik', r.nik], null); } "
                "if (r.phone) { emit([doc.office, 'phone', r.phone], null); } "
                "if (r.name) { var n = r.name.toLowerCase(); emit([doc.office, 'name', n], null); "
                # Each further word of the name, so a surname ("Maharani") finds "Dewi Maharani".
                "var w = n.split(/\\s+/); for (var i = 1; i < w.length; i++) "
                "{ if (w[i]) { emit([doc.office, 'word', w[i]], null); } } } }"
            ),
        },
        # Everything about one document, the document itself first: the custody timeline in one query.
        "by_document": {
            "map": (
                "function (doc) { if (doc.type === 'document') { emit([doc._id, 0, doc.created_at], null); } "
                "else if (doc.document_id) "
                "{ emit([doc.document_id, 1, doc.device_time || doc.bound_at || doc.created_at], null); } }"
            ),
        },
        # Exceptions that a record shows by itself: [office, kind, day, time, record id] -> [document id,
        # courier] (the courier who held the envelope, null when the record does not say: the queue then asks
        # the document). The id makes every key unique, so the queue pages on from the last key it read; the
        # value lets it filter by courier without reading a record; the day lets it count per kind and day
        # and read only the days where something is still open (server/office/open_items.py). A raise, once
        # emitted, must stay under its key: the queue counts resolutions against it (photo_missing and
        # conflict, which end by themselves, are always read). A loss is one 'lost' item (not also a seal
        # not scanned, missing and unsigned). Refusals show as one tally per user and hour
        # (sync/refusals.py); a refusal without a tally is from before tallies.
        "exceptions": {
            "map": (
                "function (doc) { " + _DAY + " if (!doc.office) { return; } "
                "var t = doc.device_time || doc.created_at; "
                "function party(p) { return (p && p.party === 'courier' && p.id) ? p.id : null; } "
                "function emitAt(kind, time, document, courier) { emit([doc.office, kind, day(time), "
                "time, doc._id], [document || null, courier || null]); } "
                "function emitAs(kind, courier) { emitAt(kind, t, doc.document_id, courier); } "
                "if (doc._conflicts && doc._conflicts.length) { emitAs('conflict', null); } "
                "if (doc.type === 'handoff') { "
                "  var held = doc.kind === 'picked_up' ? party(doc.to) : (party(doc.from) || party(doc.to)); "
                "  if (doc.kind === 'lost') { emitAs('lost', held); return; } "
                # A reprint voids the old envelope at the desk: no seal to scan, nothing to follow up.
                "  if (doc.seal_match === false && doc.kind !== 'reprinted') "
                "{ emitAs('seal_mismatch', held); } "
                "  var atDesk = doc.from && doc.from.party === 'office' && "
                "doc.to && doc.to.party === 'office'; "
                "  if (doc.unsigned_reason && !atDesk) { emitAs('unsigned', held); } "
                "  if (doc.seal_condition === 'damaged' || doc.seal_condition === 'missing') "
                "  { emitAs('seal_damaged', held); } "
                "  if ((!doc.photos || doc.photos.length === 0) && (doc.kind === 'picked_up' || "
                "doc.kind === 'delivered' || doc.kind === 'failed_attempt' || doc.kind === 'returned')) "
                "  { emitAs('photo_missing', held); } "
                "} else if (doc.type === 'photo' && !(doc._attachments && doc._attachments[doc.attachment])) "
                "{ emitAs('photo_missing', doc.author); } "
                "else if (doc.type === 'complaint') { emitAs('complaint', null); } "
                "else if (doc.type === 'refusal' && !doc.tally) "
                "{ emitAt('refused', doc.refused_at, doc.record && doc.record.document_id, doc.user); } "
                "else if (doc.type === 'refusal_tally') "
                "{ emitAt('refused', doc.first_refused_at, null, doc.user); } }"
            ),
            "reduce": "_count",
        },
        # Van visits: [office, van, day, outcome] -> count, and protocol checks missed.
        "visits": {
            "map": (
                "function (doc) { " + _DAY + " if (doc.type !== 'visit') { return; } "
                "var d = day(doc.device_time); emit([doc.office, doc.van, d, doc.outcome], null); "
                "var h = doc.health || {}; var missed = 0; "
                "if (h.equipment_disinfected === false) { missed++; } "
                "if (h.gloves_and_masks === false) { missed++; } "
                "if (h.hand_sanitiser === false) { missed++; } "
                "if (h.operator_temperature_c >= 37.5 || h.applicant_temperature_c >= 37.5) { missed++; } "
                "if (missed) { emit([doc.office, doc.van, d, 'protocol_missed'], null); } }"
            ),
            "reduce": "_count",
        },
    },
}

#: The van visits page (server/office/visits.py), apart from `reports` so that adding to it never rebuilds the
#: dashboard's indexes.
VISITS_DESIGN: JSONDict = {
    "_id": "_design/visits",
    "language": "javascript",
    "views": {
        # One day's visits of an office, per van, in device-time order: [office, day, van, time].
        "by_day": {
            "map": (
                "function (doc) { " + _DAY + " if (doc.type !== 'visit') { return; } "
                "emit([doc.office, day(doc.device_time), doc.van, doc.device_time], null); }"
            ),
        },
        # Every visit of one resident: [office, NIK] -> [time, van, outcome], read with the NIKs of one day
        # (POST keys) to find who was recorded before. The NIK stays in the records database, which only the
        # server reads; the key is never shown or logged.
        "by_resident": {
            "map": (
                "function (doc) { if (doc.type === 'visit' && doc.resident_nik) "
                "{ emit([doc.office, doc.resident_nik], [doc.device_time, doc.van, doc.outcome]); } }"
            ),
        },
    },
}

OFFICE_DESIGN: JSONDict = {
    "_id": "_design/office",
    "language": "javascript",
    "views": {
        # Findings of the background checks: [office, kind, day, time, finding id] -> [subject record id,
        # document id]: the queue lists, filters and counts them without reading a finding.
        "findings": {
            "map": (
                "function (doc) { " + _DAY + " if (doc.type === 'finding') "
                "{ emit([doc.office, doc.kind, day(doc.created_at), doc.created_at, doc._id], "
                "[doc.subject, doc.document_id || null]); } }"
            ),
            "reduce": "_count",
        },
        # Resolutions by the day of what they closed: [office, kind, day, resolution id] -> count. Against
        # the raises of the same kind and day (`reports/exceptions`, `findings`) a day whose every item is
        # closed needs no reading. Only resolutions that carry `raised_at` (the key time of the item they
        # closed, checked against the view when written) count; others sit under day null.
        "resolved": {
            "map": (
                "function (doc) { " + _DAY + " if (doc.type === 'resolution' && doc.office) "
                "{ var d = doc.raised_at ? day(doc.raised_at) : null; "
                "emit([doc.office, doc.kind, d, doc._id], null); } }"
            ),
            "reduce": "_count",
        },
        # Deliveries as the server judged them (server/office/delivery_checks.py): [office, day, state] ->
        # count; state proven (code and seal matched) or disputed, and settled for disputed ones that
        # staff or the resident later confirmed. Delivered = proven + settled; waiting = disputed - settled.
        "deliveries": {
            "map": (
                "function (doc) { if (!doc.office || !doc.day) { return; } "
                "if (doc.type === 'delivery_check') "
                "{ emit([doc.office, doc.day, doc.proven ? 'proven' : 'disputed'], null); } "
                "else if (doc.type === 'delivery_settled') "
                "{ emit([doc.office, doc.day, 'settled'], null); } }"
            ),
            "reduce": "_count",
        },
        # Perceptual hash of every checked photo: the same picture used for two documents shows here.
        # The 64-bit hash in 8 bands of 8 bits: two pictures within Hamming distance 7 share a band, so
        # near-duplicates (a re-saved or re-compressed copy) are found with 8 key lookups.
        "photos_by_phash": {
            "map": (
                "function (doc) { if (doc.type === 'photo_check' && doc.phash && doc.phash.length === 16) "
                "{ for (var i = 0; i < 8; i++) { emit([doc.office, i, doc.phash.substr(i * 2, 2)], "
                "[doc.document_id, doc.phash, doc.photo_id, doc.captured_at || '']); } } }"
            ),
        },
        # What the office wrote about one document: liability, reprint, resolutions, handovers, confirmations.
        "by_document": {
            "map": (
                "function (doc) { var shown = ['liability', 'reprint_request', 'resolution', 'handover', "
                "'conflict_history', 'finding', 'resident_confirmation', 'closure']; "
                "if (shown.indexOf(doc.type) < 0) { return; } "
                "if (doc.document_id) { emit([doc.document_id, doc.created_at], null); } "
                "if (doc.documents) { for (var i = 0; i < doc.documents.length; i++) "
                "{ emit([doc.documents[i].document_id, doc.created_at], null); } } }"
            ),
        },
        "handovers": {
            "map": (
                "function (doc) { if (doc.type === 'handover') "
                "{ emit([doc.office, doc.created_at], null); } }"
            ),
        },
        # A courier's handovers, newest last: what the courier's app lists to confirm (count of envelopes).
        "handovers_by_courier": {
            "map": (
                "function (doc) { if (doc.type === 'handover') "
                "{ emit([doc.office, doc.courier, doc.created_at], doc.documents.length); } }"
            ),
        },
        "outbox": {
            "map": (
                "function (doc) { if (doc.type === 'notification') "
                "{ emit([doc.status, doc.event_at || '', doc.event_seq || 0, doc.queued_us || 0], null); } }"
            ),
        },
        # Envelopes on the road (picked up, not yet delivered/returned/lost): overdue is a range over these.
        "open_deliveries": {
            "map": (
                "function (doc) { if (doc.type === 'open_delivery' && doc.picked_up_at && "
                "(!doc.closed_at || doc.picked_up_at > doc.closed_at)) "
                "{ emit([doc.office, doc.picked_up_at], doc.document_id); } }"
            ),
        },
        "resident_links": {
            "map": ("function (doc) { if (doc.type === 'resident_link') { emit(doc.document_id, null); } }"),
        },
    },
}

RECORDS_DESIGN: JSONDict = {
    "_id": "_design/records",
    "language": "javascript",
    "views": {
        # Counting records by type lets /healthz-style checks and the office dashboard answer without scans.
        "by_type": {
            "map": "function (doc) { if (doc.type) { emit([doc.type, doc.office || null], null); } }",
            "reduce": "_count",
        },
        # Every custody event of one document, in device-time order: the timeline and the chain verifier.
        "handoffs_by_document": {
            "map": (
                "function (doc) { if (doc.type === 'handoff') "
                "{ emit([doc.document_id, doc.device_time, doc.seq], null); } }"
            ),
        },
        # Which handoffs name the same predecessor ([document, prev_hash], null for the first): the office
        # checks find a forked or twice-started chain from one handoff without reading the whole history.
        "handoff_links": {
            "map": (
                "function (doc) { if (doc.type === 'handoff') "
                "{ emit([doc.document_id, doc.prev_hash === undefined ? null : doc.prev_hash], null); } }"
            ),
        },
        # The seals bound to one document, for judging a delivery's seal without its whole history.
        "seals_by_document": {
            "map": "function (doc) { if (doc.type === 'seal') { emit(doc.document_id, doc.bound_at); } }",
        },
    },
}

#: A Mango index over every record's type and office, for ad-hoc `_find` queries by operators.
TYPE_OFFICE_INDEX: JSONDict = {
    "index": {"fields": ["type", "office"]},
    "name": "type-office",
    "ddoc": "idx-type-office",
}

#: What the office installs: its views in the records database, the office ledger database, and the
#: receipts database (which the gateway writes) without any view.
DATABASES: tuple[DatabaseSpec, ...] = (
    DatabaseSpec(
        suffix="records",
        design_docs=(RECORDS_DESIGN, REPORTS_DESIGN, VISITS_DESIGN),
        indexes=(TYPE_OFFICE_INDEX,),
    ),
    DatabaseSpec(suffix="office", design_docs=(OFFICE_DESIGN,)),
    # No view in the receipts database: each would index every receipt and seq claim a push writes
    # (server/office/closure.py follows the receipts' feed instead). `_design/receipts` held the one an
    # earlier version installed.
    DatabaseSpec(suffix="receipts", retired=("_design/receipts",)),
)
