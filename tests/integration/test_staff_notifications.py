"""Staff notifications through the gateway on the real services (DESIGN §10, issue 16.2).

Appeals are filed through the gateway's staff channels and triaged, assigned and clocked by the
real workers; the gateway's own worker turns the events into notifications and pushes them by SMS
(the local fake SMS gateway) to the members of staff who have a phone. Then an injected clock
(the deadlines sweep run at a later "now") makes the clocks overdue and escalates them: the
holder's staff hear of the overdue, the unit above of the escalation, and the work list shows it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from deadlines.models import Clock
from deadlines.service.sweep import sweep_once
from routing.models import messaging as routing_messaging
from services.common.auth import Principal
from services.common.crypto import decrypt_pii
from services.common.db import session_scope
from services.common.errors import InvalidInput
from services.common.messaging import utcnow
from services.common.queue import connect, queue_name
from services.common.settings import get_settings
from services.contracts.events import Event
from services.gateway.config import feedback_settings
from services.gateway.jobs import worker as gateway_worker
from services.gateway.models import StaffAccount, StaffNotification
from services.gateway.service.identity import create_staff
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fixtures import drain, enqueue
from tests.integration.security_support import (
    AUDITOR,
    CITY,
    HUMEN,
    OTHER_VILLAGE,
    PROBLEM,
    TOWN,
    VILLAGE,
    System,
    bearer,
    person,
    running_system,
    settle,
)
from tests.integration.test_security_scope import FAMILY_PHONE, file, visit

NOTES = "/api/v1/staff/notifications"
CONTACT = "/api/v1/staff/me/contact"
VILLAGE_PHONE = "13926640001"
TOWN_PHONE = "13926640002"


@dataclass
class World:
    system: System
    sms: FakeSmsGateway
    own: str  # 北栅社区's appeal
    other: str  # 虎门寨社区's appeal (same town)
    project: str  # 北栅社区's micro-project, for its community to consult on
    holder: Principal  # a member of the unit that holds `own`
    holder_phone: str | None
    tag: str = ""
    town_login: dict[str, str] | None = None  # a real 虎门 account that set its own phone


@contextmanager
def sms_url(url: str) -> Iterator[None]:
    """Point the SMS sender at the fake, without dropping the in-process service clients."""
    saved = os.environ.get("GUANJIA_SMS_URL")
    os.environ["GUANJIA_SMS_URL"] = url
    get_settings.cache_clear()
    feedback_settings.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("GUANJIA_SMS_URL", None)
        else:
            os.environ["GUANJIA_SMS_URL"] = saved
        get_settings.cache_clear()
        feedback_settings.cache_clear()


async def notify() -> None:
    """Every event to its consumers, then the gateway's worker (notifications, pushes)."""
    await settle()
    await drain(gateway_worker(burst=True))


async def holder_of(system: System, appeal_id: str) -> dict[str, Any]:
    r = await system.gateway.get(
        "/api/v1/staff/appeals", params={"q": await ticket_of(system, appeal_id)}, headers=bearer(CITY)
    )
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    holder: dict[str, Any] = item["holder"]
    return holder


async def ticket_of(system: System, appeal_id: str) -> str:
    r = await system.gateway.get(f"/api/v1/staff/appeals/{appeal_id}", headers=bearer(CITY))
    ticket: str = r.json()["ticket_no"]
    return ticket


ROLE = {
    "village": "village_staff",
    "town": "town_staff",
    "station": "station_staff",
    "department": "department_staff",
}


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    redis = await connect()
    await redis.delete(queue_name("gateway"))  # nothing of another module's in our worker's way
    await redis.aclose()
    sms = FakeSmsGateway().start()
    try:
        with sms_url(sms.url):
            async with running_system("10.8.0.16") as system:
                tag = uuid.uuid4().hex[:6]
                gw = system.gateway
                own = await file(
                    gw,
                    VILLAGE,
                    "village-visit",
                    visit(f"北栅社区荔枝路{tag}号楼道灯坏了，老人上下楼摔倒过。"),
                )
                other = await file(
                    gw,
                    OTHER_VILLAGE,
                    "village-visit",
                    visit(f"虎门寨社区寨前街{tag}号排水沟堵塞，下雨就积水。"),
                )
                project = await file(
                    gw,
                    VILLAGE,
                    "village-visit",
                    visit(
                        f"北栅社区东方路{tag}号一带的路灯坏了好几盏，晚上黑漆漆的，居民出行很不安全，希望尽快修好"
                    ),
                )
                await settle()
                unit = await holder_of(system, own)
                holder = person(ROLE[unit["type"]], unit["type"], unit["code"])  # type: ignore[arg-type]
                phone = None
                if unit["type"] in ROLE:
                    # A real account with a phone: the notifications to its unit are texted to it.
                    async with session_scope() as session:
                        await create_staff(
                            session,
                            f"notify.{tag}",
                            "a-long-password",
                            ROLE[unit["type"]],
                            unit["code"],
                            phone=VILLAGE_PHONE,
                        )
                    phone = "+86" + VILLAGE_PHONE
                await drain(gateway_worker(burst=True))
                yield World(system, sms, own, other, project, holder, phone, tag)
                async with session_scope() as session:
                    # Later modules' appeals in 北栅 and 虎门 are not these accounts' to be texted about.
                    await session.execute(
                        update(StaffAccount)
                        .where(StaffAccount.username.in_([f"notify.{tag}", f"contact.{tag}"]))
                        .values(active=False)
                    )
    finally:
        sms.stop()


