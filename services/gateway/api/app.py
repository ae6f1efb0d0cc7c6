"""The gateway: the one public entry (`/api/v1`, Open311 later), documented in one OpenAPI file."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.auth import use_account_check
from services.gateway.api import (
    auth,
    disclosure,
    docs,
    forwarded,
    hotline,
    intake_staff,
    miniprogram,
    notifications,
    open311,
    operations,
    pages,
    public,
    staff_channels,
    stats,
    wechat,
    worklist,
)
from services.gateway.api import consultations as consultation_routes
from services.gateway.api import deadlines as deadline_routes
from services.gateway.api import donors as donor_routes
from services.gateway.api import ledger as ledger_routes
from services.gateway.api import reference as reference_routes
from services.gateway.api import routing as routing_routes
from services.gateway.api import stations as station_routes
from services.gateway.api.openapi import build_openapi
from services.gateway.service.channels import media, wechat_inbox
from services.gateway.service.client import call, close_clients
from services.gateway.service.identity import account_is_current

DESCRIPTION = """
民生大莞家 — Dongguan's livelihood appeals (民生诉求) system.

Residents, the 12345 hotline, WeChat, grid inspectors and village cadres file appeals here; staff
handle them within their legal deadlines; the public follows each one with its ticket number
and query code (查询码). Errors are RFC 9457 problem details with a stable `code` and a Chinese
`detail`.
"""


# Every body is capped: the largest JSON a route takes (a 12345 call at its limits, a year's
# calendar) is well under 1 MiB. Only the mini-program's uploads take more.
MAX_BODY = 1024 * 1024
MAX_BODY_PER_PATH = {
    "/api/v1/miniprogram/media": media.MAX_PHOTO_BYTES + 64 * 1024,
    "/api/v1/miniprogram/appeals": miniprogram.MAX_FILING_BYTES,
    **reference_routes.BODY_LIMITS,
}


def _service_check(service: str) -> tuple[str, object]:
    async def check() -> None:
        response = await call(service, "GET", "/readyz")  # type: ignore[arg-type]
        if response.status_code != 200:
            raise RuntimeError(f"{service} not ready")

    return service, check


async def _shutdown(app: FastAPI) -> None:
    await wechat_inbox.drain_background()
    await wechat_inbox.close_redis()
    await close_clients()


app = create_service_app(
    "gateway",
    [
        docs.router,
        hotline.router,
        public.router,
        auth.router,
        forwarded.calendar,
        worklist.router,
        notifications.router,
        notifications.me,
        forwarded.staff,
        ledger_routes.router,
        staff_channels.router,
        wechat.router,
        miniprogram.router,
        open311.router,
        intake_staff.router,
        disclosure.router,
        stats.router,
        routing_routes.router,
        consultation_routes.router,
        station_routes.router,
        donor_routes.router,
        deadline_routes.router,
        reference_routes.router,
        pages.router,
        operations.router,
    ],
    title="民生大莞家 API",
    description=DESCRIPTION,
    version="1.0.0",
    # FastAPI's pages load their assets from a CDN; ours serves them (`services.gateway.api.docs`).
    docs_url=None,
    redoc_url=None,
    checks=[_service_check(s) for s in ("intake", "routing", "deadlines", "ledger")],  # type: ignore[misc]
    on_shutdown=[_shutdown],
    max_body=MAX_BODY,
    max_body_per_path=MAX_BODY_PER_PATH,
    public_docs=True,
)
app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
use_account_check(account_is_current)
