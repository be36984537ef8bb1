"""The gateway's one error type, rendered in CouchDB's own `{"error", "reason"}` shape.

PouchDB reads `error` as the error name and `reason` as the message, and treats 401/403 on a whole request
as final (replication stops even with `retry: true`) and everything else as something to retry. Reasons a
person reads are Indonesian first with English in parentheses, from the catalogue (`in_both`,
records/texts.py), because the PWA shows them as they are; those only a client developer meets (a malformed
replication request) are in English.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from records.texts import in_both


class GatewayError(Exception):
    """A whole sync request refused: `status` is the HTTP status, `error` CouchDB's word for it."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "reason": self.reason}, status_code=self.status)


def bad_request(reason: str) -> GatewayError:
    return GatewayError(400, "bad_request", reason)


def not_found(reason: str = "missing") -> GatewayError:
    # CouchDB answers a missing or hidden document with exactly this; a hidden one must look the same.
    return GatewayError(404, "not_found", reason)


def forbidden(reason: str) -> GatewayError:
    return GatewayError(403, "forbidden", reason)


UNAUTHORIZED = GatewayError(
    401, "unauthorized", in_both("Silakan masuk lagi dengan passkey Anda; data di ponsel tetap aman.")
)
