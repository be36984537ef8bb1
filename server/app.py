"""The Starlette application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route

from records.receipt_proof import ReceiptKey
from records.schemas import schema_files
from server import shell
from server.access import AuthMiddleware
from server.compression import CompressionMiddleware
from server.databases import prepare_databases
from server.errors import AppError, handle_app_error, handle_http_exception, handle_server_error
from server.headers import SecurityHeadersMiddleware
from server.health import healthz
from server.i18n import LanguageMiddleware
from server.identity import routes as identity_routes
from server.identity.auth import SessionOwners
from server.identity.csrf import CSRFMiddleware
from server.identity.follower import IdentityFollower
from server.identity.principal_cache import PrincipalCache
from server.identity.store import IdentityStore
from server.logs import RequestIdMiddleware
from server.office import routes as office_routes
from server.office.assignees import gateway_assignee_check
from server.office.config import OfficeConfig
from server.proxies import ClientAddressMiddleware
from server.residents import routes as resident_routes
from server.resources import STATIC_DIR, require_pwa
from server.settings import Settings, open_couch
from server.static import CachedStaticFiles
from store.couch import CouchClient, CouchError, CouchUnavailable
from store.identity import IdentityDocs
from sync.change_cache import ScopeChangeCache
from sync.change_follower import ChangeFollower
from sync.gateway import gateway_routes
from sync.written_bodies import WrittenBodies

logger = logging.getLogger(__name__)


async def _bootstrap_until_done(app: Starlette) -> None:
    """Bootstrap now, or keep trying in the background: a database that is down at start is not fatal."""
    delay = 0.5
    while True:
        try:
            await prepare_databases(app.state.couch, app.state.settings)
        except (CouchUnavailable, CouchError) as exc:
            logger.warning("bootstrap failed, retrying in %.0fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)
            continue
        app.state.bootstrap_done.set()
        return


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The office's background work (checks, rollups, messages) is `segel worker`, a process of its own:
    # a web instance only serves.
    # The gateway's one follower of the records database feeds the process's change cache (sync/changes.py).
    follower = ChangeFollower(
        app.state.couch.db(app.state.settings.records_db),
        app.state.sync_changes,
        written=app.state.written_bodies,
    )
    tasks = [
        asyncio.create_task(_bootstrap_until_done(app)),
        asyncio.create_task(follower.run(app.state.bootstrap_done)),
    ]
    # Until it is following the identity database's changes, authentication reads the database.
    app.state.identity_follower.start()
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await app.state.identity_follower.stop()
        await app.state.couch.aclose()


async def schema_file(request: Request) -> Response:
    name = request.path_params["name"]
    path = schema_files().get(f"{name}.schema.json")
    if path is None:
        raise AppError(404, "not_found", f"No schema named {name!r}; see /schemas/ for the list.")
    return FileResponse(path, media_type="application/schema+json", headers={"Cache-Control": "no-cache"})


def create_app(
    settings: Settings, couch: CouchClient | None = None, office_config: OfficeConfig | None = None
) -> Starlette:
    """Build the app; `couch` and `office_config` may be passed by tests, otherwise made from settings and
    the environment."""
    require_pwa()
    routes = [
        Route("/healthz", healthz),
        Route("/schemas/{name}.schema.json", schema_file),
        Mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static"),
        Mount("/sync", routes=gateway_routes()),
        *shell.routes,
        *identity_routes.routes,
        *office_routes.routes,
        *resident_routes.routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            AppError: handle_app_error,
            HTTPException: handle_http_exception,
            Exception: handle_server_error,
        },
    )
    app.add_middleware(AuthMiddleware)
    app.add_middleware(CSRFMiddleware)  # refuses cross-site writes riding on our cookies before auth runs
    app.add_middleware(CompressionMiddleware)  # gzips JSON, schemas and pages: most bytes of a first sync
    app.add_middleware(RequestIdMiddleware)  # every log line has the request id
    # ?lang= / the lang cookie (Secure over HTTPS): the texts of every response below
    app.add_middleware(LanguageMiddleware, secure=settings.secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware)  # on every response, refusals included
    app.add_middleware(ClientAddressMiddleware, proxies=settings.trusted_proxies)  # outermost: rate limits
    app.state.settings = settings
    app.state.couch = couch or open_couch(settings)
    app.state.bootstrap_done = asyncio.Event()
    app.state.receipt_key = ReceiptKey.from_secret(settings.secret_key)
    # The gateway judges replicated assignments by the identity database, which only the server reads.
    app.state.assignee_check = gateway_assignee_check(IdentityStore(app.state.couch, settings))
    # Everything a request reads from app.state is set here, once: no handler assigns to it.
    app.state.office_config = office_config or OfficeConfig.from_env()
    app.state.session_owners = SessionOwners()
    # Sessions and tokens with their users, trusted only while the follower sees every identity change.
    app.state.principal_cache = PrincipalCache()
    app.state.identity_follower = IdentityFollower(
        IdentityDocs(app.state.couch.db(settings.identity_db)), app.state.principal_cache
    )
    app.state.office_zones = {}  # office code -> (IANA zone, when read): server/office/web.office_zone_of
    app.state.sync_changes = ScopeChangeCache(settings.change_cache_entries)
    # Bodies the gateway just stored, so the follower does not read them back (sync/written_bodies.py).
    app.state.written_bodies = WrittenBodies()
    return app
