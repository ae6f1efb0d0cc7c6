"""保密 under concurrency: a complaint about a unit noted at the very moment a person hands the
appeal to that unit. Whichever transaction takes the locks first, the unit complained about never
ends up holding the appeal (two real PostgreSQL transactions, interleaved by their locks)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from routing.service import facts, handover
from routing.service.triage import Decision
from services.common.db import session_scope
from services.common.reference import load_reference
from tests.fixtures import received
from tests.routing.support import CITY, HUMEN, STREET_LIGHTS, empty_queue, feed, hops

# One command's work inside a transaction that the test opens and commits.
Step = Callable[[AsyncSession], Coroutine[Any, Any, object]]


async def _appeal() -> uuid.UUID:
    await empty_queue()
    return await feed(received(STREET_LIGHTS, town_code=HUMEN))


def _hand_to_town(appeal_id: uuid.UUID) -> Step:
    decision = Decision(unit_type="town", unit_code=HUMEN, reason="镇街办理")
    return lambda session: handover.decide(session, CITY, appeal_id, decision)


def _complain_about_town(appeal_id: uuid.UUID) -> Step:
    return lambda session: handover.note_complaint(session, appeal_id, "town", HUMEN)


async def _waiting_on_a_lock() -> None:
    """Until some backend of this database waits for a row lock (the second transaction)."""
    for _ in range(400):
        async with session_scope() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the second transaction never waited for the first one's locks")


async def _race(first: Step, second: Step) -> None:
    """`first` writes and holds its transaction open; `second` starts and waits for its locks;
    then `first` commits and `second` goes on."""
    release, entered = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with session_scope() as session:
            await first(session)
            entered.set()
            await release.wait()

    async def run() -> None:
        async with session_scope() as session:
            await second(session)

    holder = asyncio.create_task(hold())
    await entered.wait()
    other = asyncio.create_task(run())
    await _waiting_on_a_lock()
    release.set()
    await holder
    await other


async def test_a_hand_over_racing_the_complaint_ends_with_the_city() -> None:
    appeal_id = await _appeal()
    await _race(_hand_to_town(appeal_id), _complain_about_town(appeal_id))
    latest = (await hops(appeal_id))[-1]
    assert (latest.unit_type, latest.unit_code, latest.state) == ("city", "city", "assigned")


async def test_a_complaint_racing_the_hand_over_ends_with_the_city() -> None:
    appeal_id = await _appeal()
    await _race(_complain_about_town(appeal_id), _hand_to_town(appeal_id))
    latest = (await hops(appeal_id))[-1]
    assert (latest.unit_type, latest.unit_code) == ("city", "city")


async def test_the_unit_above_a_village_not_yet_on_record_is_its_town() -> None:
    unlisted = "441900121099"  # in 虎门镇 by its code; not in the shipped reference data
    assert load_reference().village_by_code(unlisted) is None
    async with session_scope() as session:
        assert await facts.above(session, "village", unlisted) == ("town", HUMEN)
        assert await facts.above(session, "town", HUMEN) == ("city", "city")
