"""arq queues: one per service, named `<prefix>:<service>`; jobs named `<service>.<verb>`."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool

from services.common.settings import Settings, get_settings


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    """arq's connection settings from REDIS_URL (redis:// or unix://)."""
    s = settings or get_settings()
    if not s.redis_url:
        raise RuntimeError("REDIS_URL is not set (the embedded launcher sets it for its children)")
    rs = RedisSettings.from_dsn(s.redis_url)
    # Ride out a Redis restart instead of failing the first command after it.
    rs.conn_retries = 10
    rs.conn_retry_delay = 1
    return rs


# The lane of the events a consumer takes first (`TAKEN_FIRST`), where its first-lane worker runs.
FIRST_LANE = "first"


def queue_name(service: str, settings: Settings | None = None, lane: str | None = None) -> str:
    """The arq queue a service's worker reads (`<prefix>:<service>`), or one of its lanes'."""
    base = f"{(settings or get_settings()).queue_prefix}:{service}"
    return f"{base}:{lane}" if lane else base


async def connect(settings: Settings | None = None) -> ArqRedis:
    """A pool for enqueueing."""
    return await create_pool(redis_settings(settings))
