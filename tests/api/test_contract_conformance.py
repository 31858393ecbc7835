"""The server and its OpenAPI schema agree (what schemathesis checks in `make fuzz`, here as
fast, deterministic tests of each class): a body that cannot be read is the documented 422,
a 405 lists exactly the methods the schema documents for its path, and a date is `YYYY-MM-DD`
text, nothing pydantic's lax mode would also read as one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from backend.errors import InvalidInput
from backend.main import create_app
from backend.momentum.universes import universe_names
from backend.portfolios.ledger import TxType
from backend.research.models import model_names, parse_models
from tests.support.beyond_schema import RULES_EXTENSION, explained
from tests.support.portfolio_app import ADMIN, Api, assert_error, copy_sqlite, portfolio_settings

pytestmark = [pytest.mark.api]

P = "/api/v1/portfolios"


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("contract"))
    with TestClient(create_app(portfolio_settings(url))) as c:
        yield c


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").json()
    return body


@pytest.fixture(scope="module")
def user(client: TestClient) -> dict[str, Any]:
    account = Api(client).user()
    account["pid"] = Api(client).portfolio(account["headers"])
    return account


def _field_rules(resp: Any) -> list[tuple[str, str]]:
    error = assert_error(resp, 422, "invalid_input")
    return [(f["field"], f["rule"]) for f in error["details"]["fields"]]


# ------------------------------------------------------------------- unreadable bodies


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"\xff\x80{}", "not UTF-8"),
        (b"\x1c\xc4\x80\xff%T", "not UTF-8"),
        (b"[" * 200_000, "nested too deeply"),
    ],
)
@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/momentum/batch"),
        ("PUT", "/api/v1/categories/targets"),
    ],
)
def test_a_body_that_cannot_be_read_as_json_is_the_documented_422(
    client: TestClient, method: str, path: str, body: bytes, reason: str
) -> None:
    resp = client.request(
        method, path, content=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert _field_rules(resp) == [("body", "json_invalid")]
    assert reason in resp.json()["error"]["message"]


def test_no_route_documents_400_since_none_answers_it(schema: dict[str, Any]) -> None:
    for path, item in schema["paths"].items():
        for method, op in item.items():
            assert "400" not in op["responses"], (method, path)


# ------------------------------------------------------------------- 405 and Allow


def _documented(schema: dict[str, Any], template: str) -> str:
    return ", ".join(sorted(m.upper() for m in schema["paths"][template]))


@pytest.mark.parametrize(
    "method, url, template",
    [
        ("OPTIONS", "/api/v1/categories/Large-Cap%20Anchors", "/api/v1/categories/{name}"),
        ("DELETE", "/api/v1/categories/targets", "/api/v1/categories/targets"),
        ("OPTIONS", P, P),
        ("OPTIONS", f"{P}/1", f"{P}/{{portfolio_id}}"),
        ("OPTIONS", f"{P}/1/transactions", f"{P}/{{portfolio_id}}/transactions"),
        ("OPTIONS", f"{P}/1/transactions/export", f"{P}/{{portfolio_id}}/transactions/export"),
        ("DELETE", f"{P}/1/transactions/export", f"{P}/{{portfolio_id}}/transactions/export"),
        ("PUT", f"{P}/1/transactions/import", f"{P}/{{portfolio_id}}/transactions/import"),
        ("TRACE", "/api/v1/momentum/AAPL", "/api/v1/momentum/{ticker}"),
        ("POST", "/health/live", "/health/live"),
    ],
)
def test_a_405_allows_exactly_the_methods_the_schema_documents_for_the_path(
    client: TestClient, schema: dict[str, Any], method: str, url: str, template: str
) -> None:
    resp = client.request(method, url)
    assert_error(resp, 405, "method_not_allowed")
    assert resp.headers["allow"] == _documented(schema, template)


def test_the_paths_served_by_several_routes_allow_all_of_them(client: TestClient) -> None:
    assert client.options("/api/v1/categories/x").headers["allow"] == "GET, PUT"
    assert client.options(f"{P}/1").headers["allow"] == "DELETE, GET, PATCH"


def test_a_transaction_id_that_is_not_a_number_is_no_route(
    client: TestClient, user: dict[str, Any]
) -> None:
    resp = client.delete(f"{P}/{user['pid']}/transactions/abc", headers=user["headers"])
    assert_error(resp, 404, "not_found")


# ------------------------------------------------------------------- dates


DATED_URLS = [
    "/api/v1/momentum/AAPL?as_of={d}",
    "/api/v1/momentum/AAPL/breakdown?as_of={d}",
    "/api/v1/momentum/AAPL/history?start={d}",
    "/api/v1/momentum/top?as_of={d}",
    "/api/v1/prices/AAPL?end={d}",
    "/api/v1/research/backtest?start={d}",
    "/api/v1/portfolio/performance?start={d}",
    f"{P}/{{pid}}/transactions?start={{d}}",
    f"{P}/{{pid}}/performance?end={{d}}",
]


@pytest.mark.parametrize(
    "value", ["0", "1700000000", "2020-1-2", "2020-01-02T00:00:00", "20200102"]
)
@pytest.mark.parametrize("url", DATED_URLS)
def test_a_date_parameter_takes_only_yyyy_mm_dd(
    client: TestClient, user: dict[str, Any], url: str, value: str
) -> None:
    resp = client.get(url.format(d=value, pid=user["pid"]), headers=user["headers"])
    assert "date_format" in {rule for _, rule in _field_rules(resp)}, resp.text


def test_a_batch_as_of_takes_only_yyyy_mm_dd(client: TestClient) -> None:
    resp = client.post("/api/v1/momentum/batch?as_of=0", json={"tickers": ["AAPL"]})
    assert _field_rules(resp) == [("as_of", "date_format")]


@pytest.mark.parametrize("value", [0, 1577923200, "0", True, "2020-01-02T00:00:00"])
def test_a_transaction_date_is_yyyy_mm_dd_text(
    client: TestClient, user: dict[str, Any], value: object
) -> None:
    resp = Api(client).add(user["headers"], user["pid"], date=value, type="DEPOSIT", quantity=100)
    assert _field_rules(resp) == [("date", "date_format")]


def test_a_well_written_date_is_still_read(client: TestClient, user: dict[str, Any]) -> None:
    resp = Api(client).add(
        user["headers"], user["pid"], date="2020-01-02", type="DEPOSIT", quantity=100
    )
    assert resp.status_code == 201, resp.text
    assert client.get("/api/v1/prices/AAPL?start=2021-04-20").json()["count"] == 2
    assert_error(client.get("/api/v1/prices/AAPL?start=2021-02-30"), 422, "invalid_input")


# ------------------------------------------------------------------- declared value sets


def _param(schema: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    [param] = [p for p in schema["paths"][path][method]["parameters"] if p["name"] == name]
    declared: dict[str, Any] = param["schema"]
    for branch in declared.get("anyOf", []):
        if branch.get("type") == "string":
            return dict(branch)
    return declared


def _operations_with(schema: dict[str, Any], name: str) -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if any(p["name"] == name for p in op.get("parameters", []))
    ]


@pytest.mark.parametrize(
    "name, known",
    [("model", model_names()), ("universe", universe_names())],
)
def test_model_and_universe_are_enums_of_the_registries(
    schema: dict[str, Any], name: str, known: list[str]
) -> None:
    ops = _operations_with(schema, name)
    assert len(ops) >= 3
    for path, method in ops:
        assert _param(schema, path, method, name)["enum"] == known, (method, path)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/momentum/AAPL?{p}",
        "/api/v1/momentum/AAPL/history?{p}",
        "/api/v1/momentum/top?{p}",
        "/api/v1/research/backtest?{p}",
    ],
)
@pytest.mark.parametrize("param", ["model=O!", "model=ALPHAVELOCITY-V1", "universe=All"])
def test_a_value_outside_the_enum_is_refused(client: TestClient, url: str, param: str) -> None:
    if "breakdown" in url and param.startswith("universe"):
        pytest.skip("no universe parameter")
    error = assert_error(client.get(url.format(p=param)), 422, "invalid_input")
    assert error["details"]["field"] == param.split("=")[0]


def test_an_unknown_model_in_a_batch_is_refused_before_any_fetch(client: TestClient) -> None:
    resp = client.post("/api/v1/momentum/batch?model=carhart", json={"tickers": ["NOSUCH1"]})
    assert assert_error(resp, 422, "invalid_input")["details"]["field"] == "model"


def test_the_transaction_type_filter_is_the_ledger_s_enum(schema: dict[str, Any]) -> None:
    declared = _param(schema, f"{P}/{{portfolio_id}}/transactions", "get", "type")
    [ref] = [b["$ref"] for b in declared["anyOf"] if "$ref" in b]
    enum = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"]
    assert enum == [t.value for t in TxType]


MODEL_LISTS = [
    ("rs-rating", True),
    ("rs-rating,jt-12-1", True),
    (" rs-rating , jt-12-1 ", True),
    (",".join(model_names()), True),
    ("", False),
    (",", False),
    ("rs-rating,,jt-12-1", False),
    ("rs-rating,", False),
    ("rs-rating;jt-12-1", False),
    ("RS-RATING", False),
    ("carhart", False),
]


@pytest.mark.parametrize("text, accepted", MODEL_LISTS)
def test_the_models_pattern_is_what_the_server_takes(
    schema: dict[str, Any], text: str, accepted: bool
) -> None:
    pattern = _param(schema, "/api/v1/research/compare", "get", "models")["pattern"]
    assert (re.fullmatch(pattern, text) is not None) is accepted
    if accepted:
        assert [m.name for m in parse_models(text)] == [n.strip() for n in text.split(",")]
    else:
        with pytest.raises(InvalidInput) as caught:
            parse_models(text)
        assert caught.value.details["field"] == "models"


def test_a_model_named_twice_matches_the_pattern_but_is_refused(schema: dict[str, Any]) -> None:
    """The one rule of ?models= a pattern cannot say; the schema says it in words."""
    param = _param(schema, "/api/v1/research/compare", "get", "models")
    assert re.fullmatch(param["pattern"], "jt-12-1,jt-12-1")
    with pytest.raises(InvalidInput, match="named twice"):
        parse_models("jt-12-1,jt-12-1")


WARMUP_LISTS = [
    ("AAPL", True),
    ("aapl, MSFT ,spy", True),
    ("BRK.B,^GSPC", True),
    ("", False),
    (",,", False),
    ("AAPL,,MSFT", False),
    ("AAPL,bad$", False),
    ("AAPL;MSFT", False),
    ("ABCDEFGHIJKLMNOP", False),
    (",".join(f"T{i}" for i in range(501)), False),
]


@pytest.mark.parametrize("text, accepted", WARMUP_LISTS)
def test_the_warmup_pattern_is_what_the_server_takes(
    client: TestClient, schema: dict[str, Any], text: str, accepted: bool
) -> None:
    pattern = _param(schema, "/api/v1/cache/warmup", "post", "tickers")["pattern"]
    assert (re.fullmatch(pattern, text) is not None) is accepted
    resp = client.post("/api/v1/cache/warmup", params={"tickers": text}, headers=ADMIN)
    if accepted:
        assert resp.status_code == 200, resp.text
    else:
        assert assert_error(resp, 422, "invalid_input")["details"]["field"] == "tickers"


@pytest.mark.parametrize(
    "text, accepted",
    [("*", True), ("score:*:AAPL:[ab]?", True), ("", False), ("a b", False), ("é", False)],
)
def test_the_cache_clear_pattern_is_declared(
    client: TestClient, schema: dict[str, Any], text: str, accepted: bool
) -> None:
    pattern = _param(schema, "/api/v1/cache/clear", "delete", "pattern")["pattern"]
    assert (re.fullmatch(pattern, text) is not None) is accepted
    resp = client.delete("/api/v1/cache/clear", params={"pattern": text}, headers=ADMIN)
    assert resp.status_code == (200 if accepted else 422), resp.text


# ------------------------------------------------------------------- request bodies


def _validator(schema: dict[str, Any], name: str) -> Any:
    """The validator schemathesis itself uses, over the schema's own component."""
    root = {"$ref": f"#/components/schemas/{name}", "components": schema["components"]}
    return jsonschema_rs.validator_for(root)


