"""`_bulk_docs`: what a phone pushes, validated, stored as it is, with receipts and refusals beside it.

Every revision of a batch is judged by `sync.validation` against what the database holds (read in a few
batched requests), handoffs are verified by the identity feature, sequence numbers are claimed, and the
accepted revisions are written with `new_edits=false`. Refusals come back per document as `forbidden`
(the only per-document error PouchDB tolerates) and are stored for office staff.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sync.couch import CouchConflict, Database
from sync.errors import bad_request
from sync.principal import Principal
from sync.replication import fetch_docs, now_iso, visible
from sync.schemas import RecordError, validate_record
from sync.types import JSONDict
from sync.validation import (
    READABLE_TYPES,
    PhotoStatus,
    Refusal,
    StoredState,
    check_attachments,
    check_id,
    check_record,
)

logger = logging.getLogger(__name__)

MAX_BULK_DOCS = 1000

#: A verdict on a handoff's signature: ("verified" | "unsigned" | "invalid", reason, credential id).
Verdict = tuple[str, str, str | None]
#: Writes what the verification must leave behind (its audit entries); awaited before the push answers.
AuditWriter = Callable[[], Awaitable[None]]
#: Verdicts for a batch of handoffs, in order, and the writer of their audit entries, so those go to the
#: database in the same round trip as the records.
Verifier = Callable[[list[Mapping[str, object]], Principal], Awaitable[tuple[list[Verdict], AuditWriter]]]


@dataclass
class PushOutcome:
    """What happened to one pushed batch: entries for the answer, and counts for the log."""

    answer: list[JSONDict]
    written: int
    refused: int
    unchanged: int


async def push_docs(
    db: Database, principal: Principal, body: object, *, verify: Verifier | None
) -> PushOutcome:
    """Validate every pushed revision, store the accepted ones as they are, record and report refusals."""
    docs = _bulk_docs_list(body)
    refusals: dict[int, Refusal] = {}
    for index, doc in enumerate(docs):
        refusal = check_id(doc.get("_id"), READABLE_TYPES)
        if refusal:
            refusals[index] = refusal
    candidates = [index for index in range(len(docs)) if index not in refusals]
    ids = {str(docs[index]["_id"]) for index in candidates}
    linked = {
        str(docs[index]["document_id"])
        for index in candidates
        if isinstance(docs[index].get("document_id"), str)
        and str(docs[index].get("document_id")).startswith("document:")
    }
    # Sequence numbers are claimed while the current documents are read (one round trip less per batch),
    # only for handoffs signed in as their author, so nobody can use up another user's numbers.
    claimable = [
        index
        for index in candidates
        if docs[index].get("type") == "handoff"
        and docs[index].get("author") == principal.user_id
        and isinstance(docs[index].get("seq"), int)
        and not docs[index].get("_deleted")
    ]
    lookups = asyncio.gather(fetch_docs(db, ids | linked), _claim_handoff_seqs(db, docs, claimable))
    try:
        # The schema checks (the bulk of the gateway's own work) run while the database answers.
        schema_errors: dict[int, list[RecordError]] = {}
        for index in candidates:
            await asyncio.sleep(0)
            schema_errors[index] = validate_record(docs[index])
    except BaseException:
        lookups.cancel()
        raise
    current, taken = await lookups
    known_revs = await _known_revisions(
        db, [docs[index] for index in candidates if docs[index]["_id"] in current]
    )

    accepted: list[int] = []
    unchanged: list[int] = []
    photo_status: dict[int, PhotoStatus] = {}
    for index in candidates:
        doc = docs[index]
        doc_id = str(doc["_id"])
        stored = StoredState(
            exists=doc_id in current,
            rev_known=(doc_id, str(doc.get("_rev"))) in known_revs,
            current=current.get(doc_id),
        )
        linked_doc = current.get(str(doc.get("document_id"))) if doc.get("document_id") else None
        if doc.get("_deleted") and not _visible_now(current.get(doc_id), principal, current):
            # A device forgetting a record that left its scope (the PWA purges with a local deletion):
            # nothing to store and nothing to refuse, since the record was never the device's to delete.
            unchanged.append(index)
            continue
        refusal = check_record(
            doc, principal, stored=stored, linked_document=linked_doc, schema_errors=schema_errors[index]
        )
        if refusal is None and stored.rev_known:
            unchanged.append(index)
            continue
        if refusal is None:
            refusal, photo_status[index] = check_attachments(doc, stored)
        if refusal is None:
            accepted.append(index)
        else:
            refusals[index] = refusal
    verdicts, write_audit = await _verify_handoffs(docs, accepted, principal, verify)
    for index, verdict in verdicts.items():
        if verdict[0] == "invalid":
            refusals[index] = Refusal(
                "signature",
                "Tanda tangan passkey pada serah terima ini tidak sah; rekam ulang serah terimanya. "
                f"(The passkey signature is not valid: {verdict[1]})",
            )
    accepted = [index for index in accepted if index not in refusals]
    for index in set(taken).intersection(accepted):
        refusals[index] = check_record(
            docs[index],
            principal,
            stored=StoredState(),
            linked_document=current.get(str(docs[index]["document_id"])),
            seq_taken=True,
        ) or Refusal("replay", "replay")
    accepted = [index for index in accepted if index not in refusals]

    # Every write of the batch goes out at once: records with the receipts of new records in one request,
    # refusals, and the verification's audit entries. A receipt of a new record is created with a revision
    # derived from its id (`receipt_revision`), so writing it again (a retry after a lost answer, or two
    # pushes of one record racing) is a no-op, never a conflict. A receipt of a record that already existed
    # (a new revision of a mutable record, or a photo whose image now arrived) goes the careful way.
    received_at = now_iso()
    fresh = [index for index in accepted if str(docs[index]["_id"]) not in current]
    again = [index for index in accepted if str(docs[index]["_id"]) in current]
    receipts = {
        index: receipt_for(docs[index], principal, received_at, verdicts.get(index), photo_status.get(index))
        for index in accepted
    }
    first_receipts = [
        {**receipts[index], "_rev": receipt_revision(str(receipts[index]["_id"]))} for index in fresh
    ]
    outcomes = await asyncio.gather(
        _write_records([docs[index] for index in accepted] + first_receipts, db),
        _write_receipts(db, [receipts[index] for index in again]),
        _write_refusals(db, principal, docs, refusals),
        write_audit(),
        return_exceptions=True,
    )
    for outcome in outcomes:  # all four finished: the first failure fails the request, the client retries
        if isinstance(outcome, BaseException):
            raise outcome
    writes: list[JSONDict] = outcomes[0]  # type: ignore[assignment]
    failed = {str(entry.get("id")) for entry in writes if entry.get("error")}
    for receipt in first_receipts:
        if receipt["_id"] in failed:
            logger.error("receipt %s not written: the record is stored without its receipt", receipt["_id"])
    answer: list[JSONDict] = [
        entry for entry in writes if entry.get("error") and not str(entry.get("id")).startswith("receipt:")
    ]
    written = sum(1 for index in accepted if str(docs[index]["_id"]) not in failed)
    for index, refusal in sorted(refusals.items()):
        refused_id = docs[index].get("_id")
        answer.append(
            {
                "id": refused_id if isinstance(refused_id, str) else "",
                "error": "forbidden",
                "reason": refusal.reason,
            }
        )
    return PushOutcome(answer, written, len(refusals), len(unchanged))


#: CouchDB refuses request bodies above `max_document_size` on some servers (PouchDB Server applies it
#: to the whole request): writes go in slices below the 8 MB default, large enough that a batch of 25
#: photos of ~150 KB (what a client sends in one request, see docs/sync.md) is written in one request.
WRITE_SLICE_BYTES = 6 * 1024 * 1024


def _by_size(docs: list[JSONDict]) -> list[list[JSONDict]]:
    """Split docs into slices whose inline attachments (the bulk of the bytes) stay under the write limit."""
    slices: list[list[JSONDict]] = [[]]
    size = 0
    for doc in docs:
        attachments = doc.get("_attachments")
        weight = 2048 + sum(
            len(str(item.get("data", ""))) for item in (attachments or {}).values() if isinstance(item, dict)
        )
        if slices[-1] and size + weight > WRITE_SLICE_BYTES:
            slices.append([])
            size = 0
        slices[-1].append(doc)
        size += weight
    return [chunk for chunk in slices if chunk]


async def _write_records(docs: list[JSONDict], db: Database) -> list[JSONDict]:
    """Store the accepted revisions exactly as pushed, in slices under the request size limit."""
    slices = await asyncio.gather(*(db.bulk_docs(chunk, new_edits=False) for chunk in _by_size(docs)))
    return [entry for result in slices for entry in result]


def _visible_now(doc: JSONDict | None, principal: Principal, documents: Mapping[str, JSONDict]) -> bool:
    return doc is not None and visible(doc, principal, documents)


def _bulk_docs_list(body: object) -> list[JSONDict]:
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise bad_request('_bulk_docs expects {"docs": [...], "new_edits": false}.')
    if body.get("new_edits", True) is not False:
        raise bad_request(
            "The gateway accepts replicated revisions only (new_edits=false): use PouchDB replication."
        )
    docs: list[JSONDict] = body["docs"]
    if len(docs) > MAX_BULK_DOCS:
        raise bad_request(f"_bulk_docs accepts at most {MAX_BULK_DOCS} documents per request.")
    if not all(isinstance(doc, dict) for doc in docs):
        raise bad_request("Every entry of docs must be a JSON object.")
    return docs


async def _known_revisions(db: Database, docs: list[JSONDict]) -> set[tuple[str, str]]:
    """(id, rev) pairs of pushed revisions the database already holds: retries after a lost answer."""
    offered: dict[str, list[str]] = {}
    for doc in docs:
        if isinstance(doc.get("_rev"), str):
            offered.setdefault(str(doc["_id"]), []).append(str(doc["_rev"]))
    if not offered:
        return set()
    diff: JSONDict = await db.client.json("POST", f"{db.path}/_revs_diff", json=offered)
    known: set[tuple[str, str]] = set()
    for doc_id, revs in offered.items():
        missing = set(diff.get(doc_id, {}).get("missing", []))
        known.update((doc_id, rev) for rev in revs if rev not in missing)
    return known


async def _verify_handoffs(
    docs: list[JSONDict], indexes: list[int], principal: Principal, verify: Verifier | None
) -> tuple[dict[int, Verdict], AuditWriter]:
    """Passkey verdicts for the pushed handoffs, in one batch, and the writer of their audit entries."""
    handoffs = [index for index in indexes if docs[index].get("type") == "handoff"]
    if verify is None or not handoffs:
        return {}, _nothing_to_write
    verdicts, write_audit = await verify([docs[index] for index in handoffs], principal)
    return dict(zip(handoffs, verdicts, strict=True)), write_audit


async def _nothing_to_write() -> None:
    return None


async def _claim_handoff_seqs(db: Database, docs: list[JSONDict], indexes: list[int]) -> list[int]:
    """Claim each handoff's (author, seq) with a server document; return the handoffs whose seq was taken.

    A claim is a create: CouchDB lets exactly one writer create `seqclaim:<author>:<seq>`, so two phones (or
    a replayed record under a new id) cannot both use one sequence number. A claim by the same handoff id is
    a retry of this very handoff, not a replay.
    """
    claims: dict[str, int] = {}
    duplicates: list[int] = []
    for index in indexes:
        claim_id = f"seqclaim:{docs[index]['author']}:{docs[index]['seq']}"
        if (
            claims.setdefault(claim_id, index) != index
            and docs[claims[claim_id]]["_id"] != docs[index]["_id"]
        ):
            duplicates.append(index)  # two handoffs with one seq in the same batch: the first one claims it
    if not claims:
        return []
    result = await db.bulk_docs(
        [
            {"_id": claim_id, "type": "seq_claim", "handoff_id": docs[index]["_id"], "claimed_at": now_iso()}
            for claim_id, index in claims.items()
        ]
    )
    conflicted = [str(entry["id"]) for entry in result if entry.get("error") == "conflict"]
    if not conflicted:
        return duplicates
    holders = await fetch_docs(db, conflicted)
    return duplicates + [
        claims[claim_id]
        for claim_id in conflicted
        if holders.get(claim_id, {}).get("handoff_id") != docs[claims[claim_id]]["_id"]
    ]


def _record_type(doc: Mapping[str, object]) -> str:
    doc_id = doc.get("_id")
    return str(doc_id).split(":", 1)[0] if isinstance(doc_id, str) else "unknown"


def receipt_revision(receipt_id: str) -> str:
    """The first revision of a receipt, the same wherever and however often it is written."""
    return "1-" + hashlib.md5(receipt_id.encode(), usedforsecurity=False).hexdigest()


def receipt_for(
    doc: Mapping[str, object],
    principal: Principal,
    received_at: str,
    verdict: Verdict | None,
    photo_status: PhotoStatus | None,
) -> JSONDict:
    """Server-side facts about one stored record, kept beside it, never inside the pushed revision."""
    receipt: JSONDict = {
        "_id": f"receipt:{doc['_id']}",
        "type": "receipt",
        "record_id": doc["_id"],
        "record_type": doc.get("type"),
        "rev": doc.get("_rev"),
        "office": doc.get("office"),
        "received_at": received_at,
        "received_from": principal.user_id,
        "device_id": principal.device_id,
    }
    if verdict is not None:
        status, reason, credential_id = verdict
        receipt["signature"] = {"status": status, "reason": reason, "credential_id": credential_id}
        receipt["needs_review"] = status != "verified"
    if photo_status in ("waiting", "verified"):
        receipt["photo"] = photo_status
        receipt["needs_review"] = receipt.get("needs_review", False) or photo_status == "waiting"
    return receipt


async def _write_receipts(db: Database, receipts: list[JSONDict]) -> None:
    """Receipts of records that existed before this push: the first receipt is kept, except that a photo
    which was waiting for its image is marked as arrived."""
    if not receipts:
        return
    result = await db.bulk_docs(receipts)
    conflicted = {str(entry["id"]) for entry in result if entry.get("error") == "conflict"}
    for receipt in receipts:
        if receipt["_id"] in conflicted and receipt.get("photo") == "verified":
            await _mark_photo_arrived(db, receipt)


async def _mark_photo_arrived(db: Database, receipt: JSONDict) -> None:
    for _ in range(3):
        existing = await db.get_or_none(str(receipt["_id"]))
        if existing is None or existing.get("photo") != "waiting":
            return
        existing.update(photo="verified", photo_received_at=receipt["received_at"], rev=receipt["rev"])
        existing["needs_review"] = bool(existing.get("signature", {}).get("status") not in (None, "verified"))
        try:
            await db.put(existing)
            return
        except CouchConflict:
            continue


async def _write_refusals(
    db: Database, principal: Principal, docs: list[JSONDict], refusals: Mapping[int, Refusal]
) -> None:
    """Keep every refusal (and the refused record, without image bytes) so office staff can follow up."""
    if not refusals:
        return
    refused_at = now_iso()
    records = []
    for index, refusal in refusals.items():
        doc = docs[index]
        doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else "unknown"
        rev = doc.get("_rev") if isinstance(doc.get("_rev"), str) else "norev"
        body = {key: value for key, value in doc.items() if key not in ("_attachments", "_revisions", "_rev")}
        records.append(
            {
                "_id": f"refusal:{doc_id}:{rev}"[:300],
                "type": "refusal",
                "record_id": doc_id,
                "record_type": _record_type(doc),
                "rev": rev,
                "office": principal.office,
                "user": principal.user_id,
                "device_id": principal.device_id,
                "code": refusal.code,
                "reason": refusal.reason,
                "refused_at": refused_at,
                "record": {key.lstrip("_"): value for key, value in body.items()},
            }
        )
    result = await db.bulk_docs(records)
    for entry in result:
        if entry.get("error") and entry.get("error") != "conflict":
            logger.warning("could not store refusal %s: %s", entry.get("id"), entry.get("error"))
