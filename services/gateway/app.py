"""The gateway: the one public entry (`/api/v1`, Open311 later), documented in one OpenAPI file."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.app import create_service_app
from services.gateway.client import call, close_clients
from services.gateway.routes import auth, forwarded, hotline, public

DESCRIPTION = """
民生大莞家 — Dongguan's livelihood appeals (民生诉求) system.

Residents, the 12345 hotline, WeChat, grid inspectors and village cadres file appeals here; staff
handle them within their legal deadlines; the public follows each one with its ticket number
and query code (查询码). Errors are RFC 9457 problem details with a stable `code` and a Chinese
`detail`.
"""


def _service_check(service: str) -> tuple[str, object]:
    async def check() -> None:
        response = await call(service, "GET", "/readyz")  # type: ignore[arg-type]
        if response.status_code != 200:
            raise RuntimeError(f"{service} not ready")

    return service, check


async def _shutdown(app: FastAPI) -> None:
    await close_clients()


app = create_service_app(
    "gateway",
    [hotline.router, public.router, auth.router, forwarded.calendar, forwarded.staff, forwarded.ledger],
    title="民生大莞家 API",
    description=DESCRIPTION,
    version="1.0.0",
    checks=[_service_check(s) for s in ("intake", "routing", "deadlines", "ledger")],  # type: ignore[misc]
    on_shutdown=[_shutdown],
)
