"""Helpers for the deadlines tests: events, the real worker, clocks, principals, the internal API
and the gateway in front of it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from deadlines.api.app import app
from deadlines.models import Clock, messaging
from deadlines.service import clocks as service
from deadlines.service import schedules
from deadlines.service.calendar import TZ
from deadlines.service.hierarchy import Unit
from deadlines.service.rules import DEFAULT_RULES, ClockName
from intake.api.app import app as intake_app
from services.common.db import session_scope
from services.common.messaging import utcnow
from services.common.queue import connect, queue_name
from services.common.settings import ServiceName
from services.contracts.events import (
    AppealAssigned,
    AppealReceived,
    AppealTriaged,
    Event,
    EventType,
    StatusChanged,
    _Data,
    make_event,
)
from services.contracts.vocabulary import UnitType
from services.gateway.api.app import app as gateway_app
from services.gateway.service import client as gateway_client_module
from tests.fixtures import auth, drain, enqueue

TOWN = "441900121000"  # 虎门
VILLAGE = "441900121001"  # 北栅社区, in 虎门
OTHER_TOWN = "441900003000"  # 东城
PROBLEM_JSON = "application/problem+json"


async def internal_client() -> AsyncIterator[httpx.AsyncClient]:
    """The deadlines app in-process, as the gateway calls it (no actor unless a request adds one)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://deadlines", headers=auth()) as client:
        yield client


async def gateway_client() -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process, forwarding to the deadlines and intake apps in-process."""
    upstreams: dict[ServiceName, httpx.AsyncClient] = {
        "deadlines": httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dl"),
        "intake": httpx.AsyncClient(transport=httpx.ASGITransport(app=intake_app), base_url="http://intake"),
    }
    saved = {name: gateway_client_module._clients.get(name) for name in upstreams}
    gateway_client_module._clients.update(upstreams)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw"
        ) as gateway:
            yield gateway
    finally:
        for name, upstream in upstreams.items():
            gateway_client_module._clients.pop(name, None)
            if (previous := saved[name]) is not None:
                gateway_client_module._clients[name] = previous
            await upstream.aclose()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with this status and stable code, and a Chinese detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert (body["code"], body["status"]) == (code, status)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body["detail"]
    return body


def event(type_: EventType, data: _Data, appeal_id: uuid.UUID, at: datetime) -> Event:
    """An event that happened at ``at`` (make_event stamps now)."""
    return make_event(type_, "intake", data, appeal_id=appeal_id).model_copy(update={"occurred_at": at})


def received(appeal_id: uuid.UUID, at: datetime) -> Event:
    data = AppealReceived(ticket_no="MS0", channel="hotline_12345", received_at=at, description="路灯坏了")
    return event("appeal.received", data, appeal_id, at)


def triaged(appeal_id: uuid.UUID, at: datetime, urgency: str = "normal", track: str = "express") -> Event:
    data = AppealTriaged.model_validate(
        {
            "kind": "micro_wish",
            "category": "medical",
            "urgency": urgency,
            "track": track,
            "town_code": TOWN,
            "village_code": VILLAGE,
            "catalogue_version": "2026.1",
            "confidence": 0.9,
        }
    )
    return event("appeal.triaged", data, appeal_id, at)


def assigned(
    appeal_id: uuid.UUID,
    at: datetime,
    *,
    unit_type: UnitType = "village",
    unit_code: str = VILLAGE,
    urgency: str = "normal",
    track: str = "express",
    policy_code: str | None = None,
    hop: int = 1,
) -> Event:
    data = AppealAssigned.model_validate(
        {
            "unit_type": unit_type,
            "unit_code": unit_code,
            "purpose": "handle",
            "kind": "micro_wish",
            "urgency": urgency,
            "track": track,
            "policy_code": policy_code,
            "hop": hop,
        }
    )
    return event("appeal.assigned", data, appeal_id, at)


def status(appeal_id: uuid.UUID, at: datetime, from_status: str, to_status: str) -> Event:
    data = StatusChanged(from_status=from_status, to_status=to_status)
    return event("appeal.status_changed", data, appeal_id, at)


async def feed(*events: Event) -> None:
    """Events through the real worker, one after the other."""
    for item in events:
        await enqueue("deadlines", item)
        await drain("deadlines")


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A moment of the given day in Dongguan's time (10:00 unless told)."""
    return datetime(year, month, day, hour, tzinfo=TZ)


async def empty_queue() -> None:
    """Empty deadlines' queue, so that a job left by an earlier test cannot run inside this one."""
    redis = await connect()
    try:
        await redis.delete(queue_name("deadlines"))
    finally:
        await redis.aclose()


async def clocks_of(appeal_id: uuid.UUID) -> dict[tuple[str, int], Clock]:
    async with session_scope() as session:
        return {(c.clock, c.hop): c for c in await service.clocks_of(session, appeal_id)}


async def new_clock(
    clock: ClockName,
    started_at: datetime,
    unit: Unit,
    *,
    appeal_town: str | None = None,
    kind: str = "micro_wish",
) -> Clock:
    """A clock of a new appeal, started through the service as a handler would (built-in rules)."""
    rule = DEFAULT_RULES.rule_for(clock, kind=kind, urgency="normal", track="express")
    assert rule is not None
    async with session_scope() as session:
        appeal = await service.lock_appeal(session, uuid.uuid4())
        appeal.town_code = appeal_town
        calendar = await schedules.current_calendar(session)
        made = await service.start_clock(
            session,
            calendar,
            appeal,
            rule,
            rules_version=DEFAULT_RULES.version,
            started_at=started_at,
            unit=unit,
        )
        assert made is not None
        return made


async def announced(
    *, appeal_id: uuid.UUID | None = None, clock_ids: list[uuid.UUID] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of the deadline events in the outbox, oldest first."""
    outbox = messaging.outbox
    statement = select(outbox.c.type, outbox.c.payload).order_by(outbox.c.seq)
    if appeal_id is not None:
        statement = statement.where(outbox.c.appeal_id == appeal_id)
    if clock_ids is not None:
        statement = statement.where(
            outbox.c.payload["data"]["clock_id"].astext.in_([str(i) for i in clock_ids])
        )
    async with session_scope() as session:
        return [(row.type, row.payload["data"]) for row in await session.execute(statement)]


def ago(days: float) -> datetime:
    """That long before now, as an aware datetime."""
    return utcnow() - timedelta(days=days)
