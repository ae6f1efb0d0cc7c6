"""Calls from the gateway to the services' internal APIs (httpx, service tokens, request ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from fastapi import Response

from services.common.auth import Principal, mint_service_token
from services.common.errors import PROBLEM_JSON, ServiceUnavailable
from services.common.settings import ServiceName, get_settings

log = structlog.get_logger(__name__)
TIMEOUT = httpx.Timeout(10.0, connect=2.0)
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes a service keeps once however often they arrive (an appeal is idempotent on its channel
# and channel reference): when the answer to one is lost after it was sent, the gateway sends it
# again and relays that answer, the truth, instead of a `503` that might be a lie.
REPLAYABLE = frozenset({("POST", "/internal/appeals")})
REPLAYS = 2
# Marks (in `httpx.Response.extensions`) an answer to such a re-send: see `recorded_new`.
ASKED_AGAIN = "guanjia_asked_again"


def write_timeout() -> httpx.Timeout:
    """A write waits for the service's own answer: services bound every wait of theirs (pool,
    locks, statements; `services.common.db`) well inside `GUANJIA_WRITE_WAIT`, and roll back
    before answering `503`. A gateway that stopped waiting sooner would answer `503` for a write
    the service then commits (issue 15.9)."""
    return httpx.Timeout(get_settings().write_wait_s, connect=2.0)


# httpcore's pool walks every connection it holds at each request's start and end, polling each
# idle socket (encode/httpcore#1035): one client's CPU per call grows with the calls in flight
# (0.72 ms at 4, 1.56 ms at 16; spread like this, 0.60 and 0.59 ms: bench/http_clients.py). So
# each service gets several small pools for the life of the process; a call takes the least busy.
CLIENTS_PER_SERVICE = 8
_LIMITS = httpx.Limits(max_connections=12, max_keepalive_connections=12)  # 96 in all, as one pool's 100

# The first client of each service: a test puts its own here (an in-process transport), which is
# then used alone.
_clients: dict[ServiceName, httpx.AsyncClient] = {}
_spread: dict[ServiceName, list[httpx.AsyncClient]] = {}
_busy: dict[ServiceName, list[int]] = {}


@asynccontextmanager
async def _leased(service: ServiceName) -> AsyncIterator[httpx.AsyncClient]:
    """The least busy of the service's clients, for one exchange."""
    if service not in _clients:
        url = get_settings().service_url(service)
        fresh = [
            httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=_LIMITS)
            for _ in range(CLIENTS_PER_SERVICE)
        ]
        _spread[service], _busy[service], _clients[service] = fresh, [0] * len(fresh), fresh[0]
    spread = _spread.get(service)
    if spread is None or spread[0] is not _clients[service]:
        yield _clients[service]
        return
    busy = _busy[service]
    slot = busy.index(min(busy))
    busy[slot] += 1
    try:
        yield spread[slot]
    finally:
        busy[slot] -= 1


async def close_clients() -> None:
    """Close the pools on shutdown."""
    open_ones = {id(c): c for c in [*_clients.values(), *(c for made in _spread.values() for c in made)]}
    _clients.clear()
    _spread.clear()
    _busy.clear()
    for client in open_ones.values():
        await client.aclose()


def internal_path(path: str) -> str:
    """`path` with every segment percent-encoded. Routes build it from path parameters, which are
    the caller's decoded text: a `?`, `#`, `%`, space or control character in one would otherwise
    change the internal request or make it unsendable (a 500), and a `..` would climb to another
    internal route. Our own paths use none of these, so they pass unchanged."""
    return "/".join(
        "%2E" * len(segment) if segment in (".", "..") else quote(segment, safe="")
        for segment in path.split("/")
    )


async def call(
    service: ServiceName,
    method: str,
    path: str,
    *,
    actor: Principal | None = None,
    params: dict[str, Any] | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One internal call; a service that cannot be reached is a 503 problem, never a 500."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    sent = {"Authorization": f"Bearer {mint_service_token('gateway', actor)}", **(headers or {})}
    if request_id:
        sent["X-Request-ID"] = str(request_id)
    write = method.upper() not in READS
    replays = REPLAYS if (method.upper(), path) in REPLAYABLE else 0
    asked_again = False
    while True:
        try:
            async with _leased(service) as client:
                response = await client.request(
                    method,
                    internal_path(path),
                    params=params,
                    json=json,
                    headers=sent,
                    timeout=write_timeout() if write else TIMEOUT,
                )
            if asked_again:
                response.extensions[ASKED_AGAIN] = True
            return response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never sent: the service cannot have recorded anything, so a 503 is the truth.
            log.warning("service_unreachable", service=service, path=path, error=repr(exc))
            raise ServiceUnavailable() from exc
        except httpx.TransportError as exc:
            # Sent, and the answer lost: a write may have been recorded. An idempotent one is
            # asked again for its outcome; any other is a 503 (the service's own waits end long
            # before ours, so this is a service that went away mid-request).
            if write and replays > 0:
                replays -= 1
                asked_again = True
                log.warning("service_answer_lost_asking_again", service=service, path=path, error=repr(exc))
                continue
            log.warning("service_unreachable", service=service, path=path, error=repr(exc))
            raise ServiceUnavailable() from exc


def recorded_new(response: httpx.Response) -> bool:
    """Whether a replayable write (`REPLAYABLE`) recorded something new: a `201`, or the `200`
    ("already recorded") that answered the gateway's own re-send after the first attempt's answer
    was lost — that first attempt is what recorded it, so the caller's request is still the first.
    A `200` to a request the caller itself sent again stays a replay."""
    return response.status_code == 201 or (
        response.status_code == 200 and bool(response.extensions.get(ASKED_AGAIN))
    )


# Headers of a service's answer that belong to the caller too (a replay says it is one).
RELAYED_HEADERS = ("Idempotent-Replayed",)


def relay_response(upstream: httpx.Response) -> Response:
    """Pass a service's answer through unchanged (problem+json stays problem+json)."""
    media = upstream.headers.get("content-type", "application/json")
    if upstream.status_code >= 400 and "json" in media and "problem" not in media:
        media = PROBLEM_JSON
    headers = {name: upstream.headers[name] for name in RELAYED_HEADERS if name in upstream.headers}
    return Response(
        content=upstream.content, status_code=upstream.status_code, media_type=media, headers=headers or None
    )
