"""arq workers: a typed job context, retries for transient errors, dead letters for the rest.

arq retries only when a job raises `Retry`; anything else fails the job for good. The `job`
wrapper turns transient errors (database or Redis away, a peer service down, an event that
arrived before the one it depends on) into `Retry` with jittered exponential backoff, and parks
a job that keeps failing, or fails for any other reason, in the service's dead-letter table.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypedDict, cast

import httpx
import redis.exceptions
import structlog
from arq import Retry
from arq.connections import ArqRedis
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, Worker, func
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import get_engine, get_sessionmaker, session_scope
from services.common.errors import is_unavailable
from services.common.messaging import MessagingTables, claim, park
from services.common.queue import FIRST_LANE, queue_name, redis_settings
from services.common.reference import store as reference_store
from services.common.relay import run_relay
from services.common.settings import Settings, get_settings
from services.contracts.events import Event, Service

log = structlog.get_logger(__name__)


class NotYet(Exception):
    """The event depends on another one that has not been applied yet: try again shortly."""


class JobContext(TypedDict, total=False):
    """What arq and our startup hook put in every job's context."""

    redis: ArqRedis
    job_id: str
    job_try: int
    enqueue_time: Any
    score: int
    db: async_sessionmaker[AsyncSession]
    tables: MessagingTables
    service: Service
    settings: Settings
    extra: dict[str, Any]


TRANSIENT: tuple[type[BaseException], ...] = (
    NotYet,
    OSError,
    asyncio.TimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    # A connection lost in the middle of the job's transaction (a restart, a stop) leaves the
    # session "invalid" until rolled back; the next try has a session of its own.
    sa_exc.PendingRollbackError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    httpx.TransportError,
)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    # A database that is away or full (asyncpg's "connection was closed", "too many clients")
    # arrives wrapped in a DBAPIError: the same test the HTTP side uses for its 503.
    return is_unavailable(exc)


