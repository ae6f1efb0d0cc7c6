"""Other services' events through intake's real arq consumer onto the appeal: status, holder, clocks."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import cast

from sqlalchemy import func, select

from intake.models import messaging
from intake.service import moves, records
from intake.service.lifecycle import Status
from services.common.db import session_scope
from services.contracts.events import AppealReturned, make_event
from services.contracts.vocabulary import Kind
from tests.fixtures import drain, enqueue
from tests.intake.projection_support import (
    VILLAGE,
    appeal_row,
    assigned,
    clock_row,
    dead_letters_of,
    deadline,
    feed,
    new_appeal,
    public,
    signed_off,
    status_changes,
    timeline,
    triaged,
)
from tests.intake.projection_support import _empty_queue as _empty_queue  # each test on an empty queue

# --- the happy paths -----------------------------------------------------------------------------


async def test_a_micro_project_is_triaged_then_goes_to_consultation() -> None:
    appeal_id, ticket, code = await new_appeal()
    triage = triaged(appeal_id)
    await feed(triage)

    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.kind, appeal.category, appeal.track, appeal.urgency) == (
        "triaged",
        "micro_project",
        "facility",
        "express",
        "normal",
    )
    assert (appeal.holder_type, appeal.holder_code) == (None, None)
    last = (await timeline(appeal_id))[-1]
    assert (last.from_status, last.to_status, last.actor, last.event_id) == (
        "received",
        "triaged",
        "service:routing",
        triage.id,
    )
    assert "民生微实事" in last.public_description and "莞家速递" in last.public_description

    assignment = assigned(appeal_id, "consult")
    await feed(assignment)
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.holder_type, appeal.holder_code) == ("consulting", "village", VILLAGE)
    entries = await timeline(appeal_id)
    assert [(t.from_status, t.to_status) for t in entries] == [
        (None, "received"),
        ("received", "triaged"),
        ("triaged", "consulting"),
    ]
    assert entries[-1].event_id == assignment.id and "协商" in entries[-1].public_description
    assert await status_changes(appeal_id) == [("received", "triaged"), ("triaged", "consulting")]

    shown = await public(ticket, code)
    assert (shown.status, shown.kind, shown.category, shown.track) == (
        "consulting",
        "micro_project",
        "facility",
        "express",
    )
    assert [t.status for t in shown.timeline] == ["received", "triaged", "consulting"]


async def test_a_micro_wish_is_approved_then_in_progress_once_signed_off() -> None:
    appeal_id, ticket, code = await new_appeal("家里老人突发重病住院，医药费一时凑不齐")
    kind: Kind = "micro_wish"
    await feed(triaged(appeal_id, kind=kind, category="medical", urgency="emergency"))
    assert (await appeal_row(appeal_id)).status == "triaged"

    await feed(assigned(appeal_id, "handle", kind=kind, urgency="emergency"))
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.urgency, appeal.holder_type, appeal.holder_code) == (
        "approved",
        "emergency",
        "village",
        VILLAGE,
    )

    sign = signed_off(appeal_id)
    await feed(sign)
    assert (await appeal_row(appeal_id)).status == "in_progress"
    last = (await timeline(appeal_id))[-1]
    assert (last.from_status, last.to_status, last.event_id) == ("approved", "in_progress", sign.id)
    assert last.actor == f"service:routing:village:{VILLAGE}"
    assert await status_changes(appeal_id) == [
        ("received", "triaged"),
        ("triaged", "approved"),
        ("approved", "in_progress"),
    ]
    assert [t.status for t in (await public(ticket, code)).timeline] == [
        "received",
        "triaged",
        "approved",
        "in_progress",
    ]


# --- at-least-once delivery ----------------------------------------------------------------------


async def test_a_replayed_event_changes_nothing() -> None:
    appeal_id, _, _ = await new_appeal()
    triage = triaged(appeal_id)
    await feed(triage, triage)
    first = await appeal_row(appeal_id)
    await feed(triage)  # and once more, later

    again = await appeal_row(appeal_id)
    assert (again.status, again.version) == ("triaged", first.version)
    assert [t.to_status for t in await timeline(appeal_id)] == ["received", "triaged"]
    assert await status_changes(appeal_id) == [("received", "triaged")]
    inbox = messaging.inbox
    async with session_scope() as session:
        claims = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == triage.id)
        )
    assert claims == 1


async def test_an_assignment_before_its_triage_waits_for_it() -> None:
    appeal_id, _, _ = await new_appeal()
    await enqueue("intake", assigned(appeal_id, "consult"))
    await enqueue("intake", triaged(appeal_id), defer_by=timedelta(seconds=1.5))
    w = await drain("intake")

    assert w.jobs_retried >= 1  # NotYet, retried with back-off until the triage was applied
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.holder_code) == ("consulting", VILLAGE)
    assert [t.to_status for t in await timeline(appeal_id)] == ["received", "triaged", "consulting"]
    assert await dead_letters_of(appeal_id) == []


async def test_a_sign_off_before_its_assignment_waits_for_it() -> None:
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id, kind="micro_wish", category="living"))
    await enqueue("intake", signed_off(appeal_id))
    await enqueue("intake", assigned(appeal_id, "handle", kind="micro_wish"), defer_by=timedelta(seconds=1.5))
    w = await drain("intake")

    assert w.jobs_retried >= 1
    assert (await appeal_row(appeal_id)).status == "in_progress"
    assert [t.to_status for t in await timeline(appeal_id)] == [
        "received",
        "triaged",
        "approved",
        "in_progress",
    ]
    assert await dead_letters_of(appeal_id) == []


# --- deadlines -----------------------------------------------------------------------------------


async def test_an_older_deadline_event_never_overwrites_a_newer_one() -> None:
    appeal_id, ticket, code = await new_appeal()
    clock_id = uuid.uuid4()
    now = datetime.now(UTC).replace(microsecond=0)
    started = deadline("deadline.started", appeal_id, clock_id, now, due_date=date(2026, 12, 2))
    stale = deadline(
        "deadline.met",
        appeal_id,
        clock_id,
        now - timedelta(minutes=5),
        state="met",
        due_date=date(2026, 12, 1),
    )
    await feed(started)
    await feed(stale)

    row = await clock_row(clock_id)
    assert (row.state, row.due_date, row.as_of, row.appeal_id) == (
        "running",
        date(2026, 12, 2),
        now,
        appeal_id,
    )
    assert [(d.clock, d.state, d.due_date) for d in (await public(ticket, code)).deadlines] == [
        ("triage", "running", date(2026, 12, 2))
    ]

    # A newer event does win.
    met = deadline(
        "deadline.met",
        appeal_id,
        clock_id,
        now + timedelta(minutes=5),
        state="met",
        due_date=date(2026, 12, 2),
    )
    await feed(met)
    row = await clock_row(clock_id)
    assert (row.state, row.as_of) == ("met", now + timedelta(minutes=5))


async def test_the_public_status_shows_the_projected_deadlines() -> None:
    appeal_id, ticket, code = await new_appeal()
    triage_clock, consultation_clock = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).replace(microsecond=0)
    await feed(
        deadline("deadline.started", appeal_id, triage_clock, now, due_date=date(2026, 11, 30)),
        deadline(
            "deadline.started",
            appeal_id,
            consultation_clock,
            now,
            clock="consultation",
            due_date=date(2027, 1, 5),
            provisional=True,
        ),
    )
    await feed(
        deadline(
            "deadline.met",
            appeal_id,
            triage_clock,
            now + timedelta(seconds=1),
            state="met",
            due_date=date(2026, 11, 30),
        )
    )

    shown = await public(ticket, code)
    assert [(d.clock, d.state, d.due_date, d.provisional) for d in shown.deadlines] == [
        ("triage", "met", date(2026, 11, 30), False),
        ("consultation", "running", date(2027, 1, 5), True),
    ]
    assert all(d.due_at is not None for d in shown.deadlines)
    # Deadlines are projected; they do not move the appeal.
    assert (await appeal_row(appeal_id)).status == "received"
    assert [t.to_status for t in await timeline(appeal_id)] == ["received"]


# --- events during a hold, send-back during consultation (formerly known gaps, fixed in intake) ----


async def hold(appeal_id: uuid.UUID) -> None:
    async with session_scope() as session:
        appeal = await records.get_appeal(session, appeal_id, lock=True)
        await moves.transition(session, appeal, "on_hold", actor="staff:test", reason="等待群众补充材料")


async def resume(appeal_id: uuid.UUID) -> None:
    """Resume to wherever the appeal says it was held from."""
    async with session_scope() as session:
        appeal = await records.get_appeal(session, appeal_id, lock=True)
        assert appeal.status == "on_hold" and appeal.held_from is not None
        held_from = cast("Status", appeal.held_from)
        await moves.transition(session, appeal, held_from, actor="staff:test", reason="群众已补充")


async def test_events_that_arrive_while_on_hold_are_not_lost() -> None:
    appeal_id, _, _ = await new_appeal()
    await hold(appeal_id)
    await feed(triaged(appeal_id))
    await feed(assigned(appeal_id, "consult"))
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.kind, appeal.holder_code) == ("on_hold", "micro_project", VILLAGE)

    await resume(appeal_id)
    assert (await appeal_row(appeal_id)).status == "consulting"


async def test_a_send_back_during_consultation_returns_the_appeal() -> None:
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id))
    await feed(assigned(appeal_id, "consult"))
    data = AppealReturned(
        unit_type="village", unit_code=VILLAGE, reason_code="not_ours", policy_basis="不属本社区辖区", hop=1
    )
    await feed(make_event("appeal.returned", "routing", data, appeal_id=appeal_id))
    assert (await appeal_row(appeal_id)).status == "returned"
