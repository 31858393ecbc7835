"""Webhook URLs: the SSRF guard, and posting one message with time-outs and retries.

A webhook URL is user input aimed at our own network, so it is checked twice: when the user
configures it (`check_url`, answered 422) and again before every attempt to post to it (the
name may resolve elsewhere by then: DNS rebinding). The guard resolves the host name and
refuses the URL when *any* resolved address is loopback, private, link-local, multicast,
reserved, unspecified or otherwise not globally routable (an IPv4-mapped IPv6 address is
judged as its IPv4 address), unless private targets are allowed (`ALERT_WEBHOOK_ALLOW_PRIVATE`);
plain `http` is refused in production. The post then connects to the address that was
checked (the host name goes in the `Host` header and TLS's SNI), so a second resolution
cannot send it elsewhere; redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from backend.validation import first_control_char

URL_MAX_LENGTH = 2048
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(ValueError):
    """A webhook URL the guard refuses; `rule` names the rule broken."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts and the addresses its host resolved to (all allowed)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (getaddrinfo, TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


# getaddrinfo has no time-out of its own: it runs here, and a caller waits a bounded time.
_DNS_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def bounded(resolver: Resolver, seconds: float) -> Resolver:
    """`resolver`, waited on at most `seconds` (then OSError: the name is refused as not
    resolvable, and the lookup left running ends by itself)."""

    def run(host: str, port: int) -> list[str]:
        future = _DNS_POOL.submit(resolver, host, port)
        try:
            return future.result(timeout=seconds)
        except FutureTimeout:
            raise OSError(f"no answer within {seconds:g} s") from None

    return run


def address_problem(address: str) -> str | None:
    """Why posting to `address` is refused (None when it is a public unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    ):
        if flag:
            return f"{address} is a {kind} address"
    return None


def check_url(
    url: str,
    *,
    allow_private: bool,
    require_https: bool,
    resolver: Resolver = resolve,
) -> Target:
    """The checked target of `url`, or WebhookRefused naming the rule it breaks."""
    if not url or len(url) > URL_MAX_LENGTH:
        raise WebhookRefused("length", f"a URL is 1 to {URL_MAX_LENGTH} characters")
    if first_control_char(url) is not None or " " in url:
        raise WebhookRefused("characters", "a URL has no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused("syntax", f"not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookRefused("scheme", "the URL must start with https:// (or http://)")
    if scheme == "http" and require_https:
        raise WebhookRefused("https", "plain http is refused in production: use https://")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("credentials", "credentials in the URL are refused")
    host = parts.hostname
    if not host:
        raise WebhookRefused("host", "the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise WebhookRefused("resolvable", f"{host} cannot be resolved: {exc}") from None
        if not addresses:
            raise WebhookRefused("resolvable", f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise WebhookRefused(
                    "public_address",
                    f"{host} is refused: {problem} (ALERT_WEBHOOK_ALLOW_PRIVATE is off)",
                )
    return Target(url, scheme, host, port, tuple(addresses))


def slack_body(lines: list[str], header: str, most: int = 40) -> dict[str, str]:
    """The JSON a Slack incoming webhook accepts: {"text": ...}, at most `most` lines (the
    rest counted)."""
    shown = [f"• {line}" for line in lines[:most]]
    if len(lines) > most:
        shown.append(f"… and {len(lines) - most} more")
    return {"text": "\n".join([header, *shown])}


@dataclass
class PostResult:
    delivered: bool
    attempts: int
    http_status: int | None = None
    error: str | None = None


class _Retryable(Exception):
    """A failure worth another attempt: the network, a time-out, 429 or a 5xx."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _pinned_request(target: Target, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URL with the checked address in place of the host, and the request's extras."""
    address = target.addresses[0]
    netloc_host = f"[{address}]" if ":" in address else address
    parts = urlsplit(target.url)
    pinned = urlunsplit(
        (parts.scheme, f"{netloc_host}:{target.port}", parts.path or "/", parts.query, "")
    )
    default = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default else f"{target.host}:{target.port}"
    extras: dict[str, Any] = {"json": body, "headers": {"Host": host_header}}
    if target.scheme == "https":
        extras["extensions"] = {"sni_hostname": target.host}
    return pinned, extras


def post(
    url: str,
    body: dict[str, Any],
    *,
    allow_private: bool,
    require_https: bool,
    timeout: float,
    retries: int,
    backoff: float,
    resolver: Resolver = resolve,
) -> PostResult:
    """Post `body` to `url`: the guard before each attempt; up to 1 + `retries` attempts on
    network errors, time-outs, 429 and 5xx, waiting `backoff` x 1, 2, 4, ... s between them
    (tenacity); any other answer than 2xx fails at once. Never raises."""
    attempts = 0
    last_status: int | None = None

    def attempt() -> int:
        nonlocal attempts, last_status
        attempts += 1
        target = check_url(
            url, allow_private=allow_private, require_https=require_https, resolver=resolver
        )
        pinned, extras = _pinned_request(target, body)
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as c:
                resp = c.post(pinned, **extras)
        except httpx.HTTPError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}"[:300]) from None
        last_status = resp.status_code
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code}", resp.status_code)
        if not 200 <= resp.status_code < 300:
            raise WebhookRefused("answer", f"HTTP {resp.status_code}")
        return resp.status_code

    retrying = Retrying(
        stop=stop_after_attempt(1 + retries),
        wait=wait_exponential(multiplier=backoff, min=backoff, max=60 * backoff),
        retry=retry_if_exception_type(_Retryable),
        reraise=True,
    )
    try:
        status = retrying(attempt)
    except WebhookRefused as exc:
        return PostResult(False, attempts, last_status, exc.message[:500])
    except _Retryable as exc:
        return PostResult(False, attempts, exc.status or last_status, str(exc)[:500])
    return PostResult(True, attempts, status)
