"""Shared helpers for the projection tests: appeals, routing's and deadlines' events, the intake
queue fed and drained, and reads of the projected appeal. Modules that import `_empty_queue`
get it as an autouse fixture: each of their tests starts on an empty intake queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, Literal

import pytest
from arq.worker import Worker
from sqlalchemy import select

from intake.models import Appeal, AppealDeadline, TimelineEntry, messaging
from intake.service import records
from intake.service.public import public_status
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.contracts.appeals import AppealDraft, PublicAppeal
from services.contracts.events import (
    AppealAssigned,
    AppealSignedOff,
    AppealTriaged,
    DeadlineChanged,
    Event,
    EventType,
    PlanApproved,
    make_event,
)
from services.contracts.vocabulary import Kind, Track, Urgency
from tests.fixtures import drain, enqueue

TOWN = "441900121000"  # 虎门镇
VILLAGE = "441900121001"  # 北栅社区
ClockState = Literal["running", "paused", "met", "overdue", "stopped"]


@pytest.fixture(autouse=True)
async def _empty_queue() -> AsyncIterator[None]:
    """Each test starts on an empty intake queue: nothing left by another test runs inside it."""
    redis = await connect()
    try:
        await redis.delete(queue_name("intake"))
    finally:
        await redis.aclose()
    yield


async def new_appeal(
    description: str = "东方路的路灯坏了好几盏，晚上出行很不安全",
) -> tuple[uuid.UUID, str, str]:
    """A freshly received appeal: (id, ticket_no, query_code)."""
    draft = AppealDraft.model_validate(
        {
            "channel": "grid_inspector",
            "channel_ref": f"grid-{uuid.uuid4().hex}",
            "reporter": {"name": "网格员小王", "phone": "+8613712345678", "role": "inspector"},
            "description": description,
            "location": {"address": "虎门镇北栅社区东方路", "town_code": TOWN, "village_code": VILLAGE},
        }
    )
    async with session_scope() as session:
        accepted, created = await records.create_appeal(session, draft)
    assert created
    return accepted.appeal_id, accepted.ticket_no, accepted.query_code


def at(event: Event, when: datetime) -> Event:
    """make_event stamps "now"; pin when the thing happened."""
    return event.model_copy(update={"occurred_at": when})


def triaged(
    appeal_id: uuid.UUID,
    kind: Kind = "micro_project",
    category: str = "facility",
    track: Track = "express",
    urgency: Urgency = "normal",
) -> Event:
    data = AppealTriaged(
        kind=kind,
        category=category,
        urgency=urgency,
        track=track,
        town_code=TOWN,
        village_code=VILLAGE,
        catalogue_version="2026.1",
        confidence=0.9,
    )
    return make_event("appeal.triaged", "routing", data, appeal_id=appeal_id)


def assigned(
    appeal_id: uuid.UUID,
    purpose: Literal["handle", "consult"],
    kind: Kind = "micro_project",
    track: Track = "express",
    urgency: Urgency = "normal",
    hop: int = 1,
) -> Event:
    data = AppealAssigned(
        unit_type="village",
        unit_code=VILLAGE,
        purpose=purpose,
        kind=kind,
        urgency=urgency,
        track=track,
        hop=hop,
    )
    return make_event("appeal.assigned", "routing", data, appeal_id=appeal_id)


def signed_off(appeal_id: uuid.UUID, hop: int = 1) -> Event:
    data = AppealSignedOff(unit_type="village", unit_code=VILLAGE, hop=hop)
    return make_event("appeal.signed_off", "routing", data, appeal_id=appeal_id)


def plan_approved(appeal_id: uuid.UUID) -> Event:
    data = PlanApproved(amount_fen=500_000, track="express", unit_type="village", unit_code=VILLAGE)
    return make_event("plan.approved", "routing", data, appeal_id=appeal_id)


def deadline(
    type_: EventType,
    appeal_id: uuid.UUID,
    clock_id: uuid.UUID,
    when: datetime,
    *,
    clock: str = "triage",
    state: ClockState = "running",
    due_date: date = date(2026, 12, 1),
    provisional: bool = False,
) -> Event:
    data = DeadlineChanged(
        clock_id=clock_id,
        clock=clock,
        unit_type="city",
        unit_code="city",
        due_at=datetime.combine(due_date, datetime.max.time(), tzinfo=UTC).replace(microsecond=0),
        due_date=due_date,
        provisional=provisional,
        state=state,
        original_due_date=due_date,
    )
    return at(make_event(type_, "deadlines", data, appeal_id=appeal_id), when)


async def feed(*events: Event) -> Worker:
    await enqueue("intake", *events)
    return await drain("intake")


async def appeal_row(appeal_id: uuid.UUID) -> Appeal:
    async with session_scope() as session:
        appeal = await session.get(Appeal, appeal_id)
    assert appeal is not None
    return appeal


async def timeline(appeal_id: uuid.UUID) -> list[TimelineEntry]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == appeal_id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
        return list(rows.all())


async def status_changes(appeal_id: uuid.UUID) -> list[tuple[str, str]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload)
            .where(outbox.c.appeal_id == appeal_id, outbox.c.type == "appeal.status_changed")
            .order_by(outbox.c.seq)
        )
        return [(r.payload["data"]["from_status"], r.payload["data"]["to_status"]) for r in rows]


async def dead_letters_of(appeal_id: uuid.UUID) -> list[dict[str, Any]]:
    dead = messaging.dead_letters
    async with session_scope() as session:
        rows = await session.execute(
            select(dead.c.args, dead.c.error).where(
                dead.c.args["args"][0]["appeal_id"].astext == str(appeal_id)
            )
        )
        return [{"args": r.args, "error": r.error} for r in rows]


async def public(ticket_no: str, code: str) -> PublicAppeal:
    async with session_scope() as session:
        return await public_status(session, ticket_no, code)


async def clock_row(clock_id: uuid.UUID) -> AppealDeadline:
    async with session_scope() as session:
        row = await session.get(AppealDeadline, clock_id)
    assert row is not None
    return row
