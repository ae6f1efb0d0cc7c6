"""What the intake benchmarks share: scratch databases and latency summaries.

A scratch database is created on the PostgreSQL at `GUANJIA_BENCH_PG` (default
postgresql://postgres@127.0.0.1:5432/postgres), migrated to every head with Alembic (the schema
production runs) and dropped afterwards, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from services.migrations.run import upgrade_heads

ADMIN = os.environ.get("GUANJIA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def db_url(name: str) -> str:
    """The URL of database `name` on the benchmark's server."""
    head, _, tail = ADMIN.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")


async def admin(sql: str) -> None:
    """Run one statement on the maintenance database (CREATE / DROP DATABASE)."""
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_databases(prefix: str, *labels: str) -> AsyncIterator[dict[str, str]]:
    """Fresh migrated databases `{prefix}_{label}_{tag}` (label -> name), dropped on the way out."""
    tag = secrets.token_hex(3)
    names = {label: f"{prefix}_{label}_{tag}" for label in labels}
    try:
        for name in names.values():
            await admin(f'CREATE DATABASE "{name}"')
            await asyncio.to_thread(upgrade_heads, db_url(name))
        yield names
    finally:
        for name in names.values():
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p99 of latencies in milliseconds (p99: the sample below which 99% lie)."""
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
    }


async def timed(fn: Callable[[], Awaitable[Any]], repeats: int, warmup: int = 5) -> dict[str, float]:
    """Call `fn` `warmup` times unmeasured, then `repeats` times measured: p50 / p99 ms."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return summary(samples)
