"""Scope with real appeals (DESIGN §7): a village sees its own, a town its villages, a department
what was assigned to it, a station its own, the city everything; and every reveal is audited.

The appeals are filed through the gateway's staff channels, triaged by routing's real worker, handed
to a department by the town's decision and to a station by the town's dispatch (routing's APIs),
and projected back into intake by intake's real worker. Outside one's scope an appeal does not
exist (404) on every route that names it: detail, timeline, clocks, triage, hops, deadline history,
consultations, service records, commands and reveals.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.common.auth import Principal
from services.common.db import session_scope
from tests.integration.security_support import (
    AUDITOR,
    BEIZHA,
    CHANGAN,
    CITY,
    DEPARTMENT,
    HUMEN,
    HUMENZHAI,
    OTHER_DEPARTMENT,
    OTHER_STATION_STAFF,
    OTHER_TOWN,
    OTHER_VILLAGE,
    PROBLEM,
    STATION,
    STATION_CODE,
    TOWN,
    VILLAGE,
    System,
    bearer,
    holder_of,
    register_station,
    running_system,
    settle,
)

FAMILY_PHONE, FAMILY_ID = "13926647315", "44190019520807301X"


@dataclass
class World:
    system: System
    village: str  # 北栅社区's own appeal
    other_village: str  # 虎门寨社区's, same town
    other_town: str  # 长安镇's
    department: str  # in 北栅, handed to 民政 (civil_affairs)
    station: str  # in 北栅, dispatched to the station


async def file(gw: httpx.AsyncClient, who: Principal, channel: str, body: dict[str, Any]) -> str:
    headers = {**bearer(who), "Idempotency-Key": f"scope-{uuid.uuid4().hex}"}
    r = await gw.post(f"/api/v1/channels/{channel}/appeals", json=body, headers=headers)
    assert r.status_code == 201, r.text
    appeal_id: str = r.json()["appeal_id"]
    return appeal_id


def visit(words: str) -> dict[str, Any]:
    return {
        "description": words,
        "family": {"name": "陈国强", "phone": FAMILY_PHONE, "id_number": FAMILY_ID, "hukou_local": True},
        "household_size": 3,
    }


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    async with running_system("10.8.0.2") as system:
        gw = system.gateway
        tag = uuid.uuid4().hex[:6]
        own = await file(
            gw, VILLAGE, "village-visit", visit(f"北栅社区龙眼路{tag}号屋顶漏水，独居老人家里积水。")
        )
        other = await file(
            gw, OTHER_VILLAGE, "village-visit", visit(f"虎门寨社区寨前路{tag}号门口下水道堵塞，污水外溢。")
        )
        far = await file(
            gw,
            OTHER_TOWN,
            "web-portal",
            {
                "description": f"长安镇霄边社区公园{tag}号路灯不亮，晚上很黑。",
                "submitter": {"name": "黄丽", "phone": "13800138000"},
                "location": {"town": CHANGAN},
            },
        )
        dibao = await file(
            gw,
            VILLAGE,
            "village-visit",
            visit(f"我老公去年去世，一个人带两个孩子没有收入，想申请低保（{tag}）。"),
        )
        walk = await file(
            gw, VILLAGE, "village-visit", visit(f"北栅社区{tag}号八十岁独居老人行动不便，希望有人上门陪诊。")
        )
        await settle()
        decided = await gw.post(
            f"/api/v1/routing/triage/{dibao}/decision",
            json={"unit_type": "department", "unit_code": "civil_affairs", "reason": "低保由民政部门办理"},
            headers=bearer(TOWN),
        )
        assert decided.status_code == 200, decided.text
        station = {
            "name": "北栅莞家驿站",
            "town_code": HUMEN,
            "village_code": BEIZHA,
            "services": ["elderly_care", "medical"],
        }
        await register_station(gw, station)
        dispatched = await gw.post(
            f"/api/v1/stations/{STATION_CODE}/assignments",
            json={"appeal_id": walk, "note": "上门陪诊"},
            headers=bearer(TOWN),
        )
        # 409: an earlier module of this run built the same world (filing is idempotent), and the
        # station already holds the appeal; the holder is checked below either way.
        assert dispatched.status_code in (200, 201, 409), dispatched.text
        await settle()
        assert await holder_of(dibao) == ("department", "civil_affairs")
        assert await holder_of(walk) == ("station", STATION_CODE)
        yield World(system, own, other, far, dibao, walk)


# Who sees which appeal; everyone else is told it does not exist.
def sees(world: World) -> dict[str, set[str]]:
    return {
        world.village: {"city", "auditor", "town", "village"},
        world.other_village: {"city", "auditor", "town", "other_village"},
        world.other_town: {"city", "auditor", "other_town"},
        world.department: {"city", "auditor", "town", "village", "department"},
        world.station: {"city", "auditor", "town", "village", "station"},
    }


PEOPLE: dict[str, Principal] = {
    "city": CITY,
    "auditor": AUDITOR,
    "town": TOWN,
    "other_town": OTHER_TOWN,
    "village": VILLAGE,
    "other_village": OTHER_VILLAGE,
    "department": DEPARTMENT,
    "other_department": OTHER_DEPARTMENT,
    "station": STATION,
    "other_station": OTHER_STATION_STAFF,
}
READS = [
    "/api/v1/staff/appeals/{id}",
    "/api/v1/staff/appeals/{id}/timeline",
    "/api/v1/staff/appeals/{id}/clocks",
    "/api/v1/deadlines/appeals/{id}/history",
    "/api/v1/routing/triage/{id}",
    "/api/v1/routing/assignments/{id}",
    "/api/v1/consultations?appeal_id={id}",
    "/api/v1/stations/service-records?appeal_id={id}",
]


def assert_hidden(r: httpx.Response, where: str) -> None:
    assert r.status_code == 404, f"{where}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith(PROBLEM), where


async def test_each_unit_reads_only_the_appeals_in_its_scope(world: World) -> None:
    gw = world.system.gateway
    for appeal_id, allowed in sees(world).items():
        for name, who in PEOPLE.items():
            for read in READS:
                r = await gw.get(read.format(id=appeal_id), headers=bearer(who))
                where = f"{name} GET {read} of {appeal_id}"
                if name in allowed:
                    assert r.status_code == 200, f"{where}: {r.status_code} {r.text[:300]}"
                else:
                    assert_hidden(r, where)


async def test_commands_and_reveals_outside_the_scope_are_as_if_the_appeal_did_not_exist(
    world: World,
) -> None:
    gw = world.system.gateway
    for appeal_id, allowed in sees(world).items():
        for name, who in PEOPLE.items():
            if name in allowed:
                continue
            for command, body in (
                ("hold", {"reason": "越权暂停测试"}),
                ("withdraw", {"reason": "越权撤回测试"}),
                ("reject", {"reason": "越权不予受理"}),
                ("reveal", {"relation": "on_behalf_of", "field": "phone", "reason": "越权查看测试"}),
                ("transitions", {"to": "in_progress", "reason": "越权"}),
            ):
                r = await gw.post(
                    f"/api/v1/staff/appeals/{appeal_id}/{command}", json=body, headers=bearer(who)
                )
                assert_hidden(r, f"{name} {command} on {appeal_id}")
            for routing_command in ("sign-off", "return"):
                r = await gw.post(
                    f"/api/v1/routing/assignments/{appeal_id}/{routing_command}",
                    json={"reason_code": "other", "policy_basis": "越权测试"},
                    headers=bearer(who),
                )
                if who.role == "auditor":
                    assert r.status_code == 403 and r.json()["code"] == "read_only", r.text
                else:
                    assert_hidden(r, f"{name} {routing_command} on {appeal_id}")


async def test_lists_keep_to_the_unit(world: World) -> None:
    gw = world.system.gateway
    # Deadline lists: a village's list never holds another village's appeal.
    for who, foreign in (
        (VILLAGE, {world.other_village, world.other_town}),
        (OTHER_VILLAGE, {world.village, world.department, world.station, world.other_town}),
        (TOWN, {world.other_town}),
        (OTHER_TOWN, {world.village, world.other_village, world.department, world.station}),
        (DEPARTMENT, {world.village, world.other_village, world.other_town, world.station}),
        (STATION, {world.village, world.other_village, world.other_town, world.department}),
    ):
        for path in ("/api/v1/deadlines/due", "/api/v1/deadlines/overdue"):
            r = await gw.get(path, params={"page_size": 200}, headers=bearer(who))
            assert r.status_code == 200, r.text
            assert not foreign & {str(i) for i in _appeal_ids(r.json())}, f"{who.username} {path}"
    # Asking for another unit's list or figures is refused outright.
    refused = [
        (VILLAGE, "/api/v1/deadlines/due", {"unit_type": "village", "unit_code": HUMENZHAI}),
        (TOWN, "/api/v1/deadlines/due", {"unit_type": "town", "unit_code": CHANGAN}),
        (DEPARTMENT, "/api/v1/deadlines/overdue", {"unit_type": "department", "unit_code": "housing"}),
        (STATION, "/api/v1/deadlines/due", {"unit_type": "station", "unit_code": "GJYZ-ELSEWHERE"}),
        (VILLAGE, "/api/v1/stats/kpis", {"level": "village", "code": HUMENZHAI}),
        (VILLAGE, "/api/v1/stats/kpis", {"level": "town", "code": HUMEN}),
        (TOWN, "/api/v1/stats/kpis", {"level": "town", "code": CHANGAN}),
        (VILLAGE, "/api/v1/ledger/reports/villages/" + HUMENZHAI, {}),
        (TOWN, "/api/v1/ledger/reports/towns/" + CHANGAN, {}),
    ]
    # A town asking for another town's demand analysis gets its own town's (intake narrows it).
    demand = await gw.get("/api/v1/stats/demand", params={"town": HUMEN}, headers=bearer(OTHER_TOWN))
    assert demand.status_code == 200 and HUMEN[:9] not in demand.text
    queue = await gw.get("/api/v1/routing/queue", params={"town_code": CHANGAN}, headers=bearer(TOWN))
    assert queue.status_code == 200 and CHANGAN not in queue.text
    for who, path, params in refused:
        r = await gw.get(path, params=params, headers=bearer(who))
        assert r.status_code == 403, f"{who.username} {path} {params}: {r.status_code} {r.text[:200]}"


def _appeal_ids(payload: Any) -> list[str]:
    items = payload.get("items", payload) if isinstance(payload, dict) else payload
    return [str(i.get("appeal_id")) for i in items if isinstance(i, dict)]


async def reveal_rows(appeal_id: str) -> int:
    async with session_scope() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM intake.reveal_audit WHERE appeal_id = :a"), {"a": uuid.UUID(appeal_id)}
        )
    return int(found or 0)


async def test_every_reveal_is_audited_and_a_refused_one_writes_nothing(world: World) -> None:
    gw = world.system.gateway
    appeal = world.village
    body = {"relation": "on_behalf_of", "field": "phone", "reason": "电话回访核实情况"}
    before = await reveal_rows(appeal)
    for refused, status in (
        (AUDITOR, 403),
        (OTHER_VILLAGE, 404),
        (OTHER_TOWN, 404),
        (DEPARTMENT, 404),
        (STATION, 404),
    ):
        r = await gw.post(f"/api/v1/staff/appeals/{appeal}/reveal", json=body, headers=bearer(refused))
        assert r.status_code == status, f"{refused.username}: {r.status_code} {r.text[:200]}"
        assert await reveal_rows(appeal) == before, f"{refused.username} left an audit row"
    for allowed in (VILLAGE, TOWN, CITY):
        r = await gw.post(f"/api/v1/staff/appeals/{appeal}/reveal", json=body, headers=bearer(allowed))
        assert r.status_code == 200, r.text
        assert FAMILY_PHONE in r.text
        before += 1
        assert await reveal_rows(appeal) == before, f"{allowed.username}: not exactly one audit row"
    # An ID number too, and the audit names who asked and why.
    r = await gw.post(
        f"/api/v1/staff/appeals/{appeal}/reveal",
        json={"relation": "on_behalf_of", "field": "id_number", "reason": "核对低保申请人身份"},
        headers=bearer(VILLAGE),
    )
    assert r.status_code == 200 and FAMILY_ID in r.text
    assert await reveal_rows(appeal) == before + 1
    audit = await gw.get("/api/v1/staff/audit/reveals", params={"appeal_id": appeal}, headers=bearer(AUDITOR))
    assert audit.status_code == 200
    entries = audit.json()
    assert len(entries) == before + 1
    assert {e["actor"] for e in entries} == {f"staff:{p.username}" for p in (VILLAGE, TOWN, CITY)}
    assert "核对低保申请人身份" in {e["reason"] for e in entries}
    # The audit itself is for city admins and auditors only.
    for who in (VILLAGE, TOWN, DEPARTMENT, STATION):
        r = await gw.get("/api/v1/staff/audit/reveals", params={"appeal_id": appeal}, headers=bearer(who))
        assert r.status_code == 403
