"""Ledger edges (issue 16.9): a key first sent with an invalid body is not consumed, and the city
holder has one code, `city`, the old spelling still read."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ledger.service import reconcile, verify_chain
from ledger.service.audit import entry_facts
from ledger.service.chain import entry_content
from services.common.db import get_engine, session_scope
from tests.ledger.support import (
    Ledger,
    assert_problem,
    city,
    key,
    new_town,
    scalar,
    town_holder,
    village_holder,
    village_of,
)

LEGACY_CITY = {"holder_type": "city", "holder_code": "441900000000"}


async def commands_with_key(idem: str) -> int:
    return int(await scalar("SELECT count(*) FROM ledger.commands WHERE idempotency_key = :k", k=idem))


class TestInvalidInputKeepsTheKey:
    async def test_a_domain_invalid_body_then_the_corrected_one(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        idem = key()
        stranger = village_holder(village_of(new_town()))
        first = await ledger.allocate(town_holder(town), stranger, 30, key=idem)
        assert_problem(first, 422, "invalid_allocation")
        assert "Idempotent-Replayed" not in first.headers
        assert await commands_with_key(idem) == 0  # nothing kept under the key
        done = await ledger.allocate(town_holder(town), village_holder(village_of(town)), 30, key=idem)
        assert done.status_code == 201, done.text
        again = await ledger.allocate(town_holder(town), village_holder(village_of(town)), 30, key=idem)
        assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (
            200,
            done.json(),
            "true",
        )
        # The invalid body is now another request under a used key, not a second try.
        assert_problem(
            await ledger.allocate(town_holder(town), stranger, 30, key=idem), 409, "idempotency_key_reused"
        )
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 70

    async def test_a_body_that_does_not_parse_then_the_corrected_one(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        idem = key()
        payer, payee = town_holder(town), village_holder(village_of(town))
        assert_problem(await ledger.allocate(payer, payee, -5, key=idem), 422, "invalid_input")
        assert (await ledger.allocate(payer, payee, 5, key=idem)).status_code == 201

    async def test_a_refusal_other_than_invalid_input_still_keeps_the_key(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(10)
        idem = key()
        payer, payee = town_holder(town), village_holder(village_of(town))
        assert_problem(await ledger.allocate(payer, payee, 50, key=idem), 409, "insufficient_funds")
        await ledger.fund(town_holder(town), 100)
        again = await ledger.allocate(payer, payee, 50, key=idem)
        assert_problem(again, 409, "insufficient_funds")
        assert again.headers["Idempotent-Replayed"] == "true"


class TestOneCityCode:
    async def test_the_city_is_city_and_the_old_code_reads_as_it(self, ledger: Ledger) -> None:
        before = (await ledger.balances(city())).get("city_charity", 0)
        entry = await ledger.income(city(), 11, source="city_charity")
        assert entry.status_code == 201, entry.text
        body = entry.json()
        assert body["holder_code"] == "city"
        assert {p["holder_code"] for p in body["postings"] if p["holder_type"] == "city"} == {"city"}
        # The old spelling is accepted and lands in the same account, answered as `city`.
        legacy = await ledger.income(LEGACY_CITY, 4, source="city_charity")
        assert legacy.status_code == 201 and legacy.json()["holder_code"] == "city"
        assert (await ledger.balances(city()))["city_charity"] == before + 15
        assert (await ledger.balances(LEGACY_CITY))["city_charity"] == before + 15
        assert await scalar("SELECT count(*) FROM ledger.accounts WHERE holder_code = '441900000000'") == 0
        # The chain content of a city entry: Python and SQL agree, and the chain verifies.
        entry_id = uuid.UUID(body["id"])
        sql = await scalar("SELECT ledger.entry_content(:id)", id=body["id"])
        async with session_scope() as session:
            assert entry_content((await entry_facts(session, [entry_id]))[entry_id]) == sql
            assert (await verify_chain(session)).ok and (await reconcile(session)).ok
        assert "holder=city:343431393030303030303030" in sql

    async def test_the_city_allocates_to_a_town_by_its_one_code(self, ledger: Ledger) -> None:
        town = new_town()
        assert (await ledger.income(city(), 20)).status_code == 201
        response = await ledger.allocate(city(), town_holder(town), 20)
        assert response.status_code == 201, response.text
        assert response.json()["holder_code"] == "city"

    @pytest.mark.parametrize("table", ["accounts", "reservations", "pledges", "journal_entries"])
    async def test_the_database_refuses_the_old_code_for_the_city(self, table: str) -> None:
        column = {"pledges": "recipient"}.get(table, "holder")
        check = await scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name",
            name=f"ck_{table}_city_code",
        )
        assert f"{column}_code" in check and "'city'" in check
        if table == "accounts":
            with pytest.raises(IntegrityError):
                async with get_engine().begin() as conn:
                    await conn.execute(
                        text(
                            "INSERT INTO ledger.accounts (holder_type, holder_code, source_code)"
                            " VALUES ('city', '441900000000', 'city_finance')"
                        )
                    )
