"""Extensions (延期) end to end: events through the real deadlines worker start the clocks, the
holding village asks through the internal API, its town approves, the resident reads it on the
public status (intake's real worker projects `deadline.extended`); the original deadline stays."""

from __future__ import annotations

import asyncio
import uuid
import warnings
from datetime import date, datetime

import httpx
import pytest
from sqlalchemy import func, select

from deadlines.models import Clock, Extension, commands
from deadlines.schemas import DecisionIn, ExtensionIn
from deadlines.service import extensions, schedules
from deadlines.service.calendar import TZ
from deadlines.service.hierarchy import Unit
from deadlines.service.rates import judge
from intake.jobs import worker as intake_worker
from intake.models import TimelineEntry
from intake.service import public, records
from services.common.db import session_scope
from services.common.messaging import utcnow
from services.common.queue import connect, queue_name
from services.contracts.appeals import AppealDraft
from services.contracts.events import AppealSignedOff, Event
from tests.deadlines.support import (
    OTHER_TOWN,
    TOWN,
    VILLAGE,
    announced,
    assert_problem,
    assigned,
    clocks_of,
    empty_queue,
    event,
    feed,
    received,
    status,
    triaged,
)
from tests.fixtures import auth, staff

VILLAGE_STAFF = staff("village_staff", VILLAGE)
TOWN_STAFF = staff("town_staff", TOWN)


@pytest.fixture(autouse=True)
async def _empty_queue() -> None:
    await empty_queue()


async def _intake_appeal() -> tuple[uuid.UUID, str, str]:
    draft = AppealDraft.model_validate(
        {
            "channel": "village_visit",
            "channel_ref": f"visit-{uuid.uuid4().hex}",
            "description": "独居老人医疗费用困难，需要临时救助",
            "location": {"town_code": TOWN, "village_code": VILLAGE},
        }
    )
    async with session_scope() as session:
        accepted, _ = await records.create_appeal(session, draft)
    return accepted.appeal_id, accepted.ticket_no, accepted.query_code


async def _to_intake(*events: Event) -> None:
    """What the deadlines relay does, for these events only: onto intake's queue, through its worker."""
    redis = await connect()
    try:
        for item in events:
            await redis.enqueue_job(
                "intake.handle_event", item.model_dump(mode="json"), _queue_name=queue_name("intake")
            )
    finally:
        await redis.aclose()
    w = intake_worker(burst=True)
    try:
        await w.main()
    finally:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await w.close()


