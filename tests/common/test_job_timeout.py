"""A job that outlives its time limit is tried again, and parked when it never finishes: never
dropped. (arq's own timeout fails a job for good, without a dead letter: an event lost.)

A real arq worker on the test session's Redis and PostgreSQL, on a queue of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from arq.jobs import JobStatus
from sqlalchemy import delete, select

from ledger.models import messaging
from services.common.db import session_scope
from services.common.jobs import JobContext, build_worker, job
from services.common.queue import connect, queue_name
from services.common.settings import get_settings
from tests.fixtures import drain

LANE = "timeout-test"


@pytest.fixture
def short_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "job_timeout_s", 1)
    monkeypatch.setattr(settings, "job_max_tries", 3)


async def _run(fn: Any, name: str) -> tuple[JobStatus, Any]:
    """Enqueue job `name` running `fn`, drain a real worker, and return the job's status and result."""
    worker = build_worker("ledger", messaging, [job(name, fn)], burst=True, lane=LANE)
    redis = await connect()
    try:
        queued = await redis.enqueue_job(name, _queue_name=queue_name("ledger", lane=LANE), _job_id=name)
        assert queued is not None
        await drain(worker)
        info = await queued.result_info()
        return await queued.status(), (info.result if info else None)
    finally:
        await redis.aclose()


async def test_a_job_past_its_time_limit_is_tried_again(short_limit: None) -> None:
    tries: list[int] = []

    async def slow_once(ctx: JobContext) -> str:
        tries.append(ctx["job_try"])
        if len(tries) == 1:
            await asyncio.sleep(3)  # past the 1 s limit, short of arq's own backstop
        return "done"

    name = f"test.slow_once.{uuid.uuid4().hex[:8]}"
    ran = await _run(slow_once, name)
    assert tries == [1, 2]
    assert ran == (JobStatus.complete, "done")


async def test_a_job_that_never_finishes_in_time_is_parked(short_limit: None) -> None:
    tries: list[int] = []

    async def always_slow(ctx: JobContext) -> str:
        tries.append(ctx["job_try"])
        await asyncio.sleep(3)
        return "never"

    name = f"test.always_slow.{uuid.uuid4().hex[:8]}"
    await _run(always_slow, name)
    assert tries == [1, 2, 3]
    dead = messaging.dead_letters
    async with session_scope() as session:
        parked = (
            await session.execute(select(dead.c.job_name, dead.c.error).where(dead.c.job_id == name))
        ).all()
        await session.execute(delete(dead).where(dead.c.job_id == name))  # the database is shared
        told = messaging.outbox.c.payload["data"]["job_name"].astext == name
        notices = (
            await session.execute(delete(messaging.outbox).where(told).returning(messaging.outbox.c.type))
        ).all()
    assert [(r.job_name, r.error) for r in parked] == [(name, "TimeoutError()")]
    # The city's administrators were told, once.
    assert [r.type for r in notices] == ["ops.job_parked"]
