"""Whom uvicorn believes about the caller's address (issue 15.4): with GUANJIA_TRUST_PROXY off, an
X-Forwarded-For header, even from 127.0.0.1, does not change the address a rate limit counts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from services.cli import uvicorn_options
from services.common.settings import get_settings
from tests.system.harness import free_port


async def echo_peer(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = str(scope["client"][0]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def served() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(echo_peer, host="127.0.0.1", port=port, **uvicorn_options()))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("trust", ["0", "1"])
async def test_forwarded_for_is_believed_only_when_a_proxy_is_trusted(trust: str) -> None:
    saved = os.environ.get("GUANJIA_TRUST_PROXY")
    os.environ["GUANJIA_TRUST_PROXY"] = trust
    get_settings.cache_clear()
    try:
        async with served() as base, httpx.AsyncClient() as client:
            answer = await client.get(base, headers={"X-Forwarded-For": "203.0.113.9"})
            seen = answer.text
    finally:
        if saved is None:
            os.environ.pop("GUANJIA_TRUST_PROXY", None)
        else:
            os.environ["GUANJIA_TRUST_PROXY"] = saved
        get_settings.cache_clear()
    assert seen == ("203.0.113.9" if trust == "1" else "127.0.0.1")
    assert "server" not in answer.headers  # no `server: uvicorn` for a scanner to read
