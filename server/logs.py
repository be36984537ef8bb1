"""Structured logging: one JSON object per line, with the request id of the request being served.

Never log a credential, a cookie, a NIK or a record body: log ids and counts instead. A token in a path is a
credential too (a resident's link opens their page, an enrollment link registers a passkey), so those paths
are logged without it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    """16 random hex digits after an "r": never a bare run of digits that a log reader (or the suite's log
    check) would take for a NIK, which 16 hex digits are about once in 2,000 requests."""
    return "r" + secrets.token_hex(8)


#: `/auth/enroll/options` and `/auth/enroll/verify` are steps of the ceremony, not tokens: logged as they are.
_TOKEN_IN_PATH = re.compile(r"^/(r|auth/enroll)/(?!(?:options|verify)$)[^/]+")


def loggable_path(path: str) -> str:
    """The request path as logged: `/r/<token>/...` becomes `/r/<link>/...`, and so for `/auth/enroll/`."""
    return _TOKEN_IN_PATH.sub(r"/\1/<link>", path)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would print full paths with query strings; ours below logs what we choose.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


class RequestIdMiddleware:
    """Give every request an id (or keep a sane one from a proxy), echo it back, log one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = logging.getLogger("segel.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.logger.info(
                "%s %s %s %.1fms",
                scope["method"],
                loggable_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)
