"""A software WebAuthn authenticator for server tests: real EC P-256 keys, real CBOR, real signatures.

It produces exactly what a browser hands to the server after `navigator.credentials.create()` (attestation
format "none") and `.get()`, in the JSON shape the `webauthn` package parses. Every field a test may want to
falsify (origin, RP ID, challenge, counter, flags) is a parameter, so each refusal is produced honestly
rather than by editing the server's view of the world.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from records.types import JSONDict

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40


def b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    """One passkey held by the soft authenticator."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )


@dataclass
class SoftAuthenticator:
    """A phone's platform authenticator. `counting=False` models a synced passkey that always reports 0."""

    origin: str = "http://localhost:8000"
    counting: bool = True
    credentials: list[SoftCredential] = field(default_factory=list)

    def create(
        self,
        options: JSONDict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        user_verified: bool = True,
    ) -> JSONDict:
        """Answer registration options (as sent to the browser) with a new credential."""
        rp = rp_id or options["rp"]["id"]
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp,
            user_handle=b64url_decode(options["user"]["id"]),
        )
        self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        flags = FLAG_UP | FLAG_AT | (FLAG_UV if user_verified else 0)
        attested = bytes(16) + struct.pack(">H", len(credential.credential_id)) + credential.credential_id
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", 0)
            + attested
            + credential.cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        challenge: str,
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
        user_verified: bool = True,
    ) -> JSONDict:
        """Sign `challenge` (base64url) as `navigator.credentials.get()` would."""
        cred = credential or self.credentials[-1]
        if counter is None:
            if self.counting:
                cred.sign_count += 1
            counter = cred.sign_count
        client_data = self._client_data("webauthn.get", challenge, origin)
        flags = FLAG_UP | (FLAG_UV if user_verified else 0) | (0 if self.counting else FLAG_BE | FLAG_BS)
        auth_data = (
            hashlib.sha256((rp_id or cred.rp_id).encode()).digest()
            + bytes([flags])
            + struct.pack(">I", counter)
        )
        signature = cred.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": cred.id,
            "rawId": cred.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(cred.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def sign_record_hash(self, hash_hex: str, **kwargs: object) -> JSONDict:
        """What `passkey.js: signRecordHash` stores in a record: the assertion over the 32 hash bytes."""
        assertion = self.get(b64url(bytes.fromhex(hash_hex)), **kwargs)  # type: ignore[arg-type]
        response = assertion["response"]
        return {
            "credential_id": assertion["id"],
            "authenticator_data": response["authenticatorData"],
            "client_data_json": response["clientDataJSON"],
            "signature": response["signature"],
            "user_handle": response["userHandle"],
        }

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()