async def test_asked_by_the_village_approved_by_its_town_told_to_the_resident(
    client: httpx.AsyncClient,
) -> None:
    appeal_id, ticket, code = await _intake_appeal()
    now = utcnow()
    await feed(received(appeal_id, now), triaged(appeal_id, now), assigned(appeal_id, now))
    handling = (await clocks_of(appeal_id))["handling", 1]
    assert (handling.unit_code, handling.scope_town, handling.extensions_allowed) == (VILLAGE, TOWN, 1)
    path = f"/internal/deadlines/clocks/{handling.id}/extensions"
    body = {"days": 3, "reason": "需等待医保部门出具报销结算单"}

    # Only the holding unit asks, and only a member of staff.
    assert_problem(await client.post(path, json=body, headers=auth(TOWN_STAFF)), 403, "not_holder")
    assert_problem(await client.post(path, json=body), 403, "staff_required")
    assert_problem(
        await client.post(path, json={"days": 11, "reason": "太久"}, headers=auth(VILLAGE_STAFF)),
        422,
        "invalid_extension_days",
    )
    assert_problem(
        await client.post(path, json={"days": 0}, headers=auth(VILLAGE_STAFF)), 422, "invalid_input"
    )

    key = {"Idempotency-Key": f"ext-{uuid.uuid4().hex}"}
    asked = await client.post(path, json=body, headers={**auth(VILLAGE_STAFF), **key})
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["approver_type"], request["approver_code"]) == (
        "requested",
        "town",
        TOWN,
    )
    assert request["due_date_before"] == handling.due_date.isoformat()
    # The same request again answers the first answer; another body under the key is refused.
    again = await client.post(path, json=body, headers={**auth(VILLAGE_STAFF), **key})
    assert (again.status_code, again.json()["id"], again.headers["Idempotent-Replayed"]) == (
        200,
        request["id"],
        "true",
    )
    assert_problem(
        await client.post(path, json={**body, "days": 2}, headers={**auth(VILLAGE_STAFF), **key}),
        409,
        "idempotency_key_reused",
    )
    assert_problem(await client.post(path, json=body, headers=auth(VILLAGE_STAFF)), 409, "extension_pending")

    # The town sees it in its queue; another town does not.
    queue = await client.get("/internal/deadlines/extensions?status=requested", headers=auth(TOWN_STAFF))
    assert request["id"] in [e["id"] for e in queue.json()["items"]]
    foreign = await client.get(
        "/internal/deadlines/extensions", headers=auth(staff("town_staff", OTHER_TOWN))
    )
    assert request["id"] not in [e["id"] for e in foreign.json()["items"]]

    # Exactly one level up decides: not the village itself, not another town, not the city.
    decide = f"/internal/deadlines/extensions/{request['id']}/decision"
    approve = {"decision": "approve", "note": "同意延期"}
    for wrong in (VILLAGE_STAFF, staff("town_staff", OTHER_TOWN), staff("city_admin")):
        assert_problem(await client.post(decide, json=approve, headers=auth(wrong)), 403, "not_approver")
    assert_problem(
        await client.post(
            f"/internal/deadlines/extensions/{uuid.uuid4()}/decision", json=approve, headers=auth(TOWN_STAFF)
        ),
        404,
        "extension_not_found",
    )
    approved = await client.post(decide, json=approve, headers=auth(TOWN_STAFF))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    extended = (await clocks_of(appeal_id))["handling", 1]
    assert extended.due_date == date.fromisoformat(request["due_date_after"]) > handling.due_date
    assert extended.original_due_date == handling.original_due_date  # for the on-time rate
    assert (extended.extended_days, extended.extensions_used) == (3, 1)
    # Deciding again the same way is a replay; the other way is refused; the limit holds.
    assert (await client.post(decide, json=approve, headers=auth(TOWN_STAFF))).status_code == 200
    assert_problem(
        await client.post(decide, json={"decision": "reject"}, headers=auth(TOWN_STAFF)),
        409,
        "extension_decided",
    )
    assert_problem(
        await client.post(path, json=body, headers=auth(VILLAGE_STAFF)), 409, "extension_limit_reached"
    )

    events = [(t, d) for t, d in await announced(appeal_id=appeal_id) if t == "deadline.extended"]
    assert len(events) == 1
    data = events[0][1]
    assert (data["due_date"], data["original_due_date"]) == (
        extended.due_date.isoformat(),
        handling.due_date.isoformat(),
    )
    assert "镇街批准延期至" in data["description"]

    # Intake projects it: a public line on the timeline, the new deadline on the public status.
    outbox_event = Event.model_validate(
        {
            "id": uuid.uuid4(),
            "type": "deadline.extended",
            "occurred_at": utcnow(),
            "appeal_id": appeal_id,
            "source": "deadlines",
            "data": data,
        }
    )
    await _to_intake(outbox_event)
    async with session_scope() as session:
        lines = (
            await session.scalars(
                select(TimelineEntry).where(
                    TimelineEntry.appeal_id == appeal_id, TimelineEntry.public.is_(True)
                )
            )
        ).all()
        shown = await public.public_status(session, ticket, code)
    assert data["description"] in [line.public_description for line in lines]
    assert data["description"] in [step.description for step in shown.timeline]
    assert ("handling", extended.due_date) in [(d.clock, d.due_date) for d in shown.deadlines]

    history = (await client.get(f"/internal/deadlines/appeals/{appeal_id}/history")).json()
    handling_history = next(c for c in history["clocks"] if c["clock"]["clock"] == "handling")
    assert [c["type"] for c in handling_history["changes"]] == ["deadline.started", "deadline.extended"]
    assert handling_history["changes"][1]["detail"]["approved_by"] == TOWN_STAFF.username
    assert [e["status"] for e in handling_history["extensions"]] == ["approved"]


async def test_refused_after_the_deadline_and_on_a_finished_clock(client: httpx.AsyncClient) -> None:
    appeal_id = uuid.uuid4()
    long_ago = datetime(2025, 10, 13, 10, tzinfo=TZ)
    await feed(received(appeal_id, long_ago), assigned(appeal_id, long_ago))
    await feed(
        event(
            "appeal.signed_off",
            AppealSignedOff(unit_type="village", unit_code=VILLAGE, hop=1),
            appeal_id,
            long_ago,
        )
    )
    clocks = await clocks_of(appeal_id)
    body = {"days": 2, "reason": "材料不齐"}
    expired = await client.post(
        f"/internal/deadlines/clocks/{clocks['handling', 1].id}/extensions",
        json=body,
        headers=auth(VILLAGE_STAFF),
    )
    assert_problem(expired, 409, "clock_expired")
    met = await client.post(
        f"/internal/deadlines/clocks/{clocks['sign_off', 1].id}/extensions",
        json=body,
        headers=auth(VILLAGE_STAFF),
    )
    assert_problem(met, 409, "clock_not_active")
    missing = await client.post(
        f"/internal/deadlines/clocks/{uuid.uuid4()}/extensions", json=body, headers=auth(VILLAGE_STAFF)
    )
    assert_problem(missing, 404, "clock_not_found")


