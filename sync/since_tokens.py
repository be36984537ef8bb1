"""The `since` tokens of the filtered `_changes` feed: where a client is, signed and bound to its user.

PouchDB stores a token as its checkpoint and sends it back as `since`. A token names one of four positions
(`Position.phase`):

* `initial`: part-way through the walk of the user's rows of the `by_scope` view (`scope_index`,
  `last_id`), with the `anchor` in this process's change cache noted before the walk began, and `seq`, the
  CouchDB sequence to read the global feed from should that anchor be unusable when the walk ends;
* `cache`: a place in one process's change cache (`anchor`: the cache's epoch, an index in it and the
  CouchDB sequence the cache had read to there), the ordinary position of an incremental pull;
* `bridge`: a CouchDB sequence of unknown age (another instance's cache, a restarted server, an old
  checkpoint), read through the global feed only as far as a small budget allows;
* `feed`: a CouchDB sequence from which the global feed is read to its end, however long (the end of a walk
  whose anchor is gone, a pull while the cache is unhealthy, and every admin).

CouchDB's sequences inside a token are opaque: stored and sent back as they came, compared with nothing
but exact equality (`sync.change_cache.ScopeChangeCache.find`).

Tokens are signed (HMAC-SHA256 with a key derived from the server's secret, the same on every instance) and
bound to the user they were given to. A forged, altered or another user's token is unknown: it restarts the
user's own initial pull, whose cost follows what the user may see. Tokens of the previous version (`s2-`,
same key) still decode: their feed positions become bridges, their walks go on where they were.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from records.principal import Principal
from sync.change_cache import Anchor

PHASES = ("initial", "cache", "bridge", "feed")

TOKEN_PREFIX = "s3-"
LEGACY_PREFIX = "s2-"
_MAC_BYTES = 16
#: Longest token accepted: a cluster's sequence strings grow with its shards; anything longer is not ours.
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class Position:
    """Where a client is (see the module docstring for the four phases)."""

    phase: str
    seq: object = 0
    anchor: Anchor | None = None
    scope_index: int = 0
    last_id: str | None = None


def _anchor_payload(anchor: Anchor | None) -> list[object] | None:
    return None if anchor is None else [anchor.epoch, anchor.index, anchor.seq]


def _is_seq(value: object) -> bool:
    """A CouchDB sequence as it can come back in a token: a string (CouchDB) or a whole number (PouchDB)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _anchor_from(payload: object) -> Anchor | None:
    if not (isinstance(payload, list) and len(payload) == 3):
        raise ValueError("anchor")
    epoch, index, seq = payload
    if not (isinstance(epoch, str) and 0 < len(epoch) <= 64):
        raise ValueError("epoch")
    if not (isinstance(index, int) and not isinstance(index, bool) and index >= 0 and _is_seq(seq)):
        raise ValueError("index")
    return Anchor(epoch, index, seq)


def _position_from(payload: object) -> Position:
    """The position of a decoded s3 payload; ValueError when it is not one this gateway writes."""
    if not isinstance(payload, list) or not payload:
        raise ValueError("payload")
    kind, rest = payload[0], payload[1:]
    if kind == "c" and len(rest) == 1:
        return Position("cache", anchor=_anchor_from(rest[0]))
    if kind in ("b", "f") and len(rest) == 1 and _is_seq(rest[0]):
        return Position("bridge" if kind == "b" else "feed", seq=rest[0])
    if kind == "i" and len(rest) == 4:
        seq, anchor_payload, scope_index, last_id = rest
        anchor = None if anchor_payload is None else _anchor_from(anchor_payload)
        if seq is None and anchor is not None:
            seq = anchor.seq
        if not _is_seq(seq) or not isinstance(scope_index, int) or scope_index < 0:
            raise ValueError("initial")
        if not (last_id is None or isinstance(last_id, str)):
            raise ValueError("last_id")
        return Position("initial", seq, anchor, scope_index, last_id)
    raise ValueError("kind")


def _legacy_position_from(payload: object) -> Position:
    """An s2 token: ["i" | "f", base_seq, scope_index, last_id]."""
    if not (isinstance(payload, list) and len(payload) == 4 and payload[0] in ("i", "f")):
        raise ValueError("legacy")
    kind, seq, scope_index, last_id = payload
    if not _is_seq(seq) or not isinstance(scope_index, int) or scope_index < 0:
        raise ValueError("legacy")
    if not (last_id is None or isinstance(last_id, str)):
        raise ValueError("legacy")
    if kind == "f":
        return Position("bridge", seq=seq)
    return Position("initial", seq, None, scope_index, last_id)


@dataclass(frozen=True)
class TokenSigner:
    """Signs and checks `since` tokens for one user; `key` comes from `since_key(secret)`."""

    key: bytes
    subject: str

    def _mac(self, body: str) -> str:
        message = f"{self.subject}\x00{body}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, position: Position) -> str:
        payload: list[object]
        if position.phase == "cache":
            payload = ["c", _anchor_payload(position.anchor)]
        elif position.phase in ("bridge", "feed"):
            payload = [position.phase[0], position.seq]
        else:
            # A walk's sequence is its anchor's, written once (a cluster's sequences are long).
            anchor = _anchor_payload(position.anchor)
            seq = (
                None if position.anchor is not None and position.anchor.seq == position.seq else position.seq
            )
            payload = ["i", seq, anchor, position.scope_index, position.last_id]
        raw = json.dumps(payload, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{TOKEN_PREFIX}{body}.{self._mac(body)}"

    def decode(self, token: object) -> Position | None:
        """The position a token names, or None for "from the beginning" (0, absent, unsigned or forged)."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            return None
        prefix = token[: len(TOKEN_PREFIX)]
        if prefix not in (TOKEN_PREFIX, LEGACY_PREFIX):
            return None
        body, _, mac = token[len(prefix) :].partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            return _position_from(payload) if prefix == TOKEN_PREFIX else _legacy_position_from(payload)
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            return None


def since_key(secret: str) -> bytes:
    """The token key, derived from the server secret so it is the same on every instance."""
    return hmac.new(secret.encode(), b"segel-since-token-v2", hashlib.sha256).digest()


def signer_for(secret: str, principal: Principal) -> TokenSigner:
    return TokenSigner(since_key(secret), principal.user_id)
