"""Benchmark: a dashboard's statistics questions at 10 appeals and at 1,000,000 appeals.

Two scratch databases on the same PostgreSQL, migrated with Alembic:
- **small**: 10 appeals recorded and moved through intake's real code (counters updated in the
  same transactions as the changes);
- **large**: 1,000,000 appeals inserted in bulk over a year, the 207 reference villages, every
  channel, kind and category, with the counter cells they produce built by one SQL aggregate (the
  same cells, periods, scopes and dimensions as `intake.service.stats.cells`; shard 0).
Each question is asked the way `GET /internal/stats/...` asks it (`intake.service.stats.queries`), many
times; the baseline is the obvious query counting the appeals table itself, on the large database.
Demand analysis is also asked without its index (`ix_stat_cells_demand`, dropped inside a
rolled-back transaction), to show what the index buys in the same run.
Prints JSON. Run: `.venv/bin/python -m bench.stats_scale [appeals]` (PostgreSQL from
`GUANJIA_BENCH_PG`, default postgresql://postgres@127.0.0.1:5432/postgres; `bench.common`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.common import db_url, scratch_databases, summary, timed
from intake.service import evaluations, moves, records
from intake.service.stats.demand import demand
from intake.service.stats.queries import Question, counters, report_rows
from services.common.db import async_url
from services.common.reference import load_reference
from services.common.timeutil import local_today
from services.contracts.appeals import AppealDraft

REPEATS = 200
CHANNELS = [
    "hotline_12345",
    "wechat_official",
    "wechat_miniprogram",
    "web_portal",
    "grid_inspector",
    "village_visit",
]
CATEGORIES = {
    "micro_project": ["environment", "housing_repair", "facility", "public_service"],
    "micro_wish": ["living", "medical", "education", "elderly_care", "employment", "housing"],
}


async def fill_small(maker: async_sessionmaker[AsyncSession], village: str, town: str) -> None:
    """10 appeals through the real code: recorded, 6 completed, 4 of them rated."""
    for i in range(10):
        draft = AppealDraft.model_validate(
            {
                "channel": CHANNELS[i % len(CHANNELS)],
                "channel_ref": f"bench-{uuid.uuid4().hex}",
                "description": f"第{i}号路灯坏了，晚上很黑",
                "location": {"town_code": town, "village_code": village},
            }
        )
        async with maker() as session, session.begin():
            accepted, _ = await records.create_appeal(session, draft)
            await records.after_received(session, accepted.appeal_id)  # intake's worker, after commit
            appeal = await records.get_appeal(session, accepted.appeal_id, lock=True)
            appeal.kind, appeal.category = "micro_project", "facility"
            if i < 6:
                for target in ("triaged", "approved", "in_progress", "completed"):
                    await moves.transition(session, appeal, target, actor="bench")
            if i < 4:
                await evaluations.evaluate(
                    session,
                    appeal,
                    round_no=None,
                    result="resolved",
                    rating="satisfied" if i < 3 else "dissatisfied",
                    comment=None,
                    by="staff",
                    actor="bench",
                )


FILL_APPEALS = """
INSERT INTO intake.appeals (id, ticket_no, query_code, channel, channel_ref, draft_hash, received_at,
    status, status_changed_at, kind, category, urgency, description, town_code, village_code, datum,
    callback_requested, channel_extra, version, round, returns_count, closed_unrated, withheld, funds_used_fen)
SELECT gen_random_uuid(), 'MSB' || g, '000000', ch.c, 'bench-' || g, 'x',
       now() - make_interval(days => g % 365, secs => g % 86400),
       CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'in_progress' END, now(),
       k.kind, k.cats[1 + (g / 7) % array_length(k.cats, 1)], 'normal', '路灯坏了',
       v.town, v.village, 'wgs84', false, '{}', 1, 1, 0, false, false, 0
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT (CAST(:channels AS text[]))[1 + g % cardinality(CAST(:channels AS text[]))] AS c) ch
CROSS JOIN LATERAL (SELECT CASE WHEN g % 2 = 0 THEN 'micro_project' ELSE 'micro_wish' END AS kind,
                           CASE WHEN g % 2 = 0 THEN CAST(:projects AS text[]) ELSE CAST(:wishes AS text[]) END AS cats) k
CROSS JOIN LATERAL (SELECT (CAST(:villages AS text[]))[1 + ((g::bigint * 7919) % cardinality(CAST(:villages AS text[])))::int] AS village,
                           (CAST(:towns AS text[]))[1 + ((g::bigint * 7919) % cardinality(CAST(:towns AS text[])))::int] AS town) v
"""

FILL_CELLS = """
INSERT INTO intake.stat_cells (period, period_start, scope_type, scope_code, dim, dim_value, shard,
                               received, completed, completed_first, closed, closed_first_time,
                               evaluated, resolved, satisfied)
SELECT p.period, p.start, s.scope_type, s.scope_code, d.dim, d.value, 0,
       count(*), count(*) FILTER (WHERE a.status = 'closed'), count(*) FILTER (WHERE a.status = 'closed'),
       count(*) FILTER (WHERE a.status = 'closed'), count(*) FILTER (WHERE a.status = 'closed'),
       count(*) FILTER (WHERE a.status = 'closed'), count(*) FILTER (WHERE a.status = 'closed'),
       count(*) FILTER (WHERE a.status = 'closed')
