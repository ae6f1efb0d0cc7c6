"""The gateway's ledger routes: who may move or see which money, keys passed through, the public
disclosure. The ledger runs in-process behind the gateway's own client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ledger.api.app import app as ledger_app
from services.gateway.api.app import app as gateway_app
from services.gateway.service import client as gateway_client
from tests.fixtures import bearer
from tests.fixtures import staff as member
from tests.ledger.support import (
    Ledger,
    assert_problem,
    city,
    key,
    new_town,
    payee,
    town_holder,
    village_holder,
    village_of,
)


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    upstream = httpx.AsyncClient(transport=httpx.ASGITransport(app=ledger_app), base_url="http://ledger")
    saved = gateway_client._clients.get("ledger")
    gateway_client._clients["ledger"] = upstream
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw"
        ) as gw:
            yield gw
    finally:
        gateway_client._clients.pop("ledger", None)
        if saved is not None:
            gateway_client._clients["ledger"] = saved
        await upstream.aclose()


async def post(
    gw: httpx.AsyncClient, path: str, body: dict[str, Any], auth: dict[str, str], idem: str | None = ""
) -> httpx.Response:
    headers = dict(auth)
    if idem is not None:
        headers["Idempotency-Key"] = idem or key()
    return await gw.post(f"/api/v1/ledger{path}", json=body, headers=headers)


class TestScopes:
    async def test_town_staff_moves_only_its_own_town_money(
        self, gateway: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        town, other = await ledger.funded_town(1_000), new_town()
        staff = bearer(member("town_staff", town))
        own = {"source_code": "town_matching", "holder": town_holder(town), "amount_fen": 10}
        assert (await post(gateway, "/income", own, staff)).status_code == 201
        foreign = {**own, "holder": town_holder(other)}
        assert_problem(await post(gateway, "/income", foreign, staff), 403, "out_of_scope")
        down = {
            "source_code": "city_finance",
            "from_holder": town_holder(town),
            "to_holder": village_holder(village_of(town)),
            "amount_fen": 100,
        }
        assert (await post(gateway, "/allocations", down, staff)).status_code == 201
        from_city = {**down, "from_holder": city(), "to_holder": town_holder(town)}
        assert_problem(await post(gateway, "/allocations", from_city, staff), 403, "out_of_scope")
        # Reads: its own town and its villages, not another town.
        seen = await gateway.get(
            "/api/v1/ledger/balances", params=village_holder(village_of(town)), headers=staff
        )
        assert seen.status_code == 200
        hidden = await gateway.get("/api/v1/ledger/balances", params=town_holder(other), headers=staff)
        assert_problem(hidden, 403, "out_of_scope")
        report = await gateway.get(f"/api/v1/ledger/reports/towns/{town}", headers=staff)
        assert report.status_code == 200 and report.json()["holder_code"] == town

    async def test_village_staff_and_reservations(self, gateway: httpx.AsyncClient, ledger: Ledger) -> None:
        town = new_town()
        village, neighbour = village_of(town), village_of(town, 202)
        await ledger.fund(village_holder(village), 500)
        await ledger.fund(village_holder(neighbour), 500)
        mine, theirs = bearer(member("village_staff", village)), bearer(member("village_staff", neighbour))
        made = await post(
            gateway,
            "/reservations",
            {"holder": village_holder(village), "payee": payee(), "amount_fen": 300},
            mine,
        )
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        assert (await gateway.get(f"/api/v1/ledger/reservations/{rid}", headers=mine)).status_code == 200
        # A neighbour's reservation answers as one that does not exist (issue 15).
        assert_problem(
            await gateway.get(f"/api/v1/ledger/reservations/{rid}", headers=theirs),
            404,
            "reservation_not_found",
        )
        assert_problem(
            await post(gateway, f"/reservations/{rid}/release", {}, theirs), 404, "reservation_not_found"
        )
        paid = await post(gateway, f"/reservations/{rid}/disbursements", {"amount_fen": 100}, mine)
        assert paid.status_code == 201 and paid.json()["remaining_fen"] == 200
        missing = await post(gateway, f"/reservations/{uuid.uuid4()}/release", {}, mine)
        assert_problem(missing, 404, "reservation_not_found")

    async def test_auditors_read_and_never_write(self, gateway: httpx.AsyncClient, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        auditor = bearer(member("auditor"))
        body = {"source_code": "city_finance", "holder": city(), "amount_fen": 1}
        assert_problem(await post(gateway, "/income", body, auditor), 403, "read_only")
        for path in ("/audit/verify", "/audit/reconcile", "/reports/sources", f"/reports/towns/{town}"):
            response = await gateway.get(f"/api/v1/ledger{path}", headers=auditor)
            assert response.status_code == 200, (path, response.text)
        assert (await gateway.get("/api/v1/ledger/audit/verify", headers=auditor)).json()["ok"] is True

    async def test_only_the_city_reverses_and_sets_ratios(
        self, gateway: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        town = await ledger.funded_town(100)
        entry = (await ledger.disburse(town_holder(town), 10)).json()
        staff = bearer(member("town_staff", town))
        assert_problem(
            await post(gateway, f"/entries/{entry['id']}/reversal", {"memo": "x"}, staff), 403, "forbidden"
        )
        ratio = await gateway.put(
            f"/api/v1/ledger/towns/{town}/matching", json={"ratio": "1:0.5"}, headers=staff
        )
        assert_problem(ratio, 403, "forbidden")
        admin = bearer(member("city_admin"))
        assert (
            await post(gateway, f"/entries/{entry['id']}/reversal", {"memo": "x"}, admin)
        ).status_code == 201
        ratio = await gateway.put(
            f"/api/v1/ledger/towns/{town}/matching", json={"ratio": "1:0.5"}, headers=admin
        )
        assert ratio.status_code == 200 and ratio.json()["required_fen"] == 50


class TestKeys:
    async def test_key_required_and_replays_pass_through(self, gateway: httpx.AsyncClient) -> None:
        admin = bearer(member("city_admin"))
        body = {"source_code": "city_charity", "holder": city(), "amount_fen": 7}
        assert_problem(
            await post(gateway, "/income", body, admin, idem=None), 422, "idempotency_key_required"
        )
        idem = key()
        first = await post(gateway, "/income", body, admin, idem)
        again = await post(gateway, "/income", body, admin, idem)
        assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
        assert first.json()["created_by"].startswith("gateway/")
        # The replay says it is one, as the README promises; the first answer does not.
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers

    async def test_a_refusal_replayed_through_the_gateway_says_so(
        self, gateway: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        town = await ledger.funded_town(10)
        admin, idem = bearer(member("city_admin")), key()
        body = {"holder": town_holder(town), "payee": payee(), "amount_fen": 500}
        first = await post(gateway, "/disbursements", body, admin, idem)
        again = await post(gateway, "/disbursements", body, admin, idem)
        assert_problem(first, 409, "insufficient_funds")
        assert_problem(again, 409, "insufficient_funds")
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_an_invalid_body_does_not_consume_the_key(
        self, gateway: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        town = await ledger.funded_town(100)
        admin, idem = bearer(member("city_admin")), key()
        wrong = {
            "source_code": "city_finance",
            "from_holder": town_holder(town),
            "to_holder": village_holder(village_of(new_town())),  # not one of its villages
            "amount_fen": 40,
        }
        assert_problem(await post(gateway, "/allocations", wrong, admin, idem), 422, "invalid_allocation")
        fixed = {**wrong, "to_holder": village_holder(village_of(town))}
        done = await post(gateway, "/allocations", fixed, admin, idem)
        assert done.status_code == 201, done.text
        assert "Idempotent-Replayed" not in done.headers
        replay = await post(gateway, "/allocations", fixed, admin, idem)
        assert (replay.status_code, replay.json()) == (200, done.json())
        assert (await ledger.balances(village_holder(village_of(town))))["city_finance"] == 40


class TestPublic:
    async def test_public_funds_are_anonymous_and_cacheable(
        self, gateway: httpx.AsyncClient, ledger: Ledger
    ) -> None:
        town = await ledger.funded_town(500)
        secret = payee()
        assert (await ledger.disburse(town_holder(town), 100, payee=secret)).status_code == 201
        response = await gateway.get("/api/v1/public/funds")
        assert response.status_code == 200 and "ETag" in response.headers
        assert secret["payee_code"] not in response.text
        assert any(t["town_code"] == town and t["disbursed_fen"] == 100 for t in response.json()["towns"])
        cached = await gateway.get(
            "/api/v1/public/funds", headers={"If-None-Match": response.headers["ETag"]}
        )
        assert cached.status_code == 304