def backoff_seconds(job_try: int, base: float = 0.5, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter around the middle, so retries do not stampede."""
    raw = min(cap, base * float(2 ** max(0, job_try - 1)))
    return raw * random.uniform(0.5, 1.5)


JobFn = Callable[..., Awaitable[Any]]

# arq's own job timeout fails a job for good: no retry, no dead letter, the event silently gone.
# Our wrapper enforces `job_timeout_s` itself (a timeout is transient, so retried, then parked);
# arq's is set this much later, only as a backstop, and it also delays the re-run of a job whose
# worker died (arq re-runs it when its in-progress key expires), so it stays short.
ARQ_TIMEOUT_GRACE_S = 5


def job(name: str, fn: JobFn, *, max_tries: int | None = None) -> Function:
    """Wrap a job function with our retry and dead-letter policy; register it as `name`."""

    async def wrapper(ctx: JobContext, *args: Any, **kwargs: Any) -> Any:
        settings = ctx["settings"]
        limit = max_tries or settings.job_max_tries
        tries = ctx.get("job_try", 1)
        structlog.contextvars.bind_contextvars(job=name, job_id=ctx.get("job_id"), job_try=tries)
        try:
            async with asyncio.timeout(settings.job_timeout_s):
                return await fn(ctx, *args, **kwargs)
        except Exception as exc:
            if _is_transient(exc) and tries < limit:
                delay = backoff_seconds(tries)
                log.info("job_retry", error=repr(exc), defer_s=round(delay, 2))
                raise Retry(defer=delay) from exc
            log.error("job_dead_lettered", error=repr(exc))
            await _park_safely(ctx, name, args, kwargs, exc, tries)
            return None
        finally:
            structlog.contextvars.unbind_contextvars("job", "job_id", "job_try")

    # arq must never give up before our wrapper has parked the job.
    return func(
        cast("WorkerCoroutine", wrapper), name=name, max_tries=(max_tries or get_settings().job_max_tries) + 1
    )


async def _park_safely(
    ctx: JobContext, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], exc: BaseException, tries: int
) -> None:
    try:
        async with session_scope(ctx["db"]) as session:
            await park(
                session,
                ctx["tables"],
                job_name=name,
                job_id=ctx.get("job_id"),
                args={"args": list(args), "kwargs": dict(kwargs)},
                error=repr(exc),
                tries=tries,
            )
    except Exception as park_exc:
        log.critical("dead_letter_failed", error=repr(park_exc), original=repr(exc))
        # Let arq keep the job (it retries on Retry) rather than lose it without a trace.
        raise Retry(defer=backoff_seconds(tries)) from park_exc


EventHandler = Callable[[AsyncSession, Event, JobContext], Awaitable[None]]


async def _fault_pause() -> None:
    # Fault injection for the crash tests: hold the transaction open after the effect is
    # written and before it commits, so a test can kill -9 the worker in that window.
    delay = os.environ.get("GUANJIA_FAULT_PAUSE_BEFORE_COMMIT")
    if delay and get_settings().env != "production":
        await asyncio.sleep(float(delay))


def event_consumer(service: Service, handlers: Mapping[str, EventHandler]) -> Function:
    """The job `<service>.handle_event`: inbox claim + effect in one transaction."""

    async def handle_event(ctx: JobContext, payload: dict[str, Any]) -> str:
        event = Event.model_validate(payload)
        handler = handlers.get(event.type)
        if handler is None:
            return "ignored"
        structlog.contextvars.bind_contextvars(
            event_id=str(event.id), event_type=event.type, appeal_id=str(event.appeal_id or "")
        )
        try:
            async with session_scope(ctx["db"]) as session:
                if not await claim(session, ctx["tables"], event, service):
                    return "duplicate"
                await handler(session, event, ctx)
                await _fault_pause()
            return "handled"
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "event_type", "appeal_id")

    return job(f"{service}.handle_event", handle_event)


def periodic(
    name: str,
    run: Callable[[JobContext], Awaitable[object]],
    *,
    second: int | set[int] = 0,
    minute: set[int] | None = None,
    run_at_startup: bool = False,
    timeout: float | None = None,
) -> CronJob:
    """A cron job, declared one way in every service: ``<service>.<what>.cron`` runs ``run`` at
    the given seconds (and minutes) of every minute (hour).

    ``unique`` lets one replica of a worker take each slot. A failure is only logged: the next slot
    tries again, and retrying or parking a periodic run would only pile runs up.
    """

    async def scheduled(ctx: dict[Any, Any]) -> None:
        try:
            await run(cast(JobContext, ctx))
        except Exception as exc:  # the next slot runs anyway
            log.warning("periodic_job_failed", job=name, error=repr(exc))

    return cron(
        scheduled,
        name=name,
        second=second,
        minute=minute,
        run_at_startup=run_at_startup,
        unique=True,
        timeout=timeout,
    )


def build_worker(
    service: Service,
    tables: MessagingTables,
    functions: Sequence[Function],
    cron_jobs: Sequence[CronJob] = (),
    *,
    burst: bool = False,
    max_jobs: int = 10,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    lane: str | None = None,
) -> Worker:
    """A worker for one service's queue (or one of its lanes'), which also runs that service's
    outbox relay (several relays of one service share its outbox: each row is taken once)."""
    settings = get_settings()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(db=get_sessionmaker(), tables=tables, service=service, settings=settings, extra={})
        if on_startup is not None:
            await on_startup()
        tasks.append(asyncio.create_task(run_relay(ctx["db"], tables, ctx["redis"], service, settings, stop)))
        # The villages the city imported, in this worker too (and kept fresh).
        tasks.append(asyncio.create_task(reference_store.keep_fresh(stop)))
        log.info("worker_started", service=service, queue=queue_name(service, settings, lane))

    async def shutdown(ctx: dict[str, Any]) -> None:
        stop.set()
        for task in tasks:
            await task
        await get_engine().dispose()

    return Worker(
        functions=list(functions),
        cron_jobs=list(cron_jobs),
        queue_name=queue_name(service, settings, lane),
        redis_settings=redis_settings(settings),
        on_startup=startup,
        on_shutdown=shutdown,
        job_timeout=settings.job_timeout_s + ARQ_TIMEOUT_GRACE_S,
        max_tries=settings.job_max_tries + 1,
        max_jobs=max_jobs,
        # Read no more of the queue than can start: what was read waits in the worker in that
        # order, so a job the consumer takes first (relay.AHEAD) enqueued meanwhile would wait
        # behind a hundred others instead of starting at the next free slot.
        queue_read_limit=max_jobs,
        keep_result=3600,
        # Two hops (intake -> routing -> intake) lie between a call and its triage: poll often.
        poll_delay=settings.worker_poll_s,
        burst=burst,
        handle_signals=not burst,
        health_check_key=f"{queue_name(service, settings, lane)}:health",
    )


def first_lane_worker(
    service: Service,
    tables: MessagingTables,
    handlers: Mapping[str, EventHandler],
    *,
    on_startup: Callable[[], Awaitable[None]] | None = None,
) -> Worker:
    """The worker of a service's first lane (`guanjia worker SERVICE --lane first`): only the
    events the service takes first (`TAKEN_FIRST`), run at `GUANJIA_CRITICAL_NICE`, so its other
    work, however much of it waits, delays none of them. `on_startup` warms what its first job
    would otherwise load inside its time limit."""
    return build_worker(
        service, tables, [event_consumer(service, handlers)], lane=FIRST_LANE, on_startup=on_startup
    )