async def test_a_department_asks_the_city_and_a_pause_after_the_original_deadline_rescues_nothing() -> None:
    """Department → city approves; a later pause moves the deadline but never the original one."""
    appeal_id = uuid.uuid4()
    start = datetime(2025, 10, 13, 10, tzinfo=TZ)  # Monday; 10 working days end Monday Oct 27
    await feed(
        received(appeal_id, start),
        assigned(appeal_id, start, unit_type="department", unit_code="civil_affairs"),
    )
    clock = (await clocks_of(appeal_id))["handling", 1]
    assert (clock.due_date, clock.scope_town) == (date(2025, 10, 27), None)
    department, city = staff("department_staff", "civil_affairs"), staff("city_admin")
    asked_at = datetime(2025, 10, 20, 9, tzinfo=TZ)
    async with session_scope() as session:
        calendar = await schedules.current_calendar(session)
        request = (
            await extensions.request_extension(
                session, calendar, clock.id, department, ExtensionIn(days=4, reason="需跨部门会商"), asked_at
            )
        ).value
        assert (request.approver_type, request.approver_code) == ("city", "city")
        await extensions.decide_extension(
            session, calendar, request.id, city, DecisionIn(decision="approve"), asked_at.replace(hour=15)
        )
    clock = (await clocks_of(appeal_id))["handling", 1]
    assert (clock.due_date, clock.original_due_date) == (date(2025, 10, 31), date(2025, 10, 27))

    # On hold Wednesday Oct 29 (the original deadline passed on the 27th), resumed Friday Oct 31.
    await feed(
        status(appeal_id, datetime(2025, 10, 29, 10, tzinfo=TZ), "in_progress", "on_hold"),
        status(appeal_id, datetime(2025, 10, 31, 10, tzinfo=TZ), "on_hold", "in_progress"),
    )
    clock = (await clocks_of(appeal_id))["handling", 1]
    assert (clock.due_date, clock.original_due_date) == (date(2025, 11, 4), date(2025, 10, 27))
    assert (clock.paused_days, clock.original_paused_days) == (2, 0)
    # Met within the extension: still late for the on-time rate, judged on the original deadline.
    met_at = datetime(2025, 11, 3, 10, tzinfo=TZ)
    verdict = judge("met", clock.original_due_date, met_at=met_at, paused_at=None, now=utcnow())
    assert verdict.outcome == "late"
    async with session_scope() as session:
        assert (await session.scalar(select(Clock.state).where(Clock.id == clock.id))) == "running"
    assert Unit(clock.unit_type, clock.unit_code) == Unit("department", "civil_affairs")


# --- the request's idempotency key, in the kernel's command table (issue 13.5) --------------------


async def _handling_clock_path() -> str:
    appeal_id, _, _ = await _intake_appeal()
    now = utcnow()
    await feed(received(appeal_id, now), triaged(appeal_id, now), assigned(appeal_id, now))
    handling = (await clocks_of(appeal_id))["handling", 1]
    return f"/internal/deadlines/clocks/{handling.id}/extensions"


async def _keys(idempotency_key: str) -> list[str]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(commands.c.idempotency_key).where(commands.c.idempotency_key.like(f"%:{idempotency_key}"))
        )
        return list(rows.all())


async def test_a_refused_request_leaves_its_key_unused_and_a_replay_answers_it_as_it_is_now(
    client: httpx.AsyncClient,
) -> None:
    path = await _handling_clock_path()
    idem = f"ext-{uuid.uuid4().hex}"
    headers = {**auth(VILLAGE_STAFF), "Idempotency-Key": idem}
    too_long = await client.post(path, json={"days": 11, "reason": "太久了"}, headers=headers)
    assert_problem(too_long, 422, "invalid_extension_days")
    assert await _keys(idem) == []
    body = {"days": 3, "reason": "需等待医保部门出具报销结算单"}
    asked = await client.post(path, json=body, headers=headers)
    assert asked.status_code == 201 and "Idempotent-Replayed" not in asked.headers, asked.text
    assert len(await _keys(idem)) == 1
    decided = await client.post(
        f"/internal/deadlines/extensions/{asked.json()['id']}/decision",
        json={"decision": "reject", "note": "请按期办结"},
        headers=auth(TOWN_STAFF),
    )
    assert decided.status_code == 200, decided.text
    again = await client.post(path, json=body, headers=headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert (again.json()["id"], again.json()["status"]) == (asked.json()["id"], "rejected")
    assert_problem(
        await client.post(path, json={**body, "days": 2}, headers=headers), 409, "idempotency_key_reused"
    )


async def test_concurrent_requests_with_one_key_ask_once(client: httpx.AsyncClient) -> None:
    path = await _handling_clock_path()
    headers = {**auth(VILLAGE_STAFF), "Idempotency-Key": f"ext-{uuid.uuid4().hex}"}
    body = {"days": 2, "reason": "等待村民议事会表决"}
    answers = await asyncio.gather(*(client.post(path, json=body, headers=headers) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    async with session_scope() as session:
        clock_id = uuid.UUID(path.split("/")[-2])
        asked = await session.scalar(
            select(func.count()).select_from(Extension).where(Extension.clock_id == clock_id)
        )
    assert asked == 1
