"""Helpers of routing's integration tests: staff, received appeals, the real worker, the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from routing.models import Assignment, Consultation, ManualTriageItem, TriageResult, messaging
from routing.service import consultations
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.contracts.events import Event
from tests.fixtures import auth, drain, enqueue, staff

HUMEN = "441900121000"  # 虎门镇
BEIZHA = "441900121001"  # 虎门镇北栅社区
HUMENZHAI = "441900121016"  # 虎门镇虎门寨社区
NANCHENG = "441900004000"  # 南城街道
CHANGAN = "441900119000"  # 长安镇

STREET_LIGHTS = "虎门镇北栅社区东方路一带的路灯坏了好几盏，晚上黑漆漆的，居民出行很不安全，希望尽快修好"
DIBAO = "我老公去年去世，我一个人带两个孩子，没有收入，想申请低保"


CITY = staff("city_admin", "city")
HUMEN_TOWN = staff("town_staff", HUMEN)
NANCHENG_TOWN = staff("town_staff", NANCHENG)
BEIZHA_VILLAGE = staff("village_staff", BEIZHA)
CIVIL_AFFAIRS = staff("department_staff", "civil_affairs")
HOUSING = staff("department_staff", "housing")
HRSS = staff("department_staff", "hrss")


async def empty_queue() -> None:
    redis = await connect()
    try:
        await redis.delete(queue_name("routing"))
    finally:
        await redis.aclose()


async def feed(*events: Event) -> uuid.UUID:
    """Deliver events through the real worker; returns the first event's appeal id."""
    await enqueue("routing", *events)
    await drain("routing")
    assert events[0].appeal_id is not None
    return events[0].appeal_id


async def triage_row(appeal_id: uuid.UUID) -> TriageResult | None:
    async with session_scope() as session:
        return await session.get(TriageResult, appeal_id)


async def hops(appeal_id: uuid.UUID) -> list[Assignment]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(Assignment).where(Assignment.appeal_id == appeal_id).order_by(Assignment.hop)
        )
        return list(rows.all())


async def queue_items(appeal_id: uuid.UUID) -> list[ManualTriageItem]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(ManualTriageItem)
            .where(ManualTriageItem.appeal_id == appeal_id)
            .order_by(ManualTriageItem.created_at)
        )
        return list(rows.all())


async def events_of(appeal_id: uuid.UUID) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.appeal_id == appeal_id).order_by(outbox.c.seq)
        )
        return [dict(r.payload) for r in rows]


async def types_of(appeal_id: uuid.UUID) -> list[str]:
    return [e["type"] for e in await events_of(appeal_id)]


def routing_client() -> httpx.AsyncClient:
    from routing.api.app import app

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://routing")


def meeting(appeal_id: uuid.UUID, **override: Any) -> dict[str, Any]:
    """A residents' council's minutes on a micro-project: every point passes 16 of 20 (of 25)."""
    yes = {"yes": 16, "no": 3, "abstain": 1}
    body: dict[str, Any] = {
        "appeal_id": str(appeal_id),
        "form": "residents_council",
        "held_at": datetime.now(UTC).isoformat(),
        "eligible_count": 25,
        "present_count": 20,
        "attendees": [{"name": "陈伯", "role": "居民代表"}],
        "necessity": "场地缺乏，居民要求强烈",
        "feasibility": "利用村集体空地，施工一个月",
        "budget_fen": 1_000_000,
        "beneficiaries": {"count": 800, "group": "本村青年和儿童"},
        "implementer": "村民委员会",
        "votes": {p: yes for p in ("necessity", "feasibility", "budget", "beneficiaries", "implementer")},
        "track": "direct",
        "holder_type": "town",
        "holder_code": HUMEN,
    }
    body.update(override)
    return body


async def consult(http: httpx.AsyncClient, appeal_id: uuid.UUID, **override: Any) -> dict[str, Any]:
    """The holder of the consult hop records a meeting; returns the consultation."""
    hop = next(h for h in await hops(appeal_id) if h.purpose == "consult")
    convener = staff(f"{hop.unit_type}_staff", hop.unit_code)  # type: ignore[arg-type]
    made = await http.post(
        "/internal/consultations", json=meeting(appeal_id, **override), headers=auth(convener)
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def end_notice(consultation_id: str | uuid.UUID) -> None:
    """The notice period (公示期) ends now: as if its days had passed."""
    async with session_scope() as session:
        await session.execute(
            update(Consultation)
            .where(Consultation.id == uuid.UUID(str(consultation_id)))
            .values(notice_ends_at=datetime.now(UTC) - timedelta(minutes=1))
        )


async def approve_plan(http: httpx.AsyncClient, appeal_id: uuid.UUID, **override: Any) -> dict[str, Any]:
    """A plan passed, noticed without objection and approved (the worker's job, run now)."""
    c = await consult(http, appeal_id, **override)
    await end_notice(c["id"])
    async with session_scope() as session:
        found = await session.get(Consultation, uuid.UUID(c["id"]), with_for_update=True)
        assert found is not None and await consultations.finalise(session, found)
    return c