ABSENT = object()
TICKERS = [ABSENT, None, "AAPL"]
PRICES = [ABSENT, None, "10"]
FEES = [ABSENT, "0", 0, "1"]


@pytest.fixture(scope="module")
def funded(client: TestClient, user: dict[str, Any]) -> int:
    """A portfolio with cash and shares enough for any one transaction of the matrix."""
    api = Api(client)
    pid = api.portfolio(user["headers"], "matrix")
    for tx in (
        {"date": "2020-01-02", "type": "DEPOSIT", "quantity": "1000000"},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AAPL", "quantity": "1000", "price": "75"},
    ):
        assert api.add(user["headers"], pid, **tx).status_code == 201
    return pid


@pytest.mark.parametrize("kind", [t.value for t in TxType])
def test_what_a_transaction_type_needs_is_what_the_schema_says(
    client: TestClient, schema: dict[str, Any], user: dict[str, Any], funded: int, kind: str
) -> None:
    validator = _validator(schema, "TransactionIn")
    seen = {True: 0, False: 0}
    for ticker in TICKERS:
        for price in PRICES:
            for fees in FEES:
                body: dict[str, Any] = {"date": "2020-06-01", "type": kind, "quantity": "1"}
                for name, value in (("ticker", ticker), ("price", price), ("fees", fees)):
                    if value is not ABSENT:
                        body[name] = value
                valid = validator.is_valid(body)
                resp = Api(client).add(user["headers"], funded, **body)
                assert resp.status_code == (201 if valid else 422), (body, resp.text)
                seen[valid] += 1
    assert seen[True] and (seen[False] or kind == "FEE")  # a FEE takes a ticker or none


