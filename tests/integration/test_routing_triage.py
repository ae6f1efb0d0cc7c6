"""appeal.received through routing's real arq consumer: triage, first assignment, events; sign-off."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from sqlalchemy import select

from routing.app import app
from routing.jobs import worker
from routing.models import Assignment, TriageResult, messaging
from services.common.auth import Principal, mint_service_token
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.contracts.events import AppealReceived, Event, make_event

HUMEN = "441900121000"  # 虎门镇
BEIZHA = "441900121001"  # 虎门镇北栅社区
HUMENZHAI = "441900121016"  # 虎门镇虎门寨社区
NANCHENG = "441900004000"  # 南城街道

STREET_LIGHTS = "虎门镇北栅社区东方路一带的路灯坏了好几盏，晚上黑漆漆的，居民出行很不安全，希望尽快修好"
DIBAO = "我老公去年去世，我一个人带两个孩子，没有收入，想申请低保"


def staff(role: str, org_type: str, org_code: str) -> Principal:
    return Principal.model_validate(
        {
            "staff_id": f"staff-{uuid.uuid4().hex[:8]}",
            "username": f"{org_code}.{role}",
            "role": role,
            "org_type": org_type,
            "org_code": org_code,
        }
    )


def auth(actor: Principal | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token('gateway', actor)}"}


def received(
    description: str,
    *,
    title: str | None = None,
    address: str | None = None,
    town_code: str | None = None,
    village_code: str | None = None,
    appeal_id: uuid.UUID | None = None,
) -> Event:
    data = AppealReceived(
        ticket_no=f"MS20261127{uuid.uuid4().int % 10**6:06d}",
        channel="wechat_miniprogram",
        received_at=datetime.now(UTC),
        title=title,
        description=description,
        address=address,
        town_code=town_code,
        village_code=village_code,
    )
    return make_event("appeal.received", "intake", data, appeal_id=appeal_id or uuid.uuid4())


@pytest.fixture(autouse=True)
async def _empty_queue() -> AsyncIterator[None]:
    """Each test starts on an empty routing queue: nothing left by another test runs inside it."""
    redis = await connect()
    try:
        await redis.delete(queue_name("routing"))
    finally:
        await redis.aclose()
    yield


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://routing") as client:
        yield client


async def enqueue(*events: Event) -> None:
    redis = await connect()
    try:
        for event in events:
            job = await redis.enqueue_job(
                "routing.handle_event", event.model_dump(mode="json"), _queue_name=queue_name("routing")
            )
            assert job is not None
    finally:
        await redis.aclose()


async def drain() -> Worker:
    """Run routing's real worker until its queue is empty."""
    w = worker(burst=True)
    try:
        await w.main()
    finally:
        with warnings.catch_warnings():
            # arq 0.28 closes its pool with redis' deprecated close(); pytest turns that into an error.
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await w.close()
    return w


async def feed(*events: Event) -> Worker:
    await enqueue(*events)
    return await drain()


async def triage_row(appeal_id: uuid.UUID) -> TriageResult | None:
    async with session_scope() as session:
        return await session.get(TriageResult, appeal_id)


async def assignments(appeal_id: uuid.UUID) -> list[Assignment]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(Assignment).where(Assignment.appeal_id == appeal_id).order_by(Assignment.hop)
        )
        return list(rows.all())


async def events_of(appeal_id: uuid.UUID) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.appeal_id == appeal_id).order_by(outbox.c.seq)
        )
        return [dict(r.payload) for r in rows]


# --- triage and the first assignment -------------------------------------------------------------


async def test_street_lights_in_beizha_go_to_the_village_for_consultation() -> None:
    event = received(STREET_LIGHTS, title="路灯坏了", address="虎门镇北栅社区东方路12号")
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    await feed(event)

    triage = await triage_row(appeal_id)
    assert triage is not None
    assert (triage.kind, triage.category, triage.town_code, triage.village_code) == (
        "micro_project",
        "facility",
        HUMEN,
        BEIZHA,
    )
    assert (triage.location_method, triage.ticket_no, triage.needs_manual) == (
        "address",
        event.data["ticket_no"],
        False,
    )
    assert triage.explanations, "a triage says why"

    (hop,) = await assignments(appeal_id)
    assert (hop.hop, hop.unit_type, hop.unit_code, hop.purpose, hop.state) == (
        1,
        "village",
        BEIZHA,
        "consult",
        "assigned",
    )

    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == ["appeal.triaged", "appeal.assigned"]
    assert all(e["source"] == "routing" and e["appeal_id"] == str(appeal_id) for e in events)
    triaged, assigned = events[0]["data"], events[1]["data"]
    assert (triaged["kind"], triaged["category"], triaged["track"]) == (
        "micro_project",
        "facility",
        triage.track,
    )
    assert (triaged["town_code"], triaged["village_code"]) == (HUMEN, BEIZHA)
    assert triaged["catalogue_version"] == triage.catalogue_version
    assert (assigned["unit_type"], assigned["unit_code"], assigned["purpose"], assigned["hop"]) == (
        "village",
        BEIZHA,
        "consult",
        1,
    )
    assert (assigned["kind"], assigned["policy_code"]) == ("micro_project", None)


