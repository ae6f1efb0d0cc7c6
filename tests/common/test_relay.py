"""The outbox relay: publish once, and re-deliver when Redis comes back without its data."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy import select

from intake.models import messaging
from services.common.db import get_sessionmaker, session_scope
from services.common.messaging import emit
from services.common.queue import FIRST_LANE, connect, queue_name
from services.common.relay import epoch_key, event_job_id, redeliver_if_redis_lost, relay_once
from services.common.settings import get_settings
from services.contracts.events import AppealReceived, make_event

CONSUMERS = ("routing", "deadlines")


def _event() -> tuple[uuid.UUID, object]:
    appeal_id = uuid.uuid4()
    event = make_event(
        "appeal.received",
        "intake",
        AppealReceived(
            ticket_no="MS20261127999999",
            channel="web_portal",
            received_at=datetime.now(UTC),
            description="测试事件：中继重投",
        ),
        appeal_id=appeal_id,
    )
    return appeal_id, event


async def _status(redis: ArqRedis, consumer: str, job_id: str) -> JobStatus:
    return await Job(job_id, redis, _queue_name=queue_name(consumer)).status()


async def test_relay_publishes_once_and_redelivers_after_redis_loss() -> None:
    settings = get_settings()
    redis = await connect()
    maker = get_sessionmaker()
    appeal_id, event = _event()
    async with session_scope() as session:
        await emit(session, messaging, event)  # type: ignore[arg-type]
    event_id = str(event.id)  # type: ignore[attr-defined]
    job_ids = [event_job_id(event_id, c) for c in CONSUMERS]
    try:
        # Drain everything unpublished (other tests' rows too), then ours is published.
        while await relay_once(maker, messaging, redis, "intake", settings):
            pass
        async with session_scope() as session:
            published = await session.scalar(
                select(messaging.outbox.c.published_at).where(messaging.outbox.c.event_id == event.id)  # type: ignore[attr-defined]
            )
        assert published is not None
        for consumer, job_id in zip(CONSUMERS, job_ids, strict=True):
            assert await _status(redis, consumer, job_id) == JobStatus.queued
        # Publishing again does nothing: the row is no longer unpublished.
        assert await relay_once(maker, messaging, redis, "intake", settings) == 0

        # Redis still has its data: nothing to re-deliver.
        await redis.set(epoch_key("intake", settings), "now")
        assert await redeliver_if_redis_lost(maker, messaging, redis, "intake", settings) == 0

        # Redis loses its data: the jobs and the epoch key vanish.
        for consumer, job_id in zip(CONSUMERS, job_ids, strict=True):
            await redis.delete(f"arq:job:{job_id}")
            await redis.zrem(queue_name(consumer, settings), job_id)
            assert await _status(redis, consumer, job_id) == JobStatus.not_found
        await redis.delete(epoch_key("intake", settings))

        assert await redeliver_if_redis_lost(maker, messaging, redis, "intake", settings) >= 1
        for consumer, job_id in zip(CONSUMERS, job_ids, strict=True):
            assert await _status(redis, consumer, job_id) == JobStatus.queued
        # Once re-delivered, the epoch is back: no second burst.
        assert await redeliver_if_redis_lost(maker, messaging, redis, "intake", settings) == 0
    finally:
        for consumer, job_id in zip(CONSUMERS, job_ids, strict=True):
            await redis.delete(f"arq:job:{job_id}")
            await redis.zrem(queue_name(consumer, settings), job_id)
        await redis.aclose()
    assert appeal_id


async def test_routing_takes_an_arrival_ahead_of_its_queue_and_a_done_job_is_not_sent_again() -> None:
    """Triage (routing's `appeal.received`) is scored ahead of any younger backlog; intake's own
    `appeal.received` (the duplicate analysis) waits its turn; the relay re-sends no job whose
    result arq still holds (a job already run), as arq's own enqueue would not."""
    settings = get_settings()
    redis = await connect()
    maker = get_sessionmaker()
    _, event = _event()
    event_id = str(event.id)  # type: ignore[attr-defined]
    routing_job, intake_job = event_job_id(event_id, "routing"), event_job_id(event_id, "intake")
    backlog = f"backlog-{uuid.uuid4()}"
    try:
        # Work already waiting in routing's queue, enqueued just now.
        queued = await redis.enqueue_job(
            "routing.handle_event", {}, _job_id=backlog, _queue_name=queue_name("routing", settings)
        )
        assert queued is not None
        async with session_scope() as session:
            await emit(session, messaging, event)  # type: ignore[arg-type]
        while await relay_once(maker, messaging, redis, "intake", settings):
            pass
        routing_queue = queue_name("routing", settings)
        assert await Job(routing_job, redis, _queue_name=routing_queue).info() is not None
        ours = await redis.zscore(routing_queue, routing_job)
        theirs = await redis.zscore(routing_queue, backlog)
        assert ours is not None and theirs is not None and ours < theirs
        own = await redis.zscore(queue_name("intake", settings), intake_job)
        assert own is not None and own > ours + 30 * 60 * 1000  # intake's analysis is not ahead

        # The job ran (arq removed it and kept its result); a re-delivery must not queue it again.
        await redis.zrem(routing_queue, routing_job)
        await redis.delete(f"arq:job:{routing_job}")
        await redis.set(f"arq:result:{routing_job}", b"done")
        await redis.delete(epoch_key("intake", settings))
        assert await redeliver_if_redis_lost(maker, messaging, redis, "intake", settings) >= 1
        assert await redis.zscore(routing_queue, routing_job) is None
        assert await redis.zscore(queue_name("intake", settings), intake_job) is not None
    finally:
        for consumer in ("routing", "intake", "deadlines", "gateway"):
            job_id = event_job_id(event_id, consumer)
            await redis.delete(f"arq:job:{job_id}", f"arq:result:{job_id}")
            await redis.zrem(queue_name(consumer, settings), job_id)
        await redis.zrem(queue_name("routing", settings), backlog)
        await redis.delete(f"arq:job:{backlog}")
        await redis.aclose()


async def test_with_first_lanes_triage_goes_to_routings_lane_and_the_analysis_to_intakes_queue() -> None:
    """Where the services run first lanes (`guanjia up`, compose), the events taken first are
    queued for those lanes' workers, at their own time; the rest stays in the service's queue."""
    settings = get_settings().model_copy(update={"first_lane": True})
    redis = await connect()
    maker = get_sessionmaker()
    _, event = _event()
    event_id = str(event.id)  # type: ignore[attr-defined]
    routing_job, intake_job = event_job_id(event_id, "routing"), event_job_id(event_id, "intake")
    lane = queue_name("routing", settings, FIRST_LANE)
    try:
        async with session_scope() as session:
            await emit(session, messaging, event)  # type: ignore[arg-type]
        while await relay_once(maker, messaging, redis, "intake", settings):
            pass
        ours = await redis.zscore(lane, routing_job)
        assert ours is not None and abs(ours - time.time() * 1000) < 60_000
        assert await redis.zscore(queue_name("routing", settings), routing_job) is None
        assert await redis.zscore(queue_name("intake", settings), intake_job) is not None
        assert await redis.zscore(queue_name("intake", settings, FIRST_LANE), intake_job) is None
    finally:
        for consumer in ("routing", "intake", "deadlines", "gateway"):
            job_id = event_job_id(event_id, consumer)
            await redis.delete(f"arq:job:{job_id}")
            for queue in (queue_name(consumer, settings), queue_name(consumer, settings, FIRST_LANE)):
                await redis.zrem(queue, job_id)
        await redis.aclose()
