"""Dispositions through routing's API: send-back with reason and policy basis, the cap after which
the town decides (bindingly), escalation to the city, joint meetings; every hop an event."""

from __future__ import annotations

import uuid

import httpx

from tests.fixtures import auth, received
from tests.routing.support import (
    CITY,
    CIVIL_AFFAIRS,
    DIBAO,
    HOUSING,
    HRSS,
    NANCHENG,
    NANCHENG_TOWN,
    events_of,
    feed,
    hops,
    queue_items,
)

BASIS = "《社会救助暂行办法》第九条：申请人家庭人均收入高于当地低保标准，不属于本单位受理范围"


async def _dibao() -> uuid.UUID:
    appeal_id = await feed(received(DIBAO, town_code=NANCHENG))
    (hop,) = await hops(appeal_id)
    assert (hop.unit_type, hop.unit_code) == ("department", "civil_affairs")
    return appeal_id


async def _send_back(
    http: httpx.AsyncClient, appeal_id: uuid.UUID, who: object, code: str = "not_our_remit"
) -> httpx.Response:
    return await http.post(
        f"/internal/assignments/{appeal_id}/return",
        json={"reason_code": code, "policy_basis": BASIS},
        headers=auth(who),  # type: ignore[arg-type]
    )


async def _decide(http: httpx.AsyncClient, appeal_id: uuid.UUID, who: object, unit: str) -> httpx.Response:
    return await http.post(
        f"/internal/triage/{appeal_id}/decision",
        json={"unit_type": "department", "unit_code": unit, "reason": "经镇街研判改派"},
        headers=auth(who),  # type: ignore[arg-type]
    )


async def test_send_backs_are_capped_then_the_towns_decision_binds(http: httpx.AsyncClient) -> None:
    appeal_id = await _dibao()
    # Not the holder, and never held it: as if the appeal did not exist (issue 15).
    assert (await _send_back(http, appeal_id, HRSS)).status_code == 404
    unknown = await _send_back(http, appeal_id, CIVIL_AFFAIRS, code="too_busy")
    assert unknown.status_code == 422 and "not_our_remit" in unknown.json()["reason_codes"]
    missing_basis = await http.post(
        f"/internal/assignments/{appeal_id}/return",
        json={"reason_code": "other"},
        headers=auth(CIVIL_AFFAIRS),
    )
    assert missing_basis.status_code == 422

    first = await _send_back(http, appeal_id, CIVIL_AFFAIRS)
    assert first.status_code == 200, first.text
    assert (first.json()["state"], first.json()["reason_code"], first.json()["policy_basis"]) == (
        "returned",
        "not_our_remit",
        BASIS,
    )
    (item,) = await queue_items(appeal_id)
    assert (item.level, item.town_code, item.reason) == ("town", NANCHENG, "returned")
    twice = await _send_back(http, appeal_id, CIVIL_AFFAIRS)
    assert twice.status_code == 409  # nothing held any more

    second_hop = await _decide(http, appeal_id, NANCHENG_TOWN, "hrss")
    assert second_hop.status_code == 200, second_hop.text
    assert (second_hop.json()["assignment"]["hop"], second_hop.json()["assignment"]["binding"]) == (2, False)
    signed = await http.post(f"/internal/assignments/{appeal_id}/sign-off", headers=auth(HRSS))
    assert signed.status_code == 200
    assert (await _send_back(http, appeal_id, HRSS, code="policy_not_applicable")).status_code == 200
    items = await queue_items(appeal_id)
    assert [(i.reason, i.state) for i in items] == [("returned", "resolved"), ("cap_reached", "open")]

    third = await _decide(http, appeal_id, NANCHENG_TOWN, "housing")
    assert third.status_code == 200, third.text
    assert (third.json()["assignment"]["binding"], third.json()["assignment"]["decided_by"]) == (True, "town")
    refused = await _send_back(http, appeal_id, HOUSING)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["binding"], problem["send_backs"], problem["cap"]) == (
        "send_back_refused",
        True,
        2,
        2,
    )
    assert problem["detail"]

    types = [e["type"] for e in await events_of(appeal_id)]
    assert types == [
        "appeal.triaged",
        "appeal.assigned",  # hop 1: civil affairs
        "appeal.returned",
        "appeal.triaged",
        "appeal.assigned",  # hop 2: hrss
        "appeal.signed_off",
        "appeal.returned",
        "appeal.triaged",
        "appeal.assigned",  # hop 3: housing, binding
    ]
    returned = [e["data"] for e in await events_of(appeal_id) if e["type"] == "appeal.returned"]
    assert [(r["hop"], r["unit_code"], r["reason_code"]) for r in returned] == [
        (1, "civil_affairs", "not_our_remit"),
        (2, "hrss", "policy_not_applicable"),
    ]
    assert all(r["policy_basis"] == BASIS for r in returned)


