"""The ledger's internal API over HTTP, on the real database: income, allocation, idempotency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ledger.api.app import app
from tests.ledger.support import (
    Ledger,
    assert_problem,
    city,
    entries_with_key,
    ledger_client,
    new_town,
    town_holder,
    village_holder,
    village_of,
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for http in ledger_client():
        yield http


@pytest.fixture
def ledger(client: httpx.AsyncClient) -> Ledger:
    return Ledger(client)


class TestIncomeAndAllocation:
    async def test_income_then_city_to_town_to_village(self, ledger: Ledger) -> None:
        town = new_town()
        village = village_of(town)
        city_before = (await ledger.balances(city()))["city_finance"]

        income = await ledger.income(city(), 1_000_000)
        assert income.status_code == 201, income.text
        entry = income.json()
        assert entry["kind"] == "income" and entry["created_by"] == "gateway"
        assert [(p["holder_type"], p["amount_fen"]) for p in entry["postings"]] == [
            ("external", -1_000_000),
            ("city", 1_000_000),
        ]
        assert entry["postings"][1]["balance_after_fen"] == city_before + 1_000_000

        down = await ledger.allocate(city(), town_holder(town), 300_000)
        assert down.status_code == 201, down.text
        further = await ledger.allocate(town_holder(town), village_holder(village), 120_000)
        assert further.status_code == 201, further.text
        assert {(p["holder_type"], p["balance_after_fen"]) for p in further.json()["postings"]} == {
            ("town", 180_000),
            ("village", 120_000),
        }

        assert (await ledger.balances(city()))["city_finance"] == city_before + 700_000
        assert await ledger.balances(town_holder(town)) == {
            "city_finance": 180_000,
            "city_charity": 0,
            "town_matching": 0,
            "village_collective": 0,
            "donation": 0,
        }
        assert (await ledger.balances(village_holder(village)))["city_finance"] == 120_000

        fetched = await ledger.http.get(f"/internal/ledger/entries/{further.json()['id']}")
        assert fetched.status_code == 200 and fetched.json() == further.json()

    async def test_balances_are_kept_per_source(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        village = village_of(town, 7)
        assert (await ledger.income(town_holder(town), 500, source="town_matching")).status_code == 201

        response = await ledger.http.get("/internal/ledger/balances", params=town_holder(town))
        body = response.json()
        assert body["total_fen"] == 1_500
        assert [(s["source_code"], s["source_name"], s["balance_fen"]) for s in body["sources"]] == [
            ("city_finance", "市财政", 1_000),
            ("city_charity", "市慈善会", 0),
            ("town_matching", "镇街配套", 500),
            ("village_collective", "村集体", 0),
            ("donation", "社会捐赠", 0),
        ]
        # 1,500 in total, but only 1,000 of it is city money: the sources never mix.
        refused = await ledger.allocate(town_holder(town), village_holder(village), 1_200)
        assert_problem(refused, 409, "insufficient_funds")
        assert (
            await ledger.allocate(town_holder(town), village_holder(village), 500, "town_matching")
        ).is_success
        assert (await ledger.balances(village_holder(village)))["town_matching"] == 500

    async def test_statement_pages_newest_first(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        for number in (201, 202, 203):
            assert (
                await ledger.allocate(town_holder(town), village_holder(village_of(town, number)), 100)
            ).is_success
        params: dict[str, str | int] = {**town_holder(town), "source_code": "city_finance", "limit": 2}
        first = (await ledger.http.get("/internal/ledger/statement", params=params)).json()
        assert first["balance_fen"] == 700
        assert [(line["amount_fen"], line["balance_after_fen"]) for line in first["lines"]] == [
            (-100, 700),
            (-100, 800),
        ]
        rest = await ledger.http.get(
            "/internal/ledger/statement", params={**params, "before": first["next_before"]}
        )
        lines = rest.json()["lines"]
        assert [(line["kind"], line["balance_after_fen"]) for line in lines] == [
            ("allocation", 900),
            ("allocation", 1_000),
        ]
        assert rest.json()["next_before"] is None


class TestIdempotency:
    async def test_replay_returns_the_first_entry(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        key = f"alloc-{uuid.uuid4()}"
        first = await ledger.allocate(town_holder(town), village_holder(village_of(town)), 400, key=key)
        again = await ledger.allocate(town_holder(town), village_holder(village_of(town)), 400, key=key)
        assert first.status_code == 201 and again.status_code == 200
        assert again.json() == first.json()
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 600
        assert await entries_with_key(key) == 1

    async def test_concurrent_replays_record_once(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        key = f"alloc-{uuid.uuid4()}"
        responses = await asyncio.gather(
            *(
                ledger.allocate(town_holder(town), village_holder(village_of(town)), 100, key=key)
                for _ in range(6)
            )
        )
        assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
        assert len({r.json()["id"] for r in responses}) == 1
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 900

    async def test_same_key_different_body_is_a_conflict(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        key = f"alloc-{uuid.uuid4()}"
        assert (
            await ledger.allocate(town_holder(town), village_holder(village_of(town)), 400, key=key)
        ).is_success
        other = await ledger.allocate(town_holder(town), village_holder(village_of(town)), 401, key=key)
        assert_problem(other, 409, "idempotency_key_reused")
        income_with_it = await ledger.income(town_holder(town), 400, source="town_matching", key=key)
        assert_problem(income_with_it, 409, "idempotency_key_reused")
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 600

    async def test_key_is_required(self, ledger: Ledger) -> None:
        body = {"source_code": "city_finance", "holder": city(), "amount_fen": 1}
        for headers in ({}, {"Idempotency-Key": ""}, {"Idempotency-Key": "x" * 201}):
            response = await ledger.http.post("/internal/ledger/income", json=body, headers=headers)
            assert_problem(response, 422, "idempotency_key_required")


class TestRefusals:
    async def test_insufficient_funds_writes_nothing_and_stays_failed(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        village = village_of(town)
        key = f"alloc-{uuid.uuid4()}"
        refused = await ledger.allocate(town_holder(town), village_holder(village), 101, key=key)
        body = assert_problem(refused, 409, "insufficient_funds")
        assert body["available_fen"] == 100 and body["required_fen"] == 101 and "余额不足" in body["detail"]
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 100
        assert (await ledger.balances(village_holder(village)))["city_finance"] == 0
        assert await entries_with_key(key) == 0
        # The refusal is the key's answer from now on, even once the money is there ...
        assert (await ledger.income(city(), 1)).status_code == 201
        assert (await ledger.allocate(city(), town_holder(town), 1)).status_code == 201
        again = await ledger.allocate(town_holder(town), village_holder(village), 101, key=key)
        assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == refused.json()
        # ... and the key with a request that would fit is another body: a conflict.
        other = await ledger.allocate(town_holder(town), village_holder(village), 100, key=key)
        assert_problem(other, 409, "idempotency_key_reused")
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 101
        assert await entries_with_key(key) == 0

    async def test_concurrent_allocations_never_overdraw(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(500)
        responses = await asyncio.gather(
            *(
                ledger.allocate(town_holder(town), village_holder(village_of(town, 201 + i % 3)), 100)
                for i in range(10)
            )
        )
        assert sorted(r.status_code for r in responses) == [201] * 5 + [409] * 5
        assert all(r.json()["code"] == "insufficient_funds" for r in responses if r.status_code == 409)
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 0

    async def test_village_of_another_town(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        stranger = village_of(new_town())
        assert_problem(
            await ledger.allocate(town_holder(town), village_holder(stranger), 10), 422, "invalid_allocation"
        )

    @pytest.mark.parametrize(
        ("payer", "payee"),
        [
            ("city", "village"),  # skips the town
            ("village", "town"),  # upwards
        ],
    )
    async def test_only_one_level_down(self, ledger: Ledger, payer: str, payee: str) -> None:
        town = new_town()
        holders = {"city": city(), "town": town_holder(town), "village": village_holder(village_of(town))}
        response = await ledger.allocate(holders[payer], holders[payee], 10)
        assert_problem(response, 422, "invalid_allocation")

    @pytest.mark.parametrize("amount", [0, -100, 1.5, "100"])
    async def test_amount_must_be_positive_fen(self, ledger: Ledger, amount: Any) -> None:
        town = new_town()
        response = await ledger.allocate(city(), town_holder(town), amount)
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"][0]["field"] == "amount_fen"

    async def test_unknown_source(self, ledger: Ledger) -> None:
        assert_problem(await ledger.income(city(), 10, source="lottery"), 422, "unknown_source")

    async def test_source_reaches_only_its_own_level(self, ledger: Ledger) -> None:
        response = await ledger.income(town_holder(new_town()), 10, source="city_finance")
        assert_problem(response, 422, "invalid_income_target")

    async def test_malformed_holder_code(self, ledger: Ledger) -> None:
        response = await ledger.allocate(city(), town_holder("441900121"), 10)
        assert_problem(response, 422, "invalid_holder")

    async def test_unknown_fields_are_refused(self, ledger: Ledger) -> None:
        body = {"source_code": "city_finance", "holder": city(), "amount_fen": 1, "currency": "CNY"}
        response = await ledger.http.post(
            "/internal/ledger/income", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert_problem(response, 422, "invalid_input")

    async def test_unknown_entry(self, ledger: Ledger) -> None:
        assert_problem(await ledger.http.get(f"/internal/ledger/entries/{uuid.uuid4()}"), 404, "not_found")


class TestAuthentication:
    @pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic Z2F0ZXdheQ=="])
    async def test_every_route_needs_a_service_token(self, authorization: str | None) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ledger"
        ) as http:
            calls = [
                http.post("/internal/ledger/income", json={}, headers={**headers, "Idempotency-Key": "k"}),
                http.post(
                    "/internal/ledger/allocations", json={}, headers={**headers, "Idempotency-Key": "k"}
                ),
                http.get("/internal/ledger/balances", params=city(), headers=headers),
                http.get(f"/internal/ledger/entries/{uuid.uuid4()}", headers=headers),
                http.get(
                    "/internal/ledger/statement",
                    params={**city(), "source_code": "donation"},
                    headers=headers,
                ),
            ]
            for response in await asyncio.gather(*calls):
                assert_problem(response, 401, "unauthorized")
