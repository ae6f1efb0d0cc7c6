"""Counters without hot rows: concurrent changes append deltas and never wait on each other; the
folder and the reads give the same figures as counting in place did."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from intake.service.stats.cells import Facts
from intake.service.stats.queries import Question, counters
from intake.service.stats.recorder import count, fold
from services.common.db import get_sessionmaker, session_scope
from services.common.timeutil import to_local
from tests.intake.support import CHANGPING, HUANZHULI

FACTS = Facts("hotline_12345", None, None, CHANGPING, HUANZHULI, None, None)


async def _city_received(at: datetime) -> int:
    async with session_scope() as session:
        got = await counters(session, Question("city", "city", "day", to_local(at).date()))
    return got.get("all", {}).get("received", 0)


async def test_concurrent_changes_never_wait_on_each_others_counter_rows() -> None:
    at = datetime.now(UTC)
    before = await _city_received(at)
    maker = get_sessionmaker()
    async with maker() as first, maker() as second:
        await first.begin()
        await count(first, FACTS, at, {"received": 1})  # holds whatever it wrote, uncommitted
        await second.begin()
        # Counting in place would wait here on the city's row until `first` ends: it must not.
        await second.execute(text("SET LOCAL lock_timeout = '1s'"))
        await count(second, FACTS, at, {"received": 1})
        await second.commit()
        await first.commit()
    assert await _city_received(at) == before + 2


async def test_folding_moves_the_deltas_into_the_cells_once() -> None:
    at = datetime.now(UTC)
    async with session_scope() as session:
        await fold(session)
        await count(session, FACTS, at, {"received": 3, "duplicates": 1})
    async with session_scope() as session:
        pending = await session.scalar(text("SELECT count(*) FROM intake.stat_deltas"))
        assert pending and pending > 0
        assert await fold(session) > 0
        assert await session.scalar(text("SELECT count(*) FROM intake.stat_deltas")) == 0
        assert await fold(session) == 0  # nothing left: folding again adds nothing
        village = await counters(session, Question("village", HUANZHULI, "day", to_local(at).date()))
    assert village["all"]["received"] >= 3 and village["all"]["duplicates"] >= 1
