"""Acting on a merged appeal (issue 15.8): once an appeal is merged into another, its routing hop
and its clocks close (intake's events, routing's and deadlines' idempotent handlers), and every
command on it, in any service, is a `409` problem with a Chinese detail: no consultation, no plan
approved, no money reserved or paid for a duplicate.

The whole system in-process: gateway in front of the real services and their real workers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from deadlines.models import ACTIVE_STATES, Clock
from intake.models import Appeal, AppealNotice
from routing.models import Assignment, Consultation
from services.common.auth import Principal
from services.common.db import session_scope
from tests.integration.security_support import (
    BEIZHA,
    CITY,
    HUMEN,
    PROBLEM,
    TOWN,
    VILLAGE,
    System,
    appeal_commands,
    bearer,
    consultation_commands,
    minutes,
    register_station,
    running_system,
    settle,
)

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    async with running_system("10.8.0.15") as running:
        yield running


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"merged-{uuid.uuid4().hex}"}


async def _file(gw: httpx.AsyncClient, words: str) -> str:
    body = {
        "description": words,
        "submitter": {"name": "黄丽", "phone": "13800138000"},
        "location": {"town": HUMEN, "village_code": BEIZHA},
    }
    r = await gw.post("/api/v1/channels/web-portal/appeals", json=body, headers={**bearer(TOWN), **_key()})
    assert r.status_code == 201, r.text
    appeal_id: str = r.json()["appeal_id"]
    return appeal_id


async def _hops(appeal_id: str) -> list[Assignment]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(Assignment).where(Assignment.appeal_id == uuid.UUID(appeal_id)).order_by(Assignment.hop)
        )
        return list(rows.all())


async def _active_clocks(appeal_id: str) -> list[Clock]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(Clock).where(Clock.appeal_id == uuid.UUID(appeal_id), Clock.state.in_(ACTIVE_STATES))
        )
        return list(rows.all())


async def _consultation_state(consultation_id: str) -> str:
    async with session_scope() as session:
        row = await session.get(Consultation, uuid.UUID(consultation_id))
        assert row is not None
        return row.state


async def _ticket(appeal_id: str) -> str:
    async with session_scope() as session:
        ticket = await session.scalar(select(Appeal.ticket_no).where(Appeal.id == uuid.UUID(appeal_id)))
        assert ticket is not None
        return ticket


async def _projected_notice_state(consultation_id: str) -> str | None:
    async with session_scope() as session:
        row = await session.get(AppealNotice, uuid.UUID(consultation_id), populate_existing=True)
        return row.state if row is not None else None


async def test_a_merged_appeal_closes_its_hop_and_clocks_and_refuses_every_command(system: System) -> None:
    gw = system.gateway
    tag = uuid.uuid4().hex[:6]
    master = await _file(gw, f"北栅社区东方路{tag}号一带的路灯坏了好几盏，晚上很黑，希望尽快修好。")
    duplicate = await _file(gw, f"北栅社区东方路{tag}号附近路灯不亮，晚上走路看不见，请维修。")
    await settle()
    (hop,) = await _hops(duplicate)
    holder: Principal = VILLAGE if (hop.unit_type, hop.unit_code) == ("village", BEIZHA) else CITY
    consulted = await gw.post(
        "/api/v1/consultations", json=minutes(duplicate), headers={**bearer(holder), **_key()}
    )
    assert consulted.status_code == 201, consulted.text
    consultation = consulted.json()["id"]
    assert await _active_clocks(duplicate), "the duplicate is timed before the merge"
    await settle()
    ticket = await _ticket(duplicate)
    listed = await gw.get("/api/v1/public/notices", params={"ticket_no": ticket, "period": "current"})
    assert [n["state"] for n in listed.json()["items"]] == ["notice"], listed.text

    merged = await gw.post(
        f"/api/v1/staff/appeals/{duplicate}/duplicates/{master}/confirm",
        json={"reason": "同一路段路灯"},
        headers=bearer(TOWN),
    )
    assert merged.status_code == 200, merged.text
    await settle()

    # The merge closed routing's hop, the plan on notice and every clock of the duplicate.
    assert [h.state for h in await _hops(duplicate) if h.state in ("assigned", "signed_off")] == []
    assert await _consultation_state(consultation) == "cancelled"
    assert await _active_clocks(duplicate) == []
    # The public notice says it no longer runs, and the appeal merged away lists none.
    assert await _projected_notice_state(consultation) == "cancelled"
    for period in ("current", "past"):
        listed = await gw.get("/api/v1/public/notices", params={"ticket_no": ticket, "period": period})
        assert listed.status_code == 200 and listed.json()["items"] == [], listed.text

    await register_station(
        gw, {"name": "北栅莞家驿站", "town_code": HUMEN, "village_code": BEIZHA, "services": ["facility"]}
    )
    commands = {**appeal_commands(duplicate, "继续办理"), **consultation_commands(consultation)}
    callers: dict[str, Principal] = {
        **dict.fromkeys(("sign-off", "return", "consultation", "approval", "objection"), holder),
        **dict.fromkeys(("decision", "station"), TOWN),
        **dict.fromkeys(("reservation", "disbursement"), VILLAGE),
        **dict.fromkeys(("start", "complete", "hold", "reject", "withdraw", "listing"), TOWN),
    }
    answers: dict[str, tuple[int, str, str]] = {}
    for name, who in callers.items():
        method, path, body, keyed = commands[name]
        r = await gw.request(method, path, json=body, headers={**bearer(who), **(_key() if keyed else {})})
        problem = r.json() if r.headers.get("content-type", "").startswith(PROBLEM) else {}
        answers[name] = (r.status_code, problem.get("code", ""), problem.get("detail", ""))
    refused = {n: a for n, a in answers.items() if a[0] == 409 and CHINESE.search(a[2])}
    assert refused == answers, {n: a for n, a in answers.items() if n not in refused}
    # Routing's, the ledger's and intake's refusals name why: the appeal ended (merged).
    for name in ("sign-off", "consultation", "reservation", "listing", "start", "hold"):
        assert answers[name][1] == "appeal_ended", (name, answers[name])
    # Nothing was written by the refused commands: no new hop, the plan still cancelled.
    assert [h.state for h in await _hops(duplicate) if h.state in ("assigned", "signed_off")] == []
    assert await _consultation_state(consultation) == "cancelled"


async def test_an_undone_merge_opens_the_appeal_again(system: System) -> None:
    gw = system.gateway
    tag = uuid.uuid4().hex[:6]
    master = await _file(gw, f"北栅社区西坊路{tag}号的井盖松动，车辆经过响声很大。")
    duplicate = await _file(gw, f"北栅社区西坊路{tag}号附近井盖晃动，夜里很吵，请处理。")
    await settle()
    (before,) = [h for h in await _hops(duplicate) if h.state in ("assigned", "signed_off")]
    merged = await gw.post(
        f"/api/v1/staff/appeals/{duplicate}/duplicates/{master}/confirm", json={}, headers=bearer(TOWN)
    )
    assert merged.status_code == 200, merged.text
    await settle()
    assert [h.state for h in await _hops(duplicate) if h.state in ("assigned", "signed_off")] == []

    undone = await gw.post(
        f"/api/v1/staff/appeals/{duplicate}/duplicates/undo",
        json={"reason": "并非同一井盖"},
        headers=bearer(TOWN),
    )
    assert undone.status_code == 200, undone.text
    await settle()
    (after,) = [h for h in await _hops(duplicate) if h.state in ("assigned", "signed_off")]
    assert (after.hop, after.state, after.unit_type, after.unit_code) == (
        before.hop,
        before.state,
        before.unit_type,
        before.unit_code,
    )
    holder: Principal = VILLAGE if (after.unit_type, after.unit_code) == ("village", BEIZHA) else CITY
    consulted = await gw.post(
        "/api/v1/consultations", json=minutes(duplicate), headers={**bearer(holder), **_key()}
    )
    assert consulted.status_code == 201, consulted.text
