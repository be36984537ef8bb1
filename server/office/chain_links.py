"""One handoff's link in its document's custody chain, checked from a few records around it.

The office checks meet every handoff once. Verifying the whole chain at each one cost a read of the whole
history per handoff, so a courier with a long-lived document could make every check slower (2,000 handoffs
took minutes). A chain is broken exactly where some link does not hold, so checking each link when its
handoff arrives finds the same places, at a cost that does not grow with the history:

- a first handoff (`prev_hash` null) must be `sealed`;
- any other names the hash of a handoff of the same document: looked for among the handoffs nearest to it
  in device time (`records/handoffs_by_document`, at most `NEIGHBOURS` each side), hashed here, since the
  predecessor is almost always the one just before it and device clocks are off by minutes, not by dozens
  of handoffs;
- no earlier handoff (by device time, `seq`, id: the timeline's order) names the same predecessor
  (`records/handoff_links`): two phones that recorded the same envelope before either synced, or a second
  `sealed` start.

The timeline page still verifies the whole chain with `records.custody.verify_chain` (one document, on
demand).
Not seen here: a handoff edited in the database after the one after it was checked (the gateway keeps
handoffs append-only; the timeline and `verify-chain` show such an edit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from records.custody import CanonicalFormError, record_hash
from records.shapes import Handoff, as_handoff
from server.office.ledger import Ledger, key

#: Handoffs read on each side of the one checked, looking for the one it names.
NEIGHBOURS = 16
#: Handoffs read that name the same predecessor: more than a handful is an attack, and the first few decide.
SIBLINGS = 8


def _order(handoff: Handoff) -> tuple[str, int, str]:
    """The timeline's order (`timeline.order_handoffs`): device time, then seq, then id."""
    return (str(handoff.get("device_time")), int(handoff.get("seq") or 0), str(handoff["_id"]))


@dataclass(frozen=True)
class BrokenLink:
    """Why a link does not hold: a reason code (`finding_texts.CHAIN_REASONS`) and what it names."""

    reason: str
    args: dict[str, str] = field(default_factory=dict)


async def broken_link(ledger: Ledger, handoff: Handoff) -> BrokenLink | None:
    """Why this handoff's link does not hold (for the `chain_broken` finding), or None when it holds."""
    prev_hash = handoff.get("prev_hash")
    try:
        record_hash(handoff)
    except CanonicalFormError as exc:
        return BrokenLink("not_canonical", {"error": str(exc)})
    if prev_hash is None and handoff.get("kind") != "sealed":
        return BrokenLink("first_not_sealed", {"kind": str(handoff.get("kind"))})
    if prev_hash is not None and not await _predecessor_found(ledger, handoff, str(prev_hash)):
        # That handoff was altered, or one was removed or inserted between them.
        return BrokenLink("no_predecessor")
    return await _taken_link(ledger, handoff)


async def _predecessor_found(ledger: Ledger, handoff: Handoff, prev_hash: str) -> bool:
    document_id = handoff["document_id"]
    here = [document_id, handoff.get("device_time"), handoff.get("seq")]
    for params in (
        {"startkey": key([*here, {}]), "endkey": key([document_id]), "descending": True},
        {"startkey": key(here), "endkey": key([document_id, {}])},
    ):
        rows = await ledger.records.view(
            "records", "handoffs_by_document", include_docs=True, limit=NEIGHBOURS + 1, **params
        )
        for row in rows.get("rows", []):
            candidate = row.get("doc")
            if not candidate or candidate["_id"] == handoff["_id"]:
                continue
            try:
                if record_hash(candidate) == prev_hash:
                    return True
            except CanonicalFormError:
                continue
    return False


async def _taken_link(ledger: Ledger, handoff: Handoff) -> BrokenLink | None:
    """Another handoff, earlier in the timeline's order, already follows the same predecessor."""
    rows = await ledger.records.view(
        "records",
        "handoff_links",
        key=key([handoff["document_id"], handoff.get("prev_hash")]),
        include_docs=True,
        limit=SIBLINGS,
    )
    siblings = [as_handoff(row["doc"]) for row in rows.get("rows", []) if row.get("doc")]
    first = min([handoff, *siblings], key=_order)
    if first["_id"] == handoff["_id"]:
        return None
    if handoff.get("prev_hash") is None:
        return BrokenLink("second_start", {"first": str(first["_id"])})  # a second first handoff
    return BrokenLink("fork", {"first": str(first["_id"])})  # the chain forks here
