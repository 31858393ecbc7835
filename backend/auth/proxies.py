"""Who the client is: the peer, or what a trusted reverse proxy says it is.

`X-Forwarded-For` is believed only when the peer is one of TRUSTED_PROXIES (IPs or CIDRs),
and then the client is the right-most address of the header that is not a trusted proxy:
each proxy appends the address it saw, so everything left of the last untrusted hop is
whatever the caller chose to send. uvicorn's own `ProxyHeadersMiddleware` does exactly that
(right-most untrusted hop, networks accepted); installed outermost, it makes
`request.client` (and `scope["client"]`) the real client for every layer: rate limits, the
access log, the failed-login log. uvicorn must not rewrite the client itself: the image runs
it with `--no-proxy-headers`, so this is the one place of truth.
"""

from __future__ import annotations

import ipaddress
from typing import Union

from fastapi import FastAPI, Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.config import Settings

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
TRUSTED_PROXIES_RULE = (
    "comma-separated IP addresses or networks (CIDR), such as 172.18.0.2 or 10.0.0.0/8; "
    "'*' is not accepted (it would let any caller choose its own address)"
)


def parse_trusted_proxies(value: str) -> list[Network]:
    """The networks of TRUSTED_PROXIES (a bare address is a /32 or /128); ValueError naming
    the entry that is neither."""
    networks: list[Network] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network; it must be "
                f"{TRUSTED_PROXIES_RULE}"
            ) from None
    return networks


def install_trusted_proxies(app: FastAPI, settings: Settings) -> None:
    """Add the proxy-headers layer when proxies are configured. Call it after every other
    `add_middleware`, so that it is the outermost layer."""
    networks = parse_trusted_proxies(settings.trusted_proxies)
    if networks:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=[str(n) for n in networks])


def client_address(request: Request) -> str:
    """The client's address (already resolved through trusted proxies), or "unknown"."""
    return request.client.host if request.client else "unknown"
