"""Calls from the gateway to the services' internal APIs (httpx, service tokens, request ids)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import structlog
from fastapi import Response
from pydantic import BaseModel

from services.common.auth import Principal, mint_service_token
from services.common.errors import PROBLEM_JSON, ServiceUnavailable
from services.common.http_client import LeanTransport
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


# The calls to our own services go over `LeanTransport` (services.common.http_client), built as
# httpx requests and sent on the transport directly: the client around it (base URL, redirects,
# auth, cookies, hooks) would double the CPU of a call and none of it is used here. A call then
# costs 113 µs of CPU at 16 in flight against 1,264 µs through an httpx client, and no more with
# more in flight (bench.http_clients).
MAX_CONNECTIONS = 96

# A test puts its own client here (an in-process transport): the calls then go through it.
_clients: dict[ServiceName, httpx.AsyncClient] = {}
_transports: dict[ServiceName, httpx.AsyncBaseTransport] = {}


async def _send(
    service: ServiceName,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None,
    json: Any,
    headers: dict[str, str],
    wait: httpx.Timeout,
) -> httpx.Response:
    content: bytes | None = None
    if isinstance(json, BaseModel):
        # pydantic's own serializer: the model straight to JSON bytes, without the dict between.
        content, json = json.__pydantic_serializer__.to_json(json), None
        headers = {**headers, "Content-Type": "application/json"}
    own = _clients.get(service)
    if own is not None:
        return await own.request(
            method, path, params=params, json=json, content=content, headers=headers, timeout=wait
        )
    base = get_settings().service_url(service).rstrip("/")
    transport = _transports.get(service)
    if transport is None:
        # A service reached over TLS (another site) gets httpx's own transport.
        transport = _transports[service] = (
            LeanTransport(max_connections=MAX_CONNECTIONS)
            if base.startswith("http://")
            else httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=MAX_CONNECTIONS))
        )
    request = httpx.Request(
        method,
        base + path,
        params=params,
        json=json,
        content=content,
        headers=headers,
        extensions={"timeout": wait.as_dict()},
    )
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def close_clients() -> None:
    """Close the connections on shutdown, and any client a test put in place."""
    for own in list(_clients.values()):
        await own.aclose()
    for transport in list(_transports.values()):
        await transport.aclose()
    _clients.clear()
    _transports.clear()


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
    """One internal call; a service that cannot be reached is a 503 problem, never a 500. `json`
    may be a pydantic model, sent as its JSON."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    sent = {"Authorization": f"Bearer {mint_service_token('gateway', actor)}", **(headers or {})}
    if request_id:
        sent["X-Request-ID"] = str(request_id)
    write = method.upper() not in READS
    replays = REPLAYS if (method.upper(), path) in REPLAYABLE else 0
    asked_again = False
    while True:
        try:
            response = await _send(
                service,
                method,
                internal_path(path),
                params=params,
                json=json,
                headers=sent,
                wait=write_timeout() if write else TIMEOUT,
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