@pytest.mark.parametrize(
    "quantity, valid",
    [
        ("1", True),
        (1, True),
        ("0.000001", True),
        (0.3, True),
        (999999999.999999, True),
        ("0", False),
        ("0.000", False),
        (0, False),
        ("-1", False),
        ("0.0000001", False),
        (0.1234567, False),
        (1e-7, False),
        ("1e3", False),
        ("١", False),  # an Arabic-Indic one: a Unicode digit, not a schema's [0-9]
        (True, False),
        ("1000000000", False),
    ],
)
def test_a_quantity_is_what_the_schema_says(
    client: TestClient,
    schema: dict[str, Any],
    user: dict[str, Any],
    funded: int,
    quantity: object,
    valid: bool,
) -> None:
    body = {"date": "2020-06-01", "type": "DEPOSIT", "quantity": quantity}
    assert _validator(schema, "TransactionIn").is_valid(body) is valid
    resp = Api(client).add(user["headers"], funded, **body)
    assert resp.status_code == (201 if valid else 422), resp.text


@pytest.mark.parametrize(
    "holdings, valid",
    [
        ({"NVDA": 7}, True),
        ({"nvda": "0.5"}, True),
        ({"": 1}, False),
        ({"bad$": 1}, False),
        ({"NVDA": 0}, False),
        ({"NVDA": "0"}, False),
        ({"NVDA": False}, False),
        ({"NVDA": 0.1234567}, False),
    ],
)
def test_analyze_holdings_are_what_the_schema_says(
    client: TestClient, schema: dict[str, Any], holdings: dict[str, Any], valid: bool
) -> None:
    body = {"holdings": holdings}
    assert _validator(schema, "AnalyzeRequest").is_valid(body) is valid
    resp = client.post("/api/v1/portfolio/analyze", json=body)
    assert resp.status_code == (200 if valid else 422), resp.text


