"""The bare baselines: FastAPI + asyncpg, one INSERT per ingest request, one indexed read per status poll.

Run by bench/system_load.py as its own uvicorn process on the same PostgreSQL. With
`BENCH_RELAY_TO` (another baseline's URL) the process is instead a bare relay: `/relay` hands the
body on to that baseline's `/ingest` as the gateway calls a service (an httpx request on the lean
transport) and answers with its answer, the least a two-process path (an edge, then the service
that records) can cost (`bench/hop_floor.py`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI, Request, Response

from services.common.http_client import LeanTransport

DSN = os.environ.get("BENCH_BASELINE_DSN", "")
RELAY_TO = os.environ.get("BENCH_RELAY_TO")
pool: Any = None
# As the gateway calls a service (services/gateway/service/client.py).
relay = LeanTransport()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global pool
    if RELAY_TO:
        yield
        await relay.aclose()
        return
    pool = await asyncpg.create_pool(DSN, min_size=2, max_size=10)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial primary key, body jsonb)")
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/ingest", status_code=202)
async def ingest(request: Request) -> dict[str, str]:
    body = await request.body()
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO bench_baseline (body) VALUES ($1::jsonb)", body.decode())
    return {"status": "accepted"}


@app.post("/relay")
async def relay_ingest(request: Request) -> Response:
    """The body handed on to the recording process; its answer handed back."""
    body = await request.body()
    onward = httpx.Request(
        "POST", f"{RELAY_TO}/ingest", content=body, headers={"content-type": "application/json"}
    )
    answer = await relay.handle_async_request(onward)
    await answer.aread()
    return Response(content=answer.content, status_code=answer.status_code, media_type="application/json")


@app.get("/status/{row_id}")
async def status(row_id: int, request: Request) -> Response:
    """The bare baseline for status polls: one row by primary key, `304` when the ETag matches."""
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body::text FROM bench_baseline WHERE id = $1", row_id)
    if body is None:
        return Response(status_code=404)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(content=body, media_type="application/json", headers={"ETag": etag})
