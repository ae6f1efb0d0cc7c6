"""Property: through any sequence of operations, every source's money is accounted for.

For each fund source, what came in from outside equals what the holders hold, plus what is
reserved, plus what was disbursed — whatever mix of income, allocation, reservation, partial
disbursement, release, direct disbursement and reversal happened, including the refused ones.
Each example runs against the real database on a town of its own (fresh codes), through the
service layer, one transaction per operation.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ledger import service
from ledger.schemas import (
    AllocationCommand,
    DisbursementCommand,
    FundHolder,
    IncomeCommand,
    Payee,
    ReleaseCommand,
    ReservationCommand,
    ReservedDisbursementCommand,
    ReversalCommand,
)
from services.common.db import get_engine, session_scope
from tests.ledger.support import new_town, village_of

SOURCES = ("town_matching", "village_collective", "donation")
LOCAL = {0: "town_matching", 1: "village_collective", 2: "village_collective"}
amounts = st.integers(min_value=1, max_value=400)
holders = st.sampled_from([0, 1, 2])  # the town, its first and second village
picks = st.integers(min_value=0, max_value=7)
operations = st.one_of(
    st.tuples(st.just("income"), holders, st.booleans(), amounts),
    st.tuples(st.just("allocate"), st.sampled_from([1, 2]), st.booleans(), amounts),
    st.tuples(st.just("reserve"), holders, st.sampled_from([None, *SOURCES]), amounts),
    st.tuples(st.just("draw"), picks, amounts),
    st.tuples(st.just("release"), picks),
    st.tuples(st.just("disburse"), holders, st.sampled_from([None, *SOURCES]), amounts),
    st.tuples(st.just("reverse"), picks),
)


@dataclass
class World:
    """One example's holders and what the model expects."""

    town: str = field(default_factory=new_town)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reservations: list[uuid.UUID] = field(default_factory=list)
    # Reversible entries: (entry id, the income per source it booked, if it was income).
    entries: list[tuple[uuid.UUID, dict[str, int]]] = field(default_factory=list)
    payees: int = 0

    def holder(self, index: int) -> FundHolder:
        if index == 0:
            return FundHolder(holder_type="town", holder_code=self.town)
        return FundHolder(holder_type="village", holder_code=village_of(self.town, 200 + index))

    def payee(self) -> Payee:
        self.payees += 1
        return Payee(payee_type="beneficiary", payee_code=f"P-{self.tag}-{self.payees}")


async def apply(world: World, op: tuple[Any, ...]) -> None:
    """Run one operation in its own unit of work, and keep the model in step with what succeeded."""
    k, actor = str(uuid.uuid4()), "property"
    async with session_scope() as session:
        match op:
            case ("income", index, donation, amount):
                source = "donation" if donation else LOCAL[index]
                cmd = IncomeCommand(source_code=source, holder=world.holder(index), amount_fen=amount)
                outcome = await service.record_income(session, cmd, idempotency_key=k, actor=actor)
                if not outcome.failed:
                    world.received[source] += amount
                    world.entries.append((uuid.UUID(outcome.body["id"]), {source: amount}))
            case ("allocate", index, donation, amount):
                cmd2 = AllocationCommand(
                    source_code="donation" if donation else "town_matching",
                    from_holder=world.holder(0),
                    to_holder=world.holder(index),
                    amount_fen=amount,
                )
                outcome = await service.allocate(session, cmd2, idempotency_key=k, actor=actor)
                if not outcome.failed:
                    world.entries.append((uuid.UUID(outcome.body["id"]), {}))
            case ("reserve", index, source, amount):
                cmd3 = ReservationCommand(
                    holder=world.holder(index), payee=world.payee(), amount_fen=amount, source_code=source
                )
                outcome = await service.reserve(session, cmd3, idempotency_key=k, actor=actor)
                if not outcome.failed:
                    world.reservations.append(uuid.UUID(outcome.body["id"]))
            case ("draw", pick, amount) if world.reservations:
                rid = world.reservations[pick % len(world.reservations)]
                cmd4 = ReservedDisbursementCommand(amount_fen=amount)
                outcome = await service.disburse_reserved(session, rid, cmd4, idempotency_key=k, actor=actor)
                if not outcome.failed:
                    world.entries.append((uuid.UUID(outcome.body["entry"]["id"]), {}))
            case ("release", pick) if world.reservations:
                rid = world.reservations[pick % len(world.reservations)]
                await service.release(session, rid, ReleaseCommand(), idempotency_key=k, actor=actor)
            case ("disburse", index, source, amount):
                cmd5 = DisbursementCommand(
                    holder=world.holder(index), payee=world.payee(), amount_fen=amount, source_code=source
                )
                outcome = await service.disburse(session, cmd5, idempotency_key=k, actor=actor)
                if not outcome.failed:
                    world.entries.append((uuid.UUID(outcome.body["id"]), {}))
            case ("reverse", pick) if world.entries:
                entry_id, booked = world.entries[pick % len(world.entries)]
                cmd6 = ReversalCommand(memo="property")
                outcome = await service.reverse(session, entry_id, cmd6, idempotency_key=k, actor=actor)
                if not outcome.failed:
                    for source, amount in booked.items():
                        world.received[source] -= amount
            case _:
                pass


async def where_money_is(world: World) -> dict[str, dict[str, int]]:
    """Per source: held by the example's holders, reserved in its reservations, paid to its payees."""
    async with get_engine().connect() as conn:
        rows = await conn.execute(
            text(
                """
                SELECT source_code,
                       CASE WHEN holder_type IN ('town', 'village') THEN 'held'
                            WHEN holder_type = 'reservation' THEN 'reserved'
                            ELSE 'disbursed' END AS place,
                       sum(balance_fen) AS fen, min(balance_fen) AS lowest
                  FROM ledger.accounts
                 WHERE (holder_type IN ('town', 'village') AND holder_code LIKE :prefix)
                    OR (holder_type = 'reservation' AND holder_code = ANY(:reservations))
                    OR (holder_type = 'beneficiary' AND holder_code LIKE :payees)
                 GROUP BY 1, 2
                """
            ),
            {
                "prefix": world.town[:9] + "%",
                "reservations": [str(r) for r in world.reservations],
                "payees": f"P-{world.tag}-%",
            },
        )
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            assert row.lowest >= 0, row  # no fund account ever below zero
            out[row.source_code][row.place] += int(row.fen)
        return out


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(operations, min_size=1, max_size=14))
async def test_sources_equal_balances_plus_reserved_plus_disbursed(ops: list[tuple[Any, ...]]) -> None:
    world = World()
    for op in ops:
        await apply(world, op)
    money = await where_money_is(world)
    for source in SOURCES:
        place = money[source]
        assert world.received[source] == place["held"] + place["reserved"] + place["disbursed"], (
            source,
            place,
        )
    async with session_scope() as session:
        for rid in world.reservations:
            r = await service.get_reservation(session, rid)
            assert r.amount_fen == r.disbursed_fen + r.released_fen + r.remaining_fen
            assert r.remaining_fen >= 0 and (r.state == "pending" or r.remaining_fen == 0)


async def test_the_books_and_the_chain_hold_after_everything() -> None:
    async with session_scope() as session:
        books = await service.reconcile(session)
        chain = await service.verify_chain(session)
    assert books.ok, books.mismatches
    assert chain.ok, chain.breaks
