"""The ledger's idempotent commands (幂等): every command's first answer is kept, a failure as much
as a success, in `ledger.commands` (the kernel's `services.common.idempotency`, which the ledger's
command table was lifted into).

The ledger's events (`funds.*`) go to its outbox inside the command's savepoint, so they exist
exactly when the effect does; a refusal may emit its own (`funds.insufficient`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import structlog
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.models import Command, messaging
from ledger.service.journal import (
    EntrySpec,
    command_item,
    post_command_batch,
    post_command_entries,
    post_entry,
    refusal,
)
from ledger.service.linker import note_chained
from services.common import idempotency
from services.common.db import get_sessionmaker
from services.common.errors import DomainError
from services.common.idempotency import Effect, Execute, OnFailure, Outcome

__all__ = [
    "PROCESS_BATCHER",
    "STORE",
    "Effect",
    "EntryBatcher",
    "Outcome",
    "run_command",
    "run_entry_command",
]

log = structlog.get_logger(__name__)

STORE = idempotency.CommandStore(cast(Table, Command.__table__), messaging)


async def run_command(
    session: AsyncSession,
    *,
    operation: str,
    key: str,
    command: BaseModel | Mapping[str, Any],
    actor: str,
    execute: Execute,
    on_failure: OnFailure | None = None,
    atomic: bool = False,
) -> Outcome:
    """Run `execute(digest)` once per idempotency key in the ledger's command table."""
    return await idempotency.run_command(
        session,
        STORE,
        operation=operation,
        key=key,
        command=command,
        actor=actor,
        execute=execute,
        on_failure=on_failure,
        atomic=atomic,
    )


async def run_entry_command(
    session: AsyncSession,
    *,
    operation: str,
    key: str,
    command: BaseModel,
    actor: str,
    spec_for: Callable[[str], Awaitable[EntrySpec]],
    batcher: EntryBatcher | None = None,
) -> Outcome:
    """A command whose whole effect is one journal entry (income, allocation), on the fast path.

    The same contract as `run_command`, in one round trip instead of several: the checks run
    first (they only read and are pure, so they answer the same whenever they run), then
    `ledger.run_entry_command` claims the key, posts the entry and keeps the answer. A check that
    refuses hands the whole request to `run_command`, which decides what the key says (a
    replay, a reused key, or invalid input that consumes nothing).

    With a `batcher` the command is written in the batcher's transaction, together with the
    others that arrived at the same moment, and committed before this returns; without one, in
    `session`'s transaction, which the caller commits."""
    digest = idempotency.request_hash(operation, command.model_dump(mode="json"))
    try:
        spec = await spec_for(digest)
    except DomainError:

        async def execute(digest: str) -> Effect:
            return Effect(await post_entry(session, await spec_for(digest)))

        return await run_command(
            session, operation=operation, key=key, command=command, actor=actor, execute=execute, atomic=True
        )
    item = command_item(
        spec, {"idempotency_key": key, "operation": operation, "request_hash": digest, "created_by": actor}
    )
    if batcher is None:
        [answer] = await post_command_entries(session, [item])
        answer = await settle_refusal(session, spec, answer)
    else:
        answer = await batcher.submit(item, spec)
        if answer.get("chained"):
            note_chained()
    if answer.get("replay"):
        return await idempotency.replay(session, STORE.commands, key, digest)
    return Outcome(status=int(answer["status"]), body=dict(answer["body"]), replayed=False)


async def settle_refusal(session: AsyncSession, spec: EntrySpec, answer: dict[str, Any]) -> dict[str, Any]:
    """Keep a refused one-entry command's problem as its key's answer (in the claim's
    transaction), and answer it as `{"status", "body"}`; other answers pass unchanged."""
    if "error" not in answer:
        return answer
    error = await refusal(session, spec, answer)
    body = error.to_problem()
    if idempotency.consumes_key(error):
        await idempotency.settle(session, STORE.commands, spec.idempotency_key, error.status, body)
    else:
        await idempotency.withdraw(session, STORE.commands, spec.idempotency_key)
    return {"status": error.status, "body": body}


# How many turns of the event loop a batcher waits for its callers' next commands before it
# lets its connection go (a turn costs microseconds; a caller answered is back within three).
FOLLOW_UP_TURNS = 8


