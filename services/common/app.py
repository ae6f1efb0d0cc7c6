"""The FastAPI app of a service: problem responses, request ids, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy import text
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.auth import InternalCaller
from services.common.db import get_engine
from services.common.errors import PROBLEM_JSON, BodyTooLarge, install_error_handlers
from services.common.logging import configure_logging
from services.common.reference import store as reference_store
from services.common.settings import get_settings

ReadinessCheck = Callable[[], Awaitable[None]]
# What an internal service reads of one request: the gateway caps what it accepts at 1 MiB, and a
# meeting's minutes or a batch of calls forwarded whole stay well under this.
INTERNAL_MAX_BODY = 4 * 1024 * 1024
log = structlog.get_logger(__name__)


# On every response: no MIME sniffing of our JSON, no address of ours leaked to other sites,
# no page of ours framed by another (issue 15). A route may set its own.
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


class RequestContext:
    """Bind a request id (ours or the caller's X-Request-ID) to every log line of the request,
    and echo it in the response, with the security headers. Plain ASGI: Starlette's BaseHTTPMiddleware runs every request in
    an extra task behind a memory stream, a cost paid on each of the public polls."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        request_id = given or uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "appeal_id")


class BodyLimit:
    """Refuse a request body over its cap before it is read whole: at once when Content-Length
    says so, else as soon as the streamed bytes pass it (a `413 body_too_large` problem either
    way). Without it every route buffered whatever it was sent, hundreds of megabytes before a
    refusal. `per_path` raises the cap for the few routes that take uploads."""

    def __init__(self, app: ASGIApp, default: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Rendered by the app's handler as the same problem (see install_error_handlers).
                    raise StarletteHTTPException(413, f"body over {limit} bytes")
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        body = json.dumps(BodyTooLarge().to_problem(scope["path"]), ensure_ascii=False).encode()
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def check_database() -> None:
    """The database answers a trivial query."""
    async with get_engine().connect() as conn:
        await conn.execute(text("SELECT 1"))


async def check_redis() -> None:
    """Redis answers PING."""
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    client: Redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    finally:
        await client.aclose()


def create_service_app(
    name: str,
    routers: Sequence[APIRouter],
    *,
    title: str,
    checks: Sequence[tuple[str, ReadinessCheck]] = (),
    on_startup: Sequence[Callable[[FastAPI], Awaitable[None]]] = (),
    on_shutdown: Sequence[Callable[[FastAPI], Awaitable[None]]] = (),
    max_body: int | None = INTERNAL_MAX_BODY,
    max_body_per_path: Mapping[str, int] | None = None,
    public_docs: bool = False,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """One service's ASGI app. Request bodies are capped (`BodyLimit`; an internal service at
    `INTERNAL_MAX_BODY` unless told otherwise). Only the gateway (`public_docs`) serves its API
    document to anyone: an internal service's `/docs` and `/openapi.json` are gone, and its
    document is `GET /internal/openapi.json`, for callers holding a service token (issue 15)."""
    if not public_docs:
        fastapi_kwargs |= {"docs_url": None, "redoc_url": None, "openapi_url": None}
    settings = get_settings()
    configure_logging(name, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in on_startup:
            await hook(app)
        # Build the OpenAPI document now (about a second for the gateway's routes), not on the
        # first `/openapi.json` or `/docs`, which would otherwise stall while it is made.
        app.openapi()
        # The villages the city imported, in this process too (and kept fresh).
        refresher = asyncio.create_task(reference_store.keep_fresh())
        yield
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        for hook in on_shutdown:
            await hook(app)
        await get_engine().dispose()

    app = FastAPI(title=title, lifespan=lifespan, **fastapi_kwargs)
    install_error_handlers(app)
    if max_body is not None:
        app.add_middleware(BodyLimit, default=max_body, per_path=max_body_per_path)
    app.add_middleware(RequestContext)  # outermost: a refused body still carries the request id
    all_checks = [("database", check_database), ("redis", check_redis), *checks]

    @app.get("/healthz", tags=["ops"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", tags=["ops"], summary="The database, Redis and every dependency answer")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for check_name, check in all_checks:
            try:
                await check()
                results[check_name] = "ok"
            except Exception as exc:
                results[check_name] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "service": name, "checks": results},
            status_code=200 if ready else 503,
        )

    if not public_docs:

        @app.get("/internal/openapi.json", tags=["ops"], include_in_schema=False)
        async def internal_openapi(caller: InternalCaller) -> JSONResponse:
            return JSONResponse(app.openapi())

    for router in routers:
        app.include_router(router)
    return app
