"""Benchmark: the staff work list (`intake.service.worklist`) at 300,000 appeals.

One scratch database, migrated with Alembic, filled in bulk: appeals over the 207 reference
villages, a third closed (no deadline), the rest with a next deadline spread over two months, held
by their village, their town, one of a few departments or one station (a rare holder: 50 appeals).
Each viewer asks for the first page (50) of their list as `GET /internal/worklist` does, and the
city asks for a page deep in its list by the cursor. Baseline, same run: the same deep page by
OFFSET, and the village, department and station pages with the work-list indexes dropped inside a
rolled-back transaction (what the list costs without them). Prints JSON.
Run: `.venv/bin/python -m bench.worklist_scale [appeals]` (PostgreSQL from `GUANJIA_BENCH_PG`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.common import db_url, scratch_databases, timed
from services.common.db import async_url
from services.common.reference import load_reference

REPEATS = 100
STATION = "GJYZ-BENCH-1"
DEPARTMENTS = ["civil_affairs", "housing", "health", "education"]
WORKLIST_INDEXES = ("ix_appeals_worklist_town", "ix_appeals_worklist_village", "ix_appeals_worklist_holder")

FILL = """
INSERT INTO intake.appeals (id, ticket_no, query_code, channel, channel_ref, draft_hash, received_at,
    status, status_changed_at, kind, category, urgency, description, town_code, village_code, datum,
    callback_requested, channel_extra, version, round, returns_count, closed_unrated, withheld, funds_used_fen,
    holder_type, holder_code, next_due_at, overdue)
SELECT gen_random_uuid(), 'MSB' || g, '000000', 'village_visit', 'bench-' || g, 'x',
       now() - make_interval(days => g % 365, secs => g % 86400),
       CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'in_progress' END, now(),
       'micro_wish', 'living', 'normal', '路灯坏了', v.town, v.village, 'wgs84', false, '{}', 1, 1, 0,
       false, false, 0,
       h.t, h.c,
       CASE WHEN g % 3 = 0 THEN NULL ELSE now() + make_interval(mins => ((g::bigint * 7919) % 86400)::int) END,
       false
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT (CAST(:villages AS text[]))[1 + ((g::bigint * 7919) % cardinality(CAST(:villages AS text[])))::int] AS village,
                           (CAST(:towns AS text[]))[1 + ((g::bigint * 7919) % cardinality(CAST(:towns AS text[])))::int] AS town) v
CROSS JOIN LATERAL (SELECT CASE WHEN g % 6000 = 1 THEN 'station'
                                WHEN g % 10 = 1 THEN 'department'
                                WHEN g % 10 = 2 THEN 'town' ELSE 'village' END AS t,
                           CASE WHEN g % 6000 = 1 THEN :station
                                WHEN g % 10 = 1 THEN (CAST(:departments AS text[]))[1 + (g / 10) % 4]
                                WHEN g % 10 = 2 THEN v.town ELSE v.village END AS c) h
"""


def viewers(village: str, town: str) -> dict[str, dict[str, str]]:
    return {
        "village": {"role": "village_staff", "org_type": "village", "org_code": village},
        "town": {"role": "town_staff", "org_type": "town", "org_code": town},
        "department": {"role": "department_staff", "org_type": "department", "org_code": "housing"},
        "station": {"role": "station_staff", "org_type": "station", "org_code": STATION},
        "city": {"role": "city_admin", "org_type": "city", "org_code": "city"},
    }


async def measure(maker: async_sessionmaker[AsyncSession], n: int) -> dict[str, Any]:
    from intake.service.worklist import work_list
    from services.common.auth import Principal
    from services.contracts.worklist import WorkListQuery

    ref = load_reference()
    village = ref.villages[0]
    people = {
        k: Principal(staff_id="bench", username=f"bench.{k}", **v)
        for k, v in viewers(village.code, village.town_code).items()
    }
    out: dict[str, Any] = {"appeals": n, "first_page": {}, "without_indexes": {}}

    async def page(who: str, **query: Any) -> int:
        async with maker() as session:
            return len((await work_list(session, people[who], WorkListQuery(limit=50, **query))).items)

    for who in people:
        out["first_page"][who] = await timed(lambda who=who: page(who), REPEATS)  # type: ignore[misc]
    # A cursor half-way down the city's list: walk there once, then time the page after it.
    async with maker() as session:
        deep_offset = n // 3
        row = (
            await session.execute(
                text(
                    "SELECT next_due_at, received_at, id FROM intake.appeals "
                    "ORDER BY coalesce(next_due_at, 'infinity'::timestamptz), received_at, id OFFSET :o LIMIT 1"
                ).bindparams(o=deep_offset)
            )
        ).one()
    from services.common.cursor import encode_cursor

    cursor = encode_cursor("staff.appeals", [row[0].isoformat(), row[1].isoformat(), str(row[2])])
    out["city_deep_page_by_cursor"] = await timed(lambda: page("city", cursor=cursor), REPEATS)

    async def by_offset() -> int:
        async with maker() as session:
            rows = await session.execute(
                text(
                    "SELECT * FROM intake.appeals ORDER BY coalesce(next_due_at, 'infinity'::timestamptz), received_at, id "
                    "OFFSET :o LIMIT 51"
                ).bindparams(o=deep_offset)
            )
            return len(rows.all())

    out["baseline_city_deep_page_by_offset"] = await timed(by_offset, 20, warmup=2)

    # Without the scoped indexes (dropped in a transaction that is rolled back).
    engine = maker.kw["bind"]
    async with engine.connect() as conn:
        trans = await conn.begin()
        for name in WORKLIST_INDEXES:
            await conn.execute(text(f"DROP INDEX intake.{name}"))
        bare = async_sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")

        async def bare_page(who: str) -> int:
            async with bare() as session:
                return len((await work_list(session, people[who], WorkListQuery(limit=50))).items)

        for who in ("village", "department", "station"):
            out["without_indexes"][who] = await timed(lambda who=who: bare_page(who), 20, warmup=2)  # type: ignore[misc]
        await trans.rollback()
    out["ratios"] = {
        "deep_offset_over_cursor_p50": round(
            out["baseline_city_deep_page_by_offset"]["p50_ms"] / out["city_deep_page_by_cursor"]["p50_ms"], 1
        ),
        **{
            f"{who}_without_over_with_indexes_p50": round(
                out["without_indexes"][who]["p50_ms"] / out["first_page"][who]["p50_ms"], 1
            )
            for who in ("village", "department", "station")
        },
    }
    return out


async def main(n: int) -> dict[str, Any]:
    os.environ.setdefault("GUANJIA_INTERNAL_SECRET", base64.b64encode(os.urandom(24)).decode())
    async with scratch_databases("guanjia_bench_worklist", "large") as names:
        engine = create_async_engine(async_url(db_url(names["large"])), pool_size=4)
        maker = async_sessionmaker(engine, expire_on_commit=False)
        try:
            ref = load_reference()
            async with maker() as session, session.begin():
                await session.execute(
                    text(FILL).bindparams(
                        n=n,
                        villages=[v.code for v in ref.villages],
                        towns=[v.town_code for v in ref.villages],
                        station=STATION,
                        departments=DEPARTMENTS,
                    )
                )
            async with engine.connect() as conn:
                await conn.execute(text("COMMIT"))
                await conn.execute(text("VACUUM ANALYZE intake.appeals"))
            return await measure(maker, n)
        finally:
            await engine.dispose()


if __name__ == "__main__":
    print(
        json.dumps(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)), ensure_ascii=False)
    )
