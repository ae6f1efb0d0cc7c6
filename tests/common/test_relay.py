"""The outbox relay: publish once, and re-deliver when Redis comes back without its data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy import select

from intake.models import messaging
from services.common.db import get_sessionmaker, session_scope
from services.common.messaging import emit
from services.common.queue import connect, queue_name
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
