"""The hash that chains the handoffs of one document together.

Every handoff carries `prev_hash`, the SHA-256 of the previous handoff of the same document, so that a
handoff deleted or edited after the fact breaks the chain and shows up as an exception at the office. The
PWA computes the same hash in JavaScript, so the canonical form must be reproducible there:
`JSON.stringify` of an object with sorted keys gives the same bytes as the `json.dumps` call below, provided
integral floats are written as integers (`37.0` -> `37`), which `_plain` takes care of.

Keys that CouchDB or the signer add afterwards are left out: `_rev`, `_attachments` and `_revisions` change
when the document is stored or replicated, and `signature` signs the hash-covered content itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

#: Top-level keys that are not covered by the hash.
UNHASHED_KEYS = frozenset({"_rev", "_attachments", "_revisions", "signature"})


def canonical_json(record: Mapping[str, object]) -> bytes:
    """Return the canonical UTF-8 JSON of a handoff with the unhashed keys removed."""
    covered = {key: value for key, value in record.items() if key not in UNHASHED_KEYS}
    text = json.dumps(
        _plain(covered), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def handoff_hash(record: Mapping[str, object]) -> str:
    """Return the lowercase hex SHA-256 that the next handoff of the same document puts in `prev_hash`."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def _plain(value: object) -> object:
    """Write integral floats as ints so Python and JavaScript serialise the same number the same way."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
