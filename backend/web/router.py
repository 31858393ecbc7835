"""Serves the dashboard: `/app/static/*` are the files in `static/`, and every other path under
`/app/` answers the one page (`index.html`), whose script routes on the path and draws each view
from the public JSON API (`/api/v1/...`, `/database/status`) — there is no second code path."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from backend.reference.benchmarks import EQUITY_BENCHMARK, MARKET_BENCHMARKS

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = STATIC_DIR / "index.html"
# The page is small and changes with each release: let browsers revalidate it every time.
_NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.api_route("/app", methods=["GET", "HEAD"])
def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.api_route("/app/reference.json", methods=["GET", "HEAD"])
def app_reference() -> JSONResponse:
    """The reference values the pages offer as choices, from `backend.reference` (one copy):
    the market benchmarks a performance can be measured against."""
    body = {"market_benchmarks": list(MARKET_BENCHMARKS), "default_benchmark": EQUITY_BENCHMARK}
    return JSONResponse(body, headers=_NO_CACHE)


@router.api_route("/app/{page:path}", methods=["GET", "HEAD"])
def app_page(page: str) -> FileResponse:
    """Any page of the dashboard (leaderboard, security/{ticker}, portfolio, ...)."""
    return FileResponse(INDEX, media_type="text/html", headers=_NO_CACHE)


class _RevalidatingStaticFiles(StaticFiles):
    """Static files that browsers revalidate (ETag) rather than cache blindly: the names carry
    no content hash, so a new release must not meet a stale script."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def install_web(app: FastAPI) -> None:
    """Mount the static files, then the page routes (the mount must match first)."""
    app.mount("/app/static", _RevalidatingStaticFiles(directory=STATIC_DIR), name="web-static")
    app.include_router(router)
