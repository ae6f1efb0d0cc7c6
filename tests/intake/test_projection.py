"""Other services' events through intake's real arq consumer onto the appeal: status, holder, clocks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast

import pytest
from arq.worker import Worker
from sqlalchemy import func, select

from intake.models import Appeal, AppealDeadline, TimelineEntry, messaging
from intake.service import moves, records
from intake.service.lifecycle import Status
from intake.service.public import public_status
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.contracts.appeals import AppealDraft, PublicAppeal
from services.contracts.events import (
    HANDOVER_REASON,
    AppealAssigned,
    AppealReturned,
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


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("signed_off", "assigned", "approved"), id="sign-off before its hop"),
        pytest.param(("assigned", "signed_off", "approved"), id="sign-off before the plan's approval"),
    ],
)
async def test_the_plans_hop_signed_off_early_still_starts_the_work(order: tuple[str, ...]) -> None:
    """The village consulted (hop 1) and carries out the approved plan (hop 2, signed off at once by
    routing): whatever order routing's events reach intake in, the work starts (签收 → 办理中),
    never an appeal left approved that no one can start."""
    appeal_id, _, _ = await new_appeal("北栅社区东方路想加装一段无障碍坡道，方便轮椅出入")
    await feed(triaged(appeal_id), assigned(appeal_id, "consult"), signed_off(appeal_id))
    assert (await appeal_row(appeal_id)).status == "consulting"
    events = {
        "signed_off": signed_off(appeal_id, hop=2),
        "assigned": assigned(appeal_id, "handle", hop=2),
        "approved": plan_approved(appeal_id),
    }
    await feed(*(events[name] for name in order))
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.holder_hop) == ("in_progress", 2)
    assert [t.to_status for t in await timeline(appeal_id)][-2:] == ["approved", "in_progress"]


async def test_an_older_hops_assignment_arriving_late_does_not_take_the_appeal_back() -> None:
    """The town handed the appeal on (hop 2) right after hop 1; intake hears of hop 2 first: the
    appeal stays with hop 2's unit, not the one that gave it up."""
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id))
    newer = AppealAssigned(
        unit_type="town", unit_code=TOWN, purpose="handle", kind="micro_project", urgency="normal",
        track="express", hop=2,
    )  # fmt: skip
    await feed(make_event("appeal.assigned", "routing", newer, appeal_id=appeal_id))
    await feed(assigned(appeal_id, "handle", hop=1))
    appeal = await appeal_row(appeal_id)
    assert (appeal.holder_type, appeal.holder_code, appeal.holder_hop) == ("town", TOWN, 2)


async def test_a_hand_overs_take_back_heard_after_the_new_hop_changes_nothing() -> None:
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id), assigned(appeal_id, "handle"))
    newer = AppealAssigned(
        unit_type="town", unit_code=TOWN, purpose="handle", kind="micro_project", urgency="normal",
        track="express", hop=2,
    )  # fmt: skip
    await feed(make_event("appeal.assigned", "routing", newer, appeal_id=appeal_id))
    took_back = AppealReturned(
        unit_type="village", unit_code=VILLAGE, reason_code=HANDOVER_REASON, policy_basis="镇街改派", hop=1
    )
    await feed(make_event("appeal.returned", "routing", took_back, appeal_id=appeal_id))
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.holder_code, appeal.returns_count) == ("approved", TOWN, 0)
