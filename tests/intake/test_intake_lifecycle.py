"""The whole lifecycle through intake's API: every move by the right role, refused to the wrong one;
rounds, return visits, the timeline and the named events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from intake.service.access import TARGET_ROLES
from intake.service.evaluations import close_unrated
from services.common.auth import Principal
from services.common.db import session_scope
from tests.fixtures import auth, staff
from tests.intake.support import (
    AUDITOR,
    CHANGPING,
    CITY,
    SIMA,
    create,
    draft,
    events,
    force,
    post,
    row,
    timeline,
)

TOWN = staff("town_staff", CHANGPING)
VILLAGE = staff("village_staff", SIMA)
DEPARTMENT = staff("department_staff", "civil_affairs")
STATION = staff("station_staff", "ST0001")
OTHER_VILLAGE = staff("village_staff", "441900110201")
TEXT = "司马村文化室门口的台阶塌了一块，老人进出很危险，希望尽快修好。"


async def new(http: httpx.AsyncClient, text: str = TEXT) -> dict[str, Any]:
    return await create(http, draft(SIMA, CHANGPING, f"{text}（{uuid.uuid4().hex[:6]}）"))


def code(r: httpx.Response) -> str:
    return str(r.json().get("code"))


async def test_a_micro_project_goes_through_two_rounds_to_closure(http: httpx.AsyncClient) -> None:
    body = draft(SIMA, CHANGPING, TEXT)
    accepted = await create(http, body)
    aid, openid = accepted["appeal_id"], body["reporter"]["openid"]
    await force(aid, kind="micro_project", category="facility", track="express")
    base = f"/internal/appeals/{aid}"

    # Triage by hand is the town's; the village may not, another village does not see it.
    assert code(await post(http, f"{base}/transitions", VILLAGE, {"to": "triaged"})) == "wrong_role"
    assert (await post(http, f"{base}/transitions", OTHER_VILLAGE, {"to": "triaged"})).status_code == 404
    assert (
        await post(http, f"{base}/transitions", TOWN, {"to": "triaged", "reason": "人工分拣"})
    ).status_code == 200
    assert (await post(http, f"{base}/transitions", VILLAGE, {"to": "consulting"})).status_code == 200
    assert (
        await post(http, f"{base}/transitions", VILLAGE, {"to": "approved", "reason": "议事会通过"})
    ).status_code == 200
    await force(aid, holder_type="village", holder_code=SIMA)
    r = await post(http, f"{base}/start", VILLAGE, {"reason": "已签收"})
    assert r.status_code == 200 and r.json() == {
        "status": "in_progress",
        "ticket_no": accepted["ticket_no"],
        "round": 1,
    }
    assert (await post(http, f"{base}/complete", AUDITOR, {"reason": "已修好"})).status_code == 403
    assert (await post(http, f"{base}/complete", VILLAGE, {"reason": "台阶已修复"})).json()[
        "status"
    ] == "completed"
    (completed,) = await events(aid, "appeal.completed")
    assert completed["data"]["round"] == 1 and completed["data"]["unit_code"] == SIMA
    assert completed["data"]["evaluation_due_at"] is not None

    # The reporter is not satisfied: another round; only the reporter (by openid) may rate.
    rating = {"result": "partly", "rating": "dissatisfied", "comment": "台阶还是松的", "by": "reporter"}
    wrong = await post(http, f"{base}/evaluation", None, {**rating, "openid": "o-somebody-else"})
    assert wrong.status_code == 403
    r = await post(http, f"{base}/evaluation", None, {**rating, "openid": openid})
    assert r.status_code == 200 and r.json()["status"] == "reopened" and r.json()["round"] == 2
    again = await post(http, f"{base}/evaluation", None, {**rating, "round": 1, "openid": openid})
    assert again.status_code == 409 and code(again) == "already_evaluated"
    (reopened,) = await events(aid, "appeal.reopened")
    assert reopened["data"]["round"] == 2
    (evaluated,) = await events(aid, "appeal.evaluated")
    assert (evaluated["data"]["round"], evaluated["data"]["rating"]) == (1, "dissatisfied")

    # Redone, completed again, closed with the staff's return visit.
    closing = {"result": "resolved", "rating": "satisfied"}
    early = await post(http, f"{base}/close", VILLAGE, closing)
    assert early.status_code == 409 and early.json()["state"] == "reopened"
    assert (await post(http, f"{base}/start", VILLAGE, {})).json()["status"] == "in_progress"
    assert (await post(http, f"{base}/complete", VILLAGE, {"reason": "重新加固"})).json()["round"] == 2
    assert (await post(http, f"{base}/close", STATION, closing)).status_code == 404
    r = await post(http, f"{base}/close", VILLAGE, closing)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    closed = (await events(aid, "appeal.closed"))[-1]["data"]
    assert (closed["round"], closed["result"], closed["rating"], closed["unrated"]) == (
        2,
        "resolved",
        "satisfied",
        False,
    )
    late = await post(http, f"{base}/evaluation", None, {**closing, "openid": openid})
    assert late.status_code == 409

    entries = await timeline(aid)
    assert [(t.to_status, t.round) for t in entries] == [
        ("received", 1),
        ("triaged", 1),
        ("consulting", 1),
        ("approved", 1),
        ("in_progress", 1),
        ("completed", 1),
        ("reopened", 2),
        ("in_progress", 2),
        ("completed", 2),
        ("closed", 2),
    ]
    assert entries[1].actor == f"staff:{TOWN.username}" and entries[1].reason == "人工分拣"
    appeal = await row(aid)
    assert (appeal.round, appeal.closed_unrated, appeal.first_completed_at is not None) == (2, False, True)

    # The staff timeline shows who and why; the auditor may read it.
    staff_view = await http.get(f"{base}/timeline", headers={**auth(AUDITOR)})
    assert staff_view.status_code == 200 and staff_view.json()[-1]["actor"] == f"staff:{VILLAGE.username}"


# Where each target can be reached from, and what the command needs.
SETUPS: dict[str, dict[str, Any]] = {
    "triaged": {"status": "received"},
    "consulting": {"status": "triaged"},
    "approved": {"status": "consulting"},
    "in_progress": {"status": "approved"},
    "completed": {"status": "in_progress"},
    "reopened": {"status": "completed"},
    "on_hold": {"status": "received"},
    "received": {"status": "on_hold", "held_from": "received"},
    "rejected": {"status": "received"},
    "withdrawn": {"status": "triaged"},
}
ROLES: dict[str, Principal] = {
    "city_admin": CITY,
    "town_staff": TOWN,
    "village_staff": VILLAGE,
    "department_staff": DEPARTMENT,
    "station_staff": STATION,
    "auditor": AUDITOR,
}


@pytest.mark.parametrize("target", sorted(SETUPS))
async def test_every_move_is_reachable_by_its_roles_and_refused_to_the_others(
    http: httpx.AsyncClient, target: str
) -> None:
    for role, principal in ROLES.items():
        accepted = await new(http)
        holder = {"department_staff": "department", "station_staff": "station"}.get(role)
        holding = {"holder_type": holder, "holder_code": principal.org_code} if holder else {}
        await force(accepted["appeal_id"], **SETUPS[target], **holding)
        r = await post(
            http,
            f"/internal/appeals/{accepted['appeal_id']}/transitions",
            principal,
            {"to": target, "reason": "测试理由"},
        )
        allowed = role in TARGET_ROLES[target]
        assert r.status_code == (200 if allowed else 403), (target, role, r.text)
        assert (await row(accepted["appeal_id"])).status == (target if allowed else SETUPS[target]["status"])


async def test_close_needs_the_return_visit_and_send_back_is_routings(http: httpx.AsyncClient) -> None:
    accepted = await new(http)
    await force(accepted["appeal_id"], status="completed", round=1)
    r = await post(http, f"/internal/appeals/{accepted['appeal_id']}/transitions", CITY, {"to": "closed"})
    assert r.status_code == 422 and code(r) == "use_dedicated_command"
    await force(accepted["appeal_id"], status="in_progress")
    r = await post(http, f"/internal/appeals/{accepted['appeal_id']}/transitions", CITY, {"to": "returned"})
    assert r.status_code == 422 and code(r) == "use_dedicated_command"


async def test_hold_reject_and_withdraw_need_reasons_and_the_right_people(http: httpx.AsyncClient) -> None:
    accepted = await new(http)
    base = f"/internal/appeals/{accepted['appeal_id']}"
    assert (await post(http, f"{base}/hold", VILLAGE, {})).status_code == 422
    assert (await post(http, f"{base}/hold", VILLAGE, {"reason": "等待补充照片"})).json()[
        "status"
    ] == "on_hold"
    r = await post(http, f"{base}/reject", VILLAGE, {"reason": "不属于受理范围"})
    assert r.status_code == 403 and code(r) == "wrong_role"
    assert (await post(http, f"{base}/resume", VILLAGE, {"reason": "已补充"})).json()["status"] == "received"
    assert (await post(http, f"{base}/reject", TOWN, {})).status_code == 422
    r = await post(http, f"{base}/reject", TOWN, {"reason": "属于商业纠纷，请通过司法途径解决"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert "商业纠纷" in (await timeline(accepted["appeal_id"]))[-1].public_description

    body = draft(SIMA, CHANGPING, f"{TEXT}（撤回 {uuid.uuid4().hex[:6]}）")
    mine = await create(http, body)
    path = f"/internal/appeals/{mine['appeal_id']}/withdraw-by-resident"
    assert (await post(http, path, None, {"openid": "o-not-me", "reason": "不用了"})).status_code == 404
    r = await post(http, path, None, {"openid": body["reporter"]["openid"], "reason": "已自行解决"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert (await timeline(mine["appeal_id"]))[-1].actor == "resident:gateway"


async def test_an_unanswered_return_visit_closes_unrated_and_counts_apart(http: httpx.AsyncClient) -> None:
    body = draft(SIMA, CHANGPING, f"{TEXT}（回访 {uuid.uuid4().hex[:6]}）")
    accepted = await create(http, body)
    aid = accepted["appeal_id"]
    await force(aid, status="in_progress", kind="micro_project", category="facility")
    assert (
        await post(http, f"/internal/appeals/{aid}/complete", CITY, {"reason": "完工"})
    ).status_code == 200
    await force(aid, evaluation_due_at=datetime.now(UTC) - timedelta(minutes=1))
    async with session_scope() as session:
        assert await close_unrated(session) >= 1
    appeal = await row(aid)
    assert (appeal.status, appeal.closed_unrated, appeal.evaluation_due_at) == ("closed", True, None)
    assert (await events(aid, "appeal.closed"))[-1]["data"]["unrated"] is True
    late = await post(
        http,
        f"/internal/appeals/{aid}/evaluation",
        None,
        {"result": "resolved", "rating": "satisfied", "openid": body["reporter"]["openid"]},
    )
    assert late.status_code == 409 and code(late) == "already_evaluated"
    # A second sweep finds nothing more to do for it.
    async with session_scope() as session:
        await close_unrated(session)
    assert [t.to_status for t in await timeline(aid)].count("closed") == 1
