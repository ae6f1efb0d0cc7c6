"""Idempotent commands (幂等), a kernel capability: an `Idempotency-Key` names one command, and
the command's first answer is kept, a refusal as much as a success.

`run_command` claims the key by inserting a `pending` row in the service's `commands` table
before anything else. A concurrent request with the same key blocks on that primary key until the
first transaction ends, then finds the settled row and answers as its replay. The command runs in
a SAVEPOINT; a domain error rolls the savepoint back, and the refusal (its RFC 9457 body) is what
the key answers from then on: a failed key stays failed. Except invalid input (`422`): a request
the command could not even read consumes nothing, so the claim is withdrawn and the corrected
request with the same key runs. The same key with another body is `409 idempotency_key_reused`,
and not recorded.

Events the command causes go to the service's outbox inside the same savepoint, so they exist
exactly when the effect does; a refusal may emit its own (``on_failure``).

Each service that takes commands declares the table in its own schema with `commands_table`
(and creates it in its own Alembic branch); the ledger's `ledger.commands` is one, routing's
(认领 claims) and deadlines' (延期 extensions) are the others.

Two shapes of command use the one table:
- `run_command` (the ledger): the first answer, refusal or success, is kept as it was sent.
- `run_once` (claims, extensions): the command creates one resource and the key names it; a
  replay answers the resource *as it is now* (a claim confirmed since, an extension decided),
  and a refusal consumes nothing (the resource's own rules, not the key, refuse it again).
  These keys are scoped (`scoped_key`): a donor's key names one claim of that donor, a clock's
  key one extension of that clock, so two donors may use the same key.

Where the kernel is *not* used, on purpose: filing an appeal. Every channel names its appeal
with a natural key that intake keeps on the appeal itself, unique per channel
(`appeals.channel` + `channel_ref`, with the draft's hash: same key, other draft → `409`),
because the appeal *is* the resource and the key must survive the hop from the gateway:
- the 12345 hotline's `call_id` (the platform re-sends a call on a timeout and knows no other id);
- WeChat's `MsgId` (the platform re-delivers a message up to three times and wants a reply to
  each; events, which have none, use FromUserName + CreateTime as WeChat advises);
- the mini-program's and staff's `Idempotency-Key`, scoped to the resident / staff member;
- Open311's `Idempotency-Key` or, the standard having none, the form's digest, per API key.
The gateway's rows for these (`InboundMessage`, `Open311Request`) only cache the channel's
reply: the effect is a call to intake, outside any transaction of the gateway, so the key table
(which claims inside the effect's own transaction) cannot guard it; intake's key does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    CheckConstraint,
    Column,
    MetaData,
    SmallInteger,
    String,
    Table,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import UTCDateTime
from services.common.errors import Conflict, DomainError, IdempotencyConflict
from services.common.messaging import MessagingTables, emit
from services.contracts.events import Event

CREATED = 201
INVALID = 422
COMMAND_STATES = ("pending", "succeeded", "failed")


def commands_table(metadata: MetaData) -> Table:
    """Declare a service's `commands` table (idempotency key → first answer) in its metadata."""
    states = ", ".join(f"'{s}'" for s in COMMAND_STATES)
    return Table(
        "commands",
        metadata,
        Column("idempotency_key", String(200), primary_key=True),
        Column("operation", String(32), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("state", String(16), nullable=False, server_default=text("'pending'")),
        Column("status_code", SmallInteger, nullable=True),
        Column("response", JSONB, nullable=True),
        Column("created_at", UTCDateTime, nullable=False, server_default=func.now()),
        Column("created_by", String(128), nullable=False),
        CheckConstraint(f"state IN ({states})", name="state"),
        CheckConstraint("request_hash ~ '^[0-9a-f]{64}$'", name="request_hash"),
        CheckConstraint("idempotency_key <> ''", name="idempotency_key"),
    )


def canonical_json(payload: Mapping[str, Any]) -> str:
    """One text per meaning: keys sorted, no insignificant whitespace, UTF-8 kept as is."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def request_hash(operation: str, payload: Mapping[str, Any]) -> str:
    """sha256 of the operation and the command's canonical JSON, so that a replay can be told
    from a different request reusing the same idempotency key (幂等键)."""
    return hashlib.sha256(canonical_json({"operation": operation, "command": payload}).encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """A command's answer: the first one, whether this call was a replay or not."""

    status: int
    body: dict[str, Any]
    replayed: bool

    @property
    def failed(self) -> bool:
        """True when the answer is a refusal (a problem body)."""
        return self.status >= 400

    @property
    def code(self) -> str | None:
        """The refusal's stable code, when it is one."""
        code = self.body.get("code") if self.failed else None
        return code if isinstance(code, str) else None


@dataclass
class Effect:
    """What a command did: its result, and the events it causes."""

    result: BaseModel
    events: list[Event] = field(default_factory=list)


Execute = Callable[[str], Awaitable[Effect]]
OnFailure = Callable[[DomainError], Awaitable[Sequence[Event]]]


@dataclass(frozen=True)
class CommandStore:
    """Where a service keeps its commands' first answers, and where their events go."""

    commands: Table
    messaging: MessagingTables


async def run_command(
    session: AsyncSession,
    store: CommandStore,
    *,
    operation: str,
    key: str,
    command: BaseModel | Mapping[str, Any],
    actor: str,
    execute: Execute,
    on_failure: OnFailure | None = None,
    atomic: bool = False,
) -> Outcome:
    """Run ``execute(digest)`` once per idempotency key and keep its answer (see the module).

    ``atomic``: the command leaves nothing behind when it raises a domain error (it refuses
    before it writes, or its one write undoes itself, as the ledger's `post_entry` does), so it
    runs without the savepoint, two round trips fewer on a hot path."""
    payload = command.model_dump(mode="json") if isinstance(command, BaseModel) else dict(command)
    digest = request_hash(operation, payload)
    table = store.commands
    claim = await session.execute(
        pg_insert(table)
        .values(idempotency_key=key, operation=operation, request_hash=digest, created_by=actor)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.idempotency_key)
    )
    if claim.first() is None:
        return await replay(session, table, key, digest)
    try:
        if atomic:
            effect = await execute(digest)
            await emit(session, store.messaging, *effect.events)
        else:
            async with session.begin_nested():
                effect = await execute(digest)
                await emit(session, store.messaging, *effect.events)
        status, body = CREATED, effect.result.model_dump(mode="json")
    except DomainError as error:
        if not consumes_key(error):
            await withdraw(session, table, key)
            return Outcome(status=error.status, body=error.to_problem(), replayed=False)
        if on_failure is not None:
            await emit(session, store.messaging, *(await on_failure(error)))
        status, body = error.status, error.to_problem()
    await settle(session, table, key, status, body)
    return Outcome(status=status, body=body, replayed=False)


