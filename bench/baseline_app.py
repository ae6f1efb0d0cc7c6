"""The bare baselines: FastAPI + asyncpg, one INSERT per ingest request, one indexed read per status poll.

Run by bench/system_load.py as its own uvicorn process on the same PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response

DSN = os.environ["BENCH_BASELINE_DSN"]
pool: Any = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global pool
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
