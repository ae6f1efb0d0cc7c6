"""Async SQLAlchemy 2: one engine per process, one Postgres schema per service.

Services and repositories only `flush()`; the request dependency or the job's session scope
commits on success and rolls back on error, so a failure never leaves anything half-written.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from services.common.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """The MetaData of one service: its own schema, our naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz that refuses naive datetimes, so no local time slips in unnoticed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a timestamptz column")
        return value


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Ping a pooled connection at checkout only when it has been idle `idle_s` or longer.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip before each unit of work
    (two of a channel call's four in the gateway). A connection handed back moments ago is
    alive; one idle across a PostgreSQL restart is not, and is replaced here before use. A
    connection that dies while in steady use fails its unit of work instead (rolled back, a
    `503`: nothing recorded), and SQLAlchemy then invalidates the pool's older connections."""
    sync = engine.sync_engine

    def mark_idle(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            sync.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards the connection and checks out another (up to three times).
            raise sa_exc.DisconnectionError() from exc

    event.listen(sync, "connect", mark_idle)  # a new connection is as good as one just used
    event.listen(sync, "checkin", mark_idle)
    event.listen(sync, "checkout", on_checkout)


@lru_cache(maxsize=1)
def get_engine() -> AsyncEngine:
    """The process-wide engine; a connection idle a while is pinged before use, so services ride
    out a PostgreSQL restart (`ping_when_idle`)."""
    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (the embedded launcher sets it for its children)")
    # Bounded waits (pool checkout, row locks, statements): each ends in an error that rolls the
    # transaction back and answers `503`, so a `503` always means "not recorded" (issue 14.7).
    server_settings = {
        "lock_timeout": str(int(settings.db_lock_timeout_s * 1000)),
        "statement_timeout": str(int(settings.db_statement_timeout_s * 1000)),
        "application_name": settings.process_name,
    }
    engine = create_async_engine(
        async_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings},
    )
    ping_when_idle(engine, settings.db_ping_idle_s)
    return engine


@lru_cache(maxsize=1)
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(get_engine(), expire_on_commit=False)


@asynccontextmanager
async def session_scope(
    maker: async_sessionmaker[AsyncSession] | None = None,
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    factory = maker or get_sessionmaker()
    async with factory() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit() -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit: each statement is its own transaction. For a write that
    is one statement (atomic by itself) on the path a caller waits on: one round trip, where a
    unit of work adds a BEGIN and a COMMIT around it (and its session's hooks before COMMIT)."""
    async with get_engine().connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def get_db() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's unit of work."""
    async with session_scope() as session:
        yield session


# scope="function": commit before the response is sent, so a failed COMMIT is never a 201.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]
