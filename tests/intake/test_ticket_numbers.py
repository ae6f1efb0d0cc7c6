"""受理编号: ticket numbers drawn from the sequence a block at a time (intake.service.records)."""

from __future__ import annotations

import asyncio

from intake.service import records
from intake.service.records import TICKET_BLOCK, next_ticket_seq
from services.common.db import autocommit
from tests.fixtures import statements_sent


async def one() -> int:
    async with autocommit() as conn:
        return await next_ticket_seq(conn)


async def test_one_after_another_take_one_draw_a_block_in_order() -> None:
    records._tickets.clear()
    with statements_sent("ticket_seq") as draws:
        numbers = [await one() for _ in range(2 * TICKET_BLOCK + 1)]
    assert len(draws) == 3
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


async def test_concurrent_callers_never_share_a_number() -> None:
    records._tickets.clear()
    numbers = await asyncio.gather(*[one() for _ in range(3 * TICKET_BLOCK)])
    numbers += [await one() for _ in range(TICKET_BLOCK)]
    assert len(set(numbers)) == len(numbers) == 4 * TICKET_BLOCK
