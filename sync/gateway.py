"""The sync gateway: the CouchDB replication protocol, mounted at /sync, for one database named `records`.

Thin routes only: authenticate (the principal comes from `server.access.AuthMiddleware`), parse a bounded
body, call `sync.replication` / `sync.changes` / `sync.checkpoints`, answer in CouchDB's shape. Everything
a stock PouchDB 9 client does not need is refused with a CouchDB-style JSON error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from records.principal import Principal
from records.shapes import Handoff
from records.texts import in_both
from store.couch import CouchClient, CouchError, CouchUnavailable, Database, open_attachment
from sync import branches, checkpoints, push, replication
from sync import changes as changes_feed
from sync.attachments import put_photo_attachment
from sync.change_cache import ScopeChangeCache
from sync.errors import UNAUTHORIZED, GatewayError, bad_request, forbidden, not_found
from sync.since_tokens import TokenSigner, signer_for
from sync.visibility import root_scopes, sees_everything

logger = logging.getLogger(__name__)

#: The only database name clients see.
DB_NAME = "records"
#: Request body limits: records travel in batches of ~100 with photos inline as base64.
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_SMALL_BODY_BYTES = 4 * 1024 * 1024
#: Deepest nesting accepted in a request body. Records are a handful of levels deep; Python's parser (and
#: everything after it: validation, re-encoding for CouchDB) recurses, so a body of 100,000 `[` would
#: otherwise end in a RecursionError, a 500.
MAX_JSON_DEPTH = 32
#: Longest a longpoll `_changes` request is held open, whatever the client asks.
MAX_LONGPOLL_MS = 30_000
DEFAULT_HEARTBEAT_MS = 10_000

Handler = Callable[[Request, Principal, Database], Awaitable[Response]]


def _principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise UNAUTHORIZED
    return principal


def _database(request: Request) -> Database:
    couch: CouchClient = request.app.state.couch
    return couch.db(request.app.state.settings.records_db)


def _receipts(request: Request) -> Database:
    """The gateway's receipts and seq claims: never served to phones, so not behind `endpoint`'s name."""
    couch: CouchClient = request.app.state.couch
    return couch.db(request.app.state.settings.receipts_db)


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: sign-in first, then the database name; errors always leave in CouchDB's shape."""

    async def route(request: Request) -> Response:
        try:
            principal = _principal(request)
            if request.path_params.get("db", DB_NAME) != DB_NAME:
                raise not_found("Database does not exist.")
            return await handler(request, principal, _database(request))
        except GatewayError as exc:
            return exc.response()
        except CouchUnavailable:
            logger.warning("database unreachable on %s %s", request.method, request.url.path)
            return GatewayError(
                503,
                "unavailable",
                in_both(
                    "Server data sedang tidak tersedia; data Anda aman di ponsel dan akan dikirim lagi "
                    "otomatis."
                ),
            ).response()
        except CouchError as exc:
            logger.warning("database error %s %s on %s", exc.status, exc.error, request.url.path)
            return GatewayError(
                502, "db_error", in_both("Server data menolak permintaan; coba lagi.")
            ).response()

    return route


async def read_json(request: Request, limit: int = MAX_SMALL_BODY_BYTES) -> Any:
    """The JSON body, read in chunks up to `limit` bytes; 413 beyond, 415 for another type, 400 if broken."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise GatewayError(415, "bad_content_type", "Content-Type must be application/json.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except RecursionError as exc:
        raise _too_deep() from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The request body is not valid JSON.") from exc
    if json_depth(body) > MAX_JSON_DEPTH:
        raise _too_deep()
    return body


def _too_large(limit: int) -> GatewayError:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return GatewayError(413, "too_large", f"The request body is larger than {size}.")


def _too_deep() -> GatewayError:
    return bad_request(
        in_both(
            "Isi permintaan bersarang terlalu dalam (lebih dari %(levels)s tingkat).",
            levels=str(MAX_JSON_DEPTH),
        )
    )


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed body, counted without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "false").lower() == "true"


# --- server and database --------------------------------------------------------------------------------


@endpoint
async def welcome(request: Request, principal: Principal, db: Database) -> Response:
    # PouchDB builds its replication id from this uuid: stable per deployment (database prefix).
    uuid = hashlib.sha256(f"segel-gateway:{request.app.state.settings.db_prefix}".encode()).hexdigest()[:32]
    return JSONResponse({"couchdb": "Welcome", "uuid": uuid, "version": "3.3.3", "vendor": {"name": "Segel"}})


@endpoint
async def database_info(request: Request, principal: Principal, db: Database) -> Response:
    if request.method == "PUT":
        return JSONResponse(
            {"error": "file_exists", "reason": "The database already exists."}, status_code=412
        )
    # Global counts would tell one user how much everyone else has: give none.
    info = {
        "db_name": DB_NAME,
        "instance_start_time": "0",
        "update_seq": "0",
        "doc_count": 0,
        "doc_del_count": 0,
    }
    return JSONResponse(info)


# --- replication ----------------------------------------------------------------------------------------


@endpoint
async def changes(request: Request, principal: Principal, db: Database) -> Response:
    query = request.query_params
    for unsupported in ("filter", "doc_ids", "view", "selector"):
        if unsupported in query:
            raise bad_request(f"The gateway decides what you may see; {unsupported} is not supported.")
    if _flag(query, "descending") or _flag(query, "include_docs"):
        raise bad_request("descending and include_docs are not supported; use _bulk_get.")
    feed = query.get("feed", "normal")
    if feed not in ("normal", "longpoll"):
        raise bad_request("Only feed=normal and feed=longpoll are supported.")
    limit = _int_param(query, "limit", 100, 1, changes_feed.MAX_LIMIT)
    signer = signer_for(request.app.state.settings.secret_key, principal)
    cache = _change_cache(request)
    position = await changes_feed.start_position(db, cache, principal, query.get("since", "0"), signer)
    page = await changes_feed.read_changes(db, cache, principal, position, limit, signer)
    if page.results or feed != "longpoll":
        return JSONResponse({"results": page.results, "last_seq": page.last_seq, "pending": 0})
    timeout = _int_param(query, "timeout", MAX_LONGPOLL_MS, 1, MAX_LONGPOLL_MS)
    heartbeat = _int_param(query, "heartbeat", DEFAULT_HEARTBEAT_MS, 1000, MAX_LONGPOLL_MS)
    return StreamingResponse(
        _longpoll(db, cache, principal, page, limit, timeout, heartbeat, signer),
        media_type="application/json",
    )


def _change_cache(request: Request) -> ScopeChangeCache:
    """The process's one change cache of the records database, made with the app (`create_app`)."""
    cache: ScopeChangeCache = request.app.state.sync_changes
    return cache


