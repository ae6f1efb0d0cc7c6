"""`start` needs the sign-off (签收) of a hop routing made (issue 16.7): routing's events through
intake's real worker, staff commands through intake's API; the public timeline follows what
happened (交办, then 签收 and the work, never the work first)."""

from __future__ import annotations

import httpx

from tests.fixtures import auth, staff
from tests.intake.projection_support import VILLAGE, assigned, feed, new_appeal, public, signed_off, triaged
from tests.intake.support import post, row, timeline

VILLAGE_STAFF = staff("village_staff", VILLAGE)


async def test_a_unit_cannot_start_before_it_signed_off(http: httpx.AsyncClient) -> None:
    appeal_id, ticket_no, query_code = await new_appeal("北栅社区张阿婆独居，摔伤后无人照顾，希望帮忙")
    await feed(triaged(appeal_id, kind="micro_wish", category="elderly_care"))
    await feed(assigned(appeal_id, "handle", kind="micro_wish"))
    assert (await row(appeal_id)).status == "approved"

    base = f"/internal/appeals/{appeal_id}"
    refused = await post(http, f"{base}/start", VILLAGE_STAFF, {"reason": "开始上门"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "not_signed_off" and "签收" in refused.json()["detail"]
    # The generic move is the same command: refused the same way, nothing written.
    moved = await http.post(f"{base}/transitions", json={"to": "in_progress"}, headers=auth(VILLAGE_STAFF))
    assert moved.status_code == 409 and moved.json()["code"] == "not_signed_off"
    assert (await row(appeal_id)).status == "approved"

    await feed(signed_off(appeal_id))  # 签收 starts the work
    assert (await row(appeal_id)).status == "in_progress"
    steps = [(t.to_status, t.actor.split(":")[1]) for t in await timeline(appeal_id)]
    assert steps == [
        ("received", steps[0][1]),
        ("triaged", "routing"),
        ("approved", "routing"),
        ("in_progress", "routing"),
    ]
    shown = [(e.status, e.description) for e in (await public(ticket_no, query_code)).timeline]
    assert [s for s, _ in shown][-2:] == ["approved", "in_progress"]
    assert "等待签收" in shown[-2][1]

    # Round 2 after a dissatisfied resident: the unit signed off already, `start` restarts it.
    assert (await post(http, f"{base}/complete", VILLAGE_STAFF, {"reason": "已安排护工"})).status_code == 200
    reopen = await post(http, f"{base}/reopen", staff("town_staff", "441900121000"), {"reason": "群众不满意"})
    assert reopen.status_code == 200, reopen.text
    again = await post(http, f"{base}/start", VILLAGE_STAFF, {"reason": "重新办理"})
    assert again.status_code == 200 and again.json()["round"] == 2


async def test_staff_who_approved_it_themselves_start_it(http: httpx.AsyncClient) -> None:
    appeal_id, _, _ = await new_appeal("北栅社区东方路的井盖松动，车过就响，希望修好")
    base = f"/internal/appeals/{appeal_id}"
    town = staff("town_staff", "441900121000")
    for to in ("triaged", "approved"):
        r = await http.post(f"{base}/transitions", json={"to": to, "reason": "人工处理"}, headers=auth(town))
        assert r.status_code == 200, r.text
    started = await post(http, f"{base}/start", town, {"reason": "开始维修"})
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
