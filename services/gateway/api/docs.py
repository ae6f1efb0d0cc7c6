"""`/docs` (Swagger UI) and `/redoc` (ReDoc), with every asset served by the gateway itself.

FastAPI's own pages load their JavaScript and CSS from a CDN, which a government network may not
reach: the page stays blank. The files here come from the `fastapi-offline` package (MIT; it ships
Swagger UI, Apache-2.0, and ReDoc, MIT, unchanged), installed with the gateway, so `pip install` brings them and no page of the
documentation makes a request outside the gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from services.common.errors import NotFound

ASSETS_DIR: Final = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL: Final = "/docs/assets"
# Only these files are served: nothing else of the package's directory is reachable.
ASSETS: Final[dict[str, str]] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
OPENAPI_URL: Final = "/openapi.json"
TITLE: Final = "民生大莞家 API"

router = APIRouter(tags=["ops"], include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI over `/openapi.json`."""
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} - Swagger UI",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        # No validator badge: it would fetch an image from swagger.io.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page (inline script only)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    """ReDoc over `/openapi.json`, without Google Fonts."""
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} - ReDoc",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )


@router.get(f"{ASSETS_URL}/{{name}}")
async def asset(name: str) -> FileResponse:
    """One of the documentation's files; any other name is a 404 problem."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound()
    return FileResponse(
        ASSETS_DIR / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )
