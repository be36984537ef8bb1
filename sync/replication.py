"""The read side of replication: `_revs_diff`, `_bulk_get`, document and attachment reads, purge.

Each function takes the already-parsed request body and the principal, asks CouchDB in a few batched
requests (never one per document), applies `sync.visibility` on the way out, and returns what the route
sends back. Nothing here knows about HTTP routing. Pushes (`_bulk_docs`) live in `sync/push.py`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from records.principal import Principal
from records.types import JSONDict
from store.couch import CouchError, CouchNotFound, Database
from store.records import RecordsStore
from sync.errors import bad_request, not_found
from sync.projection import project
from sync.validation import (
    READABLE_TYPES,
    check_id,
)
from sync.visibility import is_visible, linked_document_id, needs_linked_document

logger = logging.getLogger(__name__)

#: Upper bounds on one request, so a client cannot make the gateway hold or ask for unbounded work.
MAX_BULK_GET = 1000
MAX_REVS_DIFF_IDS = 1000
MAX_REVS_DIFF_REVS = 10000
#: `_bulk_get` with attachments reads CouchDB in slices this small, so memory stays flat with photo size.
ATTACHMENT_SLICE = 5
PLAIN_SLICE = 100


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def fetch_docs(db: Database, ids: Iterable[str]) -> dict[str, JSONDict]:
    """The current (winning, non-deleted) revision of each id that exists, in one request per 500 ids."""
    return await RecordsStore(db).current(ids)


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
    diff = await RecordsStore(db).revs_diff(valid)
    # CouchDB reveals a stored record two ways: fewer revisions "missing" than offered, and (Apache CouchDB)
    # `possible_ancestors`, the revisions it holds. Either one is only passed on for a record the user sees.
    held = [
        doc_id
        for doc_id, revs in valid.items()
        if len(diff.get(doc_id, {}).get("missing", [])) < len(revs)
        or "possible_ancestors" in diff.get(doc_id, {})
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
            answer[doc_id] = {"missing": list(revs)}  # exactly what a record that never existed gets
        elif doc_id in diff:
            answer[doc_id] = diff[doc_id]
    return answer


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
        results = await RecordsStore(db).bulk_get(chunk, **params)
        found = [
            entry["ok"]
            for item in results
            for entry in item.get("docs", [])
            if isinstance(entry.get("ok"), dict)
        ]
        documents = await linked_documents(db, found, principal, {})
        for doc in found:
            if doc.get("_deleted") or not visible(doc, principal, documents):
                continue
            piece = json.dumps(
                {"id": doc["_id"], "docs": [{"ok": project(doc, principal)}]}, separators=(",", ":")
            )
            yield (b"" if first else b",") + piece.encode()
            first = False
    yield b"]}"


# --- single documents and attachments -------------------------------------------------------------------

DOC_PARAMS = ("rev", "revs", "open_revs", "latest", "attachments", "conflicts", "revs_info", "atts_since")
_FLAG_PARAMS = ("revs", "latest", "attachments", "conflicts", "revs_info")
_REV_TEXT = re.compile(r"^[1-9][0-9]{0,8}-[0-9a-zA-Z]{1,64}$")


def _doc_params(query: Mapping[str, str]) -> dict[str, str]:
    """The document parameters the gateway passes on, each checked first: the database would refuse a
    malformed one with a 400 the gateway took for its own failure (a 502), and checking here answers the
    same for a hidden record as for a missing one."""
    params = {key: query[key] for key in DOC_PARAMS if key in query}
    for flag in _FLAG_PARAMS:
        if flag in params and params[flag] not in ("true", "false"):
            raise bad_request(f"{flag} must be true or false.")
    if "rev" in params and not _REV_TEXT.match(params["rev"]):
        raise bad_request("The rev parameter is malformed.")
    for name in ("open_revs", "atts_since"):
        if name not in params or (name == "open_revs" and params[name] == "all"):
            continue
        try:
            revs = json.loads(params[name])
        except (ValueError, RecursionError):
            revs = None
        if not (isinstance(revs, list) and all(isinstance(r, str) and _REV_TEXT.match(r) for r in revs)):
            raise bad_request(f"{name} must be a JSON list of revisions (open_revs may also be all).")
    return params


async def get_document(db: Database, principal: Principal, doc_id: str, query: Mapping[str, str]) -> Any:
    """One document (or its `open_revs`) as the principal is sent it (`sync.projection`), if visible."""
    if check_id(doc_id, READABLE_TYPES):
        raise not_found()
    params = _doc_params(query)
    try:
        answer = await RecordsStore(db).read_document(doc_id, params)
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
            {**item, "ok": project(item["ok"], principal)}
            for item in answer
            if isinstance(item.get("ok"), dict) and not item["ok"].get("_deleted")
        ]
    return project(answer, principal)


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


# --- purge --------------------------------------------------------------------------------------------

MAX_PURGE_IDS = 2000


async def purge_list(db: Database, principal: Principal, body: object) -> JSONDict:
    """Of the ids a device holds, every one the principal may not see now: hidden, deleted or unknown alike.

    Hidden and never-existing ids get the same answer, so the purge tells nobody whether another office's
    or courier's record exists. The device's own records that the server has not accepted yet are named
    too; the device never sends them (and never purges them): the PWA leaves out every id still in its
    outbox, photo outbox or refusals (`pwa/static/js/data/purge.js`), because it knows what it has not sent.
    """
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(doc_id, str) for doc_id in ids):
        raise bad_request('purge expects {"ids": ["<record id>", ...]}.')
    if len(ids) > MAX_PURGE_IDS:
        raise bad_request(f"purge accepts at most {MAX_PURGE_IDS} ids per request; send them in parts.")
    valid = sorted({doc_id for doc_id in ids if check_id(doc_id, READABLE_TYPES) is None})
    docs = await fetch_docs(db, valid)
    documents = await linked_documents(db, docs.values(), principal, docs)
    purge = [
        doc_id for doc_id in valid if doc_id not in docs or not visible(docs[doc_id], principal, documents)
    ]
    return {"purge": purge, "checked": len(valid)}
