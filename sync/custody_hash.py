"""The hash that chains the handoffs of one document together (kept for existing callers).

The canonical form and hash now live in `sync/custody.py` (RFC 8785, the form the PWA signs with a passkey);
`handoff_hash` is an alias of `record_hash` so the demo data and older callers stay valid.
"""

from __future__ import annotations

from sync.custody import UNHASHED_KEYS, canonical_bytes, record_hash

__all__ = ["UNHASHED_KEYS", "canonical_json", "handoff_hash"]

#: The canonical bytes of a handoff (RFC 8785), kept under its old name.
canonical_json = canonical_bytes

#: The lowercase hex SHA-256 that the next handoff of the same document puts in `prev_hash`.
handoff_hash = record_hash
