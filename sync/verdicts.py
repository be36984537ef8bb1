"""What a handoff's passkey verification decided, as one small type.

Kept apart from `sync.signatures` (which brings py_webauthn and its crypto) so the push path can name the
type without importing the verifier: the gateway imports that only when a batch carries a handoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SignatureVerdict:
    """`verified`: a valid passkey signature of the author; `unsigned`: kept with its reason and flagged for
    staff; `invalid`: refused, `reason` says why (in Bahasa Indonesia, then English)."""

    status: Literal["verified", "unsigned", "invalid"]
    reason: str | None
    credential_id: str | None
