"""`/docs`: Swagger UI served by the service itself, offline.

Its files (`swagger-ui-bundle.js`, `swagger-ui.css`, the icon) come from the pinned
`fastapi-offline` package and are served under `/docs/assets/`; the page has no inline script
(its start-up code is `/app/static/docs-init.js`), so it works under the service's
Content-Security-Policy. ReDoc is off: one documentation page is enough, and its bundle needs
inline styles and blob: workers that the policy refuses.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")


def docs_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)} - API documentation</title>
  <link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
  <link rel="icon" href="{ASSETS_URL}/favicon.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
  <script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
  <script src="/app/static/docs-init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and its assets (the app is made with `docs_url=None, redoc_url=None`)."""
    assert app.openapi_url is not None
    page = docs_page(app.title, app.openapi_url)
    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
