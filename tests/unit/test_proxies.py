"""The client address for rate limits: X-Forwarded-For believed only through trusted proxies."""

from __future__ import annotations

from server.proxies import client_address
from server.settings import parse_trusted_proxies

PROXY = parse_trusted_proxies("10.0.0.0/24")


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"


def test_a_header_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], PROXY) == "203.0.113.9"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    # The client wrote "6.6.6.6" itself; the proxy appended the address it saw, 198.51.100.7.
    assert client_address("10.0.0.2", ["6.6.6.6, 198.51.100.7"], PROXY) == "198.51.100.7"
    # Two trusted hops (a load balancer, then the TLS proxy) are both skipped.
    assert client_address("10.0.0.2", ["6.6.6.6, 198.51.100.7, 10.0.0.3"], PROXY) == "198.51.100.7"
    # Several headers are one list, in order.
    assert client_address("10.0.0.2", ["6.6.6.6", "198.51.100.7"], PROXY) == "198.51.100.7"


def test_garbage_in_the_header_names_no_address() -> None:
    assert client_address("10.0.0.2", ["198.51.100.7, not-an-ip"], PROXY) == "10.0.0.2"
    assert client_address("10.0.0.2", ["[2001:db8::7]:443"], PROXY) == "2001:db8::7"
    assert client_address("10.0.0.2", [], PROXY) == "10.0.0.2"
