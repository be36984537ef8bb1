"""Passkey signatures for the demo's handoff history, made the way a phone makes them, with keys that exist
only while the demo loads.

The demo tells three weeks of custody that happened before anyone ran `scripts/run`, so no phone could have
signed it. To show verified handoffs anyway, and honestly: the loader makes one P-256 key per author,
registers its public half as that person's passkey (labelled "riwayat demo"), signs each handoff exactly as
`navigator.credentials.get()` would (the custody hash as challenge, user verified, counter 0 like a synced
passkey), lets the gateway's own verification (`sync.signatures.assess_handoffs`) judge every signature
for the receipts, and then revokes those passkeys. The private keys are never written anywhere: once the
loader is done, nothing can sign as these passkeys again, and the people log in with passkeys of their own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from records.custody import record_hash
from records.types import JSONDict
from server.identity.store import IdentityStore, iso, now

#: Authenticator flags: user present, user verified, backup eligible and backed up (a synced passkey,
#: which reports counter 0; the counter rule in docs/security.md accepts that).
_FLAGS = 0x01 | 0x04 | 0x08 | 0x10
LABEL = "riwayat demo (dicabut setelah dimuat)"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class HistorySigner:
    """Signs demo handoffs for their authors; `register` before verifying, `retire` when done."""

    origin: str
    rp_id: str
    _keys: dict[str, tuple[bytes, ec.EllipticCurvePrivateKey]] = field(default_factory=dict)

    def sign(self, handoff: JSONDict) -> JSONDict:
        """The `signature` object of a chained handoff, by a key of its author (made on first use)."""
        author = str(handoff["author"])
        if author not in self._keys:
            self._keys[author] = (secrets.token_bytes(32), ec.generate_private_key(ec.SECP256R1()))
        credential_id, key = self._keys[author]
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": _b64url(bytes.fromhex(record_hash(handoff))),
                "origin": self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()
        authenticator_data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([_FLAGS]) + bytes(4)
        signature = key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "credential_id": _b64url(credential_id),
            "authenticator_data": _b64url(authenticator_data),
            "client_data_json": _b64url(client_data),
            "signature": _b64url(signature),
        }

    async def register(self, store: IdentityStore) -> None:
        """Store each author's public key as a passkey of theirs, so the gateway's verification knows it."""
        for author, (credential_id, key) in self._keys.items():
            numbers = key.public_key().public_numbers()
            cose = cbor2.dumps(
                {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
            )
            await store.save_credential(
                {
                    "_id": f"credential:{_b64url(credential_id)}",
                    "type": "credential",
                    "credential_id": _b64url(credential_id),
                    "user_id": author,
                    "public_key": _b64url(cose),
                    "sign_count": 0,
                    "device_type": "multi_device",
                    "backed_up": True,
                    "transports": [],
                    "label": LABEL,
                    "enrolled_with": "demo",
                    "created_at": iso(now()),
                    "last_used_at": None,
                    "revoked": False,
                }
            )

    async def retire(self, store: IdentityStore, user_ids: list[str]) -> int:
        """Revoke every history passkey of these users and forget the private keys; returns how many.

        Every one, not only this load's: a load cut off before this step left its passkeys active (their
        private keys died with the process), and the next load verifies that load's handoffs with them
        before retiring them too.
        """
        revoked = 0
        for user_id in user_ids:
            for credential in await store.credentials_of(user_id):
                if credential.get("label") == LABEL and not credential.get("revoked"):
                    await store.revoke_credential(str(credential["credential_id"]))
                    revoked += 1
        self._keys.clear()
        return revoked
