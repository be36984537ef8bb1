"""`GET /healthz`: can this instance serve? It can only if CouchDB answers and bootstrap has run."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from store.couch import CouchClient, CouchError, CouchUnavailable


async def check_couch(couch: CouchClient, records_db: str) -> str | None:
    """None when CouchDB answers for the records database, else the reason in words."""
    try:
        # One attempt with a short timeout: a health check must answer fast, not wait out the retries.
        await couch.db(records_db).ping(timeout=3.0)
    except CouchUnavailable:
        return "CouchDB tidak dapat dihubungi (CouchDB is unreachable)"
    except CouchError as exc:
        return f"CouchDB menjawab {exc.status} {exc.error}: {exc.reason}"
    return None


async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    reason = await check_couch(state.couch, state.settings.records_db)
    if reason is None and not state.bootstrap_done.is_set():
        reason = "bootstrap basis data belum selesai (database bootstrap not finished yet)"
    if reason is not None:
        return JSONResponse(
            {"status": "unavailable", "reason": reason},
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse({"status": "ok", "couchdb": "ok"}, headers={"Cache-Control": "no-store"})