async def test_the_town_passes_a_decision_to_the_city(http: httpx.AsyncClient) -> None:
    appeal_id = await _dibao()
    await _send_back(http, appeal_id, CIVIL_AFFAIRS)
    up = await http.post(
        f"/internal/triage/{appeal_id}/escalation",
        json={"note": "涉及多个市直部门"},
        headers=auth(NANCHENG_TOWN),
    )
    assert up.status_code == 200, up.text
    assert (up.json()["level"], up.json()["reason"]) == ("city", "escalated")
    assert (await _decide(http, appeal_id, NANCHENG_TOWN, "hrss")).status_code == 403
    decided = await _decide(http, appeal_id, CITY, "hrss")
    assert decided.status_code == 200, decided.text
    assert (decided.json()["assignment"]["binding"], decided.json()["assignment"]["decided_by"]) == (
        True,
        "city",
    )
    assert (await _send_back(http, appeal_id, HRSS)).json()["code"] == "send_back_refused"


async def test_a_joint_meeting_decides_a_case_no_single_department_owns(http: httpx.AsyncClient) -> None:
    appeal_id = await _dibao()
    not_queued = await http.post(
        f"/internal/triage/{appeal_id}/agenda",
        json={"level": "town", "reason": "多部门职责交叉"},
        headers=auth(NANCHENG_TOWN),
    )
    assert not_queued.status_code == 409 and not_queued.json()["code"] == "not_in_queue"
    await _send_back(http, appeal_id, CIVIL_AFFAIRS)
    put = await http.post(
        f"/internal/triage/{appeal_id}/agenda",
        json={"level": "town", "reason": "低保、就业、住房交叉，单一部门无法办结"},
        headers=auth(NANCHENG_TOWN),
    )
    assert put.status_code == 201, put.text
    (item,) = await queue_items(appeal_id)
    assert item.state == "agenda"
    agenda = await http.get(
        "/internal/joint-meetings/agenda",
        params={"level": "town", "org_code": NANCHENG},
        headers=auth(NANCHENG_TOWN),
    )
    assert [a["appeal_id"] for a in agenda.json()] == [str(appeal_id)]

    meeting = await http.post(
        "/internal/joint-meetings",
        json={
            "level": "town",
            "org_code": NANCHENG,
            "title": "南城街道民生诉求联席会议",
            "held_on": "2026-11-27",
        },
        headers=auth(NANCHENG_TOWN),
    )
    assert meeting.status_code == 201, meeting.text
    url = f"/internal/joint-meetings/{meeting.json()['id']}/decisions"
    decision = {
        "appeal_id": str(appeal_id),
        "lead": {"unit_type": "department", "unit_code": "civil_affairs"},
        "assisting": [
            {"unit_type": "department", "unit_code": "hrss"},
            {"unit_type": "department", "unit_code": "housing"},
        ],
        "decision": "民政牵头落实临时救助，人社协助就业，住建协助住房",
    }
    stranger = await http.post(
        url, json={**decision, "appeal_id": str(uuid.uuid4())}, headers=auth(NANCHENG_TOWN)
    )
    assert stranger.status_code == 404
    decided = await http.post(url, json=decision, headers=auth(NANCHENG_TOWN))
    assert decided.status_code == 200, decided.text
    assert (decided.json()["state"], decided.json()["lead_unit_code"]) == ("decided", "civil_affairs")
    hop = (await hops(appeal_id))[-1]
    assert (hop.hop, hop.unit_code, hop.binding, hop.decided_by) == (
        2,
        "civil_affairs",
        True,
        "joint_meeting",
    )
    assert [u["unit_code"] for u in hop.assisting_units] == ["hrss", "housing"]
    assert [e["type"] for e in await events_of(appeal_id)][-2:] == ["appeal.triaged", "appeal.assigned"]
    assert (await _send_back(http, appeal_id, CIVIL_AFFAIRS)).json()["code"] == "send_back_refused"
    empty = await http.get(
        "/internal/joint-meetings/agenda",
        params={"level": "town", "org_code": NANCHENG},
        headers=auth(NANCHENG_TOWN),
    )
    assert str(appeal_id) not in {a["appeal_id"] for a in empty.json()}


async def test_a_policy_hop_carries_the_catalogues_time_limit(http: httpx.AsyncClient) -> None:
    # 最低生活保障: 30 working days in the shipped catalogue; deadlines times the handling by it.
    appeal_id = await _dibao()
    (assigned,) = [e for e in await events_of(appeal_id) if e["type"] == "appeal.assigned"]
    assert assigned["data"]["policy_code"] == "civil_affairs.dibao"
    assert assigned["data"]["policy_time_limit_working_days"] == 30
