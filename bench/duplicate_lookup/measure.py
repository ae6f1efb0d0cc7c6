"""Measuring the lookup: intake's own `find_candidates`, its baselines, and its EXPLAIN.

Each ask is timed in a session of its own, as intake makes it on arrival; the baselines are
the same lookup with the GIN index dropped in a rolled-back transaction and a naive scoring of
every appeal of the village in the window; EXPLAIN shows the statement the lookup runs first (a
step of its database function: the newest time bucket of the town-wide keys), as the cached
generic plan and as a custom plan for one arrival's keys.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bench.common import summary
from intake.config import IntakeSettings
from intake.models import Appeal, Fingerprint
from intake.service.duplicates import lsh, scorer
from intake.service.duplicates.service import MAX_COARSE, MAX_FINE, Candidate, find_candidates
from intake.service.duplicates.similarity import Doc, doc_from_stored
from services.common.db import async_url
from services.common.settings import get_settings

BASELINE_ASKS = 20
NO_INDEX_ASKS = 3  # each reads every fingerprint: about a minute at 1,000,000
_KEYS_RE = re.compile(r"'\{[-0-9,]+\}'")  # an array of keys in EXPLAIN's output
Ask = tuple[Appeal, Doc]
# The settings the lookup's function holds while it runs: no sequential scan, no JIT, no parallel
# workers.
_AS_THE_LOOKUP = "SET enable_seqscan = off; SET jit = off; SET max_parallel_workers_per_gather = 0"


async def lookup_ms(maker: async_sessionmaker[Any], ask: Ask) -> tuple[float, list[Candidate]]:
    """One lookup as intake makes it on arrival (its own session), timed."""
    appeal, doc = ask
    async with maker() as session:
        t0 = time.perf_counter()
        found = await find_candidates(session, appeal, doc)
        return (time.perf_counter() - t0) * 1000, found


async def without_gin_ms(maker: async_sessionmaker[Any], ask: Ask) -> float:
    """The same lookup with the GIN index dropped in a transaction that is rolled back."""
    appeal, doc = ask
    async with maker() as session:
        await session.execute(text("DROP INDEX intake.ix_fingerprints_keys"))
        t0 = time.perf_counter()
        await find_candidates(session, appeal, doc)
        elapsed = (time.perf_counter() - t0) * 1000
        await session.rollback()
    return elapsed


async def naive_ms(maker: async_sessionmaker[Any], ask: Ask) -> float:
    """No LSH keys: score every appeal of the village (else the town) received within the window."""
    appeal, doc = ask
    since = appeal.received_at - timedelta(days=get_settings(IntakeSettings).duplicate_window_days)
    place = (
        Appeal.village_code == appeal.village_code
        if appeal.village_code
        else Appeal.town_code == appeal.town_code
    )
    async with maker() as session:
        t0 = time.perf_counter()
        rows = (
            await session.execute(
                select(Appeal, Fingerprint)
                .join(Fingerprint, Fingerprint.appeal_id == Appeal.id)
                .where(place, Appeal.received_at >= since, Appeal.received_at <= appeal.received_at)
            )
        ).all()
        for a, fp in rows:
            stored = doc_from_stored(
                fp.tokens,
                fp.text,
                town_code=a.town_code,
                village_code=a.village_code,
                lat=a.lat,
                lng=a.lng,
                datum=a.datum,
            )
            scorer.score(stored, doc)
        return (time.perf_counter() - t0) * 1000


def _literal(value: Any) -> str:
    """A bound parameter as an SQL literal (EXECUTE takes no parameters of its own)."""
    if isinstance(value, list):
        return "'{" + ",".join(str(v) for v in value) + "}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    return f"'{value}'"


# What `intake.duplicate_newest` (migration 5c3e8a1d9b27) runs for each time bucket of a tier of
# keys, newest bucket first, until the tier has its cap: the statement EXPLAIN shows.
_PER_BUCKET = (
    "SELECT t.appeal_id FROM intake.fingerprints t WHERE t.keys && $1 AND t.received_at >= $2 "
    "AND t.received_at <= $3 AND t.appeal_id <> $4 ORDER BY t.received_at DESC LIMIT $5"
)


def _lookup_statement(ask: Ask) -> tuple[str, tuple[Any, ...]]:
    """The statement the lookup runs first for `ask` on its town-wide (coarse) tier, the one
    whose keys match the most rows, and its arguments: the newest bucket's keys, the window,
    the arrival, the cap."""
    appeal, doc = ask
    window = get_settings(IntakeSettings).duplicate_window_days
    fine, coarse = lsh.query_keys_by_bucket(doc, appeal.received_at, window)[0]
    keys, cap = (coarse, MAX_COARSE) if coarse else (fine, MAX_FINE)
    since = appeal.received_at - timedelta(days=window)
    return _PER_BUCKET, (keys, since, appeal.received_at, appeal.id, cap)


async def explain(engine: AsyncEngine, ask: Ask, plan: str) -> list[str]:
    """EXPLAIN of the candidate statement `find_candidates` runs first for `ask` (a step of its
    database function, under the settings the function holds), planned as
    - `generic`: the cached generic plan the function settles on after five runs (ANALYZE);
    - `custom`: a plan for these very keys, as each session's first five runs get (ANALYZE);
    - `no_index`: with the GIN index dropped in a rolled-back transaction (no ANALYZE)."""
    statement, parameters = _lookup_statement(ask)
    async with engine.connect() as conn:
        if plan == "generic":
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute(f"SET plan_cache_mode = force_generic_plan; {_AS_THE_LOOKUP}")
            await raw.execute(f"PREPARE bench_lookup AS {statement}")
            args = ", ".join(_literal(v) for v in parameters)
            rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_lookup({args})")
            await raw.execute(
                "DEALLOCATE bench_lookup; RESET plan_cache_mode; RESET enable_seqscan; RESET jit; "
                "RESET max_parallel_workers_per_gather"
            )
            lines = [str(r[0]) for r in rows]
        else:
            if plan == "no_index":
                await conn.execute(text("DROP INDEX intake.ix_fingerprints_keys"))
            else:  # under the function's settings
                for setting in _AS_THE_LOOKUP.split("; "):
                    await conn.exec_driver_sql(setting.replace("SET ", "SET LOCAL "))
            how = "EXPLAIN " if plan == "no_index" else "EXPLAIN (ANALYZE, BUFFERS) "
            lines = [str(r[0]) for r in (await conn.exec_driver_sql(how + statement, parameters)).all()]
            await conn.rollback()
    # The query's keys (a couple of hundred numbers) are shortened to their count.
    return [_KEYS_RE.sub(lambda m: f"'{{{m.group(0).count(',') + 1} keys}}'", line) for line in lines]


async def measure(url: str, asks: list[Ask], *, baselines: bool) -> dict[str, Any]:
    engine = create_async_engine(async_url(url), pool_size=2)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    out: dict[str, Any] = {}
    try:
        for ask in asks[:5]:
            await lookup_ms(maker, ask)
        samples, found = [], []
        for ask in asks:
            ms, candidates = await lookup_ms(maker, ask)
            samples.append(ms)
            # Only the ids: kept whole, the scored candidates (feature dictionaries and all) grew
            # the heap until a full garbage collection walked them inside one lookup (the max).
            found.append([c.appeal.id for c in candidates])
        out["lookup"] = summary(samples) | {"max_ms": round(max(samples), 3)}
        counts = sorted(len(c) for c in found)
        out["candidates_scored"] = {"p50": counts[len(counts) // 2], "max": counts[-1]}
        out["found"] = found
        if baselines:
            few = asks[:BASELINE_ASKS]
            no_index = [await without_gin_ms(maker, a) for a in asks[:NO_INDEX_ASKS]]
            out["baseline_without_gin_index"] = summary(no_index)
            await naive_ms(maker, few[0])
            out["baseline_naive_village_scan"] = summary([await naive_ms(maker, a) for a in few])
            for plan in ("generic", "custom", "no_index"):
                out[f"explain_{plan}"] = await explain(engine, asks[0], plan)
    finally:
        await engine.dispose()
    return out
