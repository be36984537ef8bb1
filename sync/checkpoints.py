"""Replication checkpoints (`_local` documents), kept apart per user and device.

A client sees its checkpoint under its own id (`_local/<replication id>`); CouchDB stores it as
`_local/<user>:<device>:<replication id>`. Nobody can name another user's checkpoint, because the user
and device parts come from the signed-in principal, never from the request.
"""

from __future__ import annotations

import re

from records.principal import Principal
from records.types import JSONDict
from store.couch import CouchConflict, CouchNotFound, Database
from store.records import RecordsStore
from sync.errors import GatewayError, bad_request, not_found

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.+=-]{1,200}$")
MAX_CHECKPOINT_BYTES = 64 * 1024


def stored_id(principal: Principal, client_id: str) -> str:
    if not _CLIENT_ID.match(client_id):
        raise bad_request("A checkpoint id may use letters, digits and . _ + = - only.")
    return f"_local/{principal.user_id}:{principal.device_id or 'nodevice'}:{client_id}"


async def get_checkpoint(db: Database, principal: Principal, client_id: str) -> JSONDict:
    try:
        doc = await RecordsStore(db).checkpoint(stored_id(principal, client_id))
    except CouchNotFound as exc:
        raise not_found() from exc
    doc["_id"] = f"_local/{client_id}"
    return doc


async def put_checkpoint(db: Database, principal: Principal, client_id: str, body: object) -> JSONDict:
    if not isinstance(body, dict):
        raise bad_request("A checkpoint must be a JSON object.")
    doc = dict(body)
    doc["_id"] = stored_id(principal, client_id)
    try:
        rev = await RecordsStore(db).save_checkpoint(doc)
    except CouchConflict as exc:
        raise GatewayError(409, "conflict", "Document update conflict.") from exc
    return {"ok": True, "id": f"_local/{client_id}", "rev": rev}


async def delete_checkpoint(db: Database, principal: Principal, client_id: str, rev: str | None) -> JSONDict:
    try:
        new_rev = await RecordsStore(db).delete_checkpoint(stored_id(principal, client_id), rev or "")
    except CouchNotFound as exc:
        raise not_found() from exc
    except CouchConflict as exc:
        raise GatewayError(409, "conflict", "Document update conflict.") from exc
    return {"ok": True, "id": f"_local/{client_id}", "rev": new_rev}
