"""受理编号: ticket numbers drawn from the sequence a block at a time (intake.service.records)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from intake.service import records
from intake.service.records import TICKET_BLOCK, next_ticket_seq
from services.common.db import autocommit, get_engine


@contextmanager
def draws_counted() -> Iterator[list[str]]:
    draws: list[str] = []

    def count(conn: object, cursor: object, statement: str, *_: object) -> None:
        if "ticket_seq" in statement:
            draws.append(statement)

    sync_engine = get_engine().sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        yield draws
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)


async def one() -> int:
    async with autocommit() as conn:
        return await next_ticket_seq(conn)


async def test_one_after_another_take_one_draw_a_block_in_order() -> None:
    records._tickets.clear()
    with draws_counted() as draws:
        numbers = [await one() for _ in range(2 * TICKET_BLOCK + 1)]
    assert len(draws) == 3
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


async def test_concurrent_callers_never_share_a_number() -> None:
    records._tickets.clear()
    numbers = await asyncio.gather(*[one() for _ in range(3 * TICKET_BLOCK)])
    numbers += [await one() for _ in range(TICKET_BLOCK)]
    assert len(set(numbers)) == len(numbers) == 4 * TICKET_BLOCK
