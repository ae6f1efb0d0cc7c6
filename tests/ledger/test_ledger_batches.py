"""One-entry commands written together (`EntryBatcher`, `ledger.write_commands`): the batch's
accounts locked once in id order, its overdrafts judged command after command, its keys claimed
once; under concurrent batchers on one hot account nothing is lost, nothing is paid twice, no
account goes below zero and the chain and the books hold."""

from __future__ import annotations

import asyncio

from ledger import service
from ledger.schemas import AllocationCommand, FundHolder
from ledger.service import EntryBatcher, link_all, reconcile, verify_chain
from ledger.service.commands import Outcome
from services.common.db import get_sessionmaker, session_scope
from tests.ledger.support import Ledger, key, scalar, town_holder, village_holder, village_of


async def allocate(batcher: EntryBatcher, town: str, village: str, amount: int, idem: str) -> Outcome:
    """One allocation through the service layer as the API runs it, written by `batcher`."""
    cmd = AllocationCommand(
        source_code="city_finance",
        from_holder=FundHolder(**town_holder(town)),
        to_holder=FundHolder(**village_holder(village)),
        amount_fen=amount,
    )
    async with get_sessionmaker()() as session, session.begin():
        return await service.allocate(session, cmd, idempotency_key=idem, actor="test", batcher=batcher)


async def books_hold() -> None:
    await link_all(get_sessionmaker())
    async with session_scope() as session:
        assert (await verify_chain(session)).ok
        assert (await reconcile(session)).ok


async def test_a_batch_judges_its_overdrafts_command_after_command(ledger: Ledger) -> None:
    # 25 fen, four commands of 10 arriving together: the first two are paid, the last two
    # refused (each its own key's answer), and the town keeps 5.
    town = await ledger.funded_town(25)
    batcher = EntryBatcher()
    outcomes = await asyncio.gather(
        *(allocate(batcher, town, village_of(town, 201 + i), 10, key()) for i in range(4))
    )
    assert [o.status for o in outcomes] == [201, 201, 409, 409]
    assert {o.body["code"] for o in outcomes[2:]} == {"insufficient_funds"}
    assert (await ledger.balances(town_holder(town)))["city_finance"] == 5
    await books_hold()


async def test_one_key_twice_in_a_batch_is_written_once(ledger: Ledger) -> None:
    town = await ledger.funded_town(100)
    batcher = EntryBatcher()
    idem = key()
    first, again = await asyncio.gather(
        *(allocate(batcher, town, village_of(town), 10, idem) for _ in range(2))
    )
    assert (first.status, first.replayed) == (201, False)
    assert (again.status, again.replayed) == (201, True)
    assert again.body == first.body
    assert await scalar("SELECT count(*) FROM ledger.journal_entries WHERE idempotency_key = :k", k=idem) == 1
    assert (await ledger.balances(town_holder(town)))["city_finance"] == 90
    await books_hold()


async def test_concurrent_batchers_on_one_hot_account_keep_every_invariant(ledger: Ledger) -> None:
    # Two API processes (two batchers) pay out of one town at once, into villages whose accounts
    # their batches open: funds for 30 of 40 transfers. Exactly 30 are paid, each once, the town
    # ends at zero without ever going below it, and every entry is chained once.
    town = await ledger.funded_town(300)
    batchers = [EntryBatcher(), EntryBatcher()]
    keys = [key() for _ in range(40)]
    outcomes = await asyncio.gather(
        *(
            allocate(batchers[i % 2], town, village_of(town, 201 + i % 7), 10, idem)
            for i, idem in enumerate(keys)
        )
    )
    statuses = sorted(o.status for o in outcomes)
    assert statuses == [201] * 30 + [409] * 10, [o.body for o in outcomes if o.status not in (201, 409)]
    assert (await ledger.balances(town_holder(town)))["city_finance"] == 0
    paid = await scalar(
        "SELECT count(*) FROM ledger.journal_entries WHERE idempotency_key = ANY(:keys)", keys=keys
    )
    assert paid == 30
    # The balances after each posting on the town's account: each value once, never below zero.
    after = await scalar(
        "SELECT array_agg(p.balance_after_fen ORDER BY p.id) FROM ledger.postings p"
        " JOIN ledger.accounts a ON a.id = p.account_id"
        " WHERE a.holder_type = 'town' AND a.holder_code = :t AND p.amount_fen < 0",
        t=town,
    )
    assert after == list(range(290, -1, -10))
    await books_hold()
    assert await scalar("SELECT count(*) FROM ledger.chain_queue") == 0


