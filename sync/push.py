"""`_bulk_docs`: what a phone pushes, validated, stored as it is, with receipts and refusals beside it.

Every revision of a batch is judged by `sync.validation` against what the database holds, the stored
winner and every conflicting branch (`sync.branches`, read in a few batched requests), handoffs are
verified by the identity feature, sequence numbers are claimed for the handoffs that passed every rule,
and the accepted revisions are written with `new_edits=false`. Refusals come back per document as
`forbidden` (the only per-document error PouchDB tolerates) and are kept for office staff, bounded per
user and hour (`sync.refusals`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from records.principal import Principal
from records.schemas import RecordError, validate_record
from records.shapes import Handoff, as_handoff
from records.texts import N_, in_both
from records.types import JSONDict
from store.couch import CouchConflict, Database
from store.records import RecordsStore
from sync.branches import Stored, read_branches, read_stored
from sync.errors import bad_request
from sync.refusals import trim_reason, write_refusals
from sync.replication import fetch_docs, linked_documents, now_iso, visible
from sync.validation import (
    READABLE_TYPES,
    PhotoStatus,
    Refusal,
    StoredState,
    assignee_refusal,
    check_attachments,
    check_id,
    check_links,
    check_record,
)
from sync.verdicts import SignatureVerdict
from sync.written_bodies import WrittenBodies

logger = logging.getLogger(__name__)

MAX_BULK_DOCS = 1000

#: A verdict on a handoff's signature, as `sync.signatures` gives it.
Verdict = SignatureVerdict
#: Writes what the verification must leave behind (its audit entries); awaited before the push answers.
AuditWriter = Callable[[], Awaitable[None]]
#: Verdicts for a batch of handoffs, in order, and the writer of their audit entries, so those go to the
#: database in the same round trip as the records.
Verifier = Callable[[list[Handoff], Principal], Awaitable[tuple[list[Verdict], AuditWriter]]]
#: Of the (office, user id, partner) assignments named by pushed documents, those naming nobody who may carry
#: that office's documents (an active courier of the office with that partner, or its staff for "office").
#: Given by the server, which owns the identity database, as `verify` is.
AssigneeCheck = Callable[[list[tuple[str, str, str]]], Awaitable[set[tuple[str, str, str]]]]


@dataclass
class PushOutcome:
    """What happened to one pushed batch: entries for the answer, and counts for the log."""

    answer: list[JSONDict]
    written: int
    refused: int
    unchanged: int


async def push_docs(
    db: Database,
    principal: Principal,
    body: object,
    *,
    receipts: Database,
    verify: Verifier | None,
    check_assignees: AssigneeCheck | None = None,
    written: WrittenBodies | None = None,
) -> PushOutcome:
    """Validate every pushed revision, store the accepted ones as they are, record and report refusals;
    the stored bodies are offered to `written` (this process's change follower need not read them).

    `db` holds the records; `receipts` the gateway's receipts and sequence-number claims, a database of its
    own so that the records' views never read them (docs/performance.md, "Push database work")."""
    docs = _bulk_docs_list(body)
    refusals = _refuse_bad_ids(docs)
    candidates = [index for index in range(len(docs)) if index not in refusals]
    held, schema_errors = await _read_while_validating(db, docs, candidates)
    context = await _read_context(db, principal, docs, candidates, held, schema_errors, check_assignees)
    judged = _judge_batch(docs, candidates, principal, held, context, schema_errors, refusals)
    verdicts, write_audit, given_back = await _verify_and_claim(
        receipts, docs, judged, principal, held.current, refusals, verify
    )
    if written is not None:
        # Offered before the write: the follower may hear of the change before this request hears the
        # answer. A body is only ever taken for a change whose leaf is its revision, so one whose write
        # fails is never used, and is forgotten with the oldest.
        written.offer(docs[index] for index in judged.accepted)
    writes = await _write_batch(
        db, receipts, docs, judged, principal, held.current, verdicts, refusals, write_audit, given_back
    )
    return _outcome(docs, judged, writes, refusals)


@dataclass
class _Context:
    """The second round of reads, all at once: which pushed revisions are retries, the other branches of the
    stored records, the documents records belong to (with those of records a device deletes), and which new
    assignments name nobody who may carry the document."""

    known_revs: set[tuple[str, str]]
    branches: dict[str, list[JSONDict]]
    documents: dict[str, JSONDict]
    bad_assignees: set[tuple[str, str, str]]


@dataclass
class _Judged:
    """Where the rules put each pushed revision (by index in the batch); refusals are kept apart."""

    accepted: list[int]
    unchanged: list[int]
    photo_status: dict[int, PhotoStatus]


def _refuse_bad_ids(docs: list[JSONDict]) -> dict[int, Refusal]:
    """Refusals of revisions whose id no record type may have: nothing else about them is read."""
    refusals: dict[int, Refusal] = {}
    for index, doc in enumerate(docs):
        refusal = check_id(doc.get("_id"), READABLE_TYPES)
        if refusal:
            refusals[index] = refusal
    return refusals


async def _read_while_validating(
    db: Database, docs: list[JSONDict], candidates: list[int]
) -> tuple[Stored, dict[int, list[RecordError]]]:
    """What the database holds for the pushed ids and the documents they link to, and the schema errors of
    every candidate: the schema checks (the bulk of the gateway's own work) run while the database answers."""
    ids = {str(docs[index]["_id"]) for index in candidates}
    linked = {_link(docs[index], "document_id", "document:") for index in candidates} | {
        _link(docs[index], "handoff_id", "handoff:") for index in candidates
    }
    lookup = asyncio.ensure_future(read_stored(db, ids | linked - {""}))
    try:
        schema_errors: dict[int, list[RecordError]] = {}
        for index in candidates:
            await asyncio.sleep(0)
            schema_errors[index] = validate_record(docs[index])
    except BaseException:
        lookup.cancel()
        raise
    return await lookup, schema_errors


async def _read_context(
    db: Database,
    principal: Principal,
    docs: list[JSONDict],
    candidates: list[int],
    held: Stored,
    schema_errors: Mapping[int, list[RecordError]],
    check_assignees: AssigneeCheck | None,
) -> _Context:
    current = held.current
    existing = [index for index in candidates if docs[index]["_id"] in current]
    known_revs, branches, deleted_links, bad_assignees = await asyncio.gather(
        _known_revisions(db, [docs[index] for index in existing]),
        read_branches(db, [current[doc_id] for doc_id in {str(docs[index]["_id"]) for index in existing}]),
        _documents_of_deletions(db, principal, docs, existing, current),
        _check_assignments(docs, candidates, schema_errors, current, check_assignees),
    )
    return _Context(known_revs, branches, {**current, **deleted_links}, bad_assignees)


def _judge_batch(
    docs: list[JSONDict],
    candidates: list[int],
    principal: Principal,
    held: Stored,
    context: _Context,
    schema_errors: Mapping[int, list[RecordError]],
    refusals: dict[int, Refusal],
) -> _Judged:
    """Judge every candidate by the rules of `sync.validation`, in `_JUDGING_ORDER`, against what the
    database holds and what this batch accepted before it; refusals are added to `refusals`."""
    current = held.current
    accepted: list[int] = []
    unchanged: list[int] = []
    photo_status: dict[int, PhotoStatus] = {}
    in_batch: dict[str, JSONDict] = {}  # accepted revisions of this batch, which later records may link to
    for index in sorted(candidates, key=lambda i: _JUDGING_ORDER.get(str(docs[i].get("type")), 9)):
        doc = docs[index]
        doc_id = str(doc["_id"])
        stored = StoredState(
            exists=doc_id in current or doc_id in held.removed,
            rev_known=(doc_id, str(doc.get("_rev"))) in context.known_revs,
            current=current.get(doc_id),
            branches=tuple(context.branches.get(doc_id, ())),
            removed=doc_id in held.removed,
        )
        linked_doc = current.get(str(doc.get("document_id"))) if doc.get("document_id") else None
        if doc.get("_deleted") and not _visible_now(current.get(doc_id), principal, context.documents):
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
            document_id, handoff_id = _link(doc, "document_id", ""), _link(doc, "handoff_id", "")
            refusal = check_links(
                doc,
                in_batch.get(document_id) or current.get(document_id),
                in_batch.get(handoff_id) or current.get(handoff_id),
            )
        assignment = _assignment(doc)
        if refusal is None and assignment is not None and assignment in context.bad_assignees:
            refusal = assignee_refusal(assignment[1])
        if refusal is None:
            refusal, photo_status[index] = check_attachments(doc, stored)
        if refusal is None:
            accepted.append(index)
            in_batch[doc_id] = doc
        else:
            refusals[index] = refusal
    accepted.sort()
    return _Judged(accepted, unchanged, photo_status)


async def _verify_and_claim(
    receipts: Database,
    docs: list[JSONDict],
    judged: _Judged,
    principal: Principal,
    current: Mapping[str, JSONDict],
    refusals: dict[int, Refusal],
    verify: Verifier | None,
) -> tuple[dict[int, Verdict], AuditWriter, list[JSONDict]]:
    """Third round: passkey verdicts of the accepted handoffs, while their sequence numbers are claimed.

    A number is claimed only for a handoff every rule accepted, and before anything is stored; a claim made
    here for a handoff whose signature then fails is given back (the claims returned for deletion), so a
    refusal never uses up a seq. Handoffs refused here leave `judged.accepted` and join `refusals`.
    """
    accepted = judged.accepted
    claimable = [
        index
        for index in accepted
        if docs[index].get("type") == "handoff"
        and docs[index].get("author") == principal.user_id
        and isinstance(docs[index].get("seq"), int)
    ]
    (verdicts, write_audit), (taken, claimed) = await asyncio.gather(
        _verify_handoffs(docs, accepted, principal, verify), _claim_handoff_seqs(receipts, docs, claimable)
    )
    for index, verdict in verdicts.items():
        if verdict.status == "invalid":
            message = N_(
                "Tanda tangan passkey pada serah terima ini tidak sah; rekam ulang serah terimanya. (%(why)s)"
            )
            why = {"why": verdict.reason or "-"}
            refusals[index] = Refusal("signature", in_both(message, **why), message, why)
    for index in set(taken).intersection(accepted).difference(refusals):
        refusals[index] = check_record(
            docs[index],
            principal,
            stored=StoredState(),
            linked_document=current.get(str(docs[index]["document_id"])),
            seq_taken=True,
        ) or Refusal("replay", "replay")
    judged.accepted = [index for index in accepted if index not in refusals]
    given_back = [
        {"_id": claim_id, "_rev": rev, "_deleted": True}
        for index, (claim_id, rev) in claimed.items()
        if index in refusals
    ]
    return verdicts, write_audit, given_back


async def _write_batch(
    db: Database,
    receipts_db: Database,
    docs: list[JSONDict],
    judged: _Judged,
    principal: Principal,
    current: Mapping[str, JSONDict],
    verdicts: Mapping[int, Verdict],
    refusals: Mapping[int, Refusal],
    write_audit: AuditWriter,
    given_back: list[JSONDict],
) -> list[JSONDict]:
    """The receipts of new records first, then every other write of the batch at once; returns the answers
    to the records' write.

    A receipt of a new record is created with a revision derived from its id (`receipt_revision`), so
    writing it again (a retry after a lost answer, or two pushes of one record racing) is a no-op, never a
    conflict. It is written, in the receipts database, before its record: a gateway stopped in between
    leaves a receipt of a record that is not stored (read by nobody: the office looks receipts up by the
    records it has), and the phone, which got no answer, pushes the record again. The other order could
    leave a stored record without its receipt for good, since its retry is then "already stored". The
    records then go beside the refusals, the verification's audit entries and the given-back claims. A
    receipt of a record that already existed (a new revision of a mutable record, or a photo whose image now
    arrived) goes the careful way.
    """
    accepted = judged.accepted
    received_at = now_iso()
    fresh = [index for index in accepted if str(docs[index]["_id"]) not in current]
    again = [index for index in accepted if str(docs[index]["_id"]) in current]
    receipts = {
        index: receipt_for(
            docs[index], principal, received_at, verdicts.get(index), judged.photo_status.get(index)
        )
        for index in accepted
    }
    first_receipts = [
        {**receipts[index], "_rev": receipt_revision(str(receipts[index]["_id"]))} for index in fresh
    ]
    receipt_writes = await _write_records(first_receipts, receipts_db) if first_receipts else []
    unreceipted = {str(entry.get("id")) for entry in receipt_writes if entry.get("error")}
    for receipt_id in sorted(unreceipted):
        logger.error("receipt %s not written: its record is stored without it", receipt_id)
    outcomes = await asyncio.gather(
        _write_records([docs[index] for index in accepted], db),
        _write_receipts(receipts_db, [receipts[index] for index in again]),
        write_refusals(db, principal, docs, refusals),
        write_audit(),
        _give_back_claims(receipts_db, given_back),
        return_exceptions=True,
    )
    for outcome in outcomes:  # all finished: the first failure fails the request, the client retries
        if isinstance(outcome, BaseException):
            raise outcome
    writes: list[JSONDict] = outcomes[0]  # type: ignore[assignment]
    return writes


def _outcome(
    docs: list[JSONDict], judged: _Judged, writes: list[JSONDict], refusals: Mapping[int, Refusal]
) -> PushOutcome:
    """The answer PouchDB gets: the records' write errors, then every refusal as `forbidden`, the only
    per-document error it tolerates."""
    failed = {str(entry.get("id")) for entry in writes if entry.get("error")}
    answer: list[JSONDict] = [entry for entry in writes if entry.get("error")]
    written = sum(1 for index in judged.accepted if str(docs[index]["_id"]) not in failed)
    for index, refusal in sorted(refusals.items()):
        refused_id = docs[index].get("_id")
        answer.append(
            {
                "id": refused_id if isinstance(refused_id, str) else "",
                "error": "forbidden",
                "reason": trim_reason(refusal.reason),
            }
        )
    return PushOutcome(answer, written, len(refusals), len(judged.unchanged))


#: Documents are judged before the records that link to them, handoffs before their photos, so a batch
#: may carry a new document with its seal (a link to a document refused in the same batch is refused too).
_JUDGING_ORDER = {"document": 0, "seal": 1, "handoff": 2, "photo": 3}


def _link(doc: Mapping[str, object], field: str, prefix: str) -> str:
    value = doc.get(field)
    return value if isinstance(value, str) and value.startswith(prefix) else ""


def _assignment(doc: Mapping[str, object]) -> tuple[str, str, str] | None:
    """(office, courier, partner) of a live document's assignment, or None."""
    assignment = doc.get("assignment")
    if doc.get("type") != "document" or doc.get("_deleted") or not isinstance(assignment, Mapping):
        return None
    return (str(doc.get("office")), str(assignment.get("courier")), str(assignment.get("partner")))


async def _check_assignments(
    docs: list[JSONDict],
    indexes: list[int],
    schema_errors: Mapping[int, list[RecordError]],
    current: Mapping[str, JSONDict],
    check: AssigneeCheck | None,
) -> set[tuple[str, str, str]]:
    """The assignments of pushed documents that name nobody who may carry them (asked of the server in one
    call). An assignment the stored record already has is not asked again: editing another field of a
    document whose courier has since left must stay possible."""
    if check is None:
        return set()
    wanted = {
        triple
        for index in indexes
        if not schema_errors.get(index)
        and (triple := _assignment(docs[index])) is not None
        and triple != _assignment(current.get(str(docs[index]["_id"])) or {})
    }
    return await check(sorted(wanted)) if wanted else set()


async def _documents_of_deletions(
    db: Database,
    principal: Principal,
    docs: list[JSONDict],
    indexes: list[int],
    current: Mapping[str, JSONDict],
) -> dict[str, JSONDict]:
    """The documents that the stored records of pushed deletions belong to: a tombstone names no document,
    and without it a courier's own handoff would look out of their scope (and its deletion be ignored)."""
    deleted = [current[str(docs[index]["_id"])] for index in indexes if docs[index].get("_deleted")]
    if not deleted:
        return {}
    return await linked_documents(db, deleted, principal, current)


async def _give_back_claims(db: Database, claims: list[JSONDict]) -> None:
    """Delete the seq claims of handoffs refused after claiming, so the corrected handoff can use the seq."""
    if claims:
        await db.bulk_docs(claims)


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
    diff = await RecordsStore(db).revs_diff(offered)
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
    # Only handoffs every rule accepted get here: each passed its schema, so it is read as a Handoff.
    verdicts, write_audit = await verify([as_handoff(docs[index]) for index in handoffs], principal)
    return dict(zip(handoffs, verdicts, strict=True)), write_audit


async def _nothing_to_write() -> None:
    return None


async def _claim_handoff_seqs(
    db: Database, docs: list[JSONDict], indexes: list[int]
) -> tuple[list[int], dict[int, tuple[str, str]]]:
    """Claim each handoff's (author, seq) with a server document; return the handoffs whose seq was taken,
    and the claims this call created (handoff index -> claim id, revision), so a refusal can give one back.

    A claim is a create: CouchDB lets exactly one writer create `seqclaim:<author>:<seq>` (on a cluster,
    `create_exclusive` settles two creations at the same moment), so two phones (or
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
        return [], {}
    result = await db.create_exclusive(
        [
            {"_id": claim_id, "type": "seq_claim", "handoff_id": docs[index]["_id"], "claimed_at": now_iso()}
            for claim_id, index in claims.items()
        ]
    )
    created = {
        claims[str(entry["id"])]: (str(entry["id"]), str(entry["rev"]))
        for entry in result
        if entry.get("rev") and not entry.get("error") and str(entry.get("id")) in claims
    }
    conflicted = [str(entry["id"]) for entry in result if entry.get("error") == "conflict"]
    if not conflicted:
        return duplicates, created
    holders = await fetch_docs(db, conflicted)
    return duplicates + [
        claims[claim_id]
        for claim_id in conflicted
        if holders.get(claim_id, {}).get("handoff_id") != docs[claims[claim_id]]["_id"]
    ], created


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
        receipt["signature"] = {
            "status": verdict.status,
            "reason": verdict.reason or "",
            "credential_id": verdict.credential_id,
        }
        receipt["needs_review"] = verdict.status != "verified"
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
