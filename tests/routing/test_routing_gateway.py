"""Routing's staff, donor and beneficiary routes through the real gateway, to the real routing and
intake services (each its own process): roles checked at the door, problems passed through, a
donor's key and idempotency key forwarded, a claim race decided, a beneficiary's query code checked."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import mint_service_token
from services.gateway.api.app import app as gateway_app
from tests.fakes.live_service import environment, live_service
from tests.fixtures import bearer, received, staff
from tests.routing.support import (
    CITY,
    CIVIL_AFFAIRS,
    DIBAO,
    HUMEN,
    HUMEN_TOWN,
    NANCHENG,
    NANCHENG_TOWN,
    empty_queue,
    feed,
)

PROBLEM = "application/problem+json"
SCHOOL_BAG = "孩子上学没有书包和文具，家里困难"


@pytest.fixture(scope="module")
async def services(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    logs: Path = tmp_path_factory.mktemp("routing-gateway")
    with live_service("routing", logs) as routing_url, live_service("intake", logs) as intake_url:
        async with (
            environment({"GUANJIA_ROUTING_URL": routing_url, "GUANJIA_INTAKE_URL": intake_url}),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw") as client,
        ):
            yield client, intake_url


@pytest.fixture
async def gw(services: tuple[httpx.AsyncClient, str]) -> httpx.AsyncClient:
    await empty_queue()
    return services[0]


async def filed_in_intake(intake_url: str, description: str) -> dict[str, Any]:
    """A real appeal in intake (its ticket and query code), then routing receives it."""
    draft = {
        "channel": "village_visit",
        "channel_ref": f"visit-{uuid.uuid4()}",
        "description": description,
        "location": {"town_code": HUMEN},
    }
    async with httpx.AsyncClient(base_url=intake_url) as intake:
        made = await intake.post(
            "/internal/appeals",
            json=draft,
            headers={"Authorization": f"Bearer {mint_service_token('gateway')}"},
        )
    assert made.status_code == 201, made.text
    accepted: dict[str, Any] = made.json()
    event = received(description, town_code=HUMEN, ticket_no=accepted["ticket_no"])
    await feed(event.model_copy(update={"appeal_id": uuid.UUID(accepted["appeal_id"])}))
    return accepted


async def test_the_routes_are_documented(gw: httpx.AsyncClient) -> None:
    paths = set((await gw.get("/openapi.json")).json()["paths"])
    for path in (
        "/api/v1/routing/queue",
        "/api/v1/routing/triage/{appeal_id}/decision",
        "/api/v1/routing/catalogue/policies/{code}",
        "/api/v1/routing/assignments/{appeal_id}/return",
        "/api/v1/routing/joint-meetings/{meeting_id}/decisions",
        "/api/v1/consultations",
        "/api/v1/consultations/{consultation_id}/objections",
        "/api/v1/stations/{code}/service-records",
        "/api/v1/stations/service-records/{record_id}/beneficiary-confirmation",
        "/api/v1/donors/claims",
        "/api/v1/donors/claims/{claim_id}/report",
    ):
        assert path in paths, path


async def test_staff_route_triage_and_send_back_through_the_gateway(gw: httpx.AsyncClient) -> None:
    catalogue = await gw.get("/api/v1/routing/catalogue")
    assert catalogue.status_code == 200 and len(catalogue.json()["policies"]) >= 42
    anonymous = await gw.get("/api/v1/routing/queue")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith(PROBLEM)
    village = await gw.get("/api/v1/routing/queue", headers=bearer(staff("village_staff", "441900121001")))
    assert village.status_code == 403
    # Only the appeals the model classified surely (waiting to be placed) reach the city's page.
    unplaced = await feed(received(DIBAO))
    sure = await gw.get("/api/v1/routing/queue", params={"unsure": "false"}, headers=bearer(CITY))
    assert sure.status_code == 200 and all(not x["triage"]["unsure"] for x in sure.json())
    assert str(unplaced) in {x["appeal_id"] for x in sure.json()}
    unsure = await gw.get("/api/v1/routing/queue", params={"unsure": "true"}, headers=bearer(CITY))
    assert str(unplaced) not in {x["appeal_id"] for x in unsure.json()}
    bad = await gw.get("/api/v1/routing/queue", params={"unsure": "maybe"}, headers=bearer(CITY))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)

    appeal_id = await feed(received(DIBAO, town_code=NANCHENG))
    seen = await gw.get(f"/api/v1/routing/triage/{appeal_id}", headers=bearer(NANCHENG_TOWN))
    assert seen.status_code == 200 and seen.json()["department"] == "civil_affairs"
    assert (
        await gw.get(f"/api/v1/routing/triage/{appeal_id}", headers=bearer(HUMEN_TOWN))
    ).status_code == 404
    reasons = (await gw.get("/api/v1/routing/send-back-reasons")).json()
    assert "not_our_remit" in reasons
    back = await gw.post(
        f"/api/v1/routing/assignments/{appeal_id}/return",
        json={"reason_code": "not_our_remit", "policy_basis": "不属于低保受理范围"},
        headers=bearer(CIVIL_AFFAIRS),
    )
    assert back.status_code == 200, back.text
    queued = await gw.get("/api/v1/routing/queue", headers=bearer(NANCHENG_TOWN))
    assert str(appeal_id) in {q["appeal_id"] for q in queued.json()}
    decided = await gw.post(
        f"/api/v1/routing/triage/{appeal_id}/decision",
        json={"unit_type": "department", "unit_code": "hrss", "category": "employment"},
        headers=bearer(NANCHENG_TOWN),
    )
    assert decided.status_code == 200, decided.text
    history = await gw.get(f"/api/v1/routing/assignments/{appeal_id}", headers=bearer(NANCHENG_TOWN))
    assert [(h["hop"], h["unit_code"], h["state"]) for h in history.json()] == [
        (1, "civil_affairs", "returned"),
        (2, "hrss", "assigned"),
    ]
    not_city = await gw.put(
        "/api/v1/routing/catalogue/policies/civil_affairs.dibao", json={}, headers=bearer(NANCHENG_TOWN)
    )
    assert not_city.status_code == 403


async def test_donors_claim_through_the_gateway_and_the_beneficiary_confirms(
    gw: httpx.AsyncClient, services: tuple[httpx.AsyncClient, str]
) -> None:
    accepted = await filed_in_intake(services[1], SCHOOL_BAG)
    appeal_id = accepted["appeal_id"]
    published = await gw.put(
        f"/api/v1/donors/listings/{appeal_id}",
        json={"summary": "虎门镇一名小学生缺少书包和文具", "target_fen": 60_000},
        headers=bearer(HUMEN_TOWN),
    )
    assert published.status_code == 200, published.text

    keys: list[str] = []
    for i in range(4):
        joined = await gw.post(
            "/api/v1/donors",
            json={"kind": "individual", "name": f"爱心人士{i}", "pool": "town", "town_code": HUMEN},
        )
        assert joined.status_code == 201, joined.text
        verified = await gw.post(
            f"/api/v1/donors/{joined.json()['donor']['id']}/state",
            json={"state": "verified"},
            headers=bearer(HUMEN_TOWN),
        )
        assert verified.status_code == 200
        keys.append(joined.json()["key"])
    assert (await gw.get("/api/v1/donors/listings")).status_code == 401
    visible = await gw.get("/api/v1/donors/listings", headers={"X-Donor-Key": keys[0]})
    assert appeal_id in {x["appeal_id"] for x in visible.json()}

    body = {"appeal_id": appeal_id, "kind": "money", "amount_fen": 60_000}
    no_key = await gw.post("/api/v1/donors/claims", json=body, headers={"X-Donor-Key": keys[0]})
    assert no_key.status_code == 422 and no_key.json()["code"] == "idempotency_key_required"
    answers = await asyncio.gather(
        *(
            gw.post(
                "/api/v1/donors/claims", json=body, headers={"X-Donor-Key": k, "Idempotency-Key": f"c-{i}"}
            )
            for i, k in enumerate(keys)
        )
    )
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 3}, [a.text for a in answers]
    losers = [a for a in answers if a.status_code == 409]
    assert all(
        a.headers["content-type"].startswith(PROBLEM) and a.json()["code"] == "already_claimed"
        for a in losers
    )
    winner = next(a for a in answers if a.status_code == 201)
    winner_key = keys[answers.index(winner)]
    claim_id = winner.json()["id"]
    # A replay through the gateway says so, as the ledger's do.
    replay = await gw.post(
        "/api/v1/donors/claims",
        json=body,
        headers={"X-Donor-Key": winner_key, "Idempotency-Key": f"c-{answers.index(winner)}"},
    )
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (200, "true")
    assert replay.json()["id"] == claim_id

    url = f"/api/v1/donors/claims/{claim_id}/beneficiary-confirmation"
    wrong = await gw.post(
        url,
        json={
            "ticket_no": accepted["ticket_no"],
            "query_code": "000000" if accepted["query_code"] != "000000" else "111111",
        },
    )
    assert wrong.status_code == 404
    confirmed = await gw.post(
        url, json={"ticket_no": accepted["ticket_no"], "query_code": accepted["query_code"]}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmed_by_kind"] == "beneficiary"
    report = await gw.get(f"/api/v1/donors/claims/{claim_id}/report", headers={"X-Donor-Key": winner_key})
    assert report.status_code == 200 and report.json()["amount_fen"] == 60_000
    assert accepted["ticket_no"] not in report.text
    city_only = await gw.post("/api/v1/donors/claims/expiry", headers=bearer(HUMEN_TOWN))
    assert city_only.status_code == 403
    assert (await gw.post("/api/v1/donors/claims/expiry", headers=bearer(CITY))).status_code == 200