async def notes(gw: httpx.AsyncClient, who: Principal, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await gw.get(NOTES, params=query, headers=bearer(who))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


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


def family_texts(world: World, ticket: str) -> list[str]:
    return [s.params["text"] for s in world.sms.sent_to("+86" + FAMILY_PHONE) if ticket in s.params["text"]]


async def test_extension_requests_and_decisions_reach_approver_holder_and_resident(world: World) -> None:
    gw = world.system.gateway
    ticket = await ticket_of(world.system, world.own)
    clocks = (await gw.get(f"/api/v1/staff/appeals/{world.own}/clocks", headers=bearer(CITY))).json()
    held = [
        c for c in clocks if c["state"] == "running" and (c["unit_type"], c["unit_code"]) == (
            world.holder.org_type, world.holder.org_code)
    ]  # fmt: skip
    if not held or world.holder.org_type != "village":
        pytest.skip("no running clock of the village")
    clock_id = held[0]["id"]

    async def ask() -> str:
        r = await gw.post(
            f"/api/v1/deadlines/clocks/{clock_id}/extensions",
            json={"days": 2, "reason": "等待住户配合入户维修"},
            headers={**bearer(world.holder), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def decide(extension_id: str, decision: str) -> None:
        r = await gw.post(
            f"/api/v1/deadlines/extensions/{extension_id}/decision",
            json={"decision": decision},
            headers=bearer(TOWN),
        )
        assert r.status_code == 200, r.text

    await decide(await ask(), "reject")
    await notify()
    asked = [
        n for n in await notes(gw, TOWN) if n["kind"] == "extension_requested" and n["ticket_no"] == ticket
    ]
    assert len(asked) == 1 and "2天" in asked[0]["text"]
    refused = [
        n
        for n in await notes(gw, world.holder)
        if n["kind"] == "extension_decided" and n["ticket_no"] == ticket
    ]
    assert len(refused) == 1 and "未获批准" in refused[0]["text"]
    assert not [t for t in family_texts(world, ticket) if "延期" in t], "a refusal is not the resident's news"

    await decide(await ask(), "approve")
    await notify()
    decided = [
        n
        for n in await notes(gw, world.holder)
        if n["kind"] == "extension_decided" and n["ticket_no"] == ticket
    ]
    assert len(decided) == 2 and any("已批准" in n["text"] for n in decided)
    assert (
        len(
            [
                n
                for n in await notes(gw, TOWN)
                if n["kind"] == "extension_requested" and n["ticket_no"] == ticket
            ]
        )
        == 2
    )
    told = [t for t in family_texts(world, ticket) if "延期" in t]
    assert len(told) == 1, family_texts(world, ticket)


async def test_a_member_sets_their_own_phone_and_openid(world: World) -> None:
    gw = world.system.gateway
    username = f"contact.{world.tag}"
    async with session_scope() as session:
        await create_staff(session, username, "a-long-password", "town_staff", HUMEN)
    login = await gw.post("/api/v1/auth/staff", json={"username": username, "password": "a-long-password"})
    assert login.status_code == 200, login.text
    me = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await gw.get(CONTACT, headers=me)).json() == {"phone_masked": None, "openid_masked": None}

    # A landline takes no SMS, a short number is no phone: 422, and nothing is written.
    for bad in ("0769-22221234", "12345"):
        r = await gw.put(CONTACT, json={"phone": bad}, headers=me)
        assert r.status_code == 422 and r.json()["code"] == "invalid_phone", r.text
        assert "手机号码" in r.json()["detail"]
    r = await gw.put(CONTACT, json={"phone": TOWN_PHONE, "openid": "bad openid!"}, headers=me)
    assert r.status_code == 422
    assert (await gw.get(CONTACT, headers=me)).json()["phone_masked"] is None

    r = await gw.put(CONTACT, json={"phone": "139 2664 0002", "openid": "oTownOpenid_0123456789"}, headers=me)
    assert r.status_code == 200, r.text
    assert r.json() == {"phone_masked": "139****0002", "openid_masked": "oTow****6789"}
    again = await gw.put(CONTACT, json={"phone": TOWN_PHONE, "openid": "oTownOpenid_0123456789"}, headers=me)
    assert again.json() == r.json()
    async with session_scope() as session:
        account = await session.scalar(select(StaffAccount).where(StaffAccount.username == username))
    assert account is not None and account.phone_enc is not None
    assert (
        TOWN_PHONE.encode() not in account.phone_enc and decrypt_pii(account.phone_enc) == "+86" + TOWN_PHONE
    )
    assert account.openid == "oTownOpenid_0123456789"
    # Null clears the openid; the phone stays where the member put it.
    cleared = await gw.put(CONTACT, json={"phone": TOWN_PHONE, "openid": None}, headers=me)
    assert cleared.json()["openid_masked"] is None and cleared.json()["phone_masked"] == "139****0002"
    # Only one's own account: no field names another; an auditor is addressed nothing and sets nothing.
    other = await gw.put(CONTACT, json={"phone": TOWN_PHONE, "username": "someone"}, headers=me)
    assert other.status_code == 422
    assert (await gw.put(CONTACT, json={"phone": TOWN_PHONE}, headers=bearer(AUDITOR))).status_code == 403
    assert (await gw.put(CONTACT, json={"phone": TOWN_PHONE})).status_code == 401
    world.town_login = me


async def test_public_notice_and_objection_reach_the_resident_and_the_community(world: World) -> None:
    gw = world.system.gateway
    ticket = await ticket_of(world.system, world.project)
    holder = await holder_of(world.system, world.project)
    if (holder["type"], holder["code"]) != ("village", VILLAGE.org_code):
        pytest.skip("the micro-project was not given to its community")
    minutes = {
        "appeal_id": world.project,
        "form": "residents_council",
        "held_at": utcnow().isoformat(),
        "eligible_count": 25,
        "present_count": 20,
        "attendees": [{"name": "陈伯", "role": "居民代表"}],
        "necessity": "路灯损坏多盏，夜间出行不安全",
        "feasibility": "利用原有杆件，施工一周",
        "budget_fen": 3_600_000,
        "beneficiaries": {"count": 1200, "group": "东方路一带居民"},
        "implementer": "北栅社区居委会",
        "votes": {
            p: {"yes": 16, "no": 3, "abstain": 1}
            for p in ("necessity", "feasibility", "budget", "beneficiaries", "implementer")
        },
        "track": "express",
        "holder_type": "village",
        "holder_code": VILLAGE.org_code,
    }
    r = await gw.post(
        "/api/v1/consultations",
        json=minutes,
        headers={**bearer(VILLAGE), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "notice"
    await notify()
    noticed = [t for t in family_texts(world, ticket) if "公示至" in t]
    assert len(noticed) == 1, family_texts(world, ticket)
    # The community that consulted and its town hear of the 公示; no other community does.
    for who in (VILLAGE, TOWN):
        got = [n for n in await notes(gw, who) if n["kind"] == "noticed" and n["ticket_no"] == ticket]
        assert len(got) == 1 and "公示期至" in got[0]["text"], who.org_code
    assert not [n for n in await notes(gw, OTHER_VILLAGE) if n["kind"] == "noticed"]
    if world.town_login is not None:
        # The town's member who set their own phone through the API is texted.
        texted = [s for s in world.sms.sent_to("+86" + TOWN_PHONE) if ticket in s.params["text"]]
        assert [s.params["status"] for s in texted] == ["方案公示"], texted
    objected = await gw.post(
        f"/api/v1/consultations/{r.json()['id']}/objections",
        json={"summary": "部分居民认为应优先维修巷内路灯"},
        headers=bearer(TOWN),
    )
    assert objected.status_code == 200, objected.text
    await notify()
    for who in (VILLAGE, TOWN):
        got = [n for n in await notes(gw, who) if n["kind"] == "objection" and n["ticket_no"] == ticket]
        assert len(got) == 1 and "异议" in got[0]["text"], who.org_code
    assert not [n for n in await notes(gw, OTHER_VILLAGE) if n["ticket_no"] == ticket]
    assert len([t for t in family_texts(world, ticket) if "收到异议" in t]) == 1
    # Residents' words never reach an event or a notification: the objection's summary stays in routing.
    assert all("巷内路灯" not in n["text"] for n in await notes(gw, TOWN))


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


async def test_a_staff_phone_must_be_a_phone_and_is_kept_encrypted(world: World) -> None:
    async with session_scope() as session:
        with pytest.raises(InvalidInput):
            await create_staff(
                session, f"bad.{uuid.uuid4().hex[:6]}", "a-long-password", "town_staff", HUMEN, phone="12345"
            )
    async with session_scope() as session:
        stored = await session.scalar(
            select(StaffAccount.phone_enc).where(StaffAccount.phone_enc.is_not(None))
        )
    assert stored is not None and VILLAGE_PHONE.encode() not in stored