async def test_a_dibao_appeal_goes_to_civil_affairs_on_the_policy_track() -> None:
    event = received(DIBAO, address="南城街道", town_code=NANCHENG)
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    await feed(event)

    triage = await triage_row(appeal_id)
    assert triage is not None
    assert (triage.kind, triage.category, triage.track, triage.department) == (
        "micro_wish",
        "living",
        "policy",
        "civil_affairs",
    )
    assert "civil_affairs.dibao" in triage.policy_codes
    # The channel said where: that wins over text matching.
    assert (triage.town_code, triage.village_code, triage.location_method) == (NANCHENG, None, "channel")

    (hop,) = await assignments(appeal_id)
    assert (hop.unit_type, hop.unit_code, hop.purpose) == ("department", "civil_affairs", "handle")
    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == ["appeal.triaged", "appeal.assigned"]
    assert events[0]["data"]["track"] == "policy"
    assert "civil_affairs.dibao" in events[0]["data"]["policy_codes"]
    assigned = events[1]["data"]
    assert (assigned["unit_type"], assigned["unit_code"], assigned["purpose"], assigned["policy_code"]) == (
        "department",
        "civil_affairs",
        "handle",
        "civil_affairs.dibao",
    )


async def test_an_appeal_from_nowhere_goes_to_the_citys_desk() -> None:
    event = received("我想反映一个问题，具体情况电话里再说")
    assert event.appeal_id is not None
    await feed(event)
    triage = await triage_row(event.appeal_id)
    assert triage is not None and triage.town_code is None and triage.needs_manual
    (hop,) = await assignments(event.appeal_id)
    assert (hop.unit_type, hop.unit_code, hop.purpose) == ("city", "city", "handle")


async def test_a_replay_triages_once() -> None:
    event = received(STREET_LIGHTS, address="虎门镇北栅社区东方路12号")
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    # The same event twice at once, again later, and a copy re-sent under a new event id.
    await feed(event, event)
    first = await triage_row(appeal_id)
    await feed(event, event.model_copy(update={"id": uuid.uuid4()}))

    again = await triage_row(appeal_id)
    assert first is not None and again is not None
    assert again.created_at == first.created_at
    assert len(await assignments(appeal_id)) == 1
    assert [e["type"] for e in await events_of(appeal_id)] == ["appeal.triaged", "appeal.assigned"]


# --- sign-off (签收) -----------------------------------------------------------------------------


async def test_sign_off_by_the_holding_unit_once(http: httpx.AsyncClient) -> None:
    event = received(STREET_LIGHTS, address="虎门镇北栅社区东方路12号")
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    await feed(event)
    url = f"/internal/assignments/{appeal_id}/sign-off"

    # Another village of the same town, and the town itself, do not hold it.
    for outsider in (staff("village_staff", "village", HUMENZHAI), staff("town_staff", "town", HUMEN)):
        refused = await http.post(url, headers=auth(outsider))
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "forbidden"
    anonymous = await http.post(url, headers=auth(None))
    assert anonymous.status_code == 401, anonymous.text
    assert [e["type"] for e in await events_of(appeal_id)] == ["appeal.triaged", "appeal.assigned"]

    holder = staff("village_staff", "village", BEIZHA)
    signed = await http.post(url, headers=auth(holder))
    assert signed.status_code == 200, signed.text
    view = signed.json()
    assert (view["appeal_id"], view["hop"], view["unit_code"], view["state"]) == (
        str(appeal_id),
        1,
        BEIZHA,
        "signed_off",
    )
    assert view["signed_off_at"] is not None

    twice = await http.post(url, headers=auth(holder))
    assert twice.status_code == 409, twice.text
    problem = twice.json()
    assert (problem["code"], problem["state"]) == ("conflict", "signed_off")
    assert problem["detail"]

    (hop,) = await assignments(appeal_id)
    assert hop.state == "signed_off" and hop.signed_off_at is not None
    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == ["appeal.triaged", "appeal.assigned", "appeal.signed_off"]
    assert events[-1]["data"] == {"unit_type": "village", "unit_code": BEIZHA, "hop": 1}


async def test_sign_off_of_an_unknown_appeal_is_a_404(http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"/internal/assignments/{uuid.uuid4()}/sign-off",
        headers=auth(staff("village_staff", "village", BEIZHA)),
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
