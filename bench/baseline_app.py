"""The bare baseline for ingest: FastAPI + asyncpg, one INSERT per request, nothing else.

Run by bench/system_load.py as its own uvicorn process on the same PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request

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
