"""Benchmark: a deadline sweep's cost follows the number of clocks due, not the number open.

One scratch database on the PostgreSQL at `GUANJIA_BENCH_PG` (default
postgresql://postgres@127.0.0.1:5432/postgres), migrated with Alembic and dropped afterwards.
Open clocks (running, deadline weeks away) are bulk-loaded with INSERT … SELECT generate_series;
"due" clocks are running clocks whose deadline passed yesterday, so each one's sweep marks it
overdue, escalates it one level up and writes two events (outbox + journal) and two reminder rows,
exactly as in production (`deadlines.service.sweep.sweep_once`, the arq cron's code).

Measured, each the median of a few sweeps (one of 10,000 due), each sweep on fresh due clocks:
- 10,000 open clocks with 100 due, then with 10,000 due;
- 1,000,000 open clocks with 100 due, then with 10,000 due, and with none due;
and, as the baseline, the sweep's first query at 1,000,000 open with the partial indexes switched
off (what reading every open clock would cost). EXPLAIN shows each step's query on its index.
Prints one JSON object. Run: `.venv/bin/python -m bench.deadline_sweep`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from deadlines.service.calendar import TZ
from deadlines.service.sweep import sweep_once
from services.common.db import async_url
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.migrations.run import upgrade_heads

ADMIN = os.environ.get("GUANJIA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SMALL, LARGE = 10_000, 1_000_000
FEW, MANY = 100, 10_000
CHUNK = 250_000

# Running clocks of villages, spread over the reference villages. `:due` decides whether the
# deadline lies weeks ahead (open, nothing to do) or passed at the end of yesterday (due).
INSERT_CLOCKS = """
INSERT INTO deadlines.clocks (id, appeal_id, clock, hop, unit_type, unit_code, scope_town, state,
    started_at, due_date, due_at, original_due_date, provisional, rule_version, limit_kind,
    limit_value, warn_at)
SELECT gen_random_uuid(), gen_random_uuid(), 'handling', 1, 'village', v.code, v.town, 'running',
       d.started_at, d.due_date, d.due_at, d.due_date, false, '2025.1', 'working_days', 10,
       d.started_at + (d.due_at - d.started_at) * 0.8
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (
    SELECT (CAST(:villages AS text[]))[1 + (g % cardinality(CAST(:villages AS text[])))] AS code,
           (CAST(:towns AS text[]))[1 + (g % cardinality(CAST(:towns AS text[])))] AS town
) v
CROSS JOIN LATERAL (
    SELECT CASE WHEN :due THEN CAST(:today AS date) - 1 ELSE CAST(:today AS date) + 14 + g % 30 END AS due_date
) dd
CROSS JOIN LATERAL (
    SELECT dd.due_date,
           ((dd.due_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') - interval '1 microsecond' AS due_at,
           CAST(:now AS timestamptz) - make_interval(days => 2 + g % 5) AS started_at
) d
"""

# The three steps' reads, as `deadlines.service.sweep` issues them (without the row locks).
STEP_QUERIES = {
    "overdue": "SELECT id FROM deadlines.clocks WHERE state = 'running' AND due_at < :now "
    "ORDER BY due_at LIMIT 500",
    "escalation": "SELECT id FROM deadlines.clocks WHERE state = 'overdue' AND escalate_at <= :now "
    "ORDER BY escalate_at LIMIT 500",
    "warning": "SELECT id FROM deadlines.clocks WHERE state = 'running' AND warned_at IS NULL "
    "AND warn_at <= :now AND due_at >= :now ORDER BY warn_at LIMIT 500",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def db_url(name: str) -> str:
    head, _, tail = ADMIN.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Loader:
    """Bulk inserts of open and due clocks into the scratch database."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Villages and their towns from the reference data."""
        villages = load_reference().villages
        self.engine = engine
        self.codes = [v.code for v in villages]
        self.towns = [v.town_code for v in villages]

    async def add(self, n: int, *, due: bool) -> None:
        """Insert ``n`` running clocks, due (deadline passed yesterday) or open (weeks ahead)."""
        now = utcnow()
        params: dict[str, Any] = {
            "villages": self.codes,
            "towns": self.towns,
            "due": due,
            "today": now.astimezone(TZ).date(),
            "now": now,
        }
        done = 0
        while done < n:
            size = min(CHUNK, n - done)
            async with self.engine.begin() as conn:
                await conn.execute(text(INSERT_CLOCKS), {**params, "n": size})
            done += size
        async with self.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE deadlines.clocks"))

    async def add_in_bulk(self, n: int) -> None:
        """Insert ``n`` open clocks the way one loads a table: the secondary indexes dropped, the
        rows inserted, each index rebuilt by one sort. The schema afterwards is the migrated one."""
        async with self.engine.begin() as conn:
            rows = await conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'deadlines' "
                    "AND tablename = 'clocks' AND indexname LIKE 'ix_%'"
                )
            )
            indexes = [(row.indexname, row.indexdef) for row in rows]
            rows = await conn.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                    "WHERE conrelid = 'deadlines.clocks'::regclass AND contype = 'u'"
                )
            )
            uniques = [(row.conname, row.definition) for row in rows]
            for name, _ in indexes:
                await conn.execute(text(f"DROP INDEX deadlines.{name}"))
            for name, _ in uniques:
                await conn.execute(text(f"ALTER TABLE deadlines.clocks DROP CONSTRAINT {name}"))
        await self.add(n, due=False)
        async with self.engine.begin() as conn:
            await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            for name, definition in uniques:
                await conn.execute(text(f"ALTER TABLE deadlines.clocks ADD CONSTRAINT {name} {definition}"))
            for _, definition in indexes:
                await conn.execute(text(definition))
        async with self.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE deadlines.clocks"))


