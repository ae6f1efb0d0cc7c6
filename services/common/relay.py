"""The outbox relay: moves committed events from a service's outbox to its consumers' queues.

The event id (plus the consumer) is the arq job id, so re-sending after a crash between the
enqueue and the commit is a no-op in arq, and the consumer's inbox ignores it anyway.

A Redis that comes back empty (restarted without persistence, or replaced) would silently drop
jobs the relay had already marked published. The relay keeps an epoch key in Redis; when the key
is gone, Redis lost its data, and the relay re-delivers every event published within the
redelivery window. Consumers' inboxes turn the duplicates into no-ops.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.messaging import MessagingTables, utcnow
from services.common.queue import queue_name
from services.common.settings import Settings
from services.contracts.events import Service, consumers_of

log = structlog.get_logger(__name__)

# A job not started within this time is still wanted: appeals may wait out a long Redis outage.
JOB_EXPIRY = timedelta(days=30)


def event_job_id(event_id: str, consumer: str) -> str:
    """Stable per event and consumer, so a duplicate enqueue is ignored by arq."""
    return f"evt:{event_id}:{consumer}"


async def relay_once(
    maker: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
    redis: ArqRedis,
    producer: Service,
    settings: Settings,
    batch: int = 200,
) -> int:
    """Publish one batch of unpublished events; returns how many."""
    outbox = tables.outbox
    async with maker() as session, session.begin():
        rows = (
            await session.execute(
                select(outbox.c.seq, outbox.c.event_id, outbox.c.type, outbox.c.payload)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        for row in rows:
            await _enqueue(redis, producer, settings, str(row.event_id), row.type, row.payload)
        await session.execute(
            update(outbox)
            .where(outbox.c.seq.in_([r.seq for r in rows]))
            .values(published_at=utcnow(), attempts=outbox.c.attempts + 1)
        )
    return len(rows)


def epoch_key(producer: str, settings: Settings) -> str:
    """The key whose absence tells the relay that Redis lost its data."""
    return f"{settings.queue_prefix}:relay-epoch:{producer}"


async def _enqueue(
    redis: ArqRedis, producer: Service, settings: Settings, event_id: str, type_: str, payload: object
) -> None:
    for consumer in consumers_of(type_, producer):
        await redis.enqueue_job(
            f"{consumer}.handle_event",
            payload,
            _job_id=event_job_id(event_id, consumer),
            _queue_name=queue_name(consumer, settings),
            _expires=JOB_EXPIRY,
        )


async def redeliver_if_redis_lost(
    maker: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
    redis: ArqRedis,
    producer: Service,
    settings: Settings,
) -> int:
    """Re-send recently published events when Redis has lost its data; returns how many."""
    key = epoch_key(producer, settings)
    if await redis.exists(key):
        return 0
    since = utcnow() - timedelta(seconds=settings.redelivery_window_s)
    outbox = tables.outbox
    sent = 0
    async with maker() as session:
        rows = await session.stream(
            select(outbox.c.event_id, outbox.c.type, outbox.c.payload)
            .where(outbox.c.published_at.is_not(None), outbox.c.published_at >= since)
            .order_by(outbox.c.seq)
        )
        async for row in rows:
            await _enqueue(redis, producer, settings, str(row.event_id), row.type, row.payload)
            sent += 1
    # Set only after re-sending: a crash midway re-sends again next time, never skips.
    await redis.set(key, utcnow().isoformat())
    if sent:
        log.warning("relay_redelivered_after_redis_loss", producer=producer, events=sent)
    return sent


async def run_relay(
    maker: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
    redis: ArqRedis,
    producer: Service,
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    """Relay until stopped; a DB or Redis outage only delays it."""
    backoff = settings.relay_interval_s
    next_epoch_check = 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            if loop.time() >= next_epoch_check:
                await redeliver_if_redis_lost(maker, tables, redis, producer, settings)
                next_epoch_check = loop.time() + settings.epoch_check_interval_s
            sent = await relay_once(maker, tables, redis, producer, settings)
            backoff = settings.relay_interval_s
            if sent:
                continue  # drain a backlog without sleeping
        except Exception as exc:
            log.warning("relay_failed", producer=producer, error=repr(exc))
            backoff = min(backoff * 2, 5.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=backoff)
