"""Issue 16 (公示, donors, residents) through the gateway on the whole system: the real intake,
routing, deadlines and ledger apps on the real database and Redis, their real workers and outbox
relays (`settle`), WeChat's login played by its fake.

- Public notices: a meeting's notice with attendance and the votes on the five points on
  `GET /api/v1/public/notices`, the public status and disclosure; a resident objects through the
  mini-program (idempotent; the convening unit hears of it by an event); the notice ends (an
  injected clock) and the plan is approved; a plan rejected in consultation stays disclosed with
  its reason.
- Donors: a micro-project whose meeting had no quorum is not claimable (`409 not_claimable`).
- Residents: withdraw their own appeal before work starts (mini-program, or ticket and 查询码),
  not after (`409 work_started`); a policy benefit topped up by 莞家直达; escalation to the city
  from the unit holding an appeal; Open311 lists appeals of every channel, public-safe.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from routing.models import Consultation, TriageResult
from routing.models import messaging as routing_messaging
from routing.service import consultations
from services.common.auth import Principal
from services.common.db import session_scope
from tests.integration.security_support import (
    BEIZHA,
    CITY,
    HUMEN,
    HUMENZHAI,
    OTHER_VILLAGE,
    PROBLEM,
    TOWN,
    VILLAGE,
    System,
    bearer,
    running_system,
    settle,
)

LIGHTS = "虎门镇北栅社区东方路一带的路灯坏了好几盏，晚上黑漆漆的，居民出行很不安全，希望尽快修好"
POINTS = ("necessity", "feasibility", "budget", "beneficiaries", "implementer")


@dataclass
class World:
    system: System

    @property
    def gw(self) -> httpx.AsyncClient:
        return self.system.gateway


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    async with running_system("10.16.0.2") as system:
        yield World(system)


def problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    if code is not None:
        assert body["code"] == code, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body  # a resident reads Chinese
    return body


async def file(w: World, words: str, headers: dict[str, str], **form: Any) -> dict[str, Any]:
    """A resident files through the mini-program; the system triages and assigns it."""
    body = {"description": words, **form}
    r = await w.gw.post(
        "/api/v1/miniprogram/appeals",
        json=body,
        headers={**headers, "Idempotency-Key": f"i16-{uuid.uuid4().hex[:20]}"},
    )
    assert r.status_code == 201, r.text
    await settle()
    accepted: dict[str, Any] = r.json()
    return accepted


async def street_lights(w: World) -> tuple[dict[str, Any], dict[str, str]]:
    """A micro-project of 北栅社区, held by the village to consult on."""
    _, headers = await w.system.login_resident()
    filed = await file(
        w,
        f"{LIGHTS}（{uuid.uuid4().hex[:6]}），联系电话13826641234",
        headers,
        address="虎门镇北栅社区东方路",
        town_code=HUMEN,
        village_code=BEIZHA,
    )
    status = await public_status(w, filed)
    assert (status["kind"], status["status"]) == ("micro_project", "consulting"), status
    return filed, headers


async def public_status(w: World, filed: dict[str, Any]) -> dict[str, Any]:
    r = await w.gw.get(f"/api/v1/public/appeals/{filed['ticket_no']}", params={"code": filed["query_code"]})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def minutes(appeal_id: str, **override: Any) -> dict[str, Any]:
    yes = {"yes": 16, "no": 3, "abstain": 1}
    body: dict[str, Any] = {
        "appeal_id": appeal_id,
        "form": "residents_council",
        "held_at": "2026-12-05T19:30:00+08:00",
        "eligible_count": 25,
        "present_count": 20,
        "attendees": [{"name": "陈伯", "role": "居民代表"}, {"name": "李姨", "role": "居民代表"}],
        "necessity": "东方路一带路灯损坏多盏，夜间出行不安全",
        "feasibility": "线路可利用原有杆件，施工一周",
        "budget_fen": 3_600_000,
        "beneficiaries": {"count": 1200, "group": "东方路一带居民"},
        "implementer": "北栅社区居委会",
        "votes": {p: yes for p in POINTS},
        "track": "express",
        "holder_type": "village",
        "holder_code": BEIZHA,
    }
    body.update(override)
    return body


async def meeting(w: World, appeal_id: str, who: Principal = VILLAGE, **override: Any) -> dict[str, Any]:
    r = await w.gw.post("/api/v1/consultations", json=minutes(appeal_id, **override), headers=bearer(who))
    assert r.status_code == 201, r.text
    await settle()
    made: dict[str, Any] = r.json()
    return made


async def notices(w: World, **params: Any) -> list[dict[str, Any]]:
    r = await w.gw.get("/api/v1/public/notices", params={"page_size": 100, **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def routing_events(appeal_id: str, type_: str) -> list[dict[str, Any]]:
    outbox = routing_messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload)
            .where(outbox.c.appeal_id == uuid.UUID(appeal_id), outbox.c.type == type_)
            .order_by(outbox.c.seq)
        )
        return [dict(r.payload) for r in rows]


async def test_a_notice_is_public_a_resident_objects_and_the_next_plan_is_approved(world: World) -> None:
    w = world
    filed, resident = await street_lights(w)
    first = await meeting(w, filed["appeal_id"])
    assert first["state"] == "notice"

    # 公示: current notices, with the meeting, attendance, votes on the five points and the period.
    current = [n for n in await notices(w, period="current") if n["ticket_no"] == filed["ticket_no"]]
    assert len(current) == 1, current
    notice = current[0]
    assert notice["consultation_id"] == first["id"] and notice["state"] == "notice"
    assert notice["meeting"]["form_name"] == "居民议事会" and notice["meeting"]["unit"] == "北栅社区"
    assert notice["attendance"] == {
        "eligible_count": 25,
        "present_count": 20,
        "households_total": None,
        "households_present": None,
        "quorum_met": True,
    }
    assert [(v["point"], v["yes"], v["passed"]) for v in notice["votes"]] == [(p, 16, True) for p in POINTS]
    assert notice["notice"]["outcome"] == "running" and notice["notice"]["days"] == first["notice_days"]
    assert notice["plan"]["budget_fen"] == 3_600_000 and notice["village"] == "北栅社区"
    assert "陈伯" not in str(notice) and "李姨" not in str(notice)  # attendees are never published
    on_status = (await public_status(w, filed))["notices"]
    assert [n["consultation_id"] for n in on_status] == [first["id"]]
    by_ticket = await notices(w, ticket_no=filed["ticket_no"])
    assert [n["consultation_id"] for n in by_ticket] == [first["id"]]
    bad = await w.gw.get("/api/v1/public/notices", params={"period": "tomorrow"})
    problem(bad, 422, "invalid_input")
    # Dashboards poll: an unchanged list is a 304 to the ETag they hold.
    listed = await w.gw.get("/api/v1/public/notices", params={"ticket_no": filed["ticket_no"]})
    unchanged = await w.gw.get(
        "/api/v1/public/notices",
        params={"ticket_no": filed["ticket_no"]},
        headers={"If-None-Match": listed.headers["ETag"]},
    )
    assert unchanged.status_code == 304

    # A resident objects through the mini-program: a reason, an Idempotency-Key, one objection.
    path = f"/api/v1/miniprogram/notices/{first['id']}/objections"
    reason = {"reason": "巷子里的路灯更暗，应该先修巷内的"}
    problem(await w.gw.post(path, json=reason), 401)
    problem(await w.gw.post(path, json=reason, headers=resident), 422, "idempotency_key_required")
    problem(
        await w.gw.post(path, json={"reason": "x"}, headers={**resident, "Idempotency-Key": "obj-short"}),
        422,
        "invalid_input",
    )
    key = {**resident, "Idempotency-Key": f"obj-{uuid.uuid4().hex[:12]}"}
    made = await w.gw.post(path, json=reason, headers=key)
    assert made.status_code == 201, made.text
    receipt = made.json()
    assert (receipt["state"], receipt["ticket_no"]) == ("objected", filed["ticket_no"])
    replay = await w.gw.post(path, json=reason, headers=key)
    assert replay.status_code == 200 and replay.json()["objection_id"] == receipt["objection_id"]
    assert replay.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in made.headers
    problem(
        await w.gw.post(path, json={"reason": "换一个理由再提"}, headers=key), 409, "idempotency_key_reused"
    )
    again = {**resident, "Idempotency-Key": f"obj-{uuid.uuid4().hex[:12]}"}
    problem(await w.gw.post(path, json=reason, headers=again), 409, "consultation_state")
    problem(
        await w.gw.post(f"/api/v1/miniprogram/notices/{uuid.uuid4()}/objections", json=reason, headers=again),
        404,
        "not_found",
    )
    # The convening unit hears of it by an event that names nobody.
    (objected,) = await routing_events(filed["appeal_id"], "consultation.objected")
    assert objected["data"]["by"] == "resident" and objected["data"]["unit_code"] == BEIZHA
    assert objected["data"]["objection_id"] == receipt["objection_id"]
    assert "巷子" not in str(objected) and "openid" not in str(objected)

    await settle()
    (back,) = [n for n in await notices(w, period="past") if n["consultation_id"] == first["id"]]
    assert (back["state"], back["notice"]["outcome"], back["notice"]["objections"]) == (
        "objected",
        "objected",
        1,
    )
    assert "巷子" not in str(back)  # the resident's words stay with the village

    # The village meets again; the notice runs out unopposed (an injected clock) and the plan is approved.
    second = await meeting(w, filed["appeal_id"], notice_days=7, held_at="2026-12-06T19:30:00+08:00")
    async with session_scope() as session:
        row = await session.get(Consultation, uuid.UUID(second["id"]))
        assert row is not None and row.notice_ends_at is not None
        later = row.notice_ends_at + timedelta(minutes=1)
    async with session_scope() as session:
        # Other tests' notices may fall due too (one shared database): this one must not.
        await consultations.finalise_due(session, now=row.notice_ends_at - timedelta(minutes=1))
    async with session_scope() as session:
        still = await session.get(Consultation, uuid.UUID(second["id"]))
        assert still is not None and still.state == "notice"
    async with session_scope() as session:
        assert await consultations.finalise_due(session, now=later) >= 1
    await settle()
    status = await public_status(w, filed)
    assert status["status"] in ("approved", "in_progress"), status
    assert [(n["state"], n["notice"]["outcome"]) for n in status["notices"]] == [
        ("objected", "objected"),
        ("approved", "no_objection"),
    ]
    assert not [n for n in await notices(w, period="current") if n["ticket_no"] == filed["ticket_no"]]
    disclosed = await w.gw.get(f"/api/v1/public/disclosure/{filed['ticket_no']}")
    assert disclosed.status_code == 200, disclosed.text
    assert [n["state"] for n in disclosed.json()["notices"]] == ["objected", "approved"]
    late = {**resident, "Idempotency-Key": f"obj-{uuid.uuid4().hex[:12]}"}
    problem(
        await w.gw.post(f"/api/v1/miniprogram/notices/{second['id']}/objections", json=reason, headers=late),
        409,
        "consultation_state",
    )


async def test_a_meeting_without_quorum_is_not_claimable_and_a_rejected_plan_stays_disclosed(
    world: World,
) -> None:
    w = world
    filed, _ = await street_lights(w)
    short = await meeting(w, filed["appeal_id"], present_count=10, track="direct")
    assert short["state"] == "no_quorum"

    # 莞家直达: staff cannot list it, donors cannot claim it, nor see it.
    listing = await w.gw.put(
        f"/api/v1/donors/listings/{filed['appeal_id']}",
        json={"summary": "北栅社区东方路路灯维修", "target_fen": 3_600_000},
        headers=bearer(TOWN),
    )
    assert "法定人数" in problem(listing, 409, "not_claimable")["detail"]
    joined = await w.gw.post(
        "/api/v1/donors",
        json={"kind": "individual", "name": f"爱心人士{uuid.uuid4().hex[:4]}", "pool": "city"},
    )
    assert joined.status_code == 201, joined.text
    donor_key = {"X-Donor-Key": joined.json()["key"]}
    verified = await w.gw.post(
        f"/api/v1/donors/{joined.json()['donor']['id']}/state",
        json={"state": "verified"},
        headers=bearer(CITY),
    )
    assert verified.status_code == 200, verified.text
    pledge = await w.gw.post(
        "/api/v1/donors/claims",
        json={"appeal_id": filed["appeal_id"], "kind": "money", "amount_fen": 100_000},
        headers={**donor_key, "Idempotency-Key": f"pledge-{uuid.uuid4().hex[:12]}"},
    )
    assert "法定人数" in problem(pledge, 409, "not_claimable")["detail"]
    browse = await w.gw.get("/api/v1/donors/listings", headers=donor_key)
    assert browse.status_code == 200 and filed["appeal_id"] not in str(browse.json())

    # The next meeting rejects the plan: the appeal ends, and stays disclosed with its reason.
    tie = {"yes": 10, "no": 10, "abstain": 0}
    rejected = await meeting(
        w,
        filed["appeal_id"],
        held_at="2026-12-06T19:30:00+08:00",
        votes={p: tie if p == "budget" else {"yes": 16, "no": 4} for p in POINTS},
    )
    assert rejected["state"] == "rejected"
    await settle()
    assert (await public_status(w, filed))["status"] == "rejected"
    disclosed = await w.gw.get(f"/api/v1/public/disclosure/{filed['ticket_no']}")
    assert disclosed.status_code == 200, disclosed.text
    item = disclosed.json()
    assert item["status"] == "rejected" and "预算" in item["rejection_reason"]
    assert [n["state"] for n in item["notices"]] == ["no_quorum", "rejected"]
    budget = next(v for v in item["notices"][1]["votes"] if v["point"] == "budget")
    assert (budget["yes"], budget["no"], budget["passed"]) == (10, 10, False)
    listed = await w.gw.get("/api/v1/public/appeals", params={"status": "rejected", "page_size": 100})
    assert listed.status_code == 200 and filed["ticket_no"] in {
        a["ticket_no"] for a in listed.json()["items"]
    }


async def test_residents_withdraw_before_work_starts_and_not_after(world: World) -> None:
    w = world
    _, mine = await w.system.login_resident()
    _, someone_else = await w.system.login_resident()
    first = await file(
        w, f"北栅社区东方路{uuid.uuid4().hex[:4]}号门口的垃圾没人清理，味道很大", mine, town_code=HUMEN
    )
    path = f"/api/v1/miniprogram/appeals/{first['appeal_id']}/withdrawal"
    problem(await w.gw.post(path, json={"reason": "已自行解决"}, headers=someone_else), 404, "not_found")
    done = await w.gw.post(path, json={"reason": "已自行解决"}, headers=mine)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "withdrawn"
    again = await w.gw.post(path, json={}, headers=mine)
    assert again.status_code == 200 and again.json()["status"] == "withdrawn"  # the same answer
    await settle()
    assert (await public_status(w, first))["timeline"][-1]["status"] == "withdrawn"
    # With nobody holding it any more, it cannot be escalated either.
    problem(
        await w.gw.post(
            f"/api/v1/routing/triage/{first['appeal_id']}/escalation",
            json={"note": "上报市级"},
            headers=bearer(TOWN),
        ),
        409,
        "not_escalable",
    )

    # Once the holder signed it off and work started, the resident can no longer withdraw it.
    second = await file(
        w, f"孩子上学没有书包和文具，家里困难（{uuid.uuid4().hex[:4]}）", mine, town_code=HUMEN
    )
    hops = await w.gw.get(f"/api/v1/routing/assignments/{second['appeal_id']}", headers=bearer(CITY))
    holder = hops.json()[-1]
    who = {"town": TOWN, "village": VILLAGE}[holder["unit_type"]]
    signed = await w.gw.post(
        f"/api/v1/routing/assignments/{second['appeal_id']}/sign-off", headers=bearer(who)
    )
    assert signed.status_code == 200, signed.text
    await settle()
    assert (await public_status(w, second))["status"] == "in_progress"
    late = await w.gw.post(
        f"/api/v1/miniprogram/appeals/{second['appeal_id']}/withdrawal",
        json={"reason": "不要了"},
        headers=mine,
    )
    assert "已开始办理" in problem(late, 409, "work_started")["detail"]

    # A caller without WeChat withdraws with the ticket number and the query code (查询码).
    third = await file(w, f"北栅社区{uuid.uuid4().hex[:4]}巷排水沟堵了，下雨就积水", mine, town_code=HUMEN)
    wrong = {"ticket_no": third["ticket_no"], "query_code": "000000", "reason": "误报"}
    problem(await w.gw.post("/api/v1/public/withdrawals", json=wrong), 404, "not_found")
    right = await w.gw.post("/api/v1/public/withdrawals", json={**wrong, "query_code": third["query_code"]})
    assert right.status_code == 200 and right.json()["status"] == "withdrawn", right.text
    problem(
        await w.gw.post(
            "/api/v1/public/withdrawals",
            json={"ticket_no": second["ticket_no"], "query_code": second["query_code"]},
        ),
        409,
        "work_started",
    )


async def test_a_policy_benefit_topped_up_by_donors_and_escalation_from_the_holder(world: World) -> None:
    w = world
    _, resident = await w.system.login_resident()
    filed = await file(
        w,
        f"我老公去年去世，我一个人带两个孩子，没有收入，想申请低保（{uuid.uuid4().hex[:4]}）",
        resident,
        town_code=HUMEN,
    )
    decide = f"/api/v1/routing/triage/{filed['appeal_id']}/decision"
    wrong_track = await w.gw.post(
        decide, json={"track": "express", "secondary_track": "direct", "reason": "补充"}, headers=bearer(TOWN)
    )
    problem(wrong_track, 422, "invalid_input")
    decided = await w.gw.post(
        decide,
        json={
            "track": "policy",
            "department": "civil_affairs",
            "secondary_track": "direct",
            "unit_type": "department",
            "unit_code": "civil_affairs",
            "reason": "低保由民政办理，临时生活困难由爱心资源库补足",
        },
        headers=bearer(TOWN),
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["triage"]["track"], decided.json()["triage"]["secondary_track"]) == (
        "policy",
        "direct",
    )
    await settle()
    status = await public_status(w, filed)
    assert (status["track"], status["secondary_track"]) == ("policy", "direct")
    seen = await w.gw.get(f"/api/v1/staff/appeals/{filed['appeal_id']}", headers=bearer(TOWN))
    assert seen.status_code == 200 and seen.json()["secondary_track"] == "direct", seen.text
    # The top-up is claimable: staff publish it to the pool.
    listed = await w.gw.put(
        f"/api/v1/donors/listings/{filed['appeal_id']}",
        json={"summary": "虎门镇一户单亲家庭临时生活困难", "target_fen": 200_000},
        headers=bearer(TOWN),
    )
    assert listed.status_code == 200 and listed.json()["state"] == "open", listed.text

    # The department holding it passes it to the city; the city decides, bindingly.
    escalate = f"/api/v1/routing/triage/{filed['appeal_id']}/escalation"
    problem(
        await w.gw.post(escalate, json={"note": "不属本部门职责"}, headers=bearer(OTHER_VILLAGE)),
        404,
        "not_found",
    )
    dept = Principal(
        staff_id="s-i16-dept", username="dept.i16", role="department_staff", org_type="department",
        org_code="civil_affairs",
    )  # fmt: skip
    up = await w.gw.post(escalate, json={"note": "申请人户籍不在本市，需市级协调"}, headers=bearer(dept))
    assert up.status_code == 200, up.text
    assert (up.json()["level"], up.json()["reason"]) == ("city", "escalated")
    problem(await w.gw.post(escalate, json={"note": "再报"}, headers=bearer(dept)), 409, "not_in_queue")
    queue = await w.gw.get(
        "/api/v1/routing/queue", params={"town_code": HUMEN, "limit": 500}, headers=bearer(CITY)
    )
    assert filed["appeal_id"] in {i["appeal_id"] for i in queue.json()}
    city = await w.gw.post(
        decide,
        json={"unit_type": "town", "unit_code": HUMEN, "reason": "由镇街统筹办理"},
        headers=bearer(CITY),
    )
    assert city.status_code == 200, city.text
    assert (city.json()["assignment"]["unit_code"], city.json()["assignment"]["binding"]) == (HUMEN, True)


async def test_open311_lists_public_requests_of_every_channel(world: World) -> None:
    w = world
    filed, _ = await street_lights(w)
    category = (await public_status(w, filed))["category"]
    r = await w.gw.get("/open311/v2/requests.json", params={"service_code": category})
    assert r.status_code == 200, r.text
    mine = [x for x in r.json() if x["service_request_id"] == filed["ticket_no"]]
    assert len(mine) == 1, [x["service_request_id"] for x in r.json()][:20]
    assert mine[0]["status"] == "open" and mine[0]["service_code"] == category
    assert "东方路" in mine[0]["description"] and "13826641234" not in str(mine[0])  # public-safe words
    other = await w.gw.get("/open311/v2/requests.json", params={"service_code": "counselling"})
    assert filed["ticket_no"] not in other.text
    one = await w.gw.get(f"/open311/v2/requests/{filed['ticket_no']}.xml")
    assert one.status_code == 200 and filed["ticket_no"] in one.text
    missing = await w.gw.get("/open311/v2/requests/MS2026010100000001.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    async with session_scope() as session:
        row = await session.get(TriageResult, uuid.UUID(filed["appeal_id"]))
        assert row is not None and row.village_code in (BEIZHA, HUMENZHAI)
