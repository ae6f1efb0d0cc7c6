"""The gateway's intake routes (staff commands, public disclosure, statistics) against the real
intake app: tokens checked, problems passed through, ETag / 304 for dashboards and the public."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from intake.api.app import app as intake_app
from services.gateway.api.app import app as gateway_app
from services.gateway.service import client as gateway_client
from tests.fixtures import bearer, staff
from tests.intake.support import CHANGPING, CITY, SIMA, create, draft, force


@pytest.fixture
async def gw() -> AsyncIterator[httpx.AsyncClient]:
    intake = httpx.AsyncClient(transport=httpx.ASGITransport(app=intake_app), base_url="http://intake")
    saved = gateway_client._clients.get("intake")
    gateway_client._clients["intake"] = intake
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw"
        ) as c:
            yield c
    finally:
        await intake.aclose()
        if saved is not None:
            gateway_client._clients["intake"] = saved
        else:
            gateway_client._clients.pop("intake", None)


@pytest.fixture
async def intake() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=intake_app), base_url="http://intake"
    ) as c:
        yield c


async def test_staff_commands_pass_through_with_the_staff_as_actor(
    gw: httpx.AsyncClient, intake: httpx.AsyncClient
) -> None:
    accepted = await create(intake, draft(SIMA, CHANGPING, f"司马村公园座椅坏了（{uuid.uuid4().hex[:6]}）"))
    path = f"/api/v1/staff/appeals/{accepted['appeal_id']}/hold"
    assert (await gw.post(path, json={"reason": "等待补充"})).status_code == 401
    village = staff("village_staff", SIMA)
    r = await gw.post(path, json={"reason": "等待补充"}, headers=bearer(village))
    assert r.status_code == 200 and r.json()["status"] == "on_hold"
    again = await gw.post(path, json={"reason": "再次暂停"}, headers=bearer(village))
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["state"] == "on_hold"
    other = staff("village_staff", "441900110201")
    assert (await gw.post(path, json={"reason": "x"}, headers=bearer(other))).status_code == 404
    timeline = await gw.get(
        f"/api/v1/staff/appeals/{accepted['appeal_id']}/timeline", headers=bearer(village)
    )
    assert timeline.json()[-1]["actor"] == f"staff:{village.username}"


async def test_public_list_and_statistics_answer_304_when_unchanged(
    gw: httpx.AsyncClient, intake: httpx.AsyncClient
) -> None:
    accepted = await create(
        intake, draft(SIMA, CHANGPING, f"司马村市场门口的路面塌陷（{uuid.uuid4().hex[:6]}）")
    )
    await force(accepted["appeal_id"], status="triaged", kind="micro_project", category="facility")
    first = await gw.get("/api/v1/public/appeals", params={"village": SIMA})
    assert first.status_code == 200 and first.headers["etag"]
    assert accepted["ticket_no"] in {i["ticket_no"] for i in first.json()["items"]}
    cached = await gw.get(
        "/api/v1/public/appeals", params={"village": SIMA}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert cached.status_code == 304
    detail = await gw.get(f"/api/v1/public/disclosure/{accepted['ticket_no']}")
    assert detail.status_code == 200 and detail.json()["ticket_no"] == accepted["ticket_no"]
    assert (await gw.get("/api/v1/public/disclosure/not-a-ticket")).status_code == 404

    assert (await gw.get("/api/v1/stats/kpis")).status_code == 401
    kpis = await gw.get(
        "/api/v1/stats/kpis", params={"level": "town", "code": CHANGPING}, headers=bearer(CITY)
    )
    assert kpis.status_code == 200 and kpis.headers["etag"]
    same = await gw.get(
        "/api/v1/stats/kpis",
        params={"level": "town", "code": CHANGPING},
        headers={**bearer(CITY), "If-None-Match": kpis.headers["etag"]},
    )
    assert same.status_code == 304
    village = staff("village_staff", SIMA)
    refused = await gw.get(
        "/api/v1/stats/kpis", params={"level": "town", "code": CHANGPING}, headers=bearer(village)
    )
    assert refused.status_code == 403
    xlsx = await gw.get("/api/v1/stats/kpis/export", params={"format": "xlsx"}, headers=bearer(CITY))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "attachment" in xlsx.headers["content-disposition"]
    public = await gw.get("/api/v1/stats/public")
    assert public.status_code == 200 and public.json()["level"] == "city"
