"""The gateway's record of an inbound channel message, as every hotline call makes it.

    .venv/bin/python -m bench.inbound_record [calls]

`services.gateway.service.inbound.remember` (one INSERT … ON CONFLICT DO NOTHING in autocommit,
its statement built once with bound parameters) against the same INSERT built per call from its
values (what `remember` did before 2026-12-07), on a scratch database migrated with Alembic,
interleaved in rounds on one connection pool. Reports the process's CPU per call (what the
gateway's two cores pay on the path a caller waits on) and the wall time. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import db_url, scratch_databases

ROUNDS = 4
BODY = {
    "call_id": "bench",
    "caller_number": "139****3210",
    "transcript": [{"speaker": "caller", "text": "你好，我们这边大街上的路灯坏了好几盏，晚上黑漆漆的。" * 3}],
    "summary": "来电反映东坊大街多盏路灯损坏，请求尽快维修。",
}
ANSWER = {"appeal_id": str(uuid.uuid4()), "ticket_no": "GJ202612070001234", "query_code": "123456"}


async def _built_per_call(channel: str, ref: str, digest: str, body: Any, appeal_id: uuid.UUID) -> None:
    # The baseline: the statement as `remember` built it on every call before.
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    from services.common.db import autocommit
    from services.gateway.models import InboundMessage

    async with autocommit() as conn:
        await conn.execute(
            pg_insert(InboundMessage)
            .values(
                channel=channel,
                channel_ref=ref,
                body_hash=digest,
                body=body,
                appeal_id=appeal_id,
                response=ANSWER,
            )
            .on_conflict_do_nothing()
            .returning(InboundMessage.channel_ref)
        )


async def _per_call(fn: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await fn()
    return (time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


async def measure(calls: int) -> dict[str, Any]:
    """Both ways in turn, `ROUNDS` times, after a warm-up of each."""
    async with scratch_databases("bench_inbound", "db") as names:
        os.environ["DATABASE_URL"] = db_url(names["db"])
        from services.common.db import get_engine
        from services.common.settings import get_settings
        from services.gateway.service.inbound import remember

        get_settings.cache_clear()

        async def ours() -> None:
            await remember("hotline_12345", str(uuid.uuid4()), "d" * 64, BODY, uuid.uuid4(), ANSWER)

        async def baseline() -> None:
            await _built_per_call("hotline_12345", str(uuid.uuid4()), "d" * 64, BODY, uuid.uuid4())

        try:
            await _per_call(ours, 200)
            await _per_call(baseline, 200)
            runs: dict[str, list[tuple[float, float]]] = {"ours": [], "baseline": []}
            for _ in range(ROUNDS):
                runs["ours"].append(await _per_call(ours, calls))
                runs["baseline"].append(await _per_call(baseline, calls))
        finally:
            await get_engine().dispose()
    cpu = {k: round(sorted(c for c, _ in v)[len(v) // 2], 1) for k, v in runs.items()}
    wall = {k: round(sorted(w for _, w in v)[len(v) // 2], 1) for k, v in runs.items()}
    return {
        "benchmark": "inbound_record",
        "calls_per_round": calls,
        "rounds": ROUNDS,
        "cpu_us_per_call": cpu,
        "wall_us_per_call": wall,
        "cpu_ratio_to_baseline": round(cpu["ours"] / cpu["baseline"], 3),
    }


def main(calls: int = 1000) -> dict[str, Any]:
    """Measure and return the JSON object."""
    return asyncio.run(measure(calls))


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))