@pytest.mark.parametrize("cash", [False, True, "abc", -1, "1e2", 0.1234567])
def test_a_boolean_or_malformed_cash_is_refused(
    client: TestClient, schema: dict[str, Any], cash: object
) -> None:
    body = {"holdings": {"NVDA": 1}, "cash": cash}
    assert not _validator(schema, "AnalyzeRequest").is_valid(body)
    assert_error(client.post("/api/v1/portfolio/analyze", json=body), 422, "invalid_input")


def test_keys_of_a_text_keyed_body_carry_the_control_character_rule(
    client: TestClient, schema: dict[str, Any]
) -> None:
    body = {"targets": {"\x0e": 0.5}}
    assert not _validator(schema, "TargetsUpdate").is_valid(body)
    assert _validator(schema, "TargetsUpdate").is_valid({"targets": {"Large-Cap Anchors": 0.5}})
    resp = client.put("/api/v1/categories/targets", json=body, headers=ADMIN)
    assert_error(resp, 422, "invalid_input")


# ------------------------------------------------------------------- rules beyond the schema

FUTURE = "2999-01-01"


def _declared(schema: dict[str, Any], method: str, path: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = schema["paths"][path][method].get(RULES_EXTENSION, [])
    return rules


# (method, URL, body, the OpenAPI path): a request valid by the schema that breaks a rule no
# schema can state. Each must answer 422 explained by its route's declared rules.
BEYOND = [
    ("get", "/api/v1/prices/AAPL?start=2021-01-05&end=2021-01-04", None, "/api/v1/prices/{ticker}"),
    ("get", f"/api/v1/prices/AAPL?end={FUTURE}", None, "/api/v1/prices/{ticker}"),
    ("get", "/api/v1/momentum/top?as_of=2000-01-03", None, "/api/v1/momentum/top"),
    ("get", f"/api/v1/momentum/top?as_of={FUTURE}", None, "/api/v1/momentum/top"),
    ("get", "/api/v1/momentum/AAPL?as_of=2019-04-04", None, "/api/v1/momentum/{ticker}"),
    (
        "get",
        "/api/v1/momentum/AAPL?universe=tactical-fixed-income",
        None,
        "/api/v1/momentum/{ticker}",
    ),
    (
        "get",
        "/api/v1/momentum/AAPL?universe=tactical-fixed-income&model=jt-12-1",
        None,
        "/api/v1/momentum/{ticker}",
    ),
    (
        "get",
        "/api/v1/momentum/AAPL/breakdown?as_of=2019-04-04",
        None,
        "/api/v1/momentum/{ticker}/breakdown",
    ),
    (
        "get",
        "/api/v1/momentum/AAPL/history?start=2021-01-05&end=2021-01-04",
        None,
        "/api/v1/momentum/{ticker}/history",
    ),
    (
        "post",
        f"/api/v1/momentum/batch?as_of={FUTURE}",
        {"tickers": ["AAPL"]},
        "/api/v1/momentum/batch",
    ),
    (
        "get",
        "/api/v1/research/backtest?start=2000-01-01&end=2000-01-01",
        None,
        "/api/v1/research/backtest",
    ),
    (
        "get",
        "/api/v1/research/compare?models=jt-12-1,jt-12-1",
        None,
        "/api/v1/research/compare",
    ),
    (
        "get",
        "/api/v1/research/compare?start=2021-01-05&end=2021-01-04",
        None,
        "/api/v1/research/compare",
    ),
    ("get", "/api/v1/portfolio/performance?end=2000-01-01", None, "/api/v1/portfolio/performance"),
    (
        "get",
        "/api/v1/portfolio/performance?start=2021-01-05&end=2021-01-04",
        None,
        "/api/v1/portfolio/performance",
    ),
    (
        "post",
        "/api/v1/portfolio/analyze",
        {"holdings": {"AAPL": 1, "aapl": 2}},
        "/api/v1/portfolio/analyze",
    ),
    (
        "post",
        "/api/v1/portfolio/analyze",
        {"holdings": {"AAPL": 1}, "cost_basis": {"MSFT": 1}},
        "/api/v1/portfolio/analyze",
    ),
    (
        "post",
        "/api/v1/auth/register",
        {"email": "weak@example.com", "password": "aaaaaaaaaa"},  # pragma: allowlist secret
        "/api/v1/auth/register",
    ),
    (
        "put",
        "/api/v1/categories/targets",
        {"targets": {"large-cap-anchors": 0.9}},
        "/api/v1/categories/targets",
    ),
    (
        "put",
        "/api/v1/categories/large-cap-anchors",
        {"tickers": ["AAPL", "aapl"]},
        "/api/v1/categories/{name}",
    ),
    (
        "put",
        "/api/v1/categories/large-cap-anchors",
        {"tickers": ["NVDA", "VRT"]},  # VRT is a small-cap specialist
        "/api/v1/categories/{name}",
    ),
]


@pytest.mark.parametrize("method, url, body, path", BEYOND)
def test_a_valid_request_refused_by_a_rule_beyond_the_schema_names_a_declared_rule(
    client: TestClient,
    schema: dict[str, Any],
    method: str,
    url: str,
    body: Any,
    path: str,
) -> None:
    resp = client.request(method.upper(), url, json=body, headers=ADMIN)
    assert resp.status_code == 422, resp.text
    declared = _declared(schema, method, path)
    assert explained(resp.json(), declared), (resp.text, declared)
    assert "Besides the schema" in schema["paths"][path][method]["responses"]["422"]["description"]


def test_a_portfolio_s_rules_beyond_the_schema_are_declared(
    client: TestClient, schema: dict[str, Any], user: dict[str, Any]
) -> None:
    api, h = Api(client), user["headers"]
    pid = api.portfolio(h, "beyond")
    tx = f"{P}/{{portfolio_id}}/transactions"
    cases = [
        (api.add(h, pid, date=FUTURE, type="DEPOSIT", quantity="1"), "post", tx),
        (api.add(h, pid, date="2020-01-02", type="WITHDRAW", quantity="1"), "post", tx),
        (
            api.add(h, pid, date="2020-01-02", type="SELL", ticker="AAPL", quantity="1", price="1"),
            "post",
            tx,
        ),
        (
            api.add(
                h,
                pid,
                date="2020-01-02",
                type="BUY",
                ticker="AAPL",
                quantity="999999999",
                price="999999999",
            ),
            "post",
            tx,
        ),
        (
            client.get(f"{P}/{pid}/performance", headers=h),
            "get",
            f"{P}/{{portfolio_id}}/performance",
        ),
        (
            client.post(
                f"{P}/{pid}/transactions/import",
                content=b"",
                headers={**h, "Content-Type": "text/csv"},
            ),
            "post",
            f"{P}/{{portfolio_id}}/transactions/import",
        ),
    ]
    buy = api.add(h, pid, date="2020-01-02", type="BUY", ticker="AAPL", quantity="2", price="1")
    api.add(h, pid, date="2020-01-03", type="SELL", ticker="AAPL", quantity="2", price="1")
    cases.append(
        (
            client.delete(f"{P}/{pid}/transactions/{buy.json()['id']}", headers=h),
            "delete",
            f"{P}/{{portfolio_id}}/transactions/{{transaction_id}}",
        )
    )
    cases.append(
        (
            client.get(f"{P}/{pid}/performance?start=2021-01-05&end=2021-01-04", headers=h),
            "get",
            f"{P}/{{portfolio_id}}/performance",
        )
    )
    for resp, method, path in cases:
        assert resp.status_code == 422, resp.text
        assert explained(resp.json(), _declared(schema, method, path)), (path, resp.text)


def test_a_refusal_the_schema_could_have_stated_is_never_explained(
    client: TestClient, schema: dict[str, Any]
) -> None:
    """The exception of the fuzz check is that narrow: a route's other 422s still fail it."""
    declared = _declared(schema, "get", "/api/v1/momentum/{ticker}")
    unknown_model = client.get("/api/v1/momentum/AAPL?model=carhart")
    assert unknown_model.status_code == 422
    assert not explained(unknown_model.json(), declared)
    assert not explained(client.get("/api/v1/momentum/AAPL?as_of=0").json(), declared)
    assert not explained({"error": {"code": "invalid_input", "details": {}}}, declared)
    assert not explained(unknown_model.json(), None)


def test_every_declared_rule_is_a_rule_object_the_server_raises(schema: dict[str, Any]) -> None:
    seen = set()
    for path, item in schema["paths"].items():
        for method, op in item.items():
            for rule in op.get(RULES_EXTENSION, []):
                assert set(rule) == {"code", "rule", "description"}, (method, path)
                assert "422" in op["responses"]
                seen.add(rule["rule"])
    assert {"not_in_future", "start must not be after end", "password_too_weak"} <= seen


def test_the_top_limit_is_the_configured_maximum(sample_db_url: str, tmp_path: Any) -> None:
    url = copy_sqlite(sample_db_url, tmp_path)
    with TestClient(create_app(portfolio_settings(url, top_limit_max=50))) as c:
        [limit] = [
            p
            for p in c.get("/openapi.json").json()["paths"]["/api/v1/momentum/top"]["get"][
                "parameters"
            ]
            if p["name"] == "limit"
        ]
        assert limit["schema"]["maximum"] == 50
        assert c.get("/api/v1/momentum/top?limit=50").status_code == 200
        assert_error(c.get("/api/v1/momentum/top?limit=51"), 422, "invalid_input")


def test_the_stateful_phase_can_follow_links_from_a_new_portfolio(schema: dict[str, Any]) -> None:
    links = schema["paths"][P]["post"]["responses"]["201"]["links"]
    targets = {
        (path, method)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if "{portfolio_id}" in path and "{transaction_id}" not in path
    }
    assert len(links) == len(targets) >= 10
    for link in links.values():
        assert link["parameters"] == {"portfolio_id": "$response.body#/id"}
    [delete] = schema["paths"][f"{P}/{{portfolio_id}}/transactions"]["post"]["responses"]["201"][
        "links"
    ].values()
    assert delete["parameters"] == {
        "portfolio_id": "$request.path.portfolio_id",
        "transaction_id": "$response.body#/id",
    }


# ------------------------------------------------------------------- numbers in the URL


def test_parameter_bounds_are_json_schema_keywords(schema: dict[str, Any]) -> None:
    """pydantic writes `ge`/`le` (no JSON schema keyword) when a validator wraps the bounds."""
    text = str(schema["paths"])
    for keyword in ("'ge'", "'le'", "'gt'", "'lt'"):
        assert keyword not in text
    [limit] = [
        p
        for p in schema["paths"]["/api/v1/momentum/top"]["get"]["parameters"]
        if p["name"] == "limit"
    ]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 10_000)


