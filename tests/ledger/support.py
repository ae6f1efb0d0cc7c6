"""Helpers shared by the ledger's tests: fresh area codes, an API client, database peeks.

The test database lives for the whole session and tests do not roll back, so every test takes
towns of its own from one allocator shared by every ledger test module (villages follow their
town's prefix), and payees, donors and keys carry a uuid.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import text

from ledger.api.app import app
from ledger.service.rules import CITY_CODE
from services.common.auth import mint_service_token
from services.common.db import get_engine
from services.common.reference import load_reference

PROBLEM = "application/problem+json"
# Never a real town's number: tests of the whole system fund real towns and their villages in the
# same database, and a ledger test that sums its own town's accounts by code prefix would count them.
_REAL_TOWNS = {int(t.code[6:9]) for t in load_reference().towns}
_TOWN_NUMBERS = iter(
    random.sample([n for n in range(1, 1000) if n not in _REAL_TOWNS], 999 - len(_REAL_TOWNS))
)

Holder = dict[str, str]


def new_town() -> str:
    return f"441900{next(_TOWN_NUMBERS):03d}000"


def village_of(town: str, number: int = 201) -> str:
    return f"{town[:9]}{number:03d}"


def city() -> Holder:
    return {"holder_type": "city", "holder_code": CITY_CODE}


def town_holder(code: str) -> Holder:
    return {"holder_type": "town", "holder_code": code}


def village_holder(code: str) -> Holder:
    return {"holder_type": "village", "holder_code": code}


def payee(kind: str = "beneficiary") -> dict[str, str]:
    # Letters between short runs: a random run of 11+ digits could read as a phone number, which
    # the ledger rightly refuses as a payee code.
    h = uuid.uuid4().hex
    return {"payee_type": kind, "payee_code": f"A-{h[:4]}x{h[4:8]}x{h[8:12]}"}


def key() -> str:
    return str(uuid.uuid4())


async def ledger_client() -> AsyncIterator[httpx.AsyncClient]:
    """The ledger's internal API in-process, with a gateway service token."""
    headers = {"Authorization": f"Bearer {mint_service_token('gateway')}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ledger", headers=headers
    ) as http:
        yield http


class Ledger:
    """Small helpers over the API, so each test reads as the story it tells."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, path: str, body: dict[str, Any], idem: str | None = None) -> httpx.Response:
        return await self.http.post(
            f"/internal/ledger{path}", json=body, headers={"Idempotency-Key": idem or key()}
        )

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"/internal/ledger{path}", params=params)

    async def income(
        self, holder: Holder, amount: int, source: str = "city_finance", key: str | None = None
    ) -> httpx.Response:
        body = {"source_code": source, "holder": holder, "amount_fen": amount, "memo": "2020 年度专项资金"}
        return await self.post("/income", body, key)

    async def allocate(
        self, payer: Holder, payee: Holder, amount: Any, source: str = "city_finance", key: str | None = None
    ) -> httpx.Response:
        body = {"source_code": source, "from_holder": payer, "to_holder": payee, "amount_fen": amount}
        return await self.post("/allocations", body, key)

    async def balances(self, holder: Holder, **params: Any) -> dict[str, int]:
        response = await self.http.get("/internal/ledger/balances", params={**holder, **params})
        assert response.status_code == 200, response.text
        return {s["source_code"]: s["balance_fen"] for s in response.json()["sources"]}

    async def funded_town(self, amount: int, source: str = "city_finance") -> str:
        """A new town holding `amount` of `source`, arrived by the proper path."""
        town = new_town()
        await self.fund(town_holder(town), amount, source)
        return town

    async def fund(self, holder: Holder, amount: int, source: str = "city_finance") -> None:
        """Give an existing town or village `amount` of `source` by the proper path."""
        town = holder["holder_code"][:9] + "000"
        if source == "city_finance":
            assert (await self.income(city(), amount)).status_code == 201
            assert (await self.allocate(city(), town_holder(town), amount)).status_code == 201
            if holder["holder_type"] == "village":
                assert (await self.allocate(town_holder(town), holder, amount)).status_code == 201
        else:
            assert (await self.income(holder, amount, source=source)).status_code == 201

    async def reserve(self, holder: Holder, amount: int, **extra: Any) -> httpx.Response:
        body = {"holder": holder, "payee": extra.pop("payee", payee()), "amount_fen": amount, **extra}
        return await self.post("/reservations", body, extra.pop("idem", None))

    async def disburse(self, holder: Holder, amount: int, **extra: Any) -> httpx.Response:
        body = {"holder": holder, "payee": extra.pop("payee", payee()), "amount_fen": amount, **extra}
        return await self.post("/disbursements", body)


async def entries_with_key(idem: str) -> int:
    async with get_engine().connect() as conn:
        result = await conn.execute(
            text("SELECT count(*) FROM ledger.journal_entries WHERE idempotency_key = :k"), {"k": idem}
        )
        return int(result.scalar_one())


async def scalar(sql: str, **params: Any) -> Any:
    async with get_engine().connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body
