"""Under concurrency the ledger spends each fen once and its hash chain never forks."""

from __future__ import annotations

import asyncio

from ledger.service import reconcile, verify_chain
from services.common.db import session_scope
from tests.ledger.support import (
    Ledger,
    assert_problem,
    key,
    ledger_client,
    payee,
    scalar,
    town_holder,
    village_holder,
    village_of,
)


async def test_fifty_disbursements_against_funds_for_ten(ledger: Ledger) -> None:
    town = await ledger.funded_town(1_000)
    await ledger.fund(town_holder(town), 500, "donation")  # two sources: the split runs under locks too
    requests = [
        (key(), {"holder": town_holder(town), "payee": payee(), "amount_fen": 150}) for _ in range(50)
    ]
    responses = await asyncio.gather(*(ledger.post("/disbursements", body, k) for k, body in requests))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 40, [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    assert sum((await ledger.balances(town_holder(town))).values()) == 0
    paid = await scalar(
        "SELECT sum(p.amount_fen) FROM ledger.postings p JOIN ledger.journal_entries e ON e.id = p.entry_id"
        " WHERE e.holder_code = :t AND e.kind = 'disbursement' AND p.amount_fen > 0",
        t=town,
    )
    assert paid == 1_500

    # Money arrives; then every request is sent again, all at once, with its key and its body.
    # Each answers as it did the first time: the ten paid say so again (200), and the forty refused
    # stay refused although the town could pay them now; nothing more is paid.
    await ledger.fund(town_holder(town), 10_000)
    replays = await asyncio.gather(*(ledger.post("/disbursements", body, k) for k, body in requests))
    for first, again in zip(responses, replays, strict=True):
        assert again.status_code == (200 if first.status_code == 201 else 409), again.text
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
    assert (await ledger.balances(town_holder(town)))["city_finance"] == 10_000
    # The same key with another body (another payee) is refused, not replayed.
    k, body = requests[0]
    assert_problem(
        await ledger.post("/disbursements", {**body, "payee": payee()}, k), 409, "idempotency_key_reused"
    )


async def test_concurrent_reservations_and_draws_never_exceed_the_fund(ledger: Ledger) -> None:
    town = await ledger.funded_town(2_000)
    village = village_holder(village_of(town))
    await ledger.fund(village, 1_000)
    calls = []
    for i in range(30):
        holder = town_holder(town) if i % 2 else village
        if i % 3:
            calls.append(ledger.reserve(holder, 190))
        else:
            calls.append(ledger.disburse(holder, 190))
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} <= {201, 409}
    # 15 calls each: the town's 2,000 covers 10 of them, the village's 1,000 covers 5.
    assert sum(1 for r in responses if r.status_code == 201) == 15
    assert (await ledger.balances(town_holder(town)))["city_finance"] == 2_000 - 10 * 190
    assert (await ledger.balances(village))["city_finance"] == 1_000 - 5 * 190


async def test_concurrent_writers_extend_one_chain() -> None:
    async for http in ledger_client():
        ledger = Ledger(http)
        towns = [await ledger.funded_town(100) for _ in range(4)]
        before = await scalar("SELECT seq FROM ledger.chain_head")
        await asyncio.gather(
            *(
                ledger.allocate(town_holder(t), village_holder(village_of(t, 200 + i)), 1)
                for t in towns
                for i in range(5)
            )
        )
        assert await scalar("SELECT seq FROM ledger.chain_head") == before + 20
    async with session_scope() as session:
        chain = await verify_chain(session)
        books = await reconcile(session)
    assert chain.ok, chain.breaks
    assert books.ok, books.mismatches