@pytest.mark.parametrize("value", ["1_0", "+5", " 5", "5 ", "0x10", "5e0", "true", "٥"])
@pytest.mark.parametrize(
    "url", ["/api/v1/momentum/top?limit={v}", "/api/v1/research/backtest?quantiles={v}"]
)
def test_an_integer_parameter_is_written_in_digits(
    client: TestClient, url: str, value: str
) -> None:
    assert_error(client.get(url.format(v=value)), 422, "invalid_input")


@pytest.mark.parametrize("value", ["1_0", "+5", " 5", "inf", "nan", "1e", "true", "false"])
def test_a_number_parameter_is_written_as_json_writes_numbers(
    client: TestClient, value: str
) -> None:
    resp = client.get("/api/v1/portfolio/rebalance", params={"cash": value})
    assert_error(resp, 422, "invalid_input")


@pytest.mark.parametrize("cash", ["5000", "5000.0", "5e3", "0"])
def test_a_number_parameter_written_plainly_is_read(client: TestClient, cash: str) -> None:
    resp = client.get("/api/v1/portfolio/rebalance", params={"cash": cash})
    assert resp.status_code == 200, resp.text
    assert resp.json()["new_cash"] == float(cash)


def test_a_path_id_is_written_in_digits(client: TestClient, user: dict[str, Any]) -> None:
    h = user["headers"]
    assert client.get(f"{P}/{user['pid']}", headers=h).status_code == 200
    assert client.get(f"{P}/{user['pid']}.0", headers=h).status_code == 200  # the integer 1.0
    assert_error(client.get(f"{P}/+{user['pid']}", headers=h), 422, "invalid_input")


# ------------------------------------------------------------------- examples


def test_the_documented_examples_are_valid_and_accepted(
    client: TestClient, schema: dict[str, Any], user: dict[str, Any]
) -> None:
    api, h = Api(client), user["headers"]
    body = schema["paths"][f"{P}/{{portfolio_id}}/transactions"]["post"]["requestBody"]
    examples = body["content"]["application/json"]["examples"]
    pid = api.portfolio(h, "examples")
    for name, example in examples.items():
        assert _validator(schema, "TransactionIn").is_valid(example["value"]), name
        resp = api.add(h, pid, **example["value"])
        assert resp.status_code == 201, (name, resp.text)
    csv = schema["paths"][f"{P}/{{portfolio_id}}/transactions/import"]["post"]["requestBody"]
    text = csv["content"]["text/csv"]["example"]
    resp = client.post(
        f"{P}/{api.portfolio(h, 'csv example')}/transactions/import",
        content=text.encode(),
        headers={**h, "Content-Type": "text/csv"},
    )
    assert resp.status_code == 201, resp.text


# ------------------------------------------------------------------- 429 where limits apply


def test_every_rate_limited_route_declares_its_429(sample_db_url: str, tmp_path: Any) -> None:
    url = copy_sqlite(sample_db_url, tmp_path)
    settings = portfolio_settings(url, rate_limit_login="2/minute", rate_limit_expensive="1/minute")
    with TestClient(create_app(settings)) as c:
        schema = c.get("/openapi.json").json()
        account = Api(c).user()  # register and login: one of the two allowed each
        h = account["headers"]
        pid = Api(c).portfolio(h)
        Api(c).add(h, pid, date="2020-01-02", type="DEPOSIT", quantity="100")
        csv = {**h, "Content-Type": "text/csv"}
        calls = [
            (
                "post",
                "/api/v1/auth/register",
                {"json": {"email": "x@example.com", "password": "a"}},
            ),
            ("post", "/api/v1/auth/login", {"json": {"email": "x@example.com", "password": "b"}}),
            ("post", "/api/v1/auth/refresh", {"json": {"refresh_token": "x"}}),
            ("get", "/api/v1/portfolio/rebalance", {}),
            ("get", "/api/v1/portfolio/performance", {}),
            ("post", "/api/v1/portfolio/analyze", {"json": {"holdings": {"AAPL": 1}}}),
            ("get", f"{P}/{{portfolio_id}}/rebalance", {"headers": h}),
            ("get", f"{P}/{{portfolio_id}}/performance", {"headers": h}),
            ("post", f"{P}/{{portfolio_id}}/transactions/import", {"headers": csv, "content": b""}),
        ]
        limited = set()
        for method, path, kwargs in calls:
            for _ in range(3):
                resp = c.request(method.upper(), path.format(portfolio_id=pid), **kwargs)
                declared = schema["paths"][path][method]["responses"]
                assert str(resp.status_code) in declared, (method, path, resp.status_code)
                if resp.status_code == 429:
                    limited.add(path)
                    assert resp.headers["retry-after"]
        assert limited == {path for _, path, _ in calls}