FROM (SELECT *, (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM intake.appeals) a
CROSS JOIN LATERAL (VALUES ('d', a.day), ('m', date_trunc('month', a.day)::date),
                           ('y', date_trunc('year', a.day)::date)) p(period, start)
CROSS JOIN LATERAL (VALUES ('city', 'city'), ('town', a.town_code), ('village', a.village_code)) s(scope_type, scope_code)
CROSS JOIN LATERAL (VALUES ('all', 'all'), ('kind', a.kind), ('category', a.category),
                           ('channel', a.channel)) d(dim, value)
WHERE p.period <> 'd' OR d.dim = 'all'
GROUP BY 1, 2, 3, 4, 5, 6
"""


async def fill_large(maker: async_sessionmaker[AsyncSession], n: int) -> None:
    ref = load_reference()
    villages = [v.code for v in ref.villages]
    towns = [v.town_code for v in ref.villages]
    async with maker() as session, session.begin():
        await session.execute(
            text(FILL_APPEALS).bindparams(
                n=n,
                channels=CHANNELS,
                projects=CATEGORIES["micro_project"],
                wishes=CATEGORIES["micro_wish"],
                villages=villages,
                towns=towns,
            )
        )
    async with maker() as session, session.begin():
        await session.execute(text("SET LOCAL work_mem = '256MB'"))
        await session.execute(text(FILL_CELLS))
    engine = maker.kw["bind"]
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE intake.stat_cells"))
        await conn.execute(text("VACUUM ANALYZE intake.appeals"))


def questions(town: str, village: str, day: date) -> dict[str, Callable[[AsyncSession], Awaitable[Any]]]:
    async def ask(session: AsyncSession, q: Question) -> Any:
        return report_rows(await counters(session, q.checked()))

    return {
        "city_month_by_category": lambda s: ask(s, Question("city", "city", "month", day, "category")),
        "town_month_by_channel": lambda s: ask(s, Question("town", town, "month", day, "channel")),
        "village_year_by_kind": lambda s: ask(s, Question("village", village, "year", day, "kind")),
        "city_day_total": lambda s: ask(s, Question("city", "city", "day", day, "all")),
        "demand_city_month": lambda s: demand(s, "month", day, None),
    }


BASELINE = """
SELECT category, count(*), count(*) FILTER (WHERE status = 'closed')
FROM intake.appeals
WHERE received_at >= date_trunc('month', now()) AND received_at < date_trunc('month', now()) + interval '1 month'
GROUP BY category
"""


async def measure(url: str, town: str, village: str) -> dict[str, dict[str, float]]:
    engine = create_async_engine(async_url(url), pool_size=2)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    out = {}
    try:
        for name, q in questions(town, village, local_today()).items():

            async def once(q: Callable[[AsyncSession], Awaitable[Any]] = q) -> Any:
                async with maker() as session:
                    return await q(session)

            out[name] = await timed(once, REPEATS)

        # Demand analysis as it was before `ix_stat_cells_demand`: the index dropped inside a
        # transaction that is rolled back (only the report itself is timed).
        samples = []
        for i in range(REPEATS + 5):
            async with maker() as session:
                await session.execute(text("DROP INDEX intake.ix_stat_cells_demand"))
                t0 = time.perf_counter()
                await demand(session, "month", local_today(), None)
                if i >= 5:
                    samples.append((time.perf_counter() - t0) * 1000)
                await session.rollback()
        out["demand_city_month_without_demand_index"] = summary(samples)

        async def baseline() -> Any:
            async with maker() as session:
                return (await session.execute(text(BASELINE))).all()

        out["baseline_count_appeals_city_month_by_category"] = await timed(baseline, repeats=5)
    finally:
        await engine.dispose()
    return out


async def run(n: int) -> dict[str, Any]:
    ref = load_reference()
    village = ref.villages[0]
    async with scratch_databases("guanjia_bench_stats", "small", "large") as names:
        small, large = names["small"], names["large"]
        engines = {name: create_async_engine(async_url(db_url(name))) for name in (small, large)}
        t0 = time.perf_counter()
        await fill_small(
            async_sessionmaker(engines[small], expire_on_commit=False), village.code, village.town_code
        )
        await fill_large(async_sessionmaker(engines[large], expire_on_commit=False), n)
        fill_s = time.perf_counter() - t0
        for engine in engines.values():
            await engine.dispose()
        results_small = await measure(db_url(small), village.town_code, village.code)
        results_large = await measure(db_url(large), village.town_code, village.code)
    rows = {}
    for name, small_r in results_small.items():
        large_r = results_large[name]
        rows[name] = {
            "p50_ms_at_10": small_r["p50_ms"],
            f"p50_ms_at_{n}": large_r["p50_ms"],
            "p99_ms_at_10": small_r["p99_ms"],
            f"p99_ms_at_{n}": large_r["p99_ms"],
            "ratio_p50": round(large_r["p50_ms"] / small_r["p50_ms"], 2) if small_r["p50_ms"] else None,
        }
    return {
        "benchmark": "stats_scale",
        "appeals_small": 10,
        "appeals_large": n,
        "fill_seconds": round(fill_s, 1),
        "target_ms_at_1m": 50,
        "questions": rows,
    }


def main(n: int = 1_000_000) -> dict[str, Any]:
    """Run both databases and compare."""
    # Settings are read on first use: a key for the 10 appeals' phone numbers, and no linking of
    # the bench's look-alike appeals (they are counted, not deduplicated, here).
    os.environ.setdefault("GUANJIA_PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ.setdefault("GUANJIA_DUPLICATE_LINK_AT", "2")
    return asyncio.run(run(n))


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), ensure_ascii=False))