async def _longpoll(
    db: Database,
    cache: ScopeChangeCache,
    principal: Principal,
    page: changes_feed.ChangesPage,
    limit: int,
    timeout: int,
    heartbeat: int,
    signer: TokenSigner,
) -> AsyncIterator[bytes]:
    """Hold an empty longpoll open (bounded), sending heartbeat newlines, until a visible change arrives.

    The phone waits as one registration in the cache, woken only by a change of its own scopes (admins:
    by any change); while it waits nothing is asked of the database. It reads again from its own position
    after registering (so nothing appended in between is slept through), on every wake-up, and at each
    heartbeat (which, from the cache, costs no database request unless something of its scopes arrived).
    A server shutting down (`ScopeChangeCache.drain`) answers it at once, empty, so the phone asks again.
    """
    deadline = time.monotonic() + timeout / 1000
    beat_at = time.monotonic() + heartbeat / 1000
    scopes = root_scopes(principal)
    try:
        with cache.watch(scopes, everything=sees_everything(principal)) as waiter:
            while True:
                page = await changes_feed.read_changes(db, cache, principal, page.next, limit, signer)
                remaining = deadline - time.monotonic()
                if page.results or remaining <= 0 or cache.draining:
                    break
                if time.monotonic() >= beat_at:
                    beat_at = time.monotonic() + heartbeat / 1000
                    yield b"\n"
                await waiter.wait(min(remaining, max(0.0, beat_at - time.monotonic())))
    except (CouchUnavailable, CouchError) as exc:
        logger.warning("longpoll ended early: %s", type(exc).__name__)
        await asyncio.sleep(1.0)
    yield json.dumps({"results": page.results, "last_seq": page.last_seq, "pending": 0}).encode()


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a whole number.") from exc
    return max(low, min(high, value))


@endpoint
async def revs_diff(request: Request, principal: Principal, db: Database) -> Response:
    body = await read_json(request)
    return JSONResponse(await replication.revs_diff(db, principal, body))


@endpoint
async def bulk_docs(request: Request, principal: Principal, db: Database) -> Response:
    body = await read_json(request, MAX_BODY_BYTES)
    outcome = await push.push_docs(
        db,
        principal,
        body,
        receipts=_receipts(request),
        verify=_verifier(request),
        check_assignees=getattr(request.app.state, "assignee_check", None),
        written=getattr(request.app.state, "written_bodies", None),
    )
    logger.info(
        "push by %s: %d written, %d refused, %d already stored",
        principal.user_id,
        outcome.written,
        outcome.refused,
        outcome.unchanged,
    )
    return JSONResponse(outcome.answer, status_code=201)


@endpoint
async def bulk_get(request: Request, principal: Principal, db: Database) -> Response:
    body = await read_json(request)
    requests = replication.bulk_get_requests(body)
    query = request.query_params
    params: dict[str, str | bool] = {
        name: True for name in ("revs", "latest", "attachments") if _flag(query, name)
    }
    # The first slice is read before answering, so a database that is down gives a clean 503.
    stream = replication.stream_bulk_get(db, principal, requests, params)
    first = await anext(stream)
    second = await anext(stream)

    async def body_chunks() -> AsyncIterator[bytes]:
        yield first
        yield second
        async for chunk in stream:
            yield chunk

    return StreamingResponse(body_chunks(), media_type="application/json")


# --- documents, attachments, checkpoints ----------------------------------------------------------------