async def timed_sweeps(
    loader: Loader, maker: async_sessionmaker[AsyncSession], due: int, repeats: int
) -> dict[str, Any]:
    """Median seconds of ``repeats`` sweeps, each over ``due`` freshly due clocks."""
    seconds: list[float] = []
    swept = 0
    for _ in range(repeats):
        if due:
            await loader.add(due, due=True)
        started = time.perf_counter()
        result = await sweep_once(maker)
        seconds.append(time.perf_counter() - started)
        assert result.overdue == due and result.escalated == due, result
        swept = result.overdue
    return {
        "due": due,
        "median_s": round(statistics.median(seconds), 4),
        "runs_s": [round(s, 4) for s in seconds],
        "overdue_marked": swept,
    }


async def explain(engine: AsyncEngine) -> dict[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each step's read on the loaded table."""
    plans: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for step, sql in STEP_QUERIES.items():
            rows = await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"), {"now": utcnow()})
            plans[step] = [row[0] for row in rows]
    return plans


async def without_indexes(engine: AsyncEngine) -> float:
    """Seconds for the overdue step's read with index scans off: reading every open clock."""
    async with engine.connect() as conn:
        await conn.execute(text("SET enable_indexscan = off"))
        await conn.execute(text("SET enable_bitmapscan = off"))
        await conn.execute(text("SET enable_indexonlyscan = off"))
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            await conn.execute(text(STEP_QUERIES["overdue"]), {"now": utcnow()})
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def with_indexes(engine: AsyncEngine) -> float:
    """Seconds for the same read on its partial index."""
    async with engine.connect() as conn:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            await conn.execute(text(STEP_QUERIES["overdue"]), {"now": utcnow()})
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def run(name: str) -> dict[str, Any]:
    engine = create_async_engine(async_url(db_url(name)), pool_size=2, max_overflow=0)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    loader = Loader(engine)
    try:
        await sweep_once(maker)  # warm up: imports, calendar, connections
        log(f"loading {SMALL:,} open clocks")
        await loader.add(SMALL, due=False)
        small_few = await timed_sweeps(loader, maker, FEW, 5)
        small_many = await timed_sweeps(loader, maker, MANY, 1)
        log(f"small: {small_few['median_s']} s for {FEW} due, {small_many['median_s']} s for {MANY} due")

        log(f"loading {LARGE - SMALL:,} more open clocks")
        started = time.perf_counter()
        await loader.add_in_bulk(LARGE - SMALL)
        load_s = time.perf_counter() - started
        idle = await timed_sweeps(loader, maker, 0, 5)
        large_few = await timed_sweeps(loader, maker, FEW, 5)
        large_many = await timed_sweeps(loader, maker, MANY, 1)
        log(f"large: {large_few['median_s']} s for {FEW} due, {large_many['median_s']} s for {MANY} due")
        await loader.add(FEW, due=True)  # something due while we look at the plans
        plans = await explain(engine)
        indexed_read_s, full_read_s = await with_indexes(engine), await without_indexes(engine)
        async with engine.connect() as conn:
            open_count = await conn.scalar(
                text("SELECT count(*) FROM deadlines.clocks WHERE state = 'running'")
            )
    finally:
        await engine.dispose()
    uses_index = {
        step: any("Index Scan using ix_clocks_" in line for line in plan) for step, plan in plans.items()
    }
    return {
        "benchmark": "deadline_sweep",
        "open_clocks": {"small": SMALL, "large": LARGE, "running_at_end": open_count},
        "bulk_load_990k_s": round(load_s, 1),
        "sweep_s": {
            f"open_{SMALL}_due_{FEW}": small_few,
            f"open_{SMALL}_due_{MANY}": small_many,
            f"open_{LARGE}_due_0": idle,
            f"open_{LARGE}_due_{FEW}": large_few,
            f"open_{LARGE}_due_{MANY}": large_many,
        },
        "ratios": {
            "many_vs_few_due_at_1m_open": round(large_many["median_s"] / large_few["median_s"], 1),
            "1m_vs_10k_open_with_100_due": round(large_few["median_s"] / small_few["median_s"], 2),
            "1m_vs_10k_open_with_10000_due": round(large_many["median_s"] / small_many["median_s"], 2),
            "per_due_clock_ms_at_1m_open": round(1000 * large_many["median_s"] / MANY, 3),
        },
        "baseline": {
            "what": "the overdue step's read at 1,000,000 open with index scans off (a pass over every open clock)",
            "full_read_ms": round(1000 * full_read_s, 2),
            "indexed_read_ms": round(1000 * indexed_read_s, 2),
            "speedup": round(full_read_s / indexed_read_s, 1),
        },
        "uses_partial_index": uses_index,
        "explain": plans,
    }


async def main() -> dict[str, Any]:
    name = f"guanjia_bench_sweep_{secrets.token_hex(3)}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        log(f"migrating {name}")
        await asyncio.to_thread(upgrade_heads, db_url(name))
        return await run(name)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), ensure_ascii=False))