async def test_a_batch_behind_queued_entries_chains_them_first(ledger: Ledger) -> None:
    # Entries committed elsewhere and not linked yet wait in the queue: a batch does not jump
    # them (it queues its own behind them and links in ticket order), and when it has linked
    # everything its answers say so.
    town = await ledger.funded_town(100)
    await link_all(get_sessionmaker())
    earlier = []
    for number in range(2):
        async with get_sessionmaker()() as session, session.begin():
            cmd = AllocationCommand(
                source_code="city_finance",
                from_holder=FundHolder(**town_holder(town)),
                to_holder=FundHolder(**village_holder(village_of(town, 211 + number))),
                amount_fen=5,
            )
            outcome = await service.allocate(session, cmd, idempotency_key=key(), actor="test")
            earlier.append(str(outcome.body["id"]))
    assert (
        await scalar("SELECT count(*) FROM ledger.chain_queue WHERE entry_id::text = ANY(:ids)", ids=earlier)
        == 2
    )
    batcher = EntryBatcher()
    outcomes = await asyncio.gather(
        *(allocate(batcher, town, village_of(town, 201 + i), 10, key()) for i in range(3))
    )
    assert [o.status for o in outcomes] == [201] * 3
    ids = earlier + [str(o.body["id"]) for o in outcomes]
    seqs = await scalar(
        "SELECT array_agg(c.seq ORDER BY array_position(CAST(:ids AS text[]), c.entry_id::text))"
        " FROM ledger.chain c WHERE c.entry_id::text = ANY(:ids)",
        ids=ids,
    )
    assert len(seqs) == 5 and seqs[:2] == sorted(seqs[:2]) and max(seqs[:2]) < min(seqs[2:])
    assert await scalar("SELECT count(*) FROM ledger.chain_queue") == 0
    await books_hold()


async def test_a_batch_answers_each_command_with_its_own_running_balances(ledger: Ledger) -> None:
    # A batch's entries and postings are written at once (`ledger.write_commands`): each
    # command's answer names its own postings, payer first, with the balances after it,
    # command after command in arrival order (the town's, and each village's), as the entry
    # reads back and as its key's replay answers.
    town = await ledger.funded_town(100)
    batcher = EntryBatcher()
    keys = [key() for _ in range(4)]
    outcomes = await asyncio.gather(
        *(allocate(batcher, town, village_of(town, 201 + i % 2), 10 + i, keys[i]) for i in range(4))
    )
    assert [o.status for o in outcomes] == [201] * 4
    assert [[p["balance_after_fen"] for p in o.body["postings"]] for o in outcomes] == [
        [90, 10],
        [79, 11],
        [67, 22],
        [54, 24],
    ]
    for outcome, idem in zip(outcomes, keys, strict=True):
        read = await ledger.get(f"/entries/{outcome.body['id']}")
        assert read.status_code == 200, read.text
        assert read.json()["postings"] == outcome.body["postings"]
        again = await allocate(
            batcher, town, village_of(town, 201 + keys.index(idem) % 2), 10 + keys.index(idem), idem
        )
        assert (again.status, again.replayed, again.body) == (201, True, outcome.body)
    assert await scalar("SELECT count(*) FROM ledger.commands WHERE idempotency_key = ANY(:k)", k=keys) == 4
    await books_hold()


async def test_a_batch_of_replays_only_writes_nothing_and_answers_each(ledger: Ledger) -> None:
    # A client retrying two answered commands at once: a batch whose every key is claimed
    # already writes no entry and no posting, and each caller hears its key's first answer.
    town = await ledger.funded_town(100)
    batcher = EntryBatcher()
    keys = [key(), key()]
    first = [await allocate(batcher, town, village_of(town, 201 + i), 10, keys[i]) for i in range(2)]
    entries = await scalar("SELECT count(*) FROM ledger.journal_entries")
    again = await asyncio.gather(
        *(allocate(batcher, town, village_of(town, 201 + i), 10, keys[i]) for i in range(2))
    )
    assert [(o.status, o.replayed, o.body) for o in again] == [(201, True, o.body) for o in first]
    assert await scalar("SELECT count(*) FROM ledger.journal_entries") == entries
    assert (await ledger.balances(town_holder(town)))["city_finance"] == 80
    await books_hold()
