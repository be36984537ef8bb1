"""The client's address, taken from `X-Forwarded-For` only through proxies the operator named as trusted.

Rate limits count per client address, so whoever may choose that address may escape them. uvicorn's own
proxy handling is off (`segel serve` starts it with `proxy_headers=False`); this middleware reads
SEGEL_TRUSTED_PROXIES instead. With no trusted proxy (the default) the address is the TCP peer and the
header is ignored. With trusted proxies, the header is read from the right: each hop a trusted proxy
appended is skipped, and the first address that is not a trusted proxy is the client. Everything left of
it was written by the client itself and is never believed.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from server.settings import Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(peer: str, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """The client address: `peer` unless it is a trusted proxy, then the rightmost untrusted hop.

    `forwarded_for` holds every `X-Forwarded-For` header value in order. A malformed hop ends the walk at
    the last address known good, so garbage in the header cannot name an address either.
    """
    current = _address(peer)
    if current is None or not proxies or not _trusted(current, proxies):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return str(current)
        current = address
        if not _trusted(current, proxies):
            return str(current)
    return str(current)  # every hop was a trusted proxy: the leftmost one is the best we know


class ClientAddressMiddleware:
    """Rewrite `scope["client"]` to the client address, so every handler and log reads the same one."""

    def __init__(self, app: ASGIApp, proxies: tuple[Network, ...]) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies and scope.get("client"):
            peer_host = scope["client"][0]
            values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            host = client_address(str(peer_host), values, self.proxies)
            if host != peer_host:
                scope = {**scope, "client": (host, 0)}
        await self.app(scope, receive, send)