@endpoint
async def document(request: Request, principal: Principal, db: Database) -> Response:
    doc_id = request.path_params["doc_id"]
    if doc_id.startswith("_"):
        raise forbidden(in_both("Hanya catatan yang boleh dibaca melalui gateway."))
    if request.method != "GET":
        raise GatewayError(405, "method_not_allowed", "Records are written with _bulk_docs (replication).")
    return JSONResponse(await replication.get_document(db, principal, doc_id, request.query_params))


@endpoint
async def attachment(request: Request, principal: Principal, db: Database) -> Response:
    doc_id, name = request.path_params["doc_id"], request.path_params["name"]
    if request.method == "PUT":
        settings = request.app.state.settings
        result = await put_photo_attachment(
            db,
            principal,
            doc_id,
            name,
            request,
            rev=request.query_params.get("rev"),
            settings=settings,
            receipts=_receipts(request),
        )
        return JSONResponse(result, status_code=201)
    rev = request.query_params.get("rev")
    await replication.check_attachment_access(db, principal, doc_id, rev)
    return await _stream_attachment(db, doc_id, name, rev)


async def _stream_attachment(db: Database, doc_id: str, name: str, rev: str | None) -> Response:
    try:
        attachment = await open_attachment(db, doc_id, name, rev)
    except CouchError as exc:
        if exc.status == 404:
            raise not_found() from exc
        raise
    headers = {"Content-Type": attachment.content_type}
    if attachment.content_length is not None:
        headers["Content-Length"] = attachment.content_length
    return StreamingResponse(attachment.chunks, headers=headers)


@endpoint
async def local_document(request: Request, principal: Principal, db: Database) -> Response:
    client_id = request.path_params["client_id"]
    if request.method == "GET":
        return JSONResponse(await checkpoints.get_checkpoint(db, principal, client_id))
    if request.method == "PUT":
        body = await read_json(request, checkpoints.MAX_CHECKPOINT_BYTES)
        return JSONResponse(await checkpoints.put_checkpoint(db, principal, client_id, body), status_code=201)
    return JSONResponse(
        await checkpoints.delete_checkpoint(db, principal, client_id, request.query_params.get("rev"))
    )


# --- Segel extensions: purge list and conflicts ---------------------------------------------------------


@endpoint
async def purge(request: Request, principal: Principal, db: Database) -> Response:
    body = await read_json(request)
    return JSONResponse(await replication.purge_list(db, principal, body))


@endpoint
async def conflicts(request: Request, principal: Principal, db: Database) -> Response:
    if principal.role not in ("staff", "admin"):
        raise forbidden(in_both("Hanya petugas kantor yang boleh melihat konflik."))
    office = principal.office if principal.role == "staff" else request.query_params.get("office")
    limit = _int_param(request.query_params, "limit", 100, 1, 1000)
    return JSONResponse(await branches.office_conflicts(db, principal, office, limit))


@endpoint
async def refused(request: Request, principal: Principal, db: Database) -> Response:
    raise forbidden(
        in_both("Alamat ini tidak tersedia melalui gateway sinkronisasi: hanya replikasi basis data catatan.")
    )


def _verifier(request: Request) -> push.Verifier:
    """Passkey verification of handoffs (`sync.signatures`), imported when first needed: it brings
    py_webauthn and its crypto, which nothing else on the pull path needs."""
    from sync.signatures import assess_handoffs, write_audit_entries

    settings = request.app.state.settings
    couch: CouchClient = request.app.state.couch

    async def verify(
        records: list[Handoff], principal: Principal
    ) -> tuple[list[push.Verdict], push.AuditWriter]:
        verdicts, entries = await assess_handoffs(
            couch, settings.identity_db, records, principal, origin=settings.origin, rp_id=settings.rp_id
        )

        async def write_audit() -> None:
            await write_audit_entries(couch, None, entries, audit_db=settings.audit_db)

        return verdicts, write_audit

    return verify


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "COPY", "PATCH", "OPTIONS"]


def gateway_routes() -> list[BaseRoute]:
    return [
        Route("/", welcome, methods=["GET", "HEAD"]),
        Route("/{db}/_changes", changes, methods=["GET"]),
        Route("/{db}/_revs_diff", revs_diff, methods=["POST"]),
        Route("/{db}/_bulk_docs", bulk_docs, methods=["POST"]),
        Route("/{db}/_bulk_get", bulk_get, methods=["POST"]),
        Route("/{db}/_local/{client_id}", local_document, methods=["GET", "PUT", "DELETE"]),
        Route("/{db}/_segel/purge", purge, methods=["POST"]),
        Route("/{db}/_segel/conflicts", conflicts, methods=["GET"]),
        Route("/{db}/", database_info, methods=["GET", "HEAD", "PUT"]),
        Route("/{db}", database_info, methods=["GET", "HEAD", "PUT"]),
        Route("/{db}/{doc_id}", document, methods=ALL_METHODS),
        Route("/{db}/{doc_id}/{name}", attachment, methods=["GET", "PUT"]),
        Route("/{rest:path}", refused, methods=ALL_METHODS),
    ]
