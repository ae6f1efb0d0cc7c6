"""The sweep: overdue and escalation up to the city end to end through the real worker, escalation
chains per kind of unit, and exactly one reminder per clock and stage under overlapping sweeps
and two workers."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from deadlines.jobs import worker
from deadlines.models import Clock, Reminder
from deadlines.service.calendar import TZ
from deadlines.service.hierarchy import Unit
from deadlines.service.sweep import sweep_once
from services.common.db import async_url, session_scope
from services.common.queue import connect, queue_name
from services.common.settings import get_settings
from tests.deadlines.support import (
    TOWN,
    VILLAGE,
    ago,
    announced,
    assigned,
    clocks_of,
    empty_queue,
    feed,
    internal_client,
    local,
    new_clock,
    received,
    triaged,
)
from tests.fixtures import auth, drain, staff


async def _escalations(clock_id: uuid.UUID) -> list[tuple[int, str, str]]:
    return [
        (d["level"], d["target_unit_type"], d["target_unit_code"])
        for t, d in await announced(clock_ids=[clock_id])
        if t == "deadline.escalated"
    ]


async def _types(clock_id: uuid.UUID) -> list[str]:
    return [t for t, _ in await announced(clock_ids=[clock_id]) if t != "deadline.started"]


async def _enqueue_sweeps(count: int) -> None:
    redis = await connect()
    try:
        for _ in range(count):
            await redis.enqueue_job(
                "deadlines.sweep", _queue_name=queue_name("deadlines"), _job_id=f"sweep-{uuid.uuid4().hex}"
            )
    finally:
        await redis.aclose()


async def test_an_overdue_village_clock_escalates_to_its_town_then_the_city_through_the_worker() -> None:
    await empty_queue()
    appeal_id = uuid.uuid4()
    started = ago(12)
    await feed(received(appeal_id, started), triaged(appeal_id, started), assigned(appeal_id, started))
    sign_off = (await clocks_of(appeal_id))["sign_off", 1]
    assert (sign_off.state, sign_off.scope_town) == ("running", TOWN)

    await _enqueue_sweeps(1)  # the cron's job, run by the real worker
    await drain("deadlines")
    sign_off = (await clocks_of(appeal_id))["sign_off", 1]
    assert sign_off.state == "overdue" and sign_off.escalation_level >= 2
    assert (await _types(sign_off.id)).count("deadline.overdue") == 1
    chain = await _escalations(sign_off.id)
    # One level up first (the town), then the city, then the city again at the latest level.
    assert [(t, c) for _, t, c in chain] == [("town", TOWN), ("city", "city")]
    assert chain[0][0] == 1 and chain[-1][0] == sign_off.escalation_level

    # A second run finds nothing new to say.
    await _enqueue_sweeps(1)
    await drain("deadlines")
    assert await _escalations(sign_off.id) == chain

    # The village's overdue list shows it, and the appeal's history holds each reminder.
    async for client in internal_client():
        village = auth(staff("village_staff", VILLAGE))
        listed = (await client.get("/internal/deadlines/overdue", headers=village)).json()["items"]
        assert str(sign_off.id) in [c["id"] for c in listed]
        history = (await client.get(f"/internal/deadlines/appeals/{appeal_id}/history")).json()
    clock = next(c for c in history["clocks"] if c["clock"]["id"] == str(sign_off.id))
    stages = [r["stage"] for r in clock["reminders"]]
    assert stages[0] == "overdue" and "escalation:1" in stages
    assert [c["type"] for c in clock["changes"]][:2] == ["deadline.started", "deadline.overdue"]


async def test_escalation_chains_one_level_at_each_further_limit() -> None:
    start = local(2025, 10, 13)  # Monday: a 1-working-day sign-off is due Tuesday Oct 14
    village = await new_clock("sign_off", start, Unit("village", VILLAGE))
    department = await new_clock("sign_off", start, Unit("department", "civil_affairs"))
    station = await new_clock("sign_off", start, Unit("station", "HM-ST-01"), appeal_town=TOWN)
    town = await new_clock("sign_off", start, Unit("town", TOWN))
    assert (village.scope_town, department.scope_town, station.scope_town) == (TOWN, None, TOWN)

    await sweep_once(now=local(2025, 10, 15, 1))  # after Oct 14: overdue, level 1
    await sweep_once(now=local(2025, 10, 15, 2))  # an overlapping later run: nothing new
    assert await _escalations(village.id) == [(1, "town", TOWN)]
    assert await _escalations(department.id) == [(1, "city", "city")]
    assert await _escalations(station.id) == [(1, "town", TOWN)]
    assert await _escalations(town.id) == [(1, "city", "city")]

    await sweep_once(now=local(2025, 10, 16, 1))  # one further limit (Oct 15): level 2
    await sweep_once(now=local(2025, 10, 17, 1))  # and Oct 16: level 3, the city again
    assert await _escalations(village.id) == [(1, "town", TOWN), (2, "city", "city"), (3, "city", "city")]
    assert await _escalations(station.id) == [(1, "town", TOWN), (2, "city", "city"), (3, "city", "city")]
    assert [level for level, _, _ in await _escalations(department.id)] == [1, 2, 3]
    for clock in (village, department, station, town):
        assert (await _types(clock.id)).count("deadline.overdue") == 1


async def test_a_late_sweep_sends_the_chain_once_and_collapses_repeats_to_the_city() -> None:
    clock = await new_clock("sign_off", local(2025, 11, 3), Unit("village", VILLAGE))  # due Tue Nov 4
    # The sweep was down for over a week: levels 1–8 (Nov 4–13) fell meanwhile.
    await sweep_once(now=local(2025, 11, 14, 1))
    assert await _escalations(clock.id) == [(1, "town", TOWN), (8, "city", "city")]
    async with session_scope() as session:
        row = await session.get(Clock, clock.id)
        assert row is not None and row.escalation_level == 8
        assert row.escalate_at == datetime(2025, 11, 14, 23, 59, 59, 999999, tzinfo=TZ)


async def test_overlapping_sweeps_and_two_workers_send_one_reminder_per_clock_and_stage() -> None:
    await empty_queue()
    overdue = [(await new_clock("sign_off", ago(9), Unit("village", VILLAGE))).id for _ in range(8)]
    warned = [
        (await new_clock("works", ago(170), Unit("village", VILLAGE), kind="micro_project")).id
        for _ in range(8)
    ]
    ids = overdue + warned

    # Four sweeps at once in small batches, and two workers each running a sweep job.
    await _enqueue_sweeps(2)
    workers = [worker(burst=True), worker(burst=True)]
    # The sweeps use an engine of their own: a burst worker disposes the process-wide engine as it
    # stops, which would orphan connections the sweeps still hold (left to the garbage collector,
    # they surface as unclosed-connection warnings in whatever test runs next).
    engine = create_async_engine(async_url(get_settings().require("database_url")), pool_size=4)
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        await asyncio.gather(*(sweep_once(maker, batch=3) for _ in range(4)), *(drain(w) for w in workers))
    finally:
        await engine.dispose()
    await sweep_once()

    events = [(t, d["clock_id"], d.get("level")) for t, d in await announced(clock_ids=ids)]
    counts = Counter(e for e in events if e[0] != "deadline.started")
    assert counts and set(counts.values()) == {1}, counts
    assert {c for t, c, _ in counts if t == "deadline.overdue"} == {str(i) for i in overdue}
    assert {c for t, c, _ in counts if t == "deadline.warning"} == {str(i) for i in warned}
    async with session_scope() as session:
        stages = Counter(
            (row.clock_id, row.stage)
            for row in (await session.scalars(select(Reminder).where(Reminder.clock_id.in_(ids)))).all()
        )
    assert set(stages.values()) == {1}
    assert len(stages) == len(counts)

    # Even a clock put back to running by some other path is not announced overdue a second time:
    # its reminder row is the guard.
    async with session_scope() as session:
        await session.execute(
            update(Clock)
            .where(Clock.id == overdue[0])
            .values(state="running", overdue_notified_at=None, escalation_level=0, escalate_at=None)
        )
    await sweep_once()
    assert (await _types(overdue[0])).count("deadline.overdue") == 1
    assert Counter(level for level, _, _ in await _escalations(overdue[0])).most_common(1)[0][1] == 1
