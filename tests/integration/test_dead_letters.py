"""Dead letters (死信) seen and resolved by the city's administrators through the gateway.

Real routing and intake processes on the test database; routing's real worker runs a replayed
job. A parked job is kept by `services.common.messaging.park`, the function the job wrapper
parks with (its own path is tested in `tests/common/test_job_timeout.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from intake.models.base import messaging as intake_messaging
from routing.models import TriageResult
from routing.models.base import messaging as routing_messaging
from services.common.db import session_scope
from services.common.messaging import MessagingTables, park
from services.common.queue import connect, queue_name
from services.contracts.events import Event
from services.gateway.api.app import app as gateway_app
from services.gateway.jobs import worker as gateway_worker
from services.gateway.models import StaffNotification
from services.gateway.models import messaging as gateway_messaging
from tests.fakes.live_service import environment, live_service
from tests.fixtures import bearer, drain, enqueue, received, staff
from tests.routing.support import empty_queue, events_of
from tests.system.harness import free_port

CITY = staff("city_admin", "city")
AUDITOR = staff("auditor", "city")
TOWN = staff("town_staff", "441900121000")
PROBLEM = "application/problem+json"
ROUTE = "/api/v1/admin/dead-letters"


@pytest.fixture(scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    logs: Path = tmp_path_factory.mktemp("dead-letters")
    # Deadlines and ledger are not running: their letters cannot be counted, and the answer says so.
    nowhere = f"http://127.0.0.1:{free_port()}"
    with live_service("routing", logs) as routing_url, live_service("intake", logs) as intake_url:
        urls = {
            "GUANJIA_ROUTING_URL": routing_url,
            "GUANJIA_INTAKE_URL": intake_url,
            "GUANJIA_DEADLINES_URL": nowhere,
            "GUANJIA_LEDGER_URL": nowhere,
        }
        async with (
            environment(urls),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw") as client,
        ):
            yield client


_MADE: list[tuple[MessagingTables, int]] = []


@pytest.fixture(scope="module", autouse=True)
async def _tidy() -> AsyncIterator[None]:
    """The database is shared: the letters made here, and their notices not yet relayed, go after
    the module (a later `guanjia up` would relay the notices, and a fault test counts letters)."""
    yield
    async with session_scope() as session:
        for tables, letter in _MADE:
            await session.execute(delete(tables.dead_letters).where(tables.dead_letters.c.id == letter))
            told = tables.outbox.c.payload["data"]["letter_id"].astext == str(letter)
            await session.execute(delete(tables.outbox).where(tables.outbox.c.type == "ops.job_parked", told))


async def _parked(tables: MessagingTables, job_name: str, args: dict[str, Any], error: str) -> int:
    async with session_scope() as session:
        await park(
            session, tables, job_name=job_name, job_id=uuid.uuid4().hex, args=args, error=error, tries=8
        )
        letter = int(await session.scalar(select(func.max(tables.dead_letters.c.id))) or 0)
    _MADE.append((tables, letter))
    return letter


async def _outbox(tables: MessagingTables, type_: str, letter_id: int) -> list[dict[str, Any]]:
    outbox = tables.outbox
    async with session_scope() as session:
        rows = await session.scalars(select(outbox.c.payload).where(outbox.c.type == type_))
        return [dict(p) for p in rows if p["data"]["letter_id"] == letter_id]


def _mine(overview: dict[str, Any], service: str, letter_id: int) -> dict[str, Any] | None:
    return next((i for i in overview["items"] if (i["service"], i["id"]) == (service, letter_id)), None)


async def test_a_parked_event_is_seen_replayed_once_and_closed(gw: httpx.AsyncClient) -> None:
    await empty_queue()
    event = received("北栅社区东方路的路灯坏了一个月，晚上很黑", address="虎门镇北栅社区东方路12号")
    payload = event.model_dump(mode="json")
    letter = await _parked(
        routing_messaging, "routing.handle_event", {"args": [payload], "kwargs": {}}, "RuntimeError('bug')"
    )
    # Parking told the city's administrators, in the same transaction: an ops.job_parked event
    # naming the stuck appeal, which the gateway turns into their notification.
    (told,) = await _outbox(routing_messaging, "ops.job_parked", letter)
    assert told["appeal_id"] == str(event.appeal_id) and told["data"]["event_type"] == "appeal.received"
    await enqueue("gateway", Event.model_validate(told))
    await drain(gateway_worker(burst=True))
    notices = (await gw.get("/api/v1/staff/notifications", headers=bearer(CITY))).json()["items"]
    (notice,) = [n for n in notices if n["kind"] == "job_parked" and f"编号{letter}）" in n["text"]]
    assert "分拣交办服务未能处理" in notice["text"] and notice["appeal_id"] == str(event.appeal_id)

    seen = await gw.get(ROUTE, headers=bearer(CITY))
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["unavailable"] == ["deadlines", "ledger"] and body["by_service"]["routing"] >= 1
    mine = _mine(body, "routing", letter)
    assert mine is not None
    assert (mine["event_type"], mine["appeal_id"], mine["replayable"]) == (
        "appeal.received",
        str(event.appeal_id),
        True,
    )
    assert mine["resolution"] is None and mine["error"] == "RuntimeError('bug')"
    # Auditors read; only the city's administrators act; nobody else reads.
    assert (await gw.get(ROUTE, headers=bearer(AUDITOR))).status_code == 200
    assert (await gw.get(ROUTE, headers=bearer(TOWN))).status_code == 403
    assert (await gw.get(ROUTE)).status_code == 401
    replay = {"action": "replay", "note": "路由服务修复后重放"}
    refused = await gw.post(f"{ROUTE}/routing/{letter}/resolution", json=replay, headers=bearer(AUDITOR))
    assert refused.status_code == 403

    done = await gw.post(f"{ROUTE}/routing/{letter}/resolution", json=replay, headers=bearer(CITY))
    assert done.status_code == 200, done.text
    assert (done.json()["resolution"], done.json()["resolved_by"]) == ("replayed", CITY.staff_id)
    # A second replay (a double click, a resent request) answers the same and enqueues nothing new.
    again = await gw.post(f"{ROUTE}/routing/{letter}/resolution", json=replay, headers=bearer(CITY))
    assert again.status_code == 200 and again.json()["resolved_at"] == done.json()["resolved_at"]
    await drain("routing")
    assert event.appeal_id is not None
    async with session_scope() as session:
        triaged = await session.scalar(
            select(func.count()).select_from(TriageResult).where(TriageResult.appeal_id == event.appeal_id)
        )
    assert triaged == 1
    # The notice of the parking, then the triage's two events, once.
    assert [e["type"] for e in await events_of(event.appeal_id)] == [
        "ops.job_parked",
        "appeal.triaged",
        "appeal.assigned",
    ]
    # Closed: gone from the open list, kept in the full one.
    after = (await gw.get(ROUTE, headers=bearer(CITY))).json()
    assert _mine(after, "routing", letter) is None
    everything = (await gw.get(ROUTE, params={"include_resolved": "true"}, headers=bearer(CITY))).json()
    assert _mine(everything, "routing", letter) is not None
    # The other action on a closed letter is refused, in words a person understands.
    dismiss = {"action": "dismiss", "note": "误操作"}
    late = await gw.post(f"{ROUTE}/routing/{letter}/resolution", json=dismiss, headers=bearer(CITY))
    assert late.status_code == 409 and late.headers["content-type"].startswith(PROBLEM)
    assert late.json()["code"] == "dead_letter_resolved" and "已由他人处理" in late.json()["detail"]


async def test_the_alert_of_a_parked_job_does_not_wait_for_intake(gw: httpx.AsyncClient) -> None:
    # Intake away (the failure the letter may be reporting): the notice goes out without a ticket.
    event = received("北栅社区东方路的路灯坏了", address="虎门镇北栅社区东方路12号")
    # An event type of its own: parked jobs alike make one notice an hour, and the first test's
    # letter made the notice of parked appeal.received jobs.
    payload = {**event.model_dump(mode="json"), "type": "appeal.complaint_noted"}
    letter = await _parked(
        routing_messaging, "routing.handle_event", {"args": [payload], "kwargs": {}}, "NotYet('intake away')"
    )
    (told,) = await _outbox(routing_messaging, "ops.job_parked", letter)
    redis = await connect()
    try:
        await redis.delete(queue_name("gateway"))  # only this notice, not other tests' leftovers
    finally:
        await redis.aclose()
    async with environment({"GUANJIA_INTAKE_URL": f"http://127.0.0.1:{free_port()}"}):
        await enqueue("gateway", Event.model_validate(told))
        await drain(gateway_worker(burst=True))
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(
                    StaffNotification.ticket_no, StaffNotification.appeal_id, StaffNotification.text
                ).where(
                    StaffNotification.kind == "job_parked",
                    StaffNotification.event_id == uuid.UUID(told["id"]),
                )
            )
        ).all()
    assert [(r.ticket_no, r.appeal_id) for r in rows] == [(None, event.appeal_id)]
    assert "分拣交办服务未能处理诉求的appeal.complaint_noted事件" in rows[0].text


async def test_a_replay_while_redis_is_away_is_a_503_and_leaves_the_letter_open(
    gw: httpx.AsyncClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A routing process whose Redis is away (nothing listens where it looks) cannot enqueue the
    # replay: the answer is a 503 problem and the letter stays open, nothing marked. With Redis
    # back (the module's routing), the same replay goes.
    event = received("东城街道的井盖丢了，晚上有人差点掉下去", address="东城街道主山社区")
    args = {"args": [event.model_dump(mode="json")], "kwargs": {}}
    letter = await _parked(routing_messaging, "routing.handle_event", args, "RuntimeError('bug')")
    replay = {"action": "replay", "note": "Redis 恢复后重放"}
    away = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with live_service("routing", tmp_path_factory.mktemp("redis-away"), env=away) as routing_url:
        async with environment({"GUANJIA_ROUTING_URL": routing_url}):
            refused = await gw.post(f"{ROUTE}/routing/{letter}/resolution", json=replay, headers=bearer(CITY))
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM) and refused.json()["code"]
    dead_letters = routing_messaging.dead_letters
    async with session_scope() as session:
        left = (await session.execute(select(dead_letters).where(dead_letters.c.id == letter))).one()
    assert (left.resolution, left.resolved_at, left.resolved_by) == (None, None, None)
    try:
        done = await gw.post(f"{ROUTE}/routing/{letter}/resolution", json=replay, headers=bearer(CITY))
        assert done.status_code == 200 and done.json()["resolution"] == "replayed", done.text
    finally:
        await empty_queue()  # the replayed job is no other test's work


async def test_a_job_whose_numbers_were_masked_is_dismissed_not_replayed(gw: httpx.AsyncClient) -> None:
    # A job whose arguments held a phone number keeps only the masked copy: running it again
    # would act on the mask.
    letter = await _parked(
        intake_messaging, "intake.send_sms", {"args": ["13912345678", "您的诉求已受理"], "kwargs": {}}, "boom"
    )
    overview = (await gw.get(ROUTE, headers=bearer(CITY))).json()
    mine = _mine(overview, "intake", letter)
    assert mine is not None and mine["replayable"] is False and "13912345678" not in str(mine)
    replay = {"action": "replay", "note": "重试"}
    refused = await gw.post(f"{ROUTE}/intake/{letter}/resolution", json=replay, headers=bearer(CITY))
    assert refused.status_code == 409 and refused.json()["code"] == "dead_letter_not_replayable"
    dismiss = {"action": "dismiss", "note": "已电话通知来电人"}
    closed = await gw.post(f"{ROUTE}/intake/{letter}/resolution", json=dismiss, headers=bearer(CITY))
    assert closed.status_code == 200 and closed.json()["resolution"] == "dismissed"
    assert closed.json()["note"] == "已电话通知来电人"


async def test_the_gateways_own_letters_and_bad_requests(gw: httpx.AsyncClient) -> None:
    letter = await _parked(
        gateway_messaging, "gateway.handle_event", {"args": [{}], "kwargs": {}}, "ValueError()"
    )
    (told,) = await _outbox(gateway_messaging, "ops.job_parked", letter)
    # A notifier that fails on the very notice of a parked job is parked without another notice.
    silent = await _parked(gateway_messaging, "gateway.handle_event", {"args": [told], "kwargs": {}}, "boom")
    assert await _outbox(gateway_messaging, "ops.job_parked", silent) == []
    overview = (await gw.get(ROUTE, headers=bearer(CITY))).json()
    assert _mine(overview, "gateway", letter) is not None
    dismiss = {"action": "dismiss", "note": "空事件，无需处理"}
    closed = await gw.post(f"{ROUTE}/gateway/{letter}/resolution", json=dismiss, headers=bearer(CITY))
    assert closed.status_code == 200 and closed.json()["resolution"] == "dismissed"
    for path, body in (
        (f"{ROUTE}/routing/999999999/resolution", dismiss),  # no such letter
        (f"{ROUTE}/nosuch/1/resolution", dismiss),  # no such service
        (f"{ROUTE}/routing/{2**63}/resolution", dismiss),  # past any id
        (f"{ROUTE}/routing/1/resolution", {"action": "replay"}),  # no note
        (f"{ROUTE}/routing/1/resolution", {"action": "burn", "note": "试试"}),
    ):
        r = await gw.post(path, json=body, headers=bearer(CITY))
        assert r.status_code in (404, 422), (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith(PROBLEM) and r.json()["code"], r.text
    missing = await gw.post(f"{ROUTE}/routing/999999999/resolution", json=dismiss, headers=bearer(CITY))
    assert missing.json()["code"] == "dead_letter_not_found"
