"""Proof of delivery: the last link of custody, checked by the server when a delivery arrives.

A courier records a delivery at the door, often offline, with the receipt code the resident gave sealed to
the server's key (`records.receipt_proof`), the seal number scanned, seal photos and a passkey signature. The
phone cannot tell whether the code is right; the office can. When the checks read a `delivered` handoff they
open the code and compare it with the document's own, and compare the seal scanned with the seal the
office bound to the document (not the number the phone copied into the handoff). The verdict is written
once, as `delivery_check:<handoff id>` in the office ledger.

A delivery counts as delivered (dashboard, resident's story) only when it is proven: the code matched and
the seal matched. Otherwise it is an exception for staff (`code_mismatch`, `code_missing`, and the record's
own `seal_mismatch`, or `seal_unexpected` when the phone called a seal matching that the office did not
bind), and the delivery counts once staff have resolved every one of them, or the resident
confirms receipt on their page: either writes `delivery_settled:<handoff id>`, once. Both documents are
created once and never edited, so every step is safe to repeat and to run on several instances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from records.receipt_proof import ReceiptKey, codes_equal
from records.shapes import Document, Handoff, Seal
from records.types import JSONDict
from server.i18n import N_, Labels
from server.office.ledger import Ledger, create_once, docs_by_ids, now_iso
from server.office.open_items import raised_at_of

#: The exceptions that keep a delivery from counting until they are resolved (or the resident confirms).
DELIVERY_KINDS = ("code_mismatch", "code_missing", "seal_mismatch", "seal_unexpected")
#: Resolutions that say the resident has the document; any other (investigate, reprint) leaves the delivery
#: uncounted while closing the queue item.
SETTLING_ACTIONS = frozenset({"resident_confirmed", "confirmed_by_phone", "checked_ok"})

#: Code verdicts: what the server found when it opened the code the courier recorded.
CODE_LABELS = Labels(
    {
        "matched": N_("Kode penerimaan cocok"),
        "mismatch": N_("Kode penerimaan TIDAK cocok"),
        "unreadable": N_("Kode penerimaan tidak dapat dibaca (kunci lain atau rusak)"),
        "missing": N_("Tanpa kode penerimaan"),
    }
)
SEAL_LABELS = Labels(
    {
        "matched": N_("Nomor segel cocok"),
        "mismatch": N_("Nomor segel TIDAK cocok"),
        "not_scanned": N_("Segel tidak dipindai"),
    }
)


@dataclass(frozen=True)
class DeliveryVerdict:
    """What the server found about one delivery."""

    code: str  # matched | mismatch | unreadable | missing
    seal: str  # matched | mismatch | not_scanned
    seal_expected: str | None
    seal_scanned: str | None

    @property
    def proven(self) -> bool:
        return self.code == "matched" and self.seal == "matched"


def judge_code(handoff: Mapping[str, object], document: Mapping[str, object], key: ReceiptKey | None) -> str:
    """Compare the code the courier recorded (sealed, or in clear from the desk) with the document's."""
    expected = document.get("receipt_code")
    proof = handoff.get("receipt_proof")
    if isinstance(proof, Mapping):
        given = key.open(proof, str(handoff.get("document_id"))) if key else None
        if given is None:
            return "unreadable"
    elif isinstance(handoff.get("receipt_code"), str):
        given = str(handoff["receipt_code"])
    else:
        return "missing"
    if not isinstance(expected, str):
        return "mismatch"
    return "matched" if codes_equal(given, expected) else "mismatch"


def expected_seal(handoff: Mapping[str, object], seals: Sequence[Seal]) -> str | None:
    """The seal the office had bound to the envelope when the handoff happened (the latest before it)."""
    when = str(handoff.get("device_time") or "")
    ordered = sorted(seals, key=lambda seal: str(seal.get("bound_at")))
    before = [seal for seal in ordered if str(seal.get("bound_at")) <= when]
    chosen = (before or ordered)[-1] if ordered else None
    return str(chosen["number"]) if chosen else None


def judge_delivery(
    handoff: Handoff,
    document: Document,
    seals: Sequence[Seal],
    key: ReceiptKey | None,
) -> DeliveryVerdict:
    scanned = handoff.get("seal_number_scanned")
    expected = expected_seal(handoff, seals)
    if not isinstance(scanned, str):
        seal = "not_scanned"
    else:
        seal = "matched" if expected is not None and scanned == expected else "mismatch"
    return DeliveryVerdict(
        code=judge_code(handoff, document, key),
        seal=seal,
        seal_expected=expected,
        seal_scanned=scanned if isinstance(scanned, str) else None,
    )


def _day(handoff: Mapping[str, object]) -> str:
    return str(handoff.get("device_time") or "")[:10]


