"""What residents and staff's own phones are told, on the real services (DESIGN §10, issue 16.2).

Extension requests and decisions, a micro-project's public notice and an objection reach the
approver, the holder and the community by notification, and the resident by SMS (the local fake SMS
gateway); a member of staff sets their own phone and WeChat openid, kept encrypted, and is texted.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.common.crypto import decrypt_pii
from services.common.db import session_scope
from services.common.errors import InvalidInput
from services.common.messaging import utcnow
from services.gateway.models import StaffAccount
from services.gateway.service.identity import create_staff
from tests.integration.notifications_support import (
    CONTACT,
    TOWN_PHONE,
    VILLAGE_PHONE,
    World,
    family_texts,
    holder_of,
    notes,
    notify,
    ticket_of,
)
from tests.integration.notifications_support import world as world  # the module's fixture
from tests.integration.security_support import (
    AUDITOR,
    CITY,
    HUMEN,
    OTHER_VILLAGE,
    TOWN,
    VILLAGE,
    bearer,
)


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
