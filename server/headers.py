"""Security headers on every response: pages, JSON errors, static files, sync routes and photos alike.

One pure-ASGI middleware (no response buffering, so streamed photos and `_changes` longpolls stay
streamed). A header a handler set itself wins (the residents' page sends its own stricter
`Referrer-Policy: no-referrer`).

The Content-Security-Policy allows scripts from this origin only: no inline script, no `eval`. The one
exception is `'wasm-unsafe-eval'`, which lets the seal scanner compile its bundled ZXing WebAssembly
(served from /static); it does not allow JavaScript eval. Styles come from /static only (no inline
`style=`; scripts may still set element.style, which CSP does not restrict). Images may be `blob:` (the
photo preview before upload) and `data:`. `frame-ancestors 'none'` and `X-Frame-Options: DENY` keep every
page out of frames (clickjacking of the office forms); `nosniff` makes a browser treat bytes as the type
they are served with, so an HTML file stored as a "JPEG" can never run as a page.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=(), payment=(), usb=()"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