async def settle(session: AsyncSession, table: Table, key: str, status: int, body: dict[str, Any]) -> None:
    """Keep a claimed command's first answer (the claim's transaction only)."""
    await session.execute(
        update(table)
        .where(table.c.idempotency_key == key)
        .values(state="failed" if status >= 400 else "succeeded", status_code=status, response=body)
    )


async def withdraw(session: AsyncSession, table: Table, key: str) -> None:
    """Give up a claim this transaction holds, so the key stays unused (invalid input)."""
    await session.execute(delete(table).where(table.c.idempotency_key == key, table.c.state == "pending"))


def consumes_key(error: DomainError) -> bool:
    """Whether a refusal is the key's answer for good: every refusal but invalid input (422),
    which the caller corrects and sends again under the same key."""
    return error.status != INVALID


async def replay(session: AsyncSession, table: Table, key: str, digest: str) -> Outcome:
    """The answer a settled key gives again; `409 idempotency_key_reused` for another body."""
    row = (
        await session.execute(
            select(table.c.request_hash, table.c.state, table.c.status_code, table.c.response).where(
                table.c.idempotency_key == key
            )
        )
    ).one()
    if row.request_hash != digest:
        raise IdempotencyConflict(idempotency_key=key)
    if row.state == "pending" or row.status_code is None or row.response is None:
        # Only this very transaction can see its own pending command: the key was reused
        # within one command (a programming error), never by a concurrent request.
        raise Conflict("该请求正在处理中，请稍后再试。", idempotency_key=key)
    return Outcome(status=row.status_code, body=dict(row.response), replayed=True)


# --- commands that create one resource: the key names it ------------------------------------------

T = TypeVar("T")
Create = Callable[[], Awaitable[tuple[T, str]]]
Recall = Callable[[str], Awaitable[T]]


def scoped_key(scope: str, owner: object, key: str) -> str:
    """The table's key for a caller's key that is only unique per owner (a donor, a clock):
    ``claim:<donor id>:<key>``, so two owners' equal keys never meet."""
    return f"{scope}:{owner}:{key}"


@dataclass(frozen=True)
class Once(Generic[T]):
    """The resource a keyed command created, and whether this call only replayed it."""

    value: T
    replayed: bool


async def run_once(
    session: AsyncSession,
    table: Table,
    *,
    operation: str,
    key: str,
    command: BaseModel | Mapping[str, Any],
    actor: str,
    create: Create[T],
    recall: Recall[T],
) -> Once[T]:
    """Create a resource once per key (see the module): ``create()`` returns it and its id, which
    the key keeps; a replay with the same body gives ``recall(id)``, the resource as it is now;
    another body is `409 idempotency_key_reused`.

    A refusal (any `DomainError`) propagates and leaves the key unused: ``create`` runs in a
    savepoint that is rolled back, and the claim on the key is withdrawn. A concurrent request
    with the same key waits on the claim and then replays the first one's resource."""
    payload = command.model_dump(mode="json") if isinstance(command, BaseModel) else dict(command)
    digest = request_hash(operation, payload)
    claim = await session.execute(
        pg_insert(table)
        .values(idempotency_key=key, operation=operation, request_hash=digest, created_by=actor[:128])
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.idempotency_key)
    )
    if claim.first() is None:
        earlier = await replay(session, table, key, digest)
        return Once(value=await recall(str(earlier.body["id"])), replayed=True)
    try:
        async with session.begin_nested():
            value, ident = await create()
    except DomainError:
        await withdraw(session, table, key)
        raise
    await settle(session, table, key, CREATED, {"id": ident})
    return Once(value=value, replayed=False)
