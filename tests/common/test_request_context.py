"""Every response carries the request id its log lines were written under: the caller's own
X-Request-ID when it sent one (so a hotline call can be traced across services), else a new one."""

from __future__ import annotations

import httpx
import structlog
from fastapi import APIRouter

from services.common.app import create_service_app

router = APIRouter()


@router.get("/echo")
async def echo() -> dict[str, object]:
    return {"bound": structlog.contextvars.get_contextvars().get("request_id")}


async def test_the_request_id_is_echoed_and_bound_for_logging() -> None:
    app = create_service_app("probe", [router], title="probe")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as c:
        given = await c.get("/echo", headers={"X-Request-ID": "call-42"})
        fresh = await c.get("/echo")
        missing = await c.get("/nowhere")
    assert given.headers["x-request-id"] == "call-42" and given.json() == {"bound": "call-42"}
    assert fresh.headers["x-request-id"] == fresh.json()["bound"] and len(fresh.headers["x-request-id"]) == 32
    # Problems carry it too, and nothing stays bound after the request.
    assert missing.status_code == 404 and missing.headers["x-request-id"]
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_every_response_carries_the_security_headers() -> None:
    app = create_service_app("probe", [router], title="probe")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as c:
        answers = [await c.get("/echo"), await c.get("/nowhere"), await c.get("/docs")]
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["referrer-policy"] == "no-referrer", r.url
        assert r.headers["x-frame-options"] == "DENY", r.url
