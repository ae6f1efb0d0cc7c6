"""Appeal events through the real arq worker into clocks, and the sweep, on the real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deadlines.models import Clock, messaging
from deadlines.service import clocks as service
from deadlines.service import schedules
from deadlines.service.rules import DEFAULT_RULES, ClockName
from deadlines.service.sweep import sweep_once
from services.common.db import session_scope
from services.common.messaging import utcnow
from services.common.queue import connect, queue_name
from services.contracts.events import (
    AppealAssigned,
    AppealReceived,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    Event,
    EventType,
    Generic,
    PlanApproved,
    StatusChanged,
    make_event,
)
from tests.deadlines.support import clocks_of, empty_queue, local
from tests.fixtures import drain, enqueue

EventData = (
    AppealReceived
    | AppealTriaged
    | AppealAssigned
    | AppealSignedOff
    | AppealReturned
    | StatusChanged
    | PlanApproved
    | Generic
)


def _event(type_: EventType, data: EventData, appeal_id: uuid.UUID, at: datetime) -> Event:
    # make_event stamps "now"; the tests pin the time the thing happened to reason about due dates.
    return make_event(type_, "intake", data, appeal_id=appeal_id).model_copy(update={"occurred_at": at})


def _received(appeal_id: uuid.UUID, at: datetime) -> Event:
    data = AppealReceived(
        ticket_no="MS2025093000001", channel="hotline_12345", received_at=at, description="路灯坏了"
    )
    return _event("appeal.received", data, appeal_id, at)


def _triaged(
    appeal_id: uuid.UUID, at: datetime, kind: str = "micro_wish", urgency: str = "emergency"
) -> Event:
    data = AppealTriaged.model_validate(
        {
            "kind": kind,
            "category": "medical" if kind == "micro_wish" else "environment",
            "urgency": urgency,
            "track": "express",
            "town_code": "441900121",
            "village_code": "441900121001",
            "catalogue_version": "2025.1",
            "confidence": 0.9,
        }
    )
    return _event("appeal.triaged", data, appeal_id, at)


def _assigned(appeal_id: uuid.UUID, at: datetime, hop: int = 1, purpose: str = "handle") -> Event:
    data = AppealAssigned.model_validate(
        {
            "unit_type": "village",
            "unit_code": "441900121001",
            "purpose": purpose,
            "kind": "micro_wish",
            "urgency": "emergency",
            "track": "express",
            "hop": hop,
        }
    )
    return _event("appeal.assigned", data, appeal_id, at)


def _status(appeal_id: uuid.UUID, at: datetime, from_status: str, to_status: str) -> Event:
    return _event(
        "appeal.status_changed", StatusChanged(from_status=from_status, to_status=to_status), appeal_id, at
    )


async def _feed(*events: Event) -> None:
    await enqueue("deadlines", *events)
    await drain("deadlines")


async def _outbox(appeal_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.type, outbox.c.payload)
            .where(outbox.c.appeal_id == appeal_id)
            .order_by(outbox.c.seq)
        )
        return [(row.type, row.payload["data"]) for row in rows]


def _summary(announced: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str, str, str]]:
    return [(t, d["clock"], d["state"], d["due_date"]) for t, d in announced]


async def test_a_replayed_event_starts_one_clock() -> None:
    appeal_id = uuid.uuid4()
    received = _received(appeal_id, local(2025, 9, 30))
    # The same event twice (inbox) and a re-sent copy under a new id (unique clock per hop).
    resent = received.model_copy(update={"id": uuid.uuid4()})
    await _feed(received, received, resent)

    clocks = await clocks_of(appeal_id)
    assert list(clocks) == [("triage", 0)]
    assert clocks["triage", 0].due_date == date(2025, 10, 9)
    assert _summary(await _outbox(appeal_id)) == [("deadline.started", "triage", "running", "2025-10-09")]


async def test_received_triaged_assigned_signed_off_completed_closed() -> None:
    appeal_id = uuid.uuid4()
    signed = AppealSignedOff(unit_type="village", unit_code="441900121001", hop=1)
    await _feed(_received(appeal_id, local(2025, 9, 30)))
    await _feed(_triaged(appeal_id, local(2025, 10, 9, 9)), _assigned(appeal_id, local(2025, 10, 9, 11)))
    await _feed(_event("appeal.signed_off", signed, appeal_id, local(2025, 10, 10, 9)))

    clocks = await clocks_of(appeal_id)
    triage, sign_off, handling = clocks["triage", 0], clocks["sign_off", 1], clocks["handling", 1]
    assert (triage.state, triage.due_date, triage.unit_type) == ("met", date(2025, 10, 9), "city")
    assert triage.met_at == local(2025, 10, 9, 9)
    assert (sign_off.state, sign_off.due_date, sign_off.unit_code) == (
        "met",
        date(2025, 10, 10),
        "441900121001",
    )
    # Emergency micro-wish: 5 working days from Oct 9 = Oct 10, 11 (make-up Saturday), 13, 14, 15.
    assert (handling.state, handling.due_date, handling.limit_value) == ("running", date(2025, 10, 15), 5)
    assert handling.rule_version == DEFAULT_RULES.version
    assert ("consultation", 0) not in clocks  # a micro-wish is not consulted on

    done = Generic()
    await _feed(_event("appeal.completed", done, appeal_id, local(2025, 10, 14, 16)))
    await _feed(_event("appeal.closed", done, appeal_id, local(2025, 10, 15, 9)))
    clocks = await clocks_of(appeal_id)
    assert clocks["handling", 1].state == "met"
    feedback = clocks["feedback", 0]
    assert (feedback.state, feedback.due_date, feedback.unit_code) == (
        "met",
        date(2025, 10, 15),
        "441900121001",
    )

    assert sorted(_summary(await _outbox(appeal_id))) == sorted(
        [
            ("deadline.started", "triage", "running", "2025-10-09"),
            ("deadline.met", "triage", "met", "2025-10-09"),
            ("deadline.started", "sign_off", "running", "2025-10-10"),
            ("deadline.started", "handling", "running", "2025-10-15"),
            ("deadline.met", "sign_off", "met", "2025-10-10"),
            ("deadline.met", "handling", "met", "2025-10-15"),
            ("deadline.started", "feedback", "running", "2025-10-15"),
            ("deadline.met", "feedback", "met", "2025-10-15"),
        ]
    )


async def test_micro_project_consultation_then_works() -> None:
    appeal_id = uuid.uuid4()
    await _feed(_received(appeal_id, local(2025, 3, 31)))
    await _feed(_triaged(appeal_id, local(2025, 4, 1), kind="micro_project", urgency="normal"))
    consultation = (await clocks_of(appeal_id))["consultation", 0]
    # 20 working days from Apr 1 2025: Qingming (Apr 4) is off, Sunday Apr 27 is a make-up working day.
    assert (consultation.unit_type, consultation.unit_code) == ("village", "441900121001")
    assert (consultation.limit_value, consultation.due_date) == (20, date(2025, 4, 29))

    plan = PlanApproved(amount_fen=3_600_000, track="express", unit_type="village", unit_code="441900121001")
    await _feed(_event("plan.approved", plan, appeal_id, local(2025, 4, 1, 15)))
    clocks = await clocks_of(appeal_id)
    assert clocks["consultation", 0].state == "met"
    works = clocks["works", 0]
    # Six months from Apr 1 is Oct 1, National Day: the first working day after the holiday.
    assert (works.limit_kind, works.limit_value, works.due_date) == ("months", 6, date(2025, 10, 9))
    assert works.unit_code == "441900121001"


async def test_triaged_before_received_waits_for_it() -> None:
    appeal_id = uuid.uuid4()
    await enqueue("deadlines", _triaged(appeal_id, local(2025, 10, 9, 9)))
    await enqueue("deadlines", _received(appeal_id, local(2025, 9, 30)), defer_by=timedelta(seconds=1.5))
    w = await drain("deadlines")

    assert w.jobs_retried >= 1  # NotYet, retried with back-off until received was applied
    clocks = await clocks_of(appeal_id)
    assert clocks["triage", 0].state == "met"
    assert [t for t, _ in await _outbox(appeal_id)] == ["deadline.started", "deadline.met"]
    dead = messaging.dead_letters
    async with session_scope() as session:
        parked = await session.execute(
            select(dead.c.id).where(dead.c.args["args"][0]["appeal_id"].astext == str(appeal_id))
        )
        assert parked.first() is None


async def test_on_hold_pauses_and_resuming_pushes_the_due_date() -> None:
    appeal_id = uuid.uuid4()
    await _feed(_received(appeal_id, local(2025, 10, 13)))  # Monday; due Tuesday Oct 14
    await _feed(_status(appeal_id, local(2025, 10, 13, 11), "received", "on_hold"))
    clocks = await clocks_of(appeal_id)
    assert clocks["triage", 0].state == "paused"

    # A clock started during the hold starts paused too.
    await _feed(_assigned(appeal_id, local(2025, 10, 14), purpose="consult"))
    assert (await clocks_of(appeal_id))["sign_off", 1].state == "paused"

    # Resumed Wednesday: Tuesday and Wednesday were lost, so both deadlines move two working days.
    # Waiting for the resident is not the unit's time: the original deadline (on-time rate) moves too.
    await _feed(_status(appeal_id, local(2025, 10, 15), "on_hold", "received"))
    clocks = await clocks_of(appeal_id)
    triage, sign_off = clocks["triage", 0], clocks["sign_off", 1]
    assert (triage.state, triage.due_date, triage.original_due_date) == (
        "running",
        date(2025, 10, 16),
        date(2025, 10, 16),
    )
    assert triage.paused_days == triage.original_paused_days == 2 and triage.paused_at is None
    # Signed-off clock started Tuesday while held, resumed Wednesday: one day lost, Oct 15 -> Oct 16.
    assert (sign_off.state, sign_off.original_due_date, sign_off.due_date) == (
        "running",
        date(2025, 10, 16),
        date(2025, 10, 16),
    )
    assert triage.warn_at < triage.due_at
    assert [t for t, d in await _outbox(appeal_id) if d["clock"] == "triage"] == [
        "deadline.started",
        "deadline.paused",
        "deadline.resumed",
    ]


async def test_resume_before_hold_is_retried() -> None:
    appeal_id = uuid.uuid4()
    await _feed(_received(appeal_id, local(2025, 10, 13)))
    await enqueue("deadlines", _status(appeal_id, local(2025, 10, 15), "on_hold", "received"))
    await enqueue(
        "deadlines",
        _status(appeal_id, local(2025, 10, 13, 11), "received", "on_hold"),
        defer_by=timedelta(seconds=1),
    )
    await drain("deadlines")
    triage = (await clocks_of(appeal_id))["triage", 0]
    assert (triage.state, triage.due_date) == ("running", date(2025, 10, 16))


async def test_a_send_back_stops_that_hops_clocks() -> None:
    appeal_id = uuid.uuid4()
    signed = AppealSignedOff(unit_type="village", unit_code="441900121001", hop=1)
    returned = AppealReturned(
        unit_type="village", unit_code="441900121001", reason_code="not_ours", policy_basis="职责清单", hop=1
    )
    await _feed(_received(appeal_id, local(2025, 10, 13)), _assigned(appeal_id, local(2025, 10, 13, 11)))
    await _feed(_event("appeal.signed_off", signed, appeal_id, local(2025, 10, 13, 15)))
    await _feed(_event("appeal.returned", returned, appeal_id, local(2025, 10, 15, 9)))
    await _feed(_assigned(appeal_id, local(2025, 10, 15, 11), hop=2))
    clocks = await clocks_of(appeal_id)
    assert clocks["sign_off", 1].state == "met"
    handling = clocks["handling", 1]
    # The village is charged for the time it held the appeal: from assignment to send-back.
    assert (handling.state, handling.unit_code) == ("stopped", "441900121001")
    assert handling.stopped_at == local(2025, 10, 15, 9)
    assert (clocks["sign_off", 2].state, clocks["handling", 2].state) == ("running", "running")


async def test_withdrawal_stops_every_clock() -> None:
    appeal_id = uuid.uuid4()
    await _feed(_received(appeal_id, local(2025, 10, 13)), _assigned(appeal_id, local(2025, 10, 13, 11)))
    await _feed(_status(appeal_id, local(2025, 10, 13, 12), "received", "withdrawn"))
    clocks = await clocks_of(appeal_id)
    assert {c.state for c in clocks.values()} == {"stopped"}
    # Nothing starts for an ended appeal.
    await _feed(_assigned(appeal_id, local(2025, 10, 14), hop=2))
    assert ("sign_off", 2) not in await clocks_of(appeal_id)


async def _clock(clock: ClockName, started_at: datetime) -> uuid.UUID:
    rule = DEFAULT_RULES.rule_for(clock, kind="micro_project")
    assert rule is not None
    async with session_scope() as session:
        appeal = await service.lock_appeal(session, uuid.uuid4())
        calendar = await schedules.current_calendar(session)
        made = await service.start_clock(
            session,
            calendar,
            appeal,
            rule,
            rules_version=DEFAULT_RULES.version,
            started_at=started_at,
            unit=service.CITY,
        )
        assert made is not None
        return made.id


async def _announced(clock_ids: list[uuid.UUID]) -> list[tuple[str, str]]:
    outbox = messaging.outbox
    ids = [str(i) for i in clock_ids]
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.type, outbox.c.payload["data"]["clock_id"].astext.label("clock_id")).where(
                outbox.c.payload["data"]["clock_id"].astext.in_(ids),
                outbox.c.type.in_(("deadline.warning", "deadline.overdue")),
            )
        )
        return [(row.type, row.clock_id) for row in rows]


async def test_overlapping_sweeps_announce_each_clock_once() -> None:
    now = utcnow()
    overdue = [await _clock("triage", now - timedelta(days=12)) for _ in range(12)]
    # Six months started 170 days ago: past the 80% point, not yet due.
    warned = [await _clock("works", now - timedelta(days=170)) for _ in range(12)]

    # Small batches, so the two sweeps loop side by side over the same rows.
    results = await asyncio.gather(sweep_once(batch=5), sweep_once(batch=5))
    assert sum(r.overdue for r in results) >= len(overdue)
    assert sum(r.warned for r in results) >= len(warned)
    await sweep_once()  # and a later sweep finds nothing more to say about them

    announced = await _announced(overdue + warned)
    assert sorted(announced) == sorted(
        [("deadline.overdue", str(i)) for i in overdue] + [("deadline.warning", str(i)) for i in warned]
    )
    async with session_scope() as session:
        rows = (await session.scalars(select(Clock).where(Clock.id.in_(overdue + warned)))).all()
    states = {r.id: (r.state, r.overdue_notified_at is not None, r.warned_at is not None) for r in rows}
    assert all(states[i] == ("overdue", True, False) for i in overdue)  # overdue first: no stale warning
    assert all(states[i] == ("running", False, True) for i in warned)


async def test_sweep_job_through_the_worker() -> None:
    clock_id = await _clock("triage", utcnow() - timedelta(days=12))
    redis = await connect()
    try:
        job = await redis.enqueue_job("deadlines.sweep", _queue_name=queue_name("deadlines"))
    finally:
        await redis.aclose()
    assert job is not None
    await drain("deadlines")
    async with session_scope() as session:
        clock = await session.get(Clock, clock_id)
    assert clock is not None and clock.state == "overdue"
    assert await _announced([clock_id]) == [("deadline.overdue", str(clock_id))]


@pytest.fixture(autouse=True)
async def _empty_queue() -> None:
    """Each test starts on an empty queue, so a job left by a failed test cannot run inside it."""
    await empty_queue()
