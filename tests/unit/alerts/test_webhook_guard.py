"""The webhook SSRF guard: every refused kind of address, names resolving to private ones,
plain http in production; a public literal passes without any connection or resolution."""

from __future__ import annotations

import threading

import pytest

from backend.alerts import webhooks
from backend.alerts.webhooks import WebhookRefused, check_url

pytestmark = pytest.mark.unit


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"resolved {host}: an IP literal needs no resolution")


def refused(url: str, **kw: object) -> WebhookRefused:
    kw.setdefault("allow_private", False)
    kw.setdefault("require_https", False)
    kw.setdefault("resolver", no_dns)
    with pytest.raises(WebhookRefused) as info:
        check_url(url, **kw)  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize(
    "url, kind",
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fc00::1]/hook", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.0.1/", "not globally routable"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://192.168.1.20/", "private"),
        ("http://240.0.0.1/", "reserved"),
    ],
)
def test_refuses_non_public_literals(url: str, kind: str) -> None:
    err = refused(url)
    assert err.rule == "public_address"
    assert f"a {kind} address" in err.message


def test_a_name_resolving_to_private_is_refused() -> None:
    err = refused("https://hooks.example.com/x", resolver=lambda h, p: ["10.1.2.3"])
    assert err.rule == "public_address" and "10.1.2.3" in err.message


def test_every_resolved_address_must_be_public() -> None:
    err = refused(
        "https://hooks.example.com/x", resolver=lambda h, p: ["93.184.216.34", "127.0.0.1"]
    )
    assert "127.0.0.1 is a loopback address" in err.message


def test_a_public_literal_passes_without_connecting() -> None:
    target = check_url(
        "https://93.184.216.34:8443/services/T0/B0/X",
        allow_private=False,
        require_https=True,
        resolver=no_dns,
    )
    assert target.addresses == ("93.184.216.34",) and target.port == 8443


def test_a_name_resolving_to_public_passes() -> None:
    seen: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        seen.append((host, port))
        return ["2606:2800:220:1:248:1893:25c8:1946"]

    target = check_url(
        "https://hooks.example.com/x", allow_private=False, require_https=True, resolver=resolver
    )
    assert seen == [("hooks.example.com", 443)] and target.host == "hooks.example.com"


def test_allow_private_lets_loopback_through() -> None:
    target = check_url(
        "http://127.0.0.1:9/hook", allow_private=True, require_https=False, resolver=no_dns
    )
    assert target.addresses == ("127.0.0.1",)


@pytest.mark.parametrize(
    "url, rule",
    [
        ("ftp://93.184.216.34/", "scheme"),
        ("http://user:pw@93.184.216.34/", "credentials"),  # pragma: allowlist secret
        ("https:///path", "host"),
        ("https://exa mple.com/", "characters"),
        ("https://93.184.216.34:99999/", "syntax"),
        ("", "length"),
    ],
)
def test_malformed_urls(url: str, rule: str) -> None:
    assert refused(url).rule == rule


def test_plain_http_is_refused_in_production() -> None:
    assert refused("http://93.184.216.34/hook", require_https=True).rule == "https"


def test_an_unresolvable_name_is_refused() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    assert refused("https://nowhere.invalid/", resolver=fail).rule == "resolvable"


def test_delivery_rechecks_the_name_and_never_connects_to_a_rebound_address() -> None:
    """DNS rebinding: the name now resolves to loopback; the post is refused by the guard
    (one attempt, not retried), before any connection."""
    result = webhooks.post(
        "https://hooks.example.com/x",
        {"text": "hi"},
        allow_private=False,
        require_https=True,
        timeout=1,
        retries=3,
        backoff=0,
        resolver=lambda h, p: ["127.0.0.1"],
    )
    assert not result.delivered and result.attempts == 1 and result.http_status is None
    assert result.error is not None and "loopback" in result.error


def test_slack_body_caps_the_lines() -> None:
    body = webhooks.slack_body([f"line {i}" for i in range(5)], "head", most=3)
    assert body == {"text": "head\n• line 0\n• line 1\n• line 2\n… and 2 more"}


def test_a_name_lookup_that_hangs_is_refused_in_bounded_time() -> None:
    release = threading.Event()

    def hangs(host: str, port: int) -> list[str]:
        release.wait(30)
        return ["93.184.216.34"]

    try:
        err = refused("https://slow.example.com/", resolver=webhooks.bounded(hangs, 0.2))
    finally:
        release.set()
    assert err.rule == "resolvable" and "no answer within 0.2 s" in err.message