async def check_delivery(
    ledger: Ledger,
    handoff: Handoff,
    document: Document,
    seals: Sequence[Seal],
    key: ReceiptKey | None,
) -> DeliveryVerdict:
    """Judge one delivered handoff once; its findings are written by the caller (`checks.py`)."""
    verdict = judge_delivery(handoff, document, seals, key)
    await create_once(ledger.office, verdict_record(handoff, verdict))
    return verdict


def verdict_record(handoff: Handoff, verdict: DeliveryVerdict) -> JSONDict:
    """The `delivery_check:` document for a verdict: what the worker stores, and what a page shows, unstored,
    for a delivery the worker has not reached yet."""
    return {
        "_id": f"delivery_check:{handoff['_id']}",
        "type": "delivery_check",
        "office": handoff.get("office"),
        "document_id": handoff.get("document_id"),
        "handoff_id": handoff["_id"],
        "day": _day(handoff),
        "code": verdict.code,
        "seal": verdict.seal,
        "seal_expected": verdict.seal_expected,
        "seal_scanned": verdict.seal_scanned,
        "phone_seal_match": handoff.get("seal_match") is True,
        "proven": verdict.proven,
        "created_at": now_iso(),
    }


async def settle_if_resolved(ledger: Ledger, handoff_id: str) -> bool:
    """After staff resolved an exception of this delivery: it counts once none of its exceptions is open."""
    check = await ledger.office.get_or_none(f"delivery_check:{handoff_id}")
    if check is None or check.get("proven"):
        return False
    if await unsettled_kinds(ledger, check):
        return False
    return await _settle(ledger, check, "resolved_by_staff")


def raised_kinds(check: Mapping[str, object]) -> list[str]:
    """The exceptions a delivery's verdict raises."""
    raised = []
    if check.get("code") in ("mismatch", "unreadable"):
        raised.append("code_mismatch")
    if check.get("code") == "missing":
        raised.append("code_missing")
    if check.get("seal") != "matched":
        # The phone's own seal_match=false is already a record exception; a seal the phone called matching
        # that is not the one the office bound is the server's finding.
        raised.append("seal_unexpected" if check.get("phone_seal_match") else "seal_mismatch")
    return raised


async def unsettled_kinds(ledger: Ledger, check: Mapping[str, object]) -> list[str]:
    """The delivery's exceptions not yet resolved with an action that says the resident has the document."""
    handoff_id = str(check["handoff_id"])
    raised = raised_kinds(check)
    resolved = await docs_by_ids(ledger.office, [f"resolution:{kind}:{handoff_id}" for kind in raised])
    return [
        kind
        for kind in raised
        if resolved.get(f"resolution:{kind}:{handoff_id}", {}).get("action") not in SETTLING_ACTIONS
    ]


async def settle_by_resident(ledger: Ledger, document_id: str, handoff_ids: list[str]) -> int:
    """The resident confirmed receipt on their page: every unproven delivery of the document counts, and its
    open exceptions are closed with the resident's word."""
    checks = await docs_by_ids(ledger.office, [f"delivery_check:{h}" for h in handoff_ids])
    settled = 0
    for check in checks.values():
        if check.get("proven") or check.get("document_id") != document_id:
            continue
        for kind in await unsettled_kinds(ledger, check):
            resolution: JSONDict = {
                "_id": f"resolution:{kind}:{check['handoff_id']}",
                "type": "resolution",
                "kind": kind,
                "subject": check["handoff_id"],
                "action": "resident_confirmed",
                "note": "Penduduk mengonfirmasi telah menerima dokumen di halaman penduduk.",
                "office": check.get("office"),
                "author": "resident",
                "document_id": document_id,
                "created_at": now_iso(),
            }
            if raised := await raised_at_of(ledger, kind, str(check["handoff_id"])):
                resolution["raised_at"] = raised  # the queue counts it against its day (open_items.py)
            await create_once(ledger.office, resolution)
        settled += int(await _settle(ledger, check, "resident_confirmed"))
    return settled


async def _settle(ledger: Ledger, check: Mapping[str, object], how: str) -> bool:
    return await create_once(
        ledger.office,
        {
            "_id": f"delivery_settled:{check['handoff_id']}",
            "type": "delivery_settled",
            "office": check.get("office"),
            "document_id": check.get("document_id"),
            "handoff_id": check["handoff_id"],
            "day": check.get("day"),
            "how": how,
            "created_at": now_iso(),
        },
    )


async def delivery_state(ledger: Ledger, handoff_id: str) -> str:
    """proven | settled | pending | unchecked: whether this delivery counts as delivered yet."""
    found = await docs_by_ids(
        ledger.office, [f"delivery_check:{handoff_id}", f"delivery_settled:{handoff_id}"]
    )
    check = found.get(f"delivery_check:{handoff_id}")
    if check is None:
        return "unchecked"
    if check.get("proven"):
        return "proven"
    return "settled" if f"delivery_settled:{handoff_id}" in found else "pending"
