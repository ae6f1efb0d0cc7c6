"""Pages (DESIGN §10): the public big screen, the staff cockpit and a resident's status page.

`GET /screen`, `GET /cockpit`, `GET /s/{ticket_no}` answer static HTML; each page's script then
reads the same JSON endpoints every other client reads (public ones for `/screen` and `/s/…`, the
staff ones with a token kept in memory for `/cockpit`). No figure is computed on the server for a
page, so a page can never show more than its endpoints give.

Every asset is served from `services/gateway/static/` by `GET /static/pages/…` and
`/static/vendor/…` (no CDN: the city's
network may be closed). The files are read once, at import, and answered from memory with a
strong `ETag`. Every page carries a Content-Security-Policy that allows scripts, styles and
requests to this origin only and no inline script, so text from the APIs — which the scripts put
in the page with `textContent`, never as markup — cannot run either.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response

from services.common.errors import NotFound

STATIC = Path(__file__).resolve().parent.parent / "static"
TICKET_RE = re.compile(r"^MS\d{8,20}$")

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # The status page's path holds a ticket number: never hand it to another site.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MEDIA_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
TEXT = "text/plain; charset=utf-8"  # LICENSE, NOTICE and the like


@dataclass(frozen=True, slots=True)
class Asset:
    """One file, held in memory with its validator."""

    body: bytes
    media_type: str
    etag: str


def _load(root: Path) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[path.relative_to(root).as_posix()] = Asset(body, MEDIA_TYPES.get(path.suffix, TEXT), etag)
    return assets


# Read once: the set of servable names is fixed at start, so a path is looked up, never opened.
ASSETS = _load(STATIC)
router = APIRouter(tags=["pages"], include_in_schema=False)


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return if_none_match.strip() == "*" or etag in {
        t.strip().removeprefix("W/") for t in if_none_match.split(",")
    }


def _answer(name: str, if_none_match: str | None, *, page: bool) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFound()
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if page:
        headers.update(SECURITY_HEADERS)
    if _not_modified(if_none_match, asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


IfNoneMatch = Annotated[str | None, Header()]


@router.get("/screen")
async def screen(if_none_match: IfNoneMatch = None) -> Response:
    """数据大屏: the public big screen (no login)."""
    return _answer("pages/screen.html", if_none_match, page=True)


@router.get("/cockpit")
async def cockpit(if_none_match: IfNoneMatch = None) -> Response:
    """领导驾驶舱: the staff cockpit (the page asks for a staff login)."""
    return _answer("pages/cockpit.html", if_none_match, page=True)


@router.get("/s/{ticket_no}")
async def status_page(ticket_no: str, if_none_match: IfNoneMatch = None) -> Response:
    """A resident's status page, opened from an SMS: the page asks for the 查询码."""
    if not TICKET_RE.match(ticket_no):
        raise NotFound()
    return _answer("pages/status.html", if_none_match, page=True)


@router.get("/static/pages/{name}")
async def page_asset(name: str, if_none_match: IfNoneMatch = None) -> Response:
    """A page's script, style or data file."""
    return _answer(f"pages/{name}", if_none_match, page=False)


@router.get("/static/vendor/{name:path}")
async def vendor_asset(name: str, if_none_match: IfNoneMatch = None) -> Response:
    """A vendored library or its licence."""
    return _answer(f"vendor/{name}", if_none_match, page=False)
