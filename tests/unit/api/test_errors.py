"""Domain errors are plain Python; `backend.api.errors` alone turns them into answers.

Every kind of domain error anywhere in the code base has its status (none falls through to
500 by accident), the statuses are those the API documents, and importing the domain layers
does not import the web stack."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import backend
from backend.api.errors import STATUS_OF, error_response, http_headers, http_status
from backend.errors import (
    AppError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InsufficientHistory,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PriceFileError,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)

pytestmark = pytest.mark.unit


def _all_error_kinds() -> set[type[AppError]]:
    for module in pkgutil.walk_packages(backend.__path__, "backend."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: set[type[AppError]] = set()
    todo = [AppError]
    while todo:
        kind = todo.pop()
        for sub in kind.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_kind_of_domain_error_has_a_status_other_than_500() -> None:
    kinds = _all_error_kinds()
    assert len(kinds) >= 15  # the walk did find the subclasses defined across the code base
    unmapped = sorted(k.__qualname__ for k in kinds if http_status(k.__new__(k)) == 500)
    assert unmapped == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("bad"), 422, "invalid_input"),
        (InsufficientHistory("AAPL", 3, 253), 422, "insufficient_history"),
        (PriceFileError("no header", 1), 422, "invalid_price_file"),
        (NotFound("gone"), 404, "not_found"),
        (Unauthorized("who?"), 401, "unauthorized"),
        (Forbidden("no"), 403, "forbidden"),
        (Conflict("taken"), 409, "conflict"),
        (PayloadTooLarge(10), 413, "payload_too_large"),
        (RateLimited("5/minute", "login", 12), 429, "rate_limited"),
        (ProviderUnavailable("yahoo", "timeout"), 503, "provider_unavailable"),
        (DatabaseUnavailable("timeout", "too slow"), 503, "database_unavailable"),
        (AppError("bug"), 500, "internal_error"),
    ],
)
def test_each_kind_answers_its_documented_status_in_the_one_shape(
    error: AppError, status: int, code: str
) -> None:
    response = error_response(error)
    assert response.status_code == status == http_status(error)
    assert response.body.startswith(b'{"error":{"code":"' + code.encode() + b'"')


def test_a_subclass_answers_as_its_nearest_listed_ancestor() -> None:
    class Gone(NotFound):
        code = "gone"

    assert http_status(Gone("x")) == 404
    assert set(STATUS_OF) >= {InvalidInput, NotFound, Unauthorized, RateLimited}


def test_headers_say_how_to_authenticate_and_when_to_retry() -> None:
    assert http_headers(Unauthorized("x")) == {"WWW-Authenticate": "Bearer"}
    assert http_headers(RateLimited("5/minute", "login", 42)) == {"Retry-After": "42"}
    assert http_headers(NotFound("x")) == {}
    assert error_response(RateLimited("5/minute", "login", 7)).headers["retry-after"] == "7"


def test_domain_layers_do_not_import_the_web_stack() -> None:
    code = (
        "import sys\n"
        "import backend.errors, backend.portfolios.ledger, backend.research.backtest\n"
        "import backend.research.models, backend.momentum.engine, backend.portfolios.analysis\n"
        "web = sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette'))\n"
        "print(','.join(web))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
