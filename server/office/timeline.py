"""The custody timeline of one document: every handoff in order, with its proof and whether it can be trusted.

One view query (`reports/by_document`) returns the document and everything that names it; the server's own
receipts (`receipt:<record id>`, written by the sync gateway when a record arrives) add server time and
signature verification; the office ledger adds liabilities, reprints, handovers and resolutions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from records.custody import record_hash, verify_chain
from records.receipt_proof import ReceiptKey
from records.shapes import Document, Seal, as_document, as_handoff, as_seal
from records.types import JSONDict
from server.i18n import N_, Labels
from server.i18n import gettext as _
from server.local_time import happened_at, instant
from server.office.delivery_checks import CODE_LABELS, SEAL_LABELS, judge_delivery, verdict_record
from server.office.ledger import Ledger, docs_by_ids, key, records_of_document

KIND_LABELS = Labels(
    {
        "sealed": N_("Disegel di kantor"),
        "picked_up": N_("Diambil kurir"),
        "delivered": N_("Diterima"),
        "failed_attempt": N_("Gagal antar"),
        "returned": N_("Dikembalikan ke kantor"),
        "lost": N_("Hilang"),
        "reprinted": N_("Dicetak ulang"),
    }
)
CONDITION_LABELS = Labels(
    {
        "intact": N_("utuh"),
        "damaged": N_("rusak"),
        "missing": N_("hilang"),
        "not_checked": N_("tidak diperiksa"),
    }
)
SIGNATURE_LABELS = Labels(
    {
        "verified": N_("Tanda tangan passkey sah"),
        "invalid": N_("Tanda tangan passkey TIDAK sah"),
        "unverified": N_("Tanda tangan belum diperiksa"),
        "unsigned": N_("Tanpa tanda tangan passkey"),
    }
)
#: One verdict per delivery that a supervisor can read.
DELIVERY_STATE_LABELS = Labels(
    {
        "proven": N_("Terbukti diterima: kode dan segel cocok"),
        "settled": N_("Dihitung diterima setelah dipastikan (penduduk atau petugas)"),
        "pending": N_("Belum dihitung diterima: perlu dipastikan"),
        "unchecked": N_("Belum diperiksa server"),
    }
)
PARTY_LABELS = Labels(
    {
        "office": N_("Kantor"),
        "courier": N_("Kurir"),
        "resident": N_("Penduduk"),
        "representative": N_("Perwakilan"),
    }
)


@dataclass
class ChainStatus:
    """Whether each handoff carries the hash of the one before it; `broken_at` names the first bad link."""

    ok: bool
    broken_at: str | None = None
    reason: str = ""


@dataclass
class Event:
    handoff: JSONDict
    receipt: JSONDict | None
    photos: list[JSONDict]
    link_ok: bool
    #: Photos the handoff names that the server does not hold (yet): sent after it, or lost with a phone.
    awaited_photos: list[str] = field(default_factory=list)
    #: For a delivery: the server's verdict (`delivery_check:`), and whether an unproven one was settled.
    delivery_check: JSONDict | None = None
    delivery_settled: JSONDict | None = None

    @property
    def delivery_state(self) -> str | None:
        """proven | settled | pending | unchecked for deliveries (None for other handoffs)."""
        if self.handoff.get("kind") != "delivered":
            return None
        if self.delivery_check is None:
            return "unchecked"
        if self.delivery_check.get("proven"):
            return "proven"
        return "settled" if self.delivery_settled else "pending"

    @property
    def delivery_state_label(self) -> str:
        return DELIVERY_STATE_LABELS.get(self.delivery_state or "") or ""

    @property
    def delivery_proof(self) -> list[tuple[str, bool | None]]:
        """One line per piece of proof of a delivery, for a supervisor: (what, good / bad / not known)."""
        if self.handoff.get("kind") != "delivered":
            return []
        check = self.delivery_check or {}
        code, seal = check.get("code"), check.get("seal")
        expected = check.get("seal_expected") or self.handoff.get("seal_number_expected") or "-"
        scanned = self.handoff.get("seal_number_scanned") or "-"
        signature = self.signature_status
        lines: list[tuple[str, bool | None]] = [
            (
                CODE_LABELS.get(str(code)) or _("Kode penerimaan belum diperiksa"),
                None if code is None else code == "matched",
            ),
            (
                _("%(verdict)s: dipindai %(scanned)s, dipasang kantor %(expected)s")
                % {
                    "verdict": SEAL_LABELS.get(str(seal)) or _("Segel belum diperiksa"),
                    "scanned": scanned,
                    "expected": expected,
                },
                None if seal is None else seal == "matched",
            ),
            (
                _("Foto segel: %(n)s diterima") % {"n": len(self.photos)}
                + (
                    _(", %(n)s belum sampai") % {"n": len(self.awaited_photos)} if self.awaited_photos else ""
                ),
                bool(self.photos) and not self.awaited_photos,
            ),
            (SIGNATURE_LABELS.get(signature) or signature, signature == "verified"),
        ]
        return lines

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(str(self.handoff.get("kind"))) or str(self.handoff.get("kind"))

    @property
    def server_time(self) -> str | None:
        if not self.receipt:
            return None
        value = self.receipt.get("received_at") or self.receipt.get("server_time")
        return str(value) if value else None

    @property
    def happened_at(self) -> object:
        """When it happened as the server knows it (its receipt), or the phone's time before a receipt."""
        return happened_at(self.handoff.get("device_time"), self.server_time)

    @property
    def signature_status(self) -> str:
        """verified / invalid / unverified (signed, no receipt yet) / unsigned."""
        if "signature" not in self.handoff:
            return "unsigned"
        verdict = (self.receipt or {}).get("signature")
        if isinstance(verdict, dict) and verdict.get("status") in ("verified", "invalid"):
            return str(verdict["status"])
        if self.receipt and "signature_valid" in self.receipt:
            return "verified" if self.receipt["signature_valid"] else "invalid"
        if self.receipt and self.receipt.get("verified_by"):
            return "verified"
        return "unverified"


