"""Helpers of routing's integration tests: staff, received appeals, the real worker, the outbox."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime
from typing import Any

import httpx
from arq.worker import Worker
from sqlalchemy import select

from routing.jobs import worker
from routing.models import Assignment, ManualTriageItem, TriageResult, messaging
from services.common.auth import Principal, mint_service_token
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.contracts.events import AppealReceived, Event, make_event

HUMEN = "441900121000"  # 虎门镇
BEIZHA = "441900121001"  # 虎门镇北栅社区
HUMENZHAI = "441900121016"  # 虎门镇虎门寨社区
NANCHENG = "441900004000"  # 南城街道
CHANGAN = "441900119000"  # 长安镇

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


CITY = staff("city_admin", "city", "city")
HUMEN_TOWN = staff("town_staff", "town", HUMEN)
NANCHENG_TOWN = staff("town_staff", "town", NANCHENG)
BEIZHA_VILLAGE = staff("village_staff", "village", BEIZHA)
CIVIL_AFFAIRS = staff("department_staff", "department", "civil_affairs")
HOUSING = staff("department_staff", "department", "housing")
HRSS = staff("department_staff", "department", "hrss")


def auth(actor: Principal | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token('gateway', actor)}"}


def received(
    description: str,
    *,
    title: str | None = None,
    address: str | None = None,
    town_code: str | None = None,
    village_code: str | None = None,
    estimated_amount_fen: int | None = None,
    category_hint: str | None = None,
    ticket_no: str | None = None,
) -> Event:
    data = AppealReceived(
        ticket_no=ticket_no or f"MS20261127{uuid.uuid4().int % 10**8:08d}",
        channel="wechat_miniprogram",
        received_at=datetime.now(UTC),
        title=title,
        description=description,
        address=address,
        town_code=town_code,
        village_code=village_code,
        estimated_amount_fen=estimated_amount_fen,
        category_hint=category_hint,
    )
    return make_event("appeal.received", "intake", data, appeal_id=uuid.uuid4())


async def empty_queue() -> None:
    redis = await connect()
    try:
        await redis.delete(queue_name("routing"))
    finally:
        await redis.aclose()


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
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await w.close()
    return w


async def feed(*events: Event) -> uuid.UUID:
    """Deliver events through the real worker; returns the first event's appeal id."""
    await enqueue(*events)
    await drain()
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
