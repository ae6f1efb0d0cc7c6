"""Transactional outbox, idempotent inbox and dead letters: nothing lost, nothing twice.

Each service has the three tables in its own schema. A state change and the events it causes
commit in one transaction (`emit`); the relay (`services.common.relay`) moves outbox rows to the
consumers' arq queues; every consumer records the event id it handled (`claim`) in the same
transaction as its effect, so a replay is ignored and a crash leaves no trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import clock
from services.common.db import UTCDateTime
from services.common.personal import mask_numbers, mask_numbers_in
from services.contracts.events import Event, JobParked, Service, make_event


@dataclass(frozen=True)
class MessagingTables:
    """The outbox, inbox and dead-letter tables of one service."""

    schema: str
    outbox: Table
    inbox: Table
    dead_letters: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Declare the three tables in a service's metadata (and so in its migrations)."""
    schema = metadata.schema or "public"
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(), primary_key=True),
        Column("event_id", PG_UUID(as_uuid=True), nullable=False, unique=True),
        Column("type", String(64), nullable=False),
        Column("appeal_id", PG_UUID(as_uuid=True), nullable=True),
        Column("payload", JSONB, nullable=False),
        Column("created_at", UTCDateTime, nullable=False, server_default=func.now()),
        Column("published_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        # The relay reads only what is unpublished, however long the table grows.
        Index(f"ix_{schema}_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
        Column("consumer", String(64), primary_key=True),
        Column("type", String(64), nullable=False),
        Column("handled_at", UTCDateTime, nullable=False, server_default=func.now()),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("job_name", String(128), nullable=False),
        Column("job_id", String(200), nullable=True),
        Column("args", JSONB, nullable=False),
        Column("error", Text, nullable=False),
        Column("tries", Integer, nullable=False),
        Column("failed_at", UTCDateTime, nullable=False, server_default=func.now()),
        Column("resolved_at", UTCDateTime, nullable=True),
        # Whether the job can be run again as it was: false when masking the personal numbers in
        # its arguments changed them (a replay would act on the masked copy).
        Column("replayable", Boolean, nullable=False, server_default=text("false")),
        # How a person resolved it (``replayed`` or ``dismissed``), who, and why.
        Column("resolution", String(16), nullable=True),
        Column("resolved_by", String(100), nullable=True),
        Column("note", Text, nullable=True),
    )
    return MessagingTables(schema=schema, outbox=outbox, inbox=inbox, dead_letters=dead_letters)


async def emit(session: AsyncSession, tables: MessagingTables, *events: Event) -> None:
    """Write events to the outbox inside the caller's transaction."""
    if not events:
        return
    await session.execute(
        insert(tables.outbox),
        [
            {
                "event_id": ev.id,
                "type": ev.type,
                "appeal_id": ev.appeal_id,
                "payload": ev.model_dump(mode="json"),
            }
            for ev in events
        ],
    )


async def claim(session: AsyncSession, tables: MessagingTables, event: Event, consumer: str) -> bool:
    """Record that `consumer` handles `event`; False when it already did (a replay)."""
    result = await session.execute(
        pg_insert(tables.inbox)
        .values(event_id=event.id, consumer=consumer, type=event.type)
        .on_conflict_do_nothing()
        .returning(tables.inbox.c.event_id)
    )
    return result.first() is not None


async def park(
    session: AsyncSession,
    tables: MessagingTables,
    *,
    job_name: str,
    job_id: str | None,
    args: dict[str, Any],
    error: str,
    tries: int,
) -> None:
    """Keep a job that will not succeed by retrying, for a person to look at. Phone and ID numbers
    in its arguments and error (a database error quotes its parameters) are masked (DESIGN §7).

    In the same transaction, ``ops.job_parked`` tells the city's administrators (the gateway's
    notifications), naming the appeal of the event the job carried: nobody has to find it in a
    table. A job that carried that very event is parked silently, so a failing notifier cannot
    feed itself."""
    masked = mask_numbers_in(args)
    letter_id = (
        await session.execute(
            insert(tables.dead_letters)
            .values(
                job_name=job_name,
                job_id=job_id,
                args=masked,
                error=mask_numbers(error)[:4000],
                tries=tries,
                replayable=masked == args,
            )
            .returning(tables.dead_letters.c.id)
        )
    ).scalar_one()
    event_type, appeal_id = carried_event(job_name, args)
    if event_type == "ops.job_parked":
        return
    parked = JobParked(
        service=cast("Service", tables.schema),
        letter_id=letter_id,
        job_name=job_name,
        event_type=event_type,
    )
    await emit(
        session,
        tables,
        make_event("ops.job_parked", parked.service, parked, appeal_id=appeal_id),
    )


def carried_event(job_name: str, args: Any) -> tuple[str | None, UUID | None]:
    """The type and appeal of the event an event consumer's job (``<service>.handle_event``) was
    given: (None, None) for any other job. A payload parked for being malformed may hold anything,
    so what is not a string or an id reads as absent."""
    if not job_name.endswith(".handle_event") or not isinstance(args, dict):
        return None, None
    positional = args.get("args")
    if not (isinstance(positional, list) and positional and isinstance(positional[0], dict)):
        return None, None
    payload = positional[0]
    given_type = payload.get("type")
    event_type = given_type if isinstance(given_type, str) and given_type else None
    try:
        appeal_id = UUID(str(payload["appeal_id"])) if payload.get("appeal_id") else None
    except ValueError:
        appeal_id = None
    return event_type, appeal_id


def utcnow() -> datetime:
    """Aware UTC now; the only clock the services read (a test may move it: `services.common.clock`)."""
    return datetime.now(UTC) + clock.offset()


def as_uuid(value: str | UUID) -> UUID:
    """Accept both forms at the edges."""
    return value if isinstance(value, UUID) else UUID(value)
