"""Who the client is: X-Forwarded-For counts only from TRUSTED_PROXIES, and then the client is
the right-most address that is not a trusted proxy (what the caller wrote to the left of it
is ignored)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.auth.proxies import client_address, install_trusted_proxies, parse_trusted_proxies
from backend.config import Settings

pytestmark = pytest.mark.unit


def app_seeing(trusted: str) -> FastAPI:
    settings = Settings(_env_file=None, trusted_proxies=trusted)  # type: ignore[call-arg]
    app = FastAPI()

    @app.get("/who")
    def who(request: Request) -> dict[str, str]:
        return {"client": client_address(request), "scheme": request.url.scheme}

    install_trusted_proxies(app, settings)
    return app


def seen(trusted: str, peer: str, xff: str | None, proto: str | None = None) -> dict[str, str]:
    headers = {}
    if xff is not None:
        headers["X-Forwarded-For"] = xff
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    with TestClient(app_seeing(trusted), client=(peer, 40000)) as client:
        body: dict[str, str] = client.get("/who", headers=headers).json()
        return body


def test_nothing_trusted_by_default_the_peer_is_the_client() -> None:
    assert seen("", "198.51.100.7", "1.2.3.4")["client"] == "198.51.100.7"
    assert seen("", "127.0.0.1", "1.2.3.4", "https") == {
        "client": "127.0.0.1",
        "scheme": "http",
    }


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert seen("10.0.0.0/8", "198.51.100.7", "1.2.3.4")["client"] == "198.51.100.7"


def test_a_trusted_proxy_names_the_client() -> None:
    assert seen("10.0.0.2", "10.0.0.2", "198.51.100.7") == {
        "client": "198.51.100.7",
        "scheme": "http",
    }
    assert seen("10.0.0.2", "10.0.0.2", "198.51.100.7", "https")["scheme"] == "https"


def test_the_right_most_untrusted_hop_wins_over_what_the_caller_wrote() -> None:
    # The caller sent "X-Forwarded-For: 1.2.3.4"; nginx (10.0.0.2) appended the address it saw.
    assert seen("10.0.0.2", "10.0.0.2", "1.2.3.4, 198.51.100.7")["client"] == "198.51.100.7"
    # Two trusted hops (a load balancer in 172.16.0.0/12, then nginx).
    chain = "6.6.6.6, 7.7.7.7, 198.51.100.7, 172.16.5.4"
    assert seen("10.0.0.2, 172.16.0.0/12", "10.0.0.2", chain)["client"] == "198.51.100.7"
    # The same header split over two lines counts as one list.
    with TestClient(app_seeing("10.0.0.2"), client=("10.0.0.2", 1)) as client:
        resp = client.get(
            "/who", headers=[("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "198.51.100.7")]
        )
        assert resp.json()["client"] == "198.51.100.7"


def test_networks_and_ipv6() -> None:
    assert seen("10.0.0.0/8", "10.9.8.7", "203.0.113.9")["client"] == "203.0.113.9"
    assert seen("fd00::/8", "fd00::1", "2001:db8::5")["client"] == "2001:db8::5"
    assert seen("10.0.0.0/8", "11.0.0.1", "203.0.113.9")["client"] == "11.0.0.1"


def test_the_setting_is_checked() -> None:
    assert [str(n) for n in parse_trusted_proxies(" 10.0.0.2 , 172.16.0.0/12,,::1")] == [
        "10.0.0.2/32",
        "172.16.0.0/12",
        "::1/128",
    ]
    assert parse_trusted_proxies("") == []
    settings = Settings(_env_file=None, trusted_proxies="10.0.0.1,192.168.0.0/16")  # type: ignore
    assert settings.trusted_proxies == "10.0.0.1/32,192.168.0.0/16"
    for bad in ("*", "nginx", "10.0.0.0/33", "10.0.0.1;10.0.0.2"):
        with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
            Settings(_env_file=None, trusted_proxies=bad)  # type: ignore[call-arg]
