"""Idempotent commands (幂等): every command's first answer is kept, a failure as much as a success.

`run_command` claims the idempotency key by inserting a `pending` row in `ledger.commands`
before anything else. A concurrent request with the same key blocks on that primary key until
the first transaction ends, then finds the settled row and answers as its replay. The command
itself runs in a SAVEPOINT; a domain error rolls the savepoint back, and the refusal (its
RFC 9457 body) is what the key answers from then on: a failed key stays failed, even once the
funds are there. The same key with another body is `idempotency_key_reused`, and not recorded.

Events the command causes (`funds.*`) go to the outbox inside the same savepoint, so they exist
exactly when the effect does; a refusal may emit its own (`funds.insufficient`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import Command, messaging
from ledger.service import rules
from services.common.errors import Conflict, DomainError, IdempotencyConflict
from services.common.messaging import emit
from services.contracts.events import Event

CREATED = 201


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


async def run_command(
    session: AsyncSession,
    *,
    operation: str,
    key: str,
    command: BaseModel | dict[str, Any],
    actor: str,
    execute: Execute,
    on_failure: OnFailure | None = None,
) -> Outcome:
    """Run `execute(digest)` once per idempotency key and keep its answer (see the module)."""
    payload = command.model_dump(mode="json") if isinstance(command, BaseModel) else command
    digest = rules.request_hash(operation, payload)
    claimed = await session.execute(
        pg_insert(Command)
        .values(idempotency_key=key, operation=operation, request_hash=digest, created_by=actor)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Command.idempotency_key)
    )
    if claimed.first() is None:
        return await _replay(session, key, digest)
    try:
        async with session.begin_nested():
            effect = await execute(digest)
            await emit(session, messaging, *effect.events)
        status, body = CREATED, effect.result.model_dump(mode="json")
    except DomainError as error:
        if on_failure is not None:
            await emit(session, messaging, *(await on_failure(error)))
        status, body = error.status, error.to_problem()
    await session.execute(
        update(Command)
        .where(Command.idempotency_key == key)
        .values(state="failed" if status >= 400 else "succeeded", status_code=status, response=body)
    )
    return Outcome(status=status, body=body, replayed=False)


async def _replay(session: AsyncSession, key: str, digest: str) -> Outcome:
    row = (
        await session.execute(
            select(Command.request_hash, Command.state, Command.status_code, Command.response).where(
                Command.idempotency_key == key
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
