"""Staff notifications through the gateway on the real services (DESIGN §10, issue 16.2).

Appeals are filed through the gateway's staff channels and triaged, assigned and clocked by the
real workers; the gateway's own worker turns the events into notifications and pushes them by SMS
(the local fake SMS gateway) to the members of staff who have a phone. Then an injected clock
(the deadlines sweep run at a later "now") makes the clocks overdue and escalates them: the
holder's staff hear of the overdue, the unit above of the escalation, and the work list shows it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from deadlines.models import Clock
from deadlines.models import messaging as deadlines_messaging
from deadlines.service.sweep import sweep_once
from routing.models import messaging as routing_messaging
from services.common.db import session_scope
from services.common.messaging import park, utcnow
from services.contracts.events import Event
from services.gateway.jobs import worker as gateway_worker
from services.gateway.models import StaffAccount, StaffNotification
from services.gateway.service.identity import create_staff
from tests.fixtures import drain, enqueue
from tests.integration.notifications_support import (
    NOTES,
    World,
    holder_of,
    notes,
    notify,
    ticket_of,
)
from tests.integration.notifications_support import world as world  # the module's fixture
from tests.integration.security_support import (
    AUDITOR,
    CITY,
    OTHER_VILLAGE,
    PROBLEM,
    TOWN,
    VILLAGE,
    bearer,
    person,
)


async def test_an_assignment_reaches_the_holding_units_staff_and_no_one_else(world: World) -> None:
    gw = world.system.gateway
    own_ticket = await ticket_of(world.system, world.own)
    other_ticket = await ticket_of(world.system, world.other)
    mine = await notes(gw, world.holder)
    assigned = [n for n in mine if n["appeal_id"] == world.own and n["kind"] == "assigned"]
    assert len(assigned) == 1, mine
    assert own_ticket in assigned[0]["text"] and assigned[0]["ticket_no"] == own_ticket
    assert assigned[0]["read"] is False
    assert all(n["appeal_id"] != world.other for n in mine)
    # The other village hears of its own appeal only; nobody else's notifications leak to it.
    theirs = await notes(gw, OTHER_VILLAGE)
    assert all(n["appeal_id"] != world.own and own_ticket not in n["text"] for n in theirs)
    other_holder = await holder_of(world.system, world.other)
    if other_holder == {"type": "village", "code": OTHER_VILLAGE.org_code, "name": other_holder["name"]}:
        assert any(n["ticket_no"] == other_ticket for n in theirs)
    # An auditor acts for no unit: nothing is addressed to them.
    assert await notes(gw, AUDITOR) == []


async def test_the_assignment_is_texted_to_the_member_with_a_phone(world: World) -> None:
    if world.holder_phone is None:
        pytest.skip("the appeal was held by the city")
    own_ticket = await ticket_of(world.system, world.own)
    texts = [s for s in world.sms.sent_to(world.holder_phone) if own_ticket in s.params["text"]]
    assert len(texts) == 1, texts
    assert texts[0].params["text"].startswith("【民生大莞家】") and texts[0].params["status"] == "新交办"


async def test_a_replayed_event_makes_no_second_notification_or_text(world: World) -> None:
    outbox = routing_messaging.outbox
    async with session_scope() as session:
        payload = await session.scalar(
            select(outbox.c.payload).where(
                outbox.c.appeal_id == uuid.UUID(world.own), outbox.c.type == "appeal.assigned"
            )
        )
    assert payload is not None
    before = len(world.sms.state.sent)
    async with session_scope() as session:
        rows_before = len((await session.scalars(select(StaffNotification.id))).all())
    await enqueue("gateway", Event.model_validate(payload), Event.model_validate(payload))
    await drain(gateway_worker(burst=True))
    async with session_scope() as session:
        assert len((await session.scalars(select(StaffNotification.id))).all()) == rows_before
    assert len(world.sms.state.sent) == before


async def test_read_marks_per_member_unread_first_and_paging(world: World) -> None:
    gw = world.system.gateway
    first = await notes(gw, world.holder)
    target = next(n for n in first if n["appeal_id"] == world.own)
    r = await gw.post(f"{NOTES}/{target['id']}/read", headers=bearer(world.holder))
    assert r.status_code == 200, r.text
    assert r.json()["read"] is True and r.json()["id"] == target["id"]
    again = await gw.post(f"{NOTES}/{target['id']}/read", headers=bearer(world.holder))
    assert again.status_code == 200 and again.json()["read"] is True
    after = await notes(gw, world.holder, limit=1)
    flags = [n["read"] for n in after]
    assert flags == sorted(flags), "unread first"
    assert next(n for n in after if n["id"] == target["id"])["read"] is True
    assert all(n["id"] != target["id"] for n in await notes(gw, world.holder, unread="true"))
    # Another member of the same unit has not read it.
    colleague = person(world.holder.role, world.holder.org_type, world.holder.org_code)
    assert next(n for n in await notes(gw, colleague) if n["id"] == target["id"])["read"] is False
    # Another unit's member cannot even see it; an auditor never writes.
    hidden = await gw.post(f"{NOTES}/{target['id']}/read", headers=bearer(OTHER_VILLAGE))
    assert hidden.status_code == 404 and hidden.headers["content-type"].startswith(PROBLEM)
    refused = await gw.post(f"{NOTES}/{target['id']}/read", headers=bearer(AUDITOR))
    assert refused.status_code == 403
    bad = await gw.get(NOTES, params={"cursor": "forged"}, headers=bearer(world.holder))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_a_send_back_reaches_the_unit_above(world: World) -> None:
    gw = world.system.gateway
    holder = await holder_of(world.system, world.other)
    if holder["type"] != "village":
        pytest.skip("the appeal was not held by its village")
    r = await gw.post(
        f"/api/v1/routing/assignments/{world.other}/return",
        json={"reason_code": "not_our_remit", "policy_basis": "不属于本社区职责范围"},
        headers=bearer(OTHER_VILLAGE),
    )
    assert r.status_code == 200, r.text
    await notify()
    ticket = await ticket_of(world.system, world.other)
    town = [n for n in await notes(gw, TOWN) if n["kind"] == "returned" and n["ticket_no"] == ticket]
    assert len(town) == 1 and "退回" in town[0]["text"]
    assert all(n["kind"] != "returned" for n in await notes(gw, VILLAGE) if n["ticket_no"] == ticket)


async def test_a_deadline_warning_reaches_the_holder_with_an_injected_clock(world: World) -> None:
    gw = world.system.gateway
    async with session_scope() as session:
        clocks = (
            await session.scalars(
                select(Clock).where(
                    Clock.appeal_id == uuid.UUID(world.own),
                    Clock.state == "running",
                    Clock.warned_at.is_(None),
                    Clock.warn_at.is_not(None),
                )
            )
        ).all()
    due = [c for c in clocks if c.warn_at is not None and c.warn_at + timedelta(minutes=1) < c.due_at]
    if not due:
        pytest.skip("no clock of the appeal warns before its deadline")
    first = min(due, key=lambda c: c.warn_at or c.due_at)
    assert first.warn_at is not None
    await sweep_once(now=first.warn_at + timedelta(minutes=1))
    await notify()
    ticket = await ticket_of(world.system, world.own)
    warned = [
        n
        for n in await notes(gw, world.holder)
        if n["kind"] == "deadline_warning" and n["ticket_no"] == ticket
    ]
    assert warned and "到期" in warned[0]["text"]
    assert not [n for n in await notes(gw, OTHER_VILLAGE) if n["ticket_no"] == ticket]


async def test_overdue_and_escalation_with_an_injected_clock(world: World) -> None:
    gw = world.system.gateway
    later = utcnow() + timedelta(days=90)
    await sweep_once(now=later)
    await notify()
    ticket = await ticket_of(world.system, world.own)
    kinds = {n["kind"] for n in await notes(gw, world.holder) if n["ticket_no"] == ticket}
    assert "overdue" in kinds, kinds
    above = CITY if world.holder.org_type in ("town", "department", "city") else TOWN
    escalated = [n for n in await notes(gw, above) if n["kind"] == "escalated" and n["ticket_no"] == ticket]
    assert escalated, "the unit above hears of the escalation"
    # The work list shows it overdue, and the overdue filter finds it.
    r = await gw.get("/api/v1/staff/appeals", params={"q": ticket, "overdue": "true"}, headers=bearer(TOWN))
    assert [i["appeal_id"] for i in r.json()["items"]] == [world.own]
    assert r.json()["items"][0]["overdue"] is True
    if world.holder_phone:
        overdue_texts = [s for s in world.sms.sent_to(world.holder_phone) if "超期" in s.params["text"]]
        assert any(ticket in s.params["text"] for s in overdue_texts)
    # The sweep again at the same "now": nothing new is announced, so nothing new is notified.
    async with session_scope() as session:
        count = len((await session.scalars(select(StaffNotification.id))).all())
    await sweep_once(now=later)
    await notify()
    async with session_scope() as session:
        assert len((await session.scalars(select(StaffNotification.id))).all()) == count


async def test_a_job_parked_with_no_appeal_is_texted_to_the_city_admins_once(world: World) -> None:
    # A sweep's or a relay's job carries no appeal; its failure still reaches the administrators'
    # phones, and a replayed event texts nobody twice.
    admin_phone = "13926640009"
    async with session_scope() as session:
        await create_staff(
            session, f"oncall.{world.tag}", "a-long-password", "city_admin", "city", phone=admin_phone
        )
    job = f"deadlines.sweep_{world.tag}"  # the hour's notice of this job is this test's alone
    outbox = deadlines_messaging.outbox
    try:
        async with session_scope() as session:
            await park(
                session,
                deadlines_messaging,
                job_name=job,
                job_id=uuid.uuid4().hex,
                args={},
                error="boom",
                tries=8,
            )
        async with session_scope() as session:
            payload = await session.scalar(
                select(outbox.c.payload).where(
                    outbox.c.type == "ops.job_parked", outbox.c.payload["data"]["job_name"].astext == job
                )
            )
        assert payload is not None and payload["appeal_id"] is None
        await enqueue("gateway", Event.model_validate(payload), Event.model_validate(payload))
        await drain(gateway_worker(burst=True))
        texts = [s for s in world.sms.sent_to("+86" + admin_phone) if job in s.params["text"]]
        assert len(texts) == 1, texts
        assert "失败任务" in texts[0].params["text"] and texts[0].params["status"] == "任务失败"
        parked = [n for n in await notes(world.system.gateway, CITY, unread="true") if job in n["text"]]
        assert len(parked) == 1 and parked[0]["appeal_id"] is None and parked[0]["ticket_no"] is None
        # Replayed once more after the push went out: still one text.
        await enqueue("gateway", Event.model_validate(payload))
        await drain(gateway_worker(burst=True))
        assert len([s for s in world.sms.sent_to("+86" + admin_phone) if job in s.params["text"]]) == 1
    finally:
        async with session_scope() as session:
            await session.execute(
                update(StaffAccount)
                .where(StaffAccount.username == f"oncall.{world.tag}")
                .values(active=False)
            )
            letters = deadlines_messaging.dead_letters
            await session.execute(delete(letters).where(letters.c.job_name == job))
            await session.execute(
                delete(outbox).where(
                    outbox.c.type == "ops.job_parked", outbox.c.payload["data"]["job_name"].astext == job
                )
            )
