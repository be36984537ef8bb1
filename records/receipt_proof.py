"""The receipt code as proof of delivery: sealed on the phone to the server's key, opened only by the server.

The resident's receipt code (six characters from a 31-letter alphabet, about 2^30 values) proves that the
envelope reached them. It never reaches a courier's phone: not in clear, and not as a hash, which a laptop
reverses by trying every code in seconds. At the door, often offline, the courier types what the resident
says; the PWA encrypts it at once to the server's public key (ECDH on P-256 with a fresh key per delivery,
HKDF-SHA256, AES-256-GCM with the document id as associated data) and keeps only that `receipt_proof` in
the handoff, which the passkey then signs. Nothing on the phone can tell whether a code is right, so a
courier cannot try codes until one fits, and a stolen phone gives none away. The office opens the proof
when the handoff arrives and compares it with the document's code (`server/office/delivery_checks.py`).

The key pair is derived from `SEGEL_SECRET_KEY`, so every instance holds the same one without another
secret to deploy. Changing that secret makes proofs sealed to the old key unreadable: such deliveries go to
the exceptions queue ("kode tidak dapat dibaca") for staff to confirm with the resident.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from records.types import JSONDict

ALGORITHM = "ECDH-ES+A256GCM"
_INFO = b"segel receipt code v1"
_KEY_LABEL = b"segel receipt key v1"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aes_key(shared: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(shared)


@dataclass(frozen=True)
class ReceiptKey:
    """The server's key pair for receipt proofs."""

    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def from_secret(cls, secret: str) -> ReceiptKey:
        """The same key pair on every instance that shares `SEGEL_SECRET_KEY`."""
        digest = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha512).digest()
        scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
        return cls(ec.derive_private_key(scalar, ec.SECP256R1()))

    @property
    def _public_point(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    @property
    def kid(self) -> str:
        """Names the key, so a proof sealed to another key is told apart from a damaged one."""
        return hashlib.sha256(self._public_point).hexdigest()[:16]

    def public_jwk(self) -> JSONDict:
        """The public key as the PWA imports it (WebCrypto JWK), with its `kid`."""
        point = self._public_point
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(point[1:33]),
            "y": _b64url(point[33:65]),
            "kid": self.kid,
            "alg": ALGORITHM,
        }

    def seal(self, code: str, document_id: str) -> JSONDict:
        """What the PWA does, in Python: for the demo loader and tests that play a phone."""
        ephemeral = ec.generate_private_key(ec.SECP256R1())
        shared = ephemeral.exchange(ec.ECDH(), self.private_key.public_key())
        iv = os.urandom(12)
        sealed = AESGCM(_aes_key(shared)).encrypt(iv, code.encode(), document_id.encode())
        epk = ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "alg": ALGORITHM,
            "kid": self.kid,
            "epk": _b64url(epk),
            "iv": _b64url(iv),
            "ct": _b64url(sealed),
        }

    def open(self, proof: Mapping[str, object], document_id: str) -> str | None:
        """The code sealed in `proof` for `document_id`, or None when it cannot be read (another key, another
        document, damaged)."""
        if proof.get("alg") != ALGORITHM or proof.get("kid") != self.kid:
            return None
        try:
            epk = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(proof.get("epk")))
            shared = self.private_key.exchange(ec.ECDH(), epk)
            plain = AESGCM(_aes_key(shared)).decrypt(
                _unb64url(proof.get("iv")), _unb64url(proof.get("ct")), document_id.encode()
            )
            return plain.decode()
        except (ValueError, InvalidTag, binascii.Error, UnicodeDecodeError):
            return None


def codes_equal(given: str, expected: str) -> bool:
    """Compare codes in constant time, ignoring case and surrounding spaces (as typed at a door)."""
    return hmac.compare_digest(given.strip().upper().encode(), expected.strip().upper().encode())
