"""The replication endpoints' work: `_revs_diff`, `_bulk_docs`, `_bulk_get`, document and attachment reads.

Each function takes the already-parsed request body and the principal, asks CouchDB in a few batched
requests (never one per document), applies `sync.visibility` on the way out and `sync.validation` on the
way in, and returns what the route sends back. Nothing here knows about HTTP routing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.couch import CouchConflict, CouchError, CouchNotFound, Database
from sync.errors import bad_request, not_found
from sync.principal import Principal
from sync.types import JSONDict
from sync.validation import (
    APPEND_ONLY_TYPES,
    READABLE_TYPES,
    PhotoStatus,
    Refusal,
    StoredState,
    check_attachments,
    check_id,
    check_record,
)
from sync.visibility import is_visible, linked_document_id, needs_linked_document

logger = logging.getLogger(__name__)

#: Upper bounds on one request, so a client cannot make the gateway hold or ask for unbounded work.
MAX_BULK_DOCS = 1000
MAX_BULK_GET = 1000
MAX_REVS_DIFF_IDS = 1000
MAX_REVS_DIFF_REVS = 10000
#: `_bulk_get` with attachments reads CouchDB in slices this small, so memory stays flat with photo size.
ATTACHMENT_SLICE = 5
PLAIN_SLICE = 100

#: A verdict on a handoff's signature: ("verified" | "unsigned" | "invalid", reason, credential id).
Verdict = tuple[str, str, str | None]
Verifier = Callable[[Mapping[str, object], Principal], Awaitable[Verdict]]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def fetch_docs(db: Database, ids: Iterable[str]) -> dict[str, JSONDict]:
    """The current (winning, non-deleted) revision of each id that exists, in one request per 500 ids."""
    wanted = sorted(set(ids))
    found: dict[str, JSONDict] = {}
    for start in range(0, len(wanted), 500):
        keys = wanted[start : start + 500]
        result = await db.client.json(
            "POST", f"{db.path}/_all_docs", params={"include_docs": True}, json={"keys": keys}
        )
        for row in result.get("rows", []):
            doc = row.get("doc")
            if isinstance(doc, dict):
                found[str(row["id"])] = doc
    return found


async def linked_documents(
    db: Database, records: Iterable[Mapping[str, object]], principal: Principal, known: Mapping[str, JSONDict]
) -> dict[str, JSONDict]:
    """The documents that linked records (seals, handoffs, photos) belong to, where visibility needs them."""
    needed = {
        str(linked_document_id(record)) for record in records if needs_linked_document(record, principal)
    }
    found = {doc_id: known[doc_id] for doc_id in needed if doc_id in known}
    missing = needed.difference(found)
    if missing:
        found.update(await fetch_docs(db, missing))
    return found


def visible(record: Mapping[str, object], principal: Principal, documents: Mapping[str, JSONDict]) -> bool:
    linked = linked_document_id(record)
    return is_visible(record, principal, documents.get(linked) if linked else None)


# --- _revs_diff -----------------------------------------------------------------------------------------


async def revs_diff(db: Database, principal: Principal, body: object) -> JSONDict:
    """Which of the offered revisions the database lacks; a record the principal may not see looks absent.

    Saying "missing" for a hidden record reveals nothing, and a push of it is then refused by the write
    rules, which is where a courier learns what to do.
    """
    if not isinstance(body, dict):
        raise bad_request("_revs_diff expects an object of document ids to revision lists.")
    if len(body) > MAX_REVS_DIFF_IDS:
        raise bad_request(f"_revs_diff accepts at most {MAX_REVS_DIFF_IDS} ids per request.")
    total = 0
    for revs in body.values():
        if not isinstance(revs, list) or not all(isinstance(rev, str) for rev in revs):
            raise bad_request("_revs_diff expects each id to map to a list of revision strings.")
        total += len(revs)
    if total > MAX_REVS_DIFF_REVS:
        raise bad_request(f"_revs_diff accepts at most {MAX_REVS_DIFF_REVS} revisions per request.")
    valid = {
        doc_id: revs for doc_id, revs in body.items() if check_id(doc_id, READABLE_TYPES) is None and revs
    }
    answer: JSONDict = {
        doc_id: {"missing": list(revs)} for doc_id, revs in body.items() if doc_id not in valid and revs
    }
    if not valid:
        return answer
    diff: JSONDict = await db.client.json("POST", f"{db.path}/_revs_diff", json=valid)
    held = [
        doc_id for doc_id, revs in valid.items() if len(diff.get(doc_id, {}).get("missing", [])) < len(revs)
    ]
    hidden: set[str] = set()
    if held:
        docs = await fetch_docs(db, held)
        documents = await linked_documents(db, docs.values(), principal, docs)
        hidden = {
            doc_id for doc_id in held if doc_id not in docs or not visible(docs[doc_id], principal, documents)
        }
    for doc_id, revs in valid.items():
        if doc_id in hidden:
            answer[doc_id] = {"missing": list(revs)}
        elif doc_id in diff:
            answer[doc_id] = diff[doc_id]
    return answer


# --- _bulk_docs -----------------------------------------------------------------------------------------


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
    current, taken = await asyncio.gather(
        fetch_docs(db, ids | linked), _claim_handoff_seqs(db, docs, claimable)
    )
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
        refusal = check_record(doc, principal, stored=stored, linked_document=linked_doc)
        if refusal is None and stored.rev_known:
            unchanged.append(index)
            continue
        if refusal is None:
            refusal, photo_status[index] = check_attachments(doc, stored)
        if refusal is None:
            accepted.append(index)
        else:
            refusals[index] = refusal
    verdicts = await _verify_handoffs(docs, accepted, principal, verify)
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

    answer: list[JSONDict] = []
    written = 0
    if accepted:
        # Receipts are written alongside the records rather than after them (one round trip less per batch).
        # If a record write fails, the client pushes it again and its receipt, already there, is kept.
        writes, _ = await asyncio.gather(
            _write_records([docs[index] for index in accepted], db),
            _write_receipts(db, principal, docs, accepted, photo_status, verdicts),
        )
        failed = {str(entry.get("id")) for entry in writes if entry.get("error")}
        answer.extend(entry for entry in writes if entry.get("error"))
        written = sum(1 for index in accepted if str(docs[index]["_id"]) not in failed)
    for index, refusal in sorted(refusals.items()):
        doc_id = docs[index].get("_id")
        answer.append(
            {"id": doc_id if isinstance(doc_id, str) else "", "error": "forbidden", "reason": refusal.reason}
        )
    if refusals:
        await _write_refusals(db, principal, docs, refusals)
    return PushOutcome(answer, written, len(refusals), len(unchanged))


#: CouchDB refuses request bodies above `max_document_size` on some servers (PouchDB Server applies it
#: to the whole request): writes go in slices well below the 8 MB default.
WRITE_SLICE_BYTES = 4 * 1024 * 1024


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
    result: list[JSONDict] = []
    for chunk in _by_size(docs):
        result.extend(await db.bulk_docs(chunk, new_edits=False))
    return result


def _visible_now(doc: JSONDict | None, principal: Principal, documents: Mapping[str, JSONDict]) -> bool:
    return doc is not None and visible(doc, principal, documents)


def _bulk_docs_list(body: object) -> list[JSONDict]:
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise bad_request('_bulk_docs expects {"docs": [...], "new_edits": false}.')
    if body.get("new_edits", True) is not False:
        raise bad_request(
            "The gateway accepts replicated revisions only (new_edits=false): use PouchDB replication."
        )
    docs = body["docs"]
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
    known = set()
    for doc_id, revs in offered.items():
        missing = set(diff.get(doc_id, {}).get("missing", []))
        known.update((doc_id, rev) for rev in revs if rev not in missing)
    return known


async def _verify_handoffs(
    docs: list[JSONDict], indexes: list[int], principal: Principal, verify: Verifier | None
) -> dict[int, Verdict]:
    """Passkey verdicts for the pushed handoffs, a few at a time (each one reads and writes identity data)."""
    handoffs = [index for index in indexes if docs[index].get("type") == "handoff"]
    if verify is None or not handoffs:
        return {}
    limit = asyncio.Semaphore(8)

    async def one(index: int) -> Verdict:
        async with limit:
            return await verify(docs[index], principal)

    verdicts = await asyncio.gather(*(one(index) for index in handoffs))
    return dict(zip(handoffs, verdicts, strict=True))


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


async def _write_receipts(
    db: Database,
    principal: Principal,
    docs: list[JSONDict],
    indexes: list[int],
    photo_status: Mapping[int, PhotoStatus],
    verdicts: Mapping[int, Verdict],
) -> None:
    """Server-side facts about each stored record, kept beside it, never inside the pushed revision."""
    if not indexes:
        return
    received_at = now_iso()
    receipts = []
    for index in indexes:
        doc = docs[index]
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
        if index in verdicts:
            status, reason, credential_id = verdicts[index]
            receipt["signature"] = {"status": status, "reason": reason, "credential_id": credential_id}
            receipt["needs_review"] = status != "verified"
        if photo_status.get(index) in ("waiting", "verified"):
            receipt["photo"] = photo_status[index]
            receipt["needs_review"] = receipt.get("needs_review", False) or photo_status[index] == "waiting"
        receipts.append(receipt)
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


# --- _bulk_get ------------------------------------------------------------------------------------------


def bulk_get_requests(body: object) -> list[JSONDict]:
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise bad_request('_bulk_get expects {"docs": [{"id": ..., "rev": ...}, ...]}.')
    requests = body["docs"]
    if len(requests) > MAX_BULK_GET:
        raise bad_request(f"_bulk_get accepts at most {MAX_BULK_GET} documents per request.")
    for request in requests:
        if not isinstance(request, dict) or not isinstance(request.get("id"), str):
            raise bad_request("Every _bulk_get entry needs an id.")
        if "rev" in request and not isinstance(request["rev"], str):
            raise bad_request("A _bulk_get rev must be a string.")
    return [
        {key: request[key] for key in ("id", "rev", "atts_since") if key in request}
        for request in requests
        if check_id(request["id"], READABLE_TYPES) is None
    ]


async def stream_bulk_get(
    db: Database, principal: Principal, requests: list[JSONDict], params: Mapping[str, str | bool]
) -> AsyncIterator[bytes]:
    """Yield the `_bulk_get` answer piece by piece; hidden, missing or failed revisions are left out.

    PouchDB aborts a pull on any error entry, so leaving them out is the only answer that lets it go on;
    a revision it still lacks is asked for again on the next pass.
    """
    slice_size = ATTACHMENT_SLICE if params.get("attachments") else PLAIN_SLICE
    yield b'{"results":['
    first = True
    for start in range(0, len(requests), slice_size):
        chunk = requests[start : start + slice_size]
        result = await db.client.json("POST", f"{db.path}/_bulk_get", params=params, json={"docs": chunk})
        found = [
            entry["ok"]
            for item in result.get("results", [])
            for entry in item.get("docs", [])
            if isinstance(entry.get("ok"), dict)
        ]
        documents = await linked_documents(db, found, principal, {})
        for doc in found:
            if doc.get("_deleted") or not visible(doc, principal, documents):
                continue
            piece = json.dumps({"id": doc["_id"], "docs": [{"ok": doc}]}, separators=(",", ":"))
            yield (b"" if first else b",") + piece.encode()
            first = False
    yield b"]}"


# --- single documents and attachments -------------------------------------------------------------------

DOC_PARAMS = ("rev", "revs", "open_revs", "latest", "attachments", "conflicts", "revs_info", "atts_since")


async def get_document(db: Database, principal: Principal, doc_id: str, query: Mapping[str, str]) -> Any:
    """One document (or its `open_revs`), exactly as CouchDB gives it, if the principal may see it."""
    if check_id(doc_id, READABLE_TYPES):
        raise not_found()
    params = {key: query[key] for key in DOC_PARAMS if key in query}
    try:
        answer = await db.client.json(
            "GET", db.doc_path(doc_id), params=params, headers={"Accept": "application/json"}
        )
    except CouchNotFound as exc:
        raise not_found(exc.reason or "missing") from exc
    docs = (
        [item["ok"] for item in answer if isinstance(item.get("ok"), dict)]
        if isinstance(answer, list)
        else [answer]
    )
    live = [doc for doc in docs if not doc.get("_deleted")]
    documents = await linked_documents(db, live, principal, {})
    if not live or not all(visible(doc, principal, documents) for doc in live):
        raise not_found()
    if isinstance(answer, list):
        return [
            item for item in answer if isinstance(item.get("ok"), dict) and not item["ok"].get("_deleted")
        ]
    return answer


async def check_attachment_access(db: Database, principal: Principal, doc_id: str, rev: str | None) -> None:
    """Raise not_found unless the principal may see the record the attachment belongs to."""
    if check_id(doc_id, READABLE_TYPES):
        raise not_found()
    try:
        doc = await db.get(doc_id, **({"rev": rev} if rev else {}))
    except CouchNotFound as exc:
        raise not_found() from exc
    except CouchError as exc:
        if exc.status == 400:
            raise bad_request("The rev parameter is malformed.") from exc
        raise
    documents = await linked_documents(db, [doc], principal, {})
    if doc.get("_deleted") or not visible(doc, principal, documents):
        raise not_found()


# --- purge and conflicts --------------------------------------------------------------------------------

MAX_PURGE_IDS = 2000


async def purge_list(db: Database, principal: Principal, body: object) -> JSONDict:
    """Of the ids a device holds, those that left the principal's scope (or were removed) on the server.

    Ids the server has never seen are not listed: they are the device's own records still waiting to sync,
    and must never be purged.
    """
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(doc_id, str) for doc_id in ids):
        raise bad_request('purge expects {"ids": ["<record id>", ...]}.')
    if len(ids) > MAX_PURGE_IDS:
        raise bad_request(f"purge accepts at most {MAX_PURGE_IDS} ids per request; send them in parts.")
    valid = sorted({doc_id for doc_id in ids if check_id(doc_id, READABLE_TYPES) is None})
    rows: dict[str, JSONDict] = {}
    for start in range(0, len(valid), 500):
        result = await db.client.json(
            "POST",
            f"{db.path}/_all_docs",
            params={"include_docs": True},
            json={"keys": valid[start : start + 500]},
        )
        rows.update({str(row["key"]): row for row in result.get("rows", []) if "id" in row})
    docs = {doc_id: row["doc"] for doc_id, row in rows.items() if isinstance(row.get("doc"), dict)}
    documents = await linked_documents(db, docs.values(), principal, docs)
    purge = sorted(
        doc_id for doc_id in rows if doc_id not in docs or not visible(docs[doc_id], principal, documents)
    )
    return {"purge": purge, "checked": len(valid)}


async def conflicts(db: Database, principal: Principal, office: str | None, limit: int) -> JSONDict:
    """Records with conflicting revisions (all kept), for staff to resolve; admins may ask for any office."""
    params: dict[str, str | int | bool] = {"limit": limit}
    if office is not None:
        params["startkey"] = json.dumps([office])
        params["endkey"] = json.dumps([office, {}])
    result = await db.client.json("GET", f"{db.path}/_design/gateway/_view/conflicts", params=params)
    rows = [
        {"id": row["id"], "office": row["key"][0], "conflicts": row["value"]}
        for row in result.get("rows", [])
    ]
    return {"rows": rows}


def is_append_only(doc: Mapping[str, object]) -> bool:
    return doc.get("type") in APPEND_ONLY_TYPES