@dataclass
class Timeline:
    document: Document
    events: list[Event] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    complaints: list[JSONDict] = field(default_factory=list)
    office_entries: list[JSONDict] = field(default_factory=list)
    chain: ChainStatus = field(default_factory=lambda: ChainStatus(ok=True))

    @property
    def current_seal(self) -> str | None:
        return str(self.seals[-1]["number"]) if self.seals else None

    @property
    def last_handoff(self) -> JSONDict | None:
        return self.events[-1].handoff if self.events else None

    @property
    def can_report_lost(self) -> bool:
        """Whether the page offers "Laporkan hilang": the same rule as `server.office.lost.record_lost`, an
        envelope a courier holds (not one still unsealed, back at the office or delivered), or one a
        courier already reported lost that the office has not recorded a liability for yet."""
        last = self.last_handoff
        if last is None:
            return False
        if last.get("kind") == "lost":
            return not any(e.get("type") == "liability" for e in self.office_entries)
        return last.get("kind") != "delivered" and (last.get("to") or {}).get("party") == "courier"

    @property
    def can_reprint(self) -> bool:
        """Whether the page offers "Cetak ulang": only after a loss, before the reprint is sealed."""
        last = self.last_handoff
        return last is not None and last.get("kind") == "lost"


def order_handoffs(handoffs: list[JSONDict]) -> list[JSONDict]:
    """Order by the chain where it holds (each names its predecessor's hash), else by device time.

    Device clocks lie, so the chain is the better order; time breaks ties and places unlinked records. Times
    are compared as instants: phones write different offsets, so their text does not sort.
    """
    by_time = sorted(
        handoffs, key=lambda h: (instant(h.get("device_time")), int(h.get("seq") or 0), str(h["_id"]))
    )
    by_prev: dict[str | None, list[JSONDict]] = {}
    for handoff in by_time:
        by_prev.setdefault(handoff.get("prev_hash"), []).append(handoff)
    ordered: list[JSONDict] = []
    seen: set[str] = set()
    current: str | None = None
    while by_prev.get(current):
        nxt = next((h for h in by_prev[current] if h["_id"] not in seen), None)
        if nxt is None:
            break
        ordered.append(nxt)
        seen.add(str(nxt["_id"]))
        current = record_hash(nxt)
    ordered.extend(h for h in by_time if h["_id"] not in seen)
    return ordered


