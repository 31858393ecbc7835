"""The dashboard's files as served at /app, and its contract with the API: every path its
scripts call is an operation of the OpenAPI schema (the pages have no second code path).
The pages themselves are tested in a real browser in tests/e2e."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from backend.reference.benchmarks import EQUITY_BENCHMARK, MARKET_BENCHMARKS
from backend.web.router import STATIC_DIR

pytestmark = [pytest.mark.api]

# String and template literals in the scripts that name a path of the service (up to a query).
PATH_LITERAL = re.compile(r"[`\"'](/(?:api/v1|database|health)/?[^`\"'?]*?)(?:\$\{qs\(|[`\"'?])")
# The portfolio views are drawn for a base path: portfolioPanels(main, "/api/v1/portfolio", ...).
PANEL_BASE = re.compile(r"portfolioPanels\(main, [`\"]([^`\"]+)[`\"]")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def test_app_redirects_to_the_page(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/app", follow_redirects=False)
    assert resp.status_code == 307 and resp.headers["location"] == "/app/"


@pytest.mark.parametrize(
    "path",
    [
        "/app/",
        "/app/security/NVDA",
        "/app/portfolio",
        "/app/portfolios/3",
        "/app/watchlist",
        "/app/ops",
    ],
)
def test_every_page_path_answers_the_page(sample_app_client: TestClient, path: str) -> None:
    resp = sample_app_client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/app/static/app.js">' in resp.text
    assert resp.headers["cache-control"] == "no-cache"


def test_static_files_are_served_and_a_missing_one_is_404(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/app/static/charts.js")
    assert resp.status_code == 200
    assert "javascript" in resp.headers["content-type"]
    assert "etag" in resp.headers
    assert sample_app_client.get("/app/static/nothing.js").status_code == 404


def test_the_pages_read_the_benchmark_choices_from_the_reference_data(
    sample_app_client: TestClient,
) -> None:
    resp = sample_app_client.get("/app/reference.json")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-cache"
    assert resp.json() == {
        "market_benchmarks": list(MARKET_BENCHMARKS),
        "default_benchmark": EQUITY_BENCHMARK,
    }
    assert EQUITY_BENCHMARK in MARKET_BENCHMARKS
    # the page keeps no copy of the list
    script = (STATIC_DIR / "portfolio.js").read_text(encoding="utf-8")
    assert '"SPY"' not in script and "/app/reference.json" in script


def test_the_pages_are_not_in_the_api_schema(sample_app_client: TestClient) -> None:
    paths = sample_app_client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/app")]


def test_nothing_is_loaded_from_elsewhere() -> None:
    for file in STATIC_DIR.rglob("*"):
        if file.suffix in {".html", ".js", ".css"}:
            text = file.read_text().replace(SVG_NAMESPACE, "")
            assert not re.search(r"https?://", text), f"{file.name} links outside"


def _pattern(path: str) -> re.Pattern[str]:
    """An OpenAPI path (`/api/v1/momentum/{ticker}`) as a regex over the scripts' paths, in
    which `${...}` stands for a parameter."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("^" + r"(?:\$\{[^}]+\}|[^/]+)".join(re.escape(p) for p in parts) + "/?$")


def test_every_path_the_pages_call_is_in_the_openapi_schema(
    sample_app_client: TestClient,
) -> None:
    schema = sample_app_client.get("/openapi.json").json()["paths"]
    patterns = [_pattern(p) for p in schema]
    called: set[str] = set()
    for file in STATIC_DIR.glob("*.js"):
        text = file.read_text()
        bases = set(PANEL_BASE.findall(text))
        suffixes = set(re.findall(r"`\$\{base\}(/[a-z]+)", text))
        called |= (set(PATH_LITERAL.findall(text)) - bases) | {
            b + s for b in bases for s in suffixes
        }
    assert len(called) >= 15, called
    unknown = sorted(c for c in called if not any(p.match(c) for p in patterns))
    assert not unknown, f"the pages call paths the API does not have: {unknown}"
