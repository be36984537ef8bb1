"""Residents' links: an unguessable token per document, stored only as its SHA-256.

The token travels in the resident's SMS/WhatsApp message and is never stored in plain form, so a copy of the
database does not open anyone's page. One document may have several links (a re-sent message); each one
opens that document only.
"""

from __future__ import annotations

import hashlib
import secrets

from records.types import JSONDict
from server.office.ledger import Ledger, now_iso

TOKEN_BYTES = 24


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_link(ledger: Ledger, document: JSONDict) -> str:
    """Create a link token for `document` and return it (shown once, in the message to the resident)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await ledger.office.put(
        {
            "_id": f"resident_link:{token_hash(token)}",
            "type": "resident_link",
            "document_id": document["_id"],
            "office": document["office"],
            "created_at": now_iso(),
        }
    )
    return token


async def document_for(ledger: Ledger, token: str) -> JSONDict | None:
    """The document a token opens, or None (unknown, malformed or revoked token)."""
    if not (20 <= len(token) <= 64) or not all(c.isalnum() or c in "-_" for c in token):
        return None
    link = await ledger.office.get_or_none(f"resident_link:{token_hash(token)}")
    if link is None or link.get("revoked"):
        return None
    return await ledger.records.get_or_none(str(link["document_id"]))
