"""The chain linker (哈希链链接): appends committed entries to the hash chain right after COMMIT.

A ledger transaction commits on its accounts' locks only; the database queues each entry at
COMMIT (`ledger.chain_queue`, in commit order) and `ledger.chain_link()` appends queued entries
to the chain, many per transaction (see the migration `5c1e7a2b9d40`). Who calls it:
- every ledger command, after its unit of work commits and before it answers (`ChainLinker.settle`),
  so an answered entry is already chained; requests that finish together share one linking
  transaction (the batched one-entry commands are usually chained already, in their own
  transaction, by `ledger.write_batch`, straight onto the chain when nothing else is queued:
  the round then finds nothing queued and writes nothing);
- a loop in the API and in the worker (`ChainLinker.run`), every few seconds, for entries
  written elsewhere (event handlers, jobs, the CLI) and for any link a crash left undone;
- the audits, before they read (`link_all`), so a verification covers every committed entry.

Linking is idempotent: a queued entry is linked once, and its queue row goes in the same
transaction as its link.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.service.journal import AUTOCOMMIT
from services.common.db import get_sessionmaker

log = structlog.get_logger(__name__)

# Set when the entry this context just wrote was chained in its own transaction, with nothing
# left queued behind it (`ledger.write_batch`): its next `settle` has nothing to wait for.
_CHAINED: ContextVar[bool] = ContextVar("ledger_chained_in_transaction", default=False)


def note_chained() -> None:
    """The command this context just ran committed its entry already chained, and left nothing
    queued before it: the context's next `ChainLinker.settle` returns at once."""
    _CHAINED.set(True)


BATCH = 1000
POLL_SECONDS = 2.0


async def link_pending(session: AsyncSession, limit: int = BATCH) -> int:
    """Append up to `limit` queued entries to the chain in this session's transaction; how many."""
    linked = await session.scalar(text("SELECT ledger.chain_link(:limit)"), {"limit": limit})
    return int(linked or 0)


async def link_all(maker: async_sessionmaker[AsyncSession], batch: int = BATCH) -> int:
    """Link every queued entry, one transaction per batch; how many were linked."""
    total = 0
    while True:
        # Each call of `ledger.chain_link` is its own transaction: one round trip.
        async with maker() as session:
            await session.connection(execution_options=AUTOCOMMIT)
            linked = await link_pending(session, batch)
        total += linked
        if linked < batch:
            return total


class ChainLinker:
    """One per process: links after commits, coalescing concurrent callers into one round."""

    def __init__(self, maker: async_sessionmaker[AsyncSession] | None = None) -> None:
        # None: the process's sessions, looked up each round (tests swap the engine).
        self._maker = maker
        self._next: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def settle(self) -> None:
        """Return once every entry committed before this call is chained.

        A round already running may have read the queue before our COMMIT, so we wait for the
        next round to start; everyone who arrives meanwhile waits for that same round. A failure
        is logged, not raised: the entry is committed and queued, and the loop links it later.
        No round after a command whose transaction chained its entry and left nothing queued
        (`note_chained`): everything committed before that COMMIT is chained.
        """
        if _CHAINED.get():
            _CHAINED.set(False)
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one carries over
            self._loop, self._next, self._runner = loop, None, None
        if self._next is None:
            self._next = loop.create_future()
        waiting = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._rounds())
        with contextlib.suppress(Exception):
            await asyncio.shield(waiting)

    async def _rounds(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None
            try:
                await link_all(self._maker or get_sessionmaker())
            except Exception as exc:
                log.warning("ledger_chain_link_failed", error=repr(exc))
                round_.set_exception(exc)
                round_.exception()  # retrieved: waiters suppress it, nobody else needs it
            else:
                round_.set_result(None)

    async def run(self, stop: asyncio.Event, every: float = POLL_SECONDS) -> None:
        """Link whatever is queued every `every` seconds until `stop` is set."""
        while not stop.is_set():
            await self.settle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)


PROCESS_LINKER = ChainLinker()
"""The process's linker, over the process's engine."""
