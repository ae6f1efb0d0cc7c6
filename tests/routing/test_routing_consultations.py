"""Community consultation of micro-projects through routing's API: no quorum, rejection (told to
intake), passing, the public notice, an objection sending it back, approval and plan.approved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from routing.models import ClaimListing, Consultation
from routing.service import consultations
from services.common.db import session_scope
from tests.fixtures import auth, received, staff
from tests.routing.support import (
    BEIZHA,
    HUMEN,
    HUMEN_TOWN,
    HUMENZHAI,
    STREET_LIGHTS,
    events_of,
    feed,
    hops,
)

VILLAGE = staff("village_staff", BEIZHA)
OTHER_VILLAGE = staff("village_staff", HUMENZHAI)


def minutes(appeal_id: uuid.UUID, **override: Any) -> dict[str, Any]:
    yes = {"yes": 16, "no": 3, "abstain": 1}
    body: dict[str, Any] = {
        "appeal_id": str(appeal_id),
        "form": "residents_council",
        "held_at": datetime.now(UTC).isoformat(),
        "eligible_count": 25,
        "present_count": 20,
        "attendees": [{"name": "陈伯", "role": "居民代表"}, {"name": "李姨", "role": "居民代表"}],
        "necessity": "东方路一带路灯损坏多盏，夜间出行不安全",
        "feasibility": "线路可利用原有杆件，施工一周",
        "budget_fen": 3_600_000,
        "beneficiaries": {"count": 1200, "group": "东方路一带居民"},
        "implementer": "北栅社区居委会（委托供电维修单位）",
        "votes": {p: yes for p in ("necessity", "feasibility", "budget", "beneficiaries", "implementer")},
        "track": "express",
        "holder_type": "village",
        "holder_code": BEIZHA,
    }
    body.update(override)
    return body


async def _project() -> uuid.UUID:
    appeal_id = await feed(received(STREET_LIGHTS, address="虎门镇北栅社区东方路12号"))
    (hop,) = await hops(appeal_id)
    assert (hop.unit_type, hop.unit_code, hop.purpose) == ("village", BEIZHA, "consult")
    return appeal_id


async def _end_notice(consultation_id: str) -> None:
    async with session_scope() as session:
        await session.execute(
            update(Consultation)
            .where(Consultation.id == uuid.UUID(consultation_id))
            .values(notice_ends_at=datetime.now(UTC) - timedelta(minutes=1))
        )


async def test_no_quorum_decides_nothing_and_a_failed_point_rejects(http: httpx.AsyncClient) -> None:
    appeal_id = await _project()
    outsider = await http.post(
        "/internal/consultations", json=minutes(appeal_id), headers=auth(OTHER_VILLAGE)
    )
    assert outsider.status_code == 404  # a neighbour's appeal does not exist for it (issue 15)
    short = await http.post(
        "/internal/consultations", json=minutes(appeal_id, present_count=16), headers=auth(VILLAGE)
    )
    assert short.status_code == 201, short.text
    # A residents' council is a representatives' body: 16 of 25 is less than two-thirds.
    assert (short.json()["state"], short.json()["quorum_met"], short.json()["body"]) == (
        "no_quorum",
        False,
        "representatives",
    )
    assert "法定人数" in short.json()["reason"]
    types = [e["type"] for e in await events_of(appeal_id)]
    # Holding the meeting is taking it on; the meeting's outcome is published (公示) whatever it was.
    assert types == ["appeal.triaged", "appeal.assigned", "appeal.signed_off", "consultation.changed"]
    published = (await events_of(appeal_id))[-1]["data"]
    assert (published["state"], published["quorum_met"], published["present_count"]) == (
        "no_quorum",
        False,
        16,
    )
    assert "陈伯" not in str(published) and "attendees" not in published  # no attendee is named

    tie = {"yes": 10, "no": 10, "abstain": 0}
    votes = minutes(appeal_id)["votes"] | {"budget": tie}
    rejected = await http.post(
        "/internal/consultations", json=minutes(appeal_id, votes=votes), headers=auth(VILLAGE)
    )
    assert rejected.status_code == 201, rejected.text
    assert (rejected.json()["state"], rejected.json()["passed"]) == ("rejected", False)
    decided = [e for e in await events_of(appeal_id) if e["type"] != "consultation.changed"][-1]
    assert decided["type"] == "consultation.decided"
    assert (decided["data"]["outcome"], decided["data"]["unit_code"]) == ("rejected", BEIZHA)
    assert "预算" in decided["data"]["reason"]
    again = await http.post("/internal/consultations", json=minutes(appeal_id), headers=auth(VILLAGE))
    assert again.status_code == 409 and again.json()["code"] == "consultation_state"


async def test_a_passed_plan_is_noticed_an_objection_sends_it_back_then_it_is_approved(
    http: httpx.AsyncClient,
) -> None:
    appeal_id = await _project()
    bad_votes = minutes(appeal_id)["votes"] | {"necessity": {"yes": 15, "no": 5, "abstain": 1}}
    nonsense = await http.post(
        "/internal/consultations", json=minutes(appeal_id, votes=bad_votes), headers=auth(VILLAGE)
    )
    assert nonsense.status_code == 422  # 21 votes from 20 people

    first = await http.post("/internal/consultations", json=minutes(appeal_id), headers=auth(VILLAGE))
    assert first.status_code == 201, first.text
    c1 = first.json()
    assert (c1["state"], c1["passed"], c1["notice_days"]) == ("notice", True, 5)
    assert c1["notice_ends_at"] is not None
    early = await http.post(f"/internal/consultations/{c1['id']}/approval", headers=auth(VILLAGE))
    assert early.status_code == 409 and early.json()["code"] == "consultation_state"
    second_open = await http.post("/internal/consultations", json=minutes(appeal_id), headers=auth(VILLAGE))
    assert second_open.status_code == 409  # one plan on notice at a time

    objected = await http.post(
        f"/internal/consultations/{c1['id']}/objections",
        json={"summary": "部分居民认为应优先维修巷内路灯"},
        headers=auth(HUMEN_TOWN),
    )
    assert objected.status_code == 200, objected.text
    assert objected.json()["state"] == "objected" and "异议" in objected.json()["reason"]
    (told,) = [e for e in await events_of(appeal_id) if e["type"] == "consultation.objected"]
    assert (told["data"]["by"], told["data"]["unit_code"], told["data"]["consultation_id"]) == (
        "staff",
        BEIZHA,
        c1["id"],
    )
    assert "巷内" not in str(told)  # the objection's words stay in routing
    snapshot = [e for e in await events_of(appeal_id) if e["type"] == "consultation.changed"][-1]["data"]
    assert (snapshot["state"], snapshot["objections"], snapshot["notice_days"]) == ("objected", 1, 5)
    late = await http.post(
        f"/internal/consultations/{c1['id']}/objections", json={"summary": "再提"}, headers=auth(VILLAGE)
    )
    assert late.status_code == 409

    second = await http.post(
        "/internal/consultations", json=minutes(appeal_id, notice_days=7), headers=auth(VILLAGE)
    )
    assert second.status_code == 201, second.text
    c2 = second.json()
    assert (c2["state"], c2["notice_days"]) == ("notice", 7)
    await _end_notice(c2["id"])
    approved = await http.post(f"/internal/consultations/{c2['id']}/approval", headers=auth(VILLAGE))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"

    events = [e for e in await events_of(appeal_id) if e["type"] != "consultation.changed"]
    assert [e["type"] for e in events][-4:] == [
        "consultation.decided",
        "plan.approved",
        "appeal.assigned",
        "appeal.signed_off",  # the village consulted and carries it out: no second sign-off
    ]
    plan = events[-3]["data"]
    assert (plan["amount_fen"], plan["track"], plan["unit_type"], plan["unit_code"], plan["kind"]) == (
        3_600_000,
        "express",
        "village",
        BEIZHA,
        "micro_project",
    )
    assert plan["town_code"] == HUMEN and plan["consultation_id"] == c2["id"]
    consult_hop, handle_hop = await hops(appeal_id)
    assert (consult_hop.purpose, consult_hop.state) == ("consult", "done")
    assert (handle_hop.purpose, handle_hop.state, handle_hop.unit_code) == ("handle", "signed_off", BEIZHA)
    listed = await http.get(
        "/internal/consultations", params={"appeal_id": str(appeal_id)}, headers=auth(VILLAGE)
    )
    assert [c["state"] for c in listed.json()] == ["objected", "approved"]


async def test_the_worker_approves_plans_whose_notice_ended_and_a_direct_plan_goes_to_the_pool(
    http: httpx.AsyncClient,
) -> None:
    appeal_id = await _project()
    made = await http.post(
        "/internal/consultations",
        json=minutes(appeal_id, track="direct", holder_type="town", holder_code=HUMEN, budget_fen=12_000_000),
        headers=auth(VILLAGE),
    )
    assert made.status_code == 201, made.text
    await _end_notice(made.json()["id"])
    async with session_scope() as session:
        assert await consultations.finalise_due(session) >= 1
    events = [e for e in await events_of(appeal_id) if e["type"] != "consultation.changed"]
    assert [e["type"] for e in events][-3:] == ["consultation.decided", "plan.approved", "appeal.assigned"]
    assigned = events[-1]["data"]
    assert (assigned["unit_type"], assigned["unit_code"], assigned["purpose"], assigned["track"]) == (
        "town",
        HUMEN,
        "handle",
        "direct",
    )
    async with session_scope() as session:
        listing = await session.get(ClaimListing, appeal_id)
    assert listing is not None
    assert (listing.state, listing.target_fen, listing.exclusive) == ("open", 12_000_000, False)