def verify_links(ordered: list[JSONDict]) -> tuple[list[bool], ChainStatus]:
    """Check each link of an ordered chain (per-link marks for the page) and the chain as a whole.

    The whole-chain verdict and its reason come from `records.custody.verify_chain`, the same verifier as the
    `verify-chain` CLI, so the office and the CLI never disagree.
    """
    oks: list[bool] = []
    previous: JSONDict | None = None
    for handoff in ordered:
        expected = record_hash(previous) if previous is not None else None
        oks.append(handoff.get("prev_hash") == expected)
        previous = handoff
    report = verify_chain(ordered)
    if report.bad_link is None:
        return oks, ChainStatus(ok=True)
    oks[report.bad_link.index] = False
    return oks, ChainStatus(ok=False, broken_at=report.bad_link.record_id, reason=report.bad_link.reason)


async def load_timeline(ledger: Ledger, document: JSONDict) -> Timeline:
    document_id = str(document["_id"])
    related = await records_of_document(ledger, document_id)
    timeline = Timeline(document=as_document(document))
    handoffs = [doc for doc in related if doc.get("type") == "handoff"]
    photos = {str(doc["_id"]): doc for doc in related if doc.get("type") == "photo"}
    timeline.seals = sorted(
        (as_seal(d) for d in related if d.get("type") == "seal"), key=lambda d: str(d.get("bound_at"))
    )
    timeline.complaints = [doc for doc in related if doc.get("type") == "complaint"]
    ordered = order_handoffs(handoffs)
    oks, timeline.chain = verify_links(ordered)
    receipts = await docs_by_ids(ledger.receipts, [f"receipt:{h['_id']}" for h in ordered])
    deliveries = [str(h["_id"]) for h in ordered if h.get("kind") == "delivered"]
    verdicts = await docs_by_ids(
        ledger.office,
        [f"delivery_check:{h}" for h in deliveries] + [f"delivery_settled:{h}" for h in deliveries],
    )
    for handoff, ok in zip(ordered, oks, strict=True):
        pictured = [photos[p] for p in handoff.get("photos", []) if p in photos]
        awaited = [p for p in handoff.get("photos", []) if p not in photos]
        receipt = receipts.get(f"receipt:{handoff['_id']}")
        event = Event(handoff, receipt, pictured, ok, awaited)
        event.delivery_check = verdicts.get(f"delivery_check:{handoff['_id']}")
        event.delivery_settled = verdicts.get(f"delivery_settled:{handoff['_id']}")
        timeline.events.append(event)
    office_rows = await ledger.office.view(
        "office", "by_document", startkey=key([document_id]), endkey=key([document_id, {}]), include_docs=True
    )
    timeline.office_entries = [row["doc"] for row in office_rows["rows"] if row.get("doc")]
    return timeline


def judge_unchecked(timeline: Timeline, key: ReceiptKey | None) -> Timeline:
    """Judge, in memory, the deliveries the worker has not judged yet, so a page shows whether a delivery
    counts without waiting for the worker's next round. Nothing is written: the verdict is stored (and its
    findings raised, its resident told) by `segel worker` alone, with the same `judge_delivery`, so the
    page and the later stored verdict agree. Marked `provisional` for the page to say so."""
    for event in timeline.events:
        if event.delivery_state == "unchecked":
            handoff = as_handoff(event.handoff)
            verdict = judge_delivery(handoff, timeline.document, timeline.seals, key)
            event.delivery_check = {**verdict_record(handoff, verdict), "provisional": True}
    return timeline


def has_photo(photo: JSONDict) -> bool:
    return str(photo.get("attachment")) in (photo.get("_attachments") or {})
