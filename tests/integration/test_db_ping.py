"""A pooled connection is pinged at checkout only after it has been idle a while
(`services.common.db.ping_when_idle`): none for a connection handed back moments ago, and one
that died while idle is replaced before the unit of work uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.db import async_url, ping_when_idle
from tests.conftest import PG_ADMIN_URL


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    made = create_async_engine(async_url(PG_ADMIN_URL), pool_size=1, max_overflow=0)
    yield made
    await made.dispose()


async def _pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_used_moments_ago_is_not_pinged(engine: AsyncEngine) -> None:
    ping_when_idle(engine, idle_s=60.0)
    pings: list[DBAPIConnection] = []
    original = engine.sync_engine.dialect.do_ping

    def counting(conn: DBAPIConnection) -> bool:
        pings.append(conn)
        return original(conn)

    engine.sync_engine.dialect.do_ping = counting  # type: ignore[method-assign,assignment]
    first = await _pid(engine)
    assert await _pid(engine) == first  # the same pooled connection
    assert pings == []


async def test_a_connection_that_died_while_idle_is_replaced_before_use(engine: AsyncEngine) -> None:
    ping_when_idle(engine, idle_s=0.0)
    first = await _pid(engine)
    # The server ends the pooled connection while it sits in the pool (as a restart would).
    admin = create_async_engine(async_url(PG_ADMIN_URL))
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    finally:
        await admin.dispose()
    # The unit of work gets a live connection: no error reaches it.
    second = await _pid(engine)
    assert second != first
