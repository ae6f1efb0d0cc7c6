"""Rate limits on the public and login endpoints (fixed windows counted in Redis).

A limit is `count/seconds`, configurable per class. When Redis is unreachable the limiter lets
requests through: refusing residents because a counter store is down would be worse than a
burst, and the login lock-out in the database still holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import structlog
from fastapi import Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.settings import get_settings
from services.gateway.errors import TooManyRequests

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Limit:
    """`count` requests per `seconds`."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """'300/60' -> 300 requests per 60 seconds."""
        count, _, seconds = text.partition("/")
        limit = cls(int(count), int(seconds or 60))
        if limit.count < 1 or limit.seconds < 1:
            raise ValueError(f"bad rate limit {text!r}")
        return limit


def window_key(scope: str, subject: str, limit: Limit, now: float) -> tuple[str, int]:
    """The counter key of the current window and the seconds until it ends."""
    window = int(now // limit.seconds)
    reset_in = limit.seconds - int(now % limit.seconds)
    return f"{get_settings().queue_prefix}:rl:{scope}:{subject}:{window}", max(1, reset_in)


@lru_cache(maxsize=1)
def _redis() -> Redis:
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    client: Redis = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return client


async def hit(scope: str, subject: str, limit: Limit) -> None:
    """Count one request; raise 429 past the limit."""
    key, reset_in = window_key(scope, subject, limit, time.time())
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, limit.seconds + 1)
        count, _ = await pipe.execute()
    except RedisError as exc:
        log.warning("rate_limit_unavailable", scope=scope, error=repr(exc))
        return
    if int(count) > limit.count:
        raise TooManyRequests(retry_after=reset_in)


@dataclass(frozen=True, slots=True)
class GuessWindow:
    """The wrong-code counter of a ticket in the current window."""

    key: str
    reset_in: int
    limit: Limit

    def refuse_past(self, wrong: bytes | str | int | None) -> None:
        """429 when `wrong` (the counter's value) has reached the limit."""
        if wrong is not None and int(wrong) >= self.limit.count:
            raise TooManyRequests(retry_after=self.reset_in)


def guess_window(ticket_no: str) -> GuessWindow:
    """Where a ticket's wrong codes are counted now (read beside other keys in one round trip)."""
    limit = Limit.parse(get_settings().rate_wrong_code)
    key, reset_in = window_key("code", ticket_no, limit, time.time())
    return GuessWindow(key, reset_in, limit)


async def refuse_if_guessed(ticket_no: str) -> None:
    """Refuse (429) any code for a ticket that has had too many wrong ones in this window, from
    whatever addresses: per-address limits alone let many hosts share the guessing of one code."""
    window = guess_window(ticket_no)
    try:
        wrong = await _redis().get(window.key)
    except RedisError as exc:
        log.warning("rate_limit_unavailable", scope="code", error=repr(exc))
        return
    window.refuse_past(wrong)


async def count_wrong_code(ticket_no: str) -> None:
    """Count one wrong code (or unknown ticket) against the ticket."""
    limit = Limit.parse(get_settings().rate_wrong_code)
    key, _ = window_key("code", ticket_no, limit, time.time())
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, limit.seconds + 1)
        await pipe.execute()
    except RedisError as exc:
        log.warning("rate_limit_unavailable", scope="code", error=repr(exc))


def client_ip(request: Request) -> str:
    """The caller's address: the TCP peer, unless a proxy in front is trusted (GUANJIA_TRUST_PROXY;
    then uvicorn, run with proxy headers on, and this read X-Forwarded-For). Without that setting
    uvicorn runs with proxy headers off (`services.cli.uvicorn_options`), so a forged header cannot
    pick the address a limit counts."""
    if get_settings().trust_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


async def limit_public(request: Request) -> None:
    """Dependency: the public endpoints, per client address."""
    await hit("public", client_ip(request), Limit.parse(get_settings().rate_public))


async def limit_login(request: Request) -> None:
    """Dependency: login attempts, per client address."""
    await hit("login", client_ip(request), Limit.parse(get_settings().rate_login))
