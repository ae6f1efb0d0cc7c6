"""The outbox relay: moves committed events from a service's outbox to its consumers' queues.

The event id (plus the consumer) is the arq job id, so re-sending after a crash between the
enqueue and the commit is a no-op in arq, and the consumer's inbox ignores it anyway.
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
            for consumer in consumers_of(row.type, producer):
                await redis.enqueue_job(
                    f"{consumer}.handle_event",
                    row.payload,
                    _job_id=event_job_id(str(row.event_id), consumer),
                    _queue_name=queue_name(consumer, settings),
                    _expires=JOB_EXPIRY,
                )
        await session.execute(
            update(outbox)
            .where(outbox.c.seq.in_([r.seq for r in rows]))
            .values(published_at=utcnow(), attempts=outbox.c.attempts + 1)
        )
    return len(rows)


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
    while not stop.is_set():
        try:
            sent = await relay_once(maker, tables, redis, producer, settings)
            backoff = settings.relay_interval_s
            if sent:
                continue  # drain a backlog without sleeping
        except Exception as exc:
            log.warning("relay_failed", producer=producer, error=repr(exc))
            backoff = min(backoff * 2, 5.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=backoff)
