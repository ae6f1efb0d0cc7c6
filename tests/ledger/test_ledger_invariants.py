"""The database itself enforces the ledger's invariants: raw SQL, no Python rule in the way.

Each test writes through the engine exactly what a buggy or hostile client might, and shows that
PostgreSQL refuses it: unbalanced or one-legged entries at COMMIT, edits of posted rows, an
overdraft, and an overdraft raced by twenty concurrent transactions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.service import constraint_name
from services.common.db import get_engine

SOURCE = "city_finance"
OVERDRAFT = "ck_accounts_non_negative"
INSERT_POSTING = text("INSERT INTO ledger.postings (entry_id, account_id, amount_fen) VALUES (:e, :a, :x)")


def unique(prefix: str) -> str:
    # Not area codes on purpose: the database checks only that a code is present.
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def open_account(holder_type: str, source: str = SOURCE) -> int:
    async with get_engine().begin() as conn:
        result = await conn.execute(
            text(
                "INSERT INTO ledger.accounts (holder_type, holder_code, source_code)"
                " VALUES (:t, :c, :s) RETURNING id"
            ),
            {"t": holder_type, "c": unique(holder_type), "s": source},
        )
        return int(result.scalar_one())


async def write_entry(
    conn: AsyncConnection, legs: Sequence[tuple[int, int]], kind: str = "allocation"
) -> uuid.UUID:
    """Insert an entry and its postings in the connection's open transaction (no commit)."""
    entry_id = uuid.uuid4()
    await conn.execute(
        text(
            "INSERT INTO ledger.journal_entries (id, kind, idempotency_key, request_hash, created_by)"
            " VALUES (:id, :kind, :key, :hash, 'test')"
        ),
        {"id": entry_id, "kind": kind, "key": f"raw-{entry_id}", "hash": "0" * 64},
    )
    for account_id, amount in legs:
        await conn.execute(INSERT_POSTING, {"e": entry_id, "a": account_id, "x": amount})
    return entry_id


async def post(legs: Sequence[tuple[int, int]], kind: str = "allocation") -> uuid.UUID:
    async with get_engine().begin() as conn:
        return await write_entry(conn, legs, kind)


async def funded(holder_type: str, amount: int) -> int:
    """A new fund account holding `amount`, paid in from a new external account."""
    outside, account = await open_account("external"), await open_account(holder_type)
    await post([(outside, -amount), (account, amount)], kind="income")
    return account


async def balance(account_id: int) -> int:
    async with get_engine().connect() as conn:
        result = await conn.execute(
            text("SELECT balance_fen FROM ledger.accounts WHERE id = :a"), {"a": account_id}
        )
        return int(result.scalar_one())


async def entry_exists(entry_id: uuid.UUID) -> bool:
    async with get_engine().connect() as conn:
        result = await conn.execute(
            text("SELECT 1 FROM ledger.journal_entries WHERE id = :e"), {"e": entry_id}
        )
        return result.first() is not None


async def refused_at_commit(legs: Sequence[tuple[int, int]]) -> IntegrityError:
    """Write the entry, see every statement accepted, and return the error COMMIT raises."""
    async with get_engine().connect() as conn:
        transaction = await conn.begin()
        entry_id = await write_entry(conn, legs)
        with pytest.raises(IntegrityError) as info:
            await transaction.commit()
    assert not await entry_exists(entry_id)
    return info.value


class TestBalancedEntries:
    async def test_unbalanced_entry_fails_at_commit(self) -> None:
        town, village = await funded("town", 1_000), await open_account("village")
        error = await refused_at_commit([(town, -100), (village, 90)])
        assert constraint_name(error) == "entry_balanced" and "does not balance" in str(error)
        assert await balance(town) == 1_000 and await balance(village) == 0

    async def test_one_legged_entry_fails_at_commit(self) -> None:
        village = await open_account("village")
        error = await refused_at_commit([(village, 100)])
        assert constraint_name(error) == "entry_balanced" and "at least two" in str(error)
        assert await balance(village) == 0

    async def test_entry_without_postings_fails_at_commit(self) -> None:
        error = await refused_at_commit([])
        assert constraint_name(error) == "entry_balanced"

    async def test_entry_must_balance_per_source(self) -> None:
        city_money = await funded("town", 1_000)
        charity_village = await open_account("village", source="city_charity")
        # Sums to zero, but city finance would turn into charity money: the trail would break.
        error = await refused_at_commit([(city_money, -100), (charity_village, 100)])
        assert constraint_name(error) == "entry_balanced" and "per source" in str(error)

    async def test_a_leg_added_after_the_entry_was_checked_is_checked_again(self) -> None:
        # An entry's postings are checked by the entry's own deferred check; one added after
        # that check has run (here forced early by SET CONSTRAINTS) queues a check of its own.
        town, village = await funded("town", 1_000), await open_account("village")
        async with get_engine().connect() as conn:
            transaction = await conn.begin()
            entry_id = await write_entry(conn, [(town, -100), (village, 100)])
            await conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
            await conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
            await conn.execute(INSERT_POSTING, {"e": entry_id, "a": village, "x": 5})
            with pytest.raises(IntegrityError) as info:
                await transaction.commit()
        assert constraint_name(info.value) == "entry_balanced"
        assert not await entry_exists(entry_id)
        assert await balance(town) == 1_000 and await balance(village) == 0

    async def test_interleaved_entries_are_each_checked(self) -> None:
        # Two entries written before either's legs: the first one's unbalanced legs are still
        # judged, whichever entry was written last.
        town, village = await funded("town", 1_000), await open_account("village")
        async with get_engine().connect() as conn:
            transaction = await conn.begin()
            first, second = uuid.uuid4(), uuid.uuid4()
            for entry_id in (first, second):
                await conn.execute(
                    text(
                        "INSERT INTO ledger.journal_entries (id, kind, idempotency_key, request_hash, created_by)"
                        " VALUES (:id, 'allocation', :key, :hash, 'test')"
                    ),
                    {"id": entry_id, "key": f"raw-{entry_id}", "hash": "0" * 64},
                )
            for entry_id, amount in ((second, 10), (first, 9)):
                await conn.execute(INSERT_POSTING, {"e": entry_id, "a": town, "x": -10})
                await conn.execute(INSERT_POSTING, {"e": entry_id, "a": village, "x": amount})
            with pytest.raises(IntegrityError) as info:
                await transaction.commit()
        assert constraint_name(info.value) == "entry_balanced" and str(first) in str(info.value)
        assert await balance(town) == 1_000

    async def test_balanced_entry_moves_balances_and_records_them(self) -> None:
        town, village = await funded("town", 1_000), await open_account("village")
        entry_id = await post([(town, -250), (village, 250)])
        assert (await balance(town), await balance(village)) == (750, 250)
        async with get_engine().connect() as conn:
            rows = await conn.execute(
                text("SELECT account_id, balance_after_fen FROM ledger.postings WHERE entry_id = :e"),
                {"e": entry_id},
            )
            assert {row.account_id: row.balance_after_fen for row in rows} == {town: 750, village: 250}