@dataclass
class _Waiting:
    item: dict[str, Any]
    spec: EntrySpec
    answer: asyncio.Future[dict[str, Any]]


class EntryBatcher:
    """Writes the one-entry commands that arrive together in one transaction (组提交).

    A hot account's commands otherwise pass its row lock one COMMIT at a time, each waiting for
    its own WAL flush; written together they share one, and their entries are chained in the
    same transaction (`ledger.write_batch`, one statement, autocommit: the batch's accounts
    locked once in id order, its overdrafts judged command after command, its entries appended
    to the chain directly when nothing else is queued). Batches run one at a time per process
    (so they never wait on each other's locks), in arrival order, on one connection while they
    follow each other. A batch has
    no subtransactions (on a hot account each would cost every later command of the batch
    dearly): an overdraft is judged before the command writes anything, and answered; when a
    command is refused, nothing of the batch is kept and it is written again in a transaction
    that settles each refusal as its command's answer. If a batch fails as a whole (a deadlock
    with another process, a refusal nobody foresaw), each of its commands is written again
    alone, so one cannot take the others down with it.
    """

    # A batch holds its accounts' locks until it commits, and a command written alone after a
    # failed batch runs in a subtransaction: a bounded batch bounds both.
    def __init__(self, maker: async_sessionmaker[AsyncSession] | None = None, limit: int = 32) -> None:
        self._maker = maker
        self._limit = limit
        self._queue: list[_Waiting] = []
        self._runner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: dict[str, Any], spec: EntrySpec) -> dict[str, Any]:
        """Write one command with whatever else is waiting; its answer once committed."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one carries over
            self._loop, self._queue, self._runner = loop, [], None
        waiting = _Waiting(item, spec, loop.create_future())
        self._queue.append(waiting)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._batches())
        return await waiting.answer

    async def _batches(self) -> None:
        # One connection for batches that follow each other: a batch that waits on the last
        # one's answers would otherwise take the pool's next connection, whose backend has
        # gone cold in the meantime (measured: about 8 instead of 5 ms of database CPU per
        # batch of 8 on a hot account).
        maker = self._maker or get_sessionmaker()
        session: AsyncSession | None = None
        try:
            while True:
                if not self._queue and not await self._follow_up():
                    return
                batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
                if session is None:
                    session = maker()
                try:
                    answers = await self._write(batch, session)
                except Exception as exc:
                    log.warning("ledger_batch_failed", size=len(batch), error=repr(exc))
                    await session.close()  # whatever state the failure left it in goes with it
                    session = None
                    for waiting in batch:
                        await self._alone(waiting)
                else:
                    for waiting, answer in zip(batch, answers, strict=True):
                        if not waiting.answer.done():  # a caller that left has nothing to hear
                            waiting.answer.set_result(answer)
        finally:
            if session is not None:
                await session.close()

    async def _follow_up(self) -> bool:
        """Whether commands follow the batch just answered: its callers often send their next
        one at once, a few turns of the event loop later (their unit of work closes first), and
        those that arrive in the same turn go together."""
        for _ in range(FOLLOW_UP_TURNS):
            await asyncio.sleep(0)
            if self._queue:
                await asyncio.sleep(0)
                return True
        return False

    async def _write(
        self, batch: list[_Waiting], session: AsyncSession | None = None
    ) -> list[dict[str, Any]]:
        maker = self._maker or get_sessionmaker()
        items = [w.item for w in batch]
        # One statement, one round trip, when nothing is refused (the usual case); a refusal
        # undoes it, and the batch is written again with its refusals settled.
        if session is None:
            async with maker() as alone:
                answers = await post_command_batch(alone, items)
        else:
            answers = await post_command_batch(session, items)
        if answers is not None:
            return answers
        async with maker() as again, again.begin():
            answers = await post_command_entries(again, items, chain=True)
            return [await settle_refusal(again, w.spec, a) for w, a in zip(batch, answers, strict=True)]

    async def _alone(self, waiting: _Waiting) -> None:
        try:
            [answer] = await self._write([waiting])
        except Exception as exc:
            if not waiting.answer.done():
                waiting.answer.set_exception(exc)
        else:
            if not waiting.answer.done():
                waiting.answer.set_result(answer)


PROCESS_BATCHER = EntryBatcher()
"""The API process's batcher, over the process's engine."""
