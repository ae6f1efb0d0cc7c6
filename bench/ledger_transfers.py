"""Benchmark: ledger transfers per second on one hot account and on spread accounts.

A transfer is what the ledger's API does for `POST /internal/ledger/allocations` (town →
village, 1 fen), through the real service layer: one transaction with the idempotency command
row, the entry and its postings with their balance triggers and the non-negative check, the
deferred balance checks and the entry's chain-queue ticket; then, after its COMMIT and before it
counts as done, the hash-chain link (`ChainLinker.settle`, as the API answers only then).
- **hot**: every worker pays out of the same town account (its row lock serialises them);
- **spread**: each worker pays out of a town of its own;
- **baseline**: the same workers, each doing a bare single-row INSERT in its own transaction,
  on the same database in the same run.
Afterwards the chain is verified and every balance reconciled, which the JSON reports too.

What to expect: a commit waits on its accounts' row locks only (the chain head's lock used to
serialise every ledger commit; now the linker appends what a burst committed in one
transaction), and the one-entry commands that arrive together are written in one transaction
(`EntryBatcher`, as the API does), so a hot account's transfers share one WAL flush instead of
passing its row lock one flush at a time (issue 14.5). `left_unlinked_after_runs` is what no
transfer's own linking round had linked when the runs ended (expected 0).
Creates and drops its own scratch database. Prints one JSON object.
Run: `.venv/bin/python -m bench.ledger_transfers [transfers] [workers]` (PostgreSQL from
`GUANJIA_BENCH_PG`, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from ledger import service
from ledger.schemas import AllocationCommand, FundHolder, IncomeCommand
from ledger.service.commands import EntryBatcher
from ledger.service.linker import ChainLinker, link_all
from ledger.service.rules import CITY_CODE
from services.common.db import async_url
from services.migrations.run import upgrade_heads

ADMIN = os.environ.get("GUANJIA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
Maker = async_sessionmaker[AsyncSession]


def db_url(name: str) -> str:
    head, _, tail = ADMIN.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def town(number: int) -> FundHolder:
    return FundHolder(holder_type="town", holder_code=f"441900{number:03d}000")


def village(number: int, index: int) -> FundHolder:
    return FundHolder(holder_type="village", holder_code=f"441900{number:03d}{201 + index % 50:03d}")


async def fund(maker: Maker, towns: list[int], each: int) -> None:
    """The city's income, allocated to every town the runs pay from."""
    async with maker() as session, session.begin():
        income = IncomeCommand(
            source_code="city_finance",
            holder=FundHolder(holder_type="city", holder_code=CITY_CODE),
            amount_fen=each * len(towns),
        )
        await service.record_income(session, income, idempotency_key=f"bench-{uuid.uuid4()}", actor="bench")
        for number in towns:
            cmd = AllocationCommand(
                source_code="city_finance",
                from_holder=FundHolder(holder_type="city", holder_code=CITY_CODE),
                to_holder=town(number),
                amount_fen=each,
            )
            await service.allocate(session, cmd, idempotency_key=f"bench-{uuid.uuid4()}", actor="bench")


LINKER: ChainLinker | None = None
BATCHER: EntryBatcher | None = None


async def transfer(maker: Maker, number: int, index: int) -> None:
    """One allocation as the API runs it: its unit of work (the command written by the batcher
    with whatever arrives with it, committed before it answers), then the chain link."""
    async with maker() as session, session.begin():
        cmd = AllocationCommand(
            source_code="city_finance",
            from_holder=town(number),
            to_holder=village(number, index),
            amount_fen=1,
        )
        outcome = await service.allocate(
            session, cmd, idempotency_key=f"bench-{uuid.uuid4()}", actor="bench", batcher=BATCHER
        )
        if outcome.failed:
            raise RuntimeError(outcome.body)
    assert LINKER is not None
    await LINKER.settle()


async def insert(maker: Maker, number: int, index: int) -> None:
    async with maker() as session, session.begin():
        await session.execute(
            text("INSERT INTO bench_baseline (payload) VALUES (:p)"), {"p": f"{number}-{index}"}
        )


async def rate(
    maker: Maker,
    total: int,
    workers: int,
    op: Callable[[Maker, int, int], Awaitable[None]],
    town_of: Callable[[int], int],
) -> float:
    """Operations per second with `workers` concurrent workers doing `total` operations."""
    per = total // workers

    async def work(worker: int) -> None:
        for i in range(per):
            await op(maker, town_of(worker), i)

    started = time.perf_counter()
    await asyncio.gather(*(work(w) for w in range(workers)))
    return per * workers / (time.perf_counter() - started)


async def run(total: int, workers: int) -> dict[str, object]:
    name = f"guanjia_bench_ledger_{secrets.token_hex(4)}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        url = db_url(name)
        await asyncio.to_thread(upgrade_heads, url)
        engine = create_async_engine(async_url(url), pool_size=workers + 2, max_overflow=0)
        maker = async_sessionmaker(engine, expire_on_commit=False)
        global LINKER, BATCHER
        LINKER, BATCHER = ChainLinker(maker), EntryBatcher(maker)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, payload text)")
                )
            hot_town, spread_towns = 1, list(range(2, 2 + workers))
            await fund(maker, [hot_town, *spread_towns], each=2 * total)
            # Warm the pool and the accounts, then measure in turns.
            await rate(maker, workers, workers, insert, lambda w: 0)
            await rate(maker, workers, workers, transfer, lambda w: spread_towns[w])
            baseline = await rate(maker, total, workers, insert, lambda w: 0)
            hot = await rate(maker, total, workers, transfer, lambda w: hot_town)
            spread = await rate(maker, total, workers, transfer, lambda w: spread_towns[w])
            queued_after = await link_all(maker)
            async with maker() as session, session.begin():
                started = time.perf_counter()
                chain = await service.verify_chain(session)
                verify_s = time.perf_counter() - started
                books = await service.reconcile(session)
        finally:
            await engine.dispose()
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "benchmark": "ledger_transfers",
        "transfers_per_run": total,
        "workers": workers,
        "baseline_single_insert_per_s": round(baseline, 1),
        "hot_account_transfers_per_s": round(hot, 1),
        "spread_accounts_transfers_per_s": round(spread, 1),
        "hot_vs_baseline": round(hot / baseline, 3),
        "spread_vs_baseline": round(spread / baseline, 3),
        "hot_vs_spread": round(hot / spread, 3),
        "left_unlinked_after_runs": queued_after,
        "chain_links_verified": chain.checked,
        "chain_ok": chain.ok,
        "verify_links_per_s": round(chain.checked / verify_s, 1) if verify_s else None,
        "reconcile_ok": books.ok,
    }


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1600
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    print(json.dumps(asyncio.run(run(total, workers))))


if __name__ == "__main__":
    main()