class TestImmutability:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE ledger.postings SET amount_fen = amount_fen * 2 WHERE entry_id = :e",
            "DELETE FROM ledger.postings WHERE entry_id = :e",
            "UPDATE ledger.journal_entries SET memo = 'edited' WHERE id = :e",
            "DELETE FROM ledger.journal_entries WHERE id = :e",
        ],
    )
    async def test_posted_rows_cannot_change(self, statement: str) -> None:
        town, village = await funded("town", 1_000), await open_account("village")
        entry_id = await post([(town, -100), (village, 100)])
        with pytest.raises(IntegrityError) as info:
            async with get_engine().begin() as conn:
                await conn.execute(text(statement), {"e": entry_id})
        assert "append-only" in str(info.value)
        assert (await balance(town), await balance(village)) == (900, 100)

    @pytest.mark.parametrize("table", ["postings", "journal_entries", "accounts"])
    async def test_tables_cannot_be_truncated(self, table: str) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            async with get_engine().begin() as conn:
                await conn.execute(text(f"TRUNCATE ledger.{table} CASCADE"))

    async def test_posted_entry_cannot_gain_legs(self) -> None:
        town, village = await funded("town", 1_000), await open_account("village")
        entry_id = await post([(town, -100), (village, 100)])
        with pytest.raises(IntegrityError) as info:
            async with get_engine().begin() as conn:
                for account_id, amount in ((town, -500), (village, 500)):
                    await conn.execute(INSERT_POSTING, {"e": entry_id, "a": account_id, "x": amount})
        assert constraint_name(info.value) == "entry_immutable"
        assert await balance(town) == 900

    async def test_balance_changes_only_through_postings(self) -> None:
        town = await funded("town", 1_000)
        with pytest.raises(IntegrityError) as info:
            async with get_engine().begin() as conn:
                await conn.execute(
                    text("UPDATE ledger.accounts SET balance_fen = 1000000000 WHERE id = :a"), {"a": town}
                )
        assert constraint_name(info.value) == "account_immutable"
        assert await balance(town) == 1_000


class TestNoOverdraft:
    async def test_fund_account_cannot_go_negative(self) -> None:
        town, village = await funded("town", 100), await open_account("village")
        with pytest.raises(IntegrityError) as info:
            await post([(town, -101), (village, 101)])
        assert constraint_name(info.value) == "ck_accounts_non_negative"
        assert (await balance(town), await balance(village)) == (100, 0)

    async def test_zero_amount_posting_is_refused(self) -> None:
        town, village = await funded("town", 100), await open_account("village")
        with pytest.raises(IntegrityError) as info:
            await post([(town, 0), (village, 0)])
        assert constraint_name(info.value) == "ck_postings_non_zero"

    async def test_only_the_outside_world_goes_negative(self) -> None:
        # A town of its own (the city has one account per source, shared by every test).
        outside, town = await open_account("external"), await open_account("town")
        await post([(outside, -5_000), (town, 5_000)], kind="income")
        assert (await balance(outside), await balance(town)) == (-5_000, 5_000)

    async def test_concurrent_allocations_spend_each_fen_once(self) -> None:
        town = await funded("town", 500)
        villages = [await open_account("village") for _ in range(4)]

        async def allocate(i: int) -> uuid.UUID:
            async with get_engine().connect() as conn:
                transaction = await conn.begin()
                entry_id = await write_entry(conn, [(town, -100), (villages[i % 4], 100)])
                await asyncio.sleep(0.05)  # hold the row lock, so the others queue behind it
                await transaction.commit()
                return entry_id

        results = await asyncio.gather(*(allocate(i) for i in range(20)), return_exceptions=True)
        succeeded = [r for r in results if isinstance(r, uuid.UUID)]
        refused = [r for r in results if not isinstance(r, uuid.UUID)]
        assert len(succeeded) == 5
        assert all(isinstance(r, IntegrityError) and constraint_name(r) == OVERDRAFT for r in refused)
        assert await balance(town) == 0
        assert sum([await balance(v) for v in villages]) == 500
        async with get_engine().connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT balance_after_fen FROM ledger.postings WHERE account_id = :a AND amount_fen < 0"
                ),
                {"a": town},
            )
            # The row lock ordered them: each saw the balance the previous one left behind.
            assert sorted(rows.scalars().all()) == [0, 100, 200, 300, 400]
