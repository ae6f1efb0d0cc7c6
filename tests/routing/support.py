"""Helpers of routing's integration tests: staff, received appeals, the real worker, the outbox."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from routing.models import Assignment, ManualTriageItem, TriageResult, messaging
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.contracts.events import Event
from tests.fixtures import drain, enqueue, staff

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
