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
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.messaging import MessagingTables, utcnow
from services.common.queue import FIRST_LANE, queue_name
from services.common.settings import Settings
from services.contracts.events import Service, consumers_of, taken_first

log = structlog.get_logger(__name__)

# A job not started within this time is still wanted: appeals may wait out a long Redis outage.
JOB_EXPIRY = timedelta(days=30)
# How far ahead of the queue a job the consumer takes first is placed, when the consumer runs no
# first lane (`Settings.first_lane`). arq runs a queue in the order of its scores (the enqueue
# time); such a job is scored as if enqueued this long ago, so it passes any backlog younger than
# that while keeping the order of its own kind.
AHEAD = timedelta(hours=1)
REDELIVERY_BATCH = 500
# (event id, type, payload) of an event to hand on.
Outgoing = tuple[str, str, Any]


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
        await _enqueue(redis, producer, settings, [(str(r.event_id), r.type, r.payload) for r in rows])
        await session.execute(
            update(outbox)
            .where(outbox.c.seq.in_([r.seq for r in rows]))
            .values(published_at=utcnow(), attempts=outbox.c.attempts + 1)
        )
    return len(rows)


def epoch_key(producer: str, settings: Settings) -> str:
    """The key whose absence tells the relay that Redis lost its data."""
    return f"{settings.queue_prefix}:relay-epoch:{producer}"


# arq's own enqueue, for a batch in one round trip: a job is added unless its key or its result
# is still there (as `ArqRedis.enqueue_job` decides, atomically here instead of under WATCH).
# arq's takes three round trips a job; a relay moving a burst's events to four consumers spent
# its time on them, inside a worker whose jobs share its event loop.
_ENQUEUE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], KEYS[4])
return 1
"""


async def _enqueue(
    redis: ArqRedis, producer: Service, settings: Settings, events: Sequence[Outgoing]
) -> None:
    """Hand each event to each of its consumers' queues (one arq job per event and consumer), in
    the outbox's order: arq runs a queue by score, and events of one batch would otherwise tie (an
    appeal's `appeal.assigned` taken before its `appeal.triaged`, only to wait and be retried)."""
    script = redis.register_script(_ENQUEUE_LUA)
    jobs = [
        (event_id, type_, payload, c)
        for event_id, type_, payload in events
        for c in consumers_of(type_, producer)
    ]
    # One millisecond apart, the last one now: none of them waits for a score still to come.
    first = timestamp_ms() - len(jobs)
    expires = int(JOB_EXPIRY.total_seconds() * 1000)
    ahead = int(AHEAD.total_seconds() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        for i, (event_id, type_, payload, consumer) in enumerate(jobs):
            job_id = event_job_id(event_id, consumer)
            urgent = taken_first(type_, consumer)
            lane = FIRST_LANE if urgent and settings.first_lane else None
            score = first + i - (ahead if urgent and lane is None else 0)
            job = serialize_job(f"{consumer}.handle_event", (payload,), {}, None, first + i)
            queue = queue_name(consumer, settings, lane)
            keys = [job_key_prefix + job_id, result_key_prefix + job_id, queue, job_id]
            await script(keys=keys, args=[expires, job, score], client=pipe)
        await pipe.execute()


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
        batch: list[Outgoing] = []
        async for row in rows:
            batch.append((str(row.event_id), row.type, row.payload))
            if len(batch) == REDELIVERY_BATCH:
                await _enqueue(redis, producer, settings, batch)
                sent, batch = sent + len(batch), []
        if batch:
            await _enqueue(redis, producer, settings, batch)
            sent += len(batch)
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
