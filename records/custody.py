"""The custody hash and chain: what a courier's passkey signs, and how a document's handoffs link up.

The canonical form of a record is RFC 8785 (JSON Canonicalization Scheme) of the record without the keys
that CouchDB or the signer add afterwards. RFC 8785 fixes key order (UTF-16 code units), string escaping and
number formatting exactly as ECMAScript's `JSON.stringify` writes numbers, so the PWA computes the very same
bytes in JavaScript (`pwa/static/js/lib/canonical.js`, npm `canonicalize`) and both sides agree on the hash
whatever the device.

Each handoff carries `prev_hash`, the hash of the previous handoff of the same document; the first one is
`sealed` with `prev_hash` null. A handoff deleted, inserted or edited afterwards breaks the chain at that
point, and `verify_chain` names the first bad link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785

#: Top-level keys that the hash does not cover: CouchDB's bookkeeping and the signature over the hash.
UNHASHED_KEYS = frozenset({"_rev", "_revisions", "_attachments", "_conflicts", "_deleted", "signature"})


class CanonicalFormError(ValueError):
    """The record cannot be canonicalised (NaN, infinity, an integer beyond 2**53…); fix the record."""


def canonical_bytes(record: Mapping[str, object]) -> bytes:
    """RFC 8785 bytes of the record without the unhashed keys."""
    covered: dict[str, Any] = {key: value for key, value in record.items() if key not in UNHASHED_KEYS}
    try:
        return rfc8785.dumps(covered)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise CanonicalFormError(f"record cannot be canonicalised: {exc}") from exc


def record_hash(record: Mapping[str, object]) -> str:
    """Lowercase hex SHA-256 of the canonical form: the passkey challenge and the next `prev_hash`."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


@dataclass(frozen=True)
class BadLink:
    """The first place a chain breaks: which handoff (by position and id) and why."""

    index: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking one document's handoffs in order."""

    document_id: str | None
    length: int
    bad_link: BadLink | None = None
    hashes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.bad_link is None


def verify_chain(handoffs: Sequence[Mapping[str, object]]) -> ChainReport:
    """Walk the handoffs of one document, in custody order, and name the first bad link.

    Rules: all belong to one document; the first is `sealed` with `prev_hash` null; every later one has
    `prev_hash` equal to `record_hash` of the one before it.
    """
    document_id = str(handoffs[0].get("document_id")) if handoffs else None
    hashes: list[str] = []
    for index, handoff in enumerate(handoffs):
        record_id = str(handoff.get("_id", f"#{index}"))

        def bad(reason: str, index: int = index, record_id: str = record_id) -> ChainReport:
            return ChainReport(document_id, len(handoffs), BadLink(index, record_id, reason), hashes)

        if handoff.get("document_id") != document_id:
            return bad(f"belongs to document {handoff.get('document_id')!r}, not {document_id!r}")
        prev_hash = handoff.get("prev_hash")
        if index == 0:
            if handoff.get("kind") != "sealed":
                return bad(f"the first handoff must be 'sealed', not {handoff.get('kind')!r}")
            if prev_hash is not None:
                return bad("the first handoff must have prev_hash null (a handoff before it is missing)")
        elif prev_hash != hashes[-1]:
            previous = str(handoffs[index - 1].get("_id", f"#{index - 1}"))
            return bad(
                f"prev_hash does not match the hash of {previous}: that handoff was altered, or one was "
                "removed or inserted between them"
            )
        try:
            hashes.append(record_hash(handoff))
        except CanonicalFormError as exc:
            return bad(str(exc))
    return ChainReport(document_id, len(handoffs), None, hashes)
