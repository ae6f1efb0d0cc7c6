"""Staff channels end to end through the gateway into the real intake (its own process, real port).

Each channel files a realistic appeal with the right role and is refused with a wrong one; the
appeal is found in intake with its fields normalised; scope, ID checks, idempotency and the
all-or-nothing minutes of a consultation meeting are checked against the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from intake.models import Appeal, Attachment, Reporter
from services.common.auth import Principal, mint_service_token, mint_staff_token
from services.common.db import session_scope
from services.common.personal import id_check_char
from services.gateway.api.app import app as gateway_app
from services.gateway.models import InboundMessage
from tests.fakes.live_service import environment, live_service
from tests.fakes.lossy_network import first_recording_answer_lost
from tests.intake.support import events

PROBLEM = "application/problem+json"
HUMEN, BEIZHA, HUMENZHAI = "441900121000", "441900121001", "441900121016"
CHANGAN = "441900119000"
ID_BODY = "44190019520807301"
ID_NUMBER = ID_BODY + id_check_char(ID_BODY)
BAD_ID = ID_BODY + ("0" if id_check_char(ID_BODY) != "0" else "1")
PHOTO = {
    "uri": "https://media.guanjia.dg.gov.cn/p/8f3a.jpg",
    "media_type": "image/jpeg",
    "size_bytes": 482113,
}


def principal(role: str, org_type: str, org_code: str) -> Principal:
    return Principal.model_validate(
        {
            "staff_id": str(uuid.uuid4()),
            "username": f"{role}.{org_code}",
            "role": role,
            "org_type": org_type,
            "org_code": org_code,
        }
    )


CITY = principal("city_admin", "city", "city")
TOWN = principal("town_staff", "town", HUMEN)
VILLAGE = principal("village_staff", "village", BEIZHA)
OTHER_VILLAGE = principal("village_staff", "village", HUMENZHAI)
DEPARTMENT = principal("department_staff", "department", "civil_affairs")
STATION = principal("station_staff", "station", "GJYZ-HM-007")
AUDITOR = principal("auditor", "city", "city")


def headers(who: Principal, key: str | None = None) -> dict[str, str]:
    out = {"Authorization": f"Bearer {mint_staff_token(who)[0]}"}
    if key is not None:
        out["Idempotency-Key"] = key
    return out


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    logs: Path = tmp_path_factory.mktemp("staff-channels")
    # The same matter is filed many times over: intake must not link them as duplicates.
    no_duplicates = {"GUANJIA_DUPLICATE_LINK_AT": "1.01", "GUANJIA_DUPLICATE_SUGGEST_AT": "1.01"}
    with live_service("intake", logs, env=no_duplicates) as intake_url:
        async with (
            environment({"GUANJIA_INTAKE_URL": intake_url}),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw") as client,
        ):
            yield client


async def appeal_by_id(appeal_id: str) -> tuple[Appeal, list[Reporter], list[Attachment]]:
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(appeal_id))
        assert appeal is not None
        people = (await session.scalars(select(Reporter).where(Reporter.appeal_id == appeal.id))).all()
        files = (await session.scalars(select(Attachment).where(Attachment.appeal_id == appeal.id))).all()
        return appeal, list(people), list(files)


async def count_refs(prefix: str) -> int:
    async with session_scope() as session:
        return int(
            await session.scalar(select(func.count()).where(Appeal.channel_ref.startswith(prefix))) or 0
        )


# --- each channel with the right and the wrong role ----------------------------------------------

VISIT = {
    "title": "独居老人房屋漏水",
    "description": "北柵社區龍眼路12號陳伯獨居，屋頂漏水，雨天家裏積水，請求幫助維修。",
    "family": {"name": "陈国强", "phone": "139 2345 6781", "id_number": ID_NUMBER, "hukou_local": True},
    "household_size": 1,
    "help_requested": "屋顶补漏",
    "urgency": "urgent",
}
CASES: list[tuple[str, str, dict[str, Any], Principal, Principal]] = [
    (
        "leader-station/appeals",
        "leader_station",
        {
            "description": "居民反映北栅社区太安路路口没有红绿灯，上下学时段孩子过马路很危险。",
            "station_name": "虎门镇北栅社区领导干部驻点",
            "resident": {"name": "黄丽", "phone": "13800138000"},
            "callback_requested": True,
            "location": {"address": "虎门镇北栅社区太安路口"},
        },
        TOWN,
        VILLAGE,
    ),
    (
        "grid-inspector/appeals",
        "grid_inspector",
        {
            "description": "巡查发现龙眼路垃圾收集点满溢，周边有积水和异味。",
            "grid_code": "441900121001-07",
            "lat": 22.8503,
            "lng": 113.6807,
            "datum": "gcj02",
            "accuracy_m": 8.5,
            "photos": [PHOTO],
            "patrol_id": "XC-20261127-031",
        },
        VILLAGE,
        STATION,
    ),
    ("village-visit/appeals", "village_visit", VISIT, VILLAGE, DEPARTMENT),
    (
        "party-member-visit/appeals",
        "party_member_visit",
        {**VISIT, "party_branch": "北栅社区第二党支部"},
        TOWN,
        STATION,
    ),
    (
        "station-walk-in/appeals",
        "station_walk_in",
        {
            "description": "患病老人希望驿站提供上门陪诊服务。",
            "visitor": {"name": "莫婆婆", "phone": "0769-22221234"},
            "service_wanted": "陪诊",
            "location": {"address": "虎门镇北栅社区"},
        },
        STATION,
        VILLAGE,
    ),
    (
        "department-referral/appeals",
        "department_referral",
        {
            "description": "信访件转来：北栅社区一户低保家庭申请临时救助，需核实。",
            "referring_case_no": f"XF-2026-{uuid.uuid4().hex[:6]}",
            "referring_system": "信访",
            "original_reporter": {"name": "周强", "phone": "13612345678"},
            "location": {"address": "虎门镇北栅社区"},
        },
        DEPARTMENT,
        TOWN,
    ),
    (
        "web-portal/appeals",
        "web_portal",
        {
            "description": "小区门口人行道砖块松动，老人容易绊倒。",
            "submitter": {"name": "吴敏", "phone": "+86 137 1234 5678"},
            "location": {"address": "东莞市虎门镇北栅社区龙眼路"},
        },
        CITY,
        STATION,
    ),
    (
        "online-consultation/appeals",
        "online_consultation",
        {
            "title": "社区公园增设健身器材",
            "thread_id": "T-5521",
            "platform": "北栅社区议事厅",
            "posts": [
                {
                    "post_id": "p1",
                    "author": "老李",
                    "text": "建議在社區公園加幾組健身器材",
                    "posted_at": "2026-11-20 08:00:00",
                    "likes": 12,
                },
                {
                    "post_id": "p2",
                    "author": "阿芳",
                    "text": "赞成，最好有适合老人的",
                    "posted_at": "2026-11-20 09:30:00",
                    "reply_to": "p1",
                },
            ],
        },
        VILLAGE,
        DEPARTMENT,
    ),
]


@pytest.mark.parametrize(("path", "channel", "body", "right", "wrong"), CASES, ids=[c[1] for c in CASES])
async def test_each_staff_channel_files_with_the_right_role_only(
    gateway: httpx.AsyncClient,
    path: str,
    channel: str,
    body: dict[str, Any],
    right: Principal,
    wrong: Principal,
) -> None:
    key = f"k-{uuid.uuid4().hex}"
    refused = await gateway.post(f"/api/v1/channels/{path}", json=body, headers=headers(wrong, key))
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "role_not_allowed" and "不能通过" in refused.json()["detail"]
    denied = await gateway.post(f"/api/v1/channels/{path}", json=body, headers=headers(AUDITOR, key))
    assert denied.status_code == 403

    filed = await gateway.post(f"/api/v1/channels/{path}", json=body, headers=headers(right, key))
    assert filed.status_code == 201, filed.text
    answer = filed.json()
    assert answer["ticket_no"].startswith("MS") and answer["query_code"].isdigit()
    appeal, people, files = await appeal_by_id(answer["appeal_id"])
    assert appeal.channel == channel
    assert (appeal.town_code, appeal.village_code) == (HUMEN, BEIZHA)
    assert appeal.channel_extra["filed_by"]["staff_id"] == right.staff_id
    # Normalised: simplified Chinese, half-width; phones stored only encrypted and masked.
    assert "社區" not in appeal.description and "裏" not in appeal.description
    for p in people:
        assert p.phone_masked is None or "****" in p.phone_masked
    shown = str(answer)
    for raw in ("13923456781", "13800138000", "13612345678", ID_NUMBER, "陈国强"):
        assert raw not in shown
    # No raw personal data in the gateway's copy of the message either.
    async with session_scope() as session:
        kept = await session.scalar(select(InboundMessage.body).where(InboundMessage.appeal_id == appeal.id))
    assert kept is not None and ID_NUMBER not in str(kept) and "13923456781" not in str(kept)

    # Routing hears which station a walk-in was filed at (to place it when its words do not), from
    # the worker's account; no other door names a station.
    (received,) = await events(appeal.id, "appeal.received")
    assert received["data"]["station_code"] == (STATION.org_code if channel == "station_walk_in" else None)
    if channel == "grid_inspector":
        assert appeal.grid_code == "441900121001-07" and appeal.datum == "gcj02"
        assert [(f.kind, f.media_type) for f in files] == [("photo", "image/jpeg")]
    if channel in ("village_visit", "party_member_visit"):
        family = next(p for p in people if p.relation == "on_behalf_of")
        assert family.id_number_masked == f"4419**********{ID_NUMBER[-4:]}"
        assert family.phone_masked == "139****6781"
        assert next(p for p in people if p.relation == "reporter").role == "cadre"
        assert appeal.urgency == "urgent" and appeal.callback_requested
    if channel == "department_referral":
        assert appeal.channel_ref == f"civil_affairs:{body['referring_case_no']}"
    if channel == "online_consultation":
        assert appeal.description.startswith("建议在社区公园加几组健身器材")
        assert "阿芳回复" in appeal.description or "阿芳跟帖" in appeal.description

    # The same command again is answered as the first time.
    again = await gateway.post(f"/api/v1/channels/{path}", json=body, headers=headers(right, key))
    assert again.status_code == 200 and again.json() == answer


# --- scope, ID numbers, idempotency ---------------------------------------------------------------


async def test_a_village_cadre_files_only_for_their_village(gateway: httpx.AsyncClient) -> None:
    elsewhere = {**VISIT, "location": {"address": "虎门镇虎门寨社区"}}
    r = await gateway.post(
        "/api/v1/channels/village-visit/appeals", json=elsewhere, headers=headers(VILLAGE, uuid.uuid4().hex)
    )
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    # The cadre of 虎门寨 may; the town may for any of its villages, not for 长安's.
    ok = await gateway.post(
        "/api/v1/channels/village-visit/appeals",
        json=elsewhere,
        headers=headers(OTHER_VILLAGE, uuid.uuid4().hex),
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["village_code"] == HUMENZHAI
    changan = {**VISIT, "description": "长安镇霄边社区一户困难家庭需要帮扶。", "location": {"town": "长安"}}
    r = await gateway.post(
        "/api/v1/channels/party-member-visit/appeals", json=changan, headers=headers(TOWN, uuid.uuid4().hex)
    )
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    # Without a place, a village cadre's appeal is their village's.
    unplaced = {**VISIT, "description": "一户困难家庭需要帮扶。"}
    r = await gateway.post(
        "/api/v1/channels/village-visit/appeals", json=unplaced, headers=headers(VILLAGE, uuid.uuid4().hex)
    )
    assert r.status_code == 201 and r.json()["village_code"] == BEIZHA


async def test_a_wrong_id_check_digit_is_a_clear_422_and_nothing_is_filed(gateway: httpx.AsyncClient) -> None:
    key = uuid.uuid4().hex
    body = {**VISIT, "family": {**VISIT["family"], "id_number": BAD_ID}}  # type: ignore[dict-item]
    r = await gateway.post("/api/v1/channels/village-visit/appeals", json=body, headers=headers(VILLAGE, key))
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"].startswith(PROBLEM)
    assert problem["code"] == "invalid_id_number"
    assert problem["field"] == "on_behalf_of.id_number"
    assert problem["detail"] == "代报对象身份证号码校验位不正确，请核对。"
    assert await count_refs(f"{VILLAGE.staff_id}:{key}") == 0


async def test_idempotency_key_is_required_and_bound_to_its_body(gateway: httpx.AsyncClient) -> None:
    r = await gateway.post("/api/v1/channels/village-visit/appeals", json=VISIT, headers=headers(VILLAGE))
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_required"
    key = uuid.uuid4().hex
    first = await gateway.post(
        "/api/v1/channels/village-visit/appeals", json=VISIT, headers=headers(VILLAGE, key)
    )
    assert first.status_code == 201
    other = {**VISIT, "description": "另一件事：井盖松动。"}
    r = await gateway.post(
        "/api/v1/channels/village-visit/appeals", json=other, headers=headers(VILLAGE, key)
    )
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
    # Keys are per member of staff: a colleague's same key is a command of its own.
    colleague = principal("village_staff", "village", BEIZHA)
    r = await gateway.post(
        "/api/v1/channels/village-visit/appeals", json=VISIT, headers=headers(colleague, key)
    )
    assert r.status_code == 201 and r.json()["appeal_id"] != first.json()["appeal_id"]


async def test_an_entry_whose_answer_from_intake_was_lost_is_still_created(
    gateway: httpx.AsyncClient,
) -> None:
    key = uuid.uuid4().hex
    async with first_recording_answer_lost() as lossy:
        first = await gateway.post(
            "/api/v1/channels/village-visit/appeals", json=VISIT, headers=headers(VILLAGE, key)
        )
        assert lossy.lost == 1
        assert first.status_code == 201, first.text
        again = await gateway.post(
            "/api/v1/channels/village-visit/appeals", json=VISIT, headers=headers(VILLAGE, key)
        )
        assert (again.status_code, again.json()) == (200, first.json())


async def test_a_referral_is_identified_by_its_case_number(gateway: httpx.AsyncClient) -> None:
    body = dict(CASES[5][2], referring_case_no=f"12345-HB-{uuid.uuid4().hex[:8]}")
    first = await gateway.post(
        "/api/v1/channels/department-referral/appeals", json=body, headers=headers(DEPARTMENT, "a")
    )
    resent = await gateway.post(
        "/api/v1/channels/department-referral/appeals", json=body, headers=headers(DEPARTMENT, "b")
    )
    assert first.status_code == 201 and resent.status_code == 200
    assert resent.json()["appeal_id"] == first.json()["appeal_id"]


async def test_malformed_bodies_are_422_problems(gateway: httpx.AsyncClient) -> None:
    grid = dict(CASES[1][2], photos=[{**PHOTO, "media_type": "application/x-msdownload"}])
    r = await gateway.post(
        "/api/v1/channels/grid-inspector/appeals", json=grid, headers=headers(VILLAGE, "g1")
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    r = await gateway.post(
        "/api/v1/channels/station-walk-in/appeals",
        json={**CASES[4][2], "visitor": {"name": "莫婆婆", "phone": "110"}},
        headers=headers(STATION, "s1"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_phone"
    r = await gateway.post(
        "/api/v1/channels/web-portal/appeals", json=CASES[6][2], headers={"Idempotency-Key": "x"}
    )
    assert r.status_code == 401


# --- consultation meeting: one set of minutes, several appeals, all or none ----------------------

MINUTES: dict[str, Any] = {
    "meeting_type": "residents_council",
    "held_at": "2026-11-25 19:30:00",
    "venue": "北栅社区党群服务中心",
    "host": "李主任",
    "attendees": 23,
    "minutes": "会议听取居民意见，议定以下三件民生微实事……",
    "items": [
        {
            "title": "龙眼路增设休闲座椅",
            "description": "龙眼路沿线缺少休息座椅，增设6张休闲座椅。",
            "resolution": "同意实施，预算1.8万元。",
            "estimated_amount_fen": 1_800_000,
            "votes_for": 21,
            "votes_against": 0,
        },
        {
            "title": "社区公园健身器材",
            "description": "社区公园增设适老健身器材一套。",
            "proposer": {"name": "老李", "phone": "13711112222"},
            "beneficiary_group": "老年人",
        },
        {"title": "垃圾分类亭改造", "description": "太安路垃圾分类亭破损，需要改造。"},
    ],
}


async def test_meeting_minutes_file_several_appeals_at_once(gateway: httpx.AsyncClient) -> None:
    key = uuid.uuid4().hex
    r = await gateway.post(
        "/api/v1/channels/consultation-meeting/minutes", json=MINUTES, headers=headers(VILLAGE, key)
    )
    assert r.status_code == 201, r.text
    appeals = r.json()["appeals"]
    assert len(appeals) == 3 and len({a["ticket_no"] for a in appeals}) == 3
    for index, filed in enumerate(appeals, start=1):
        appeal, _, _ = await appeal_by_id(filed["appeal_id"])
        assert appeal.channel == "consultation_meeting"
        assert appeal.channel_ref == f"{VILLAGE.staff_id}:{key}#{index}"
        assert appeal.village_code == BEIZHA
        assert appeal.channel_extra["meeting"]["name"] == "居民议事会"
    first, _, _ = await appeal_by_id(appeals[0]["appeal_id"])
    assert "（居民议事会议定）同意实施" in first.description and first.estimated_amount_fen == 1_800_000
    again = await gateway.post(
        "/api/v1/channels/consultation-meeting/minutes", json=MINUTES, headers=headers(VILLAGE, key)
    )
    assert again.status_code == 200 and again.json() == r.json()
    wrong = await gateway.post(
        "/api/v1/channels/consultation-meeting/minutes", json=MINUTES, headers=headers(STATION, key)
    )
    assert wrong.status_code == 403


async def test_one_invalid_item_files_nothing(gateway: httpx.AsyncClient) -> None:
    key = uuid.uuid4().hex
    items = [
        *MINUTES["items"][:2],
        {"description": "困难户需要救助", "proposer": {"name": "某", "id_number": BAD_ID}},
    ]
    r = await gateway.post(
        "/api/v1/channels/consultation-meeting/minutes",
        json={**MINUTES, "items": items},
        headers=headers(VILLAGE, key),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_id_number"
    assert await count_refs(f"{VILLAGE.staff_id}:{key}") == 0


async def test_the_batch_is_atomic_inside_intake(gateway: httpx.AsyncClient) -> None:
    """Item 2's channel_ref already belongs to another appeal: intake refuses the batch after
    recording item 1 in the same transaction, and item 1 is rolled back with it."""
    key = uuid.uuid4().hex
    taken = f"{VILLAGE.staff_id}:{key}#2"
    intake_url = os.environ["GUANJIA_INTAKE_URL"]
    service = {"Authorization": f"Bearer {mint_service_token('gateway', VILLAGE)}"}
    async with httpx.AsyncClient(base_url=intake_url, headers=service) as intake:
        squatter = await intake.post(
            "/internal/appeals",
            json={"channel": "consultation_meeting", "channel_ref": taken, "description": "先到的另一件事"},
        )
        assert squatter.status_code == 201
        r = await gateway.post(
            "/api/v1/channels/consultation-meeting/minutes", json=MINUTES, headers=headers(VILLAGE, key)
        )
        assert r.status_code == 409, r.text
        assert await count_refs(f"{VILLAGE.staff_id}:{key}") == 1  # only the squatter
        # Straight to intake: a batch with one malformed draft writes nothing either.
        drafts = [
            {"channel": "web_portal", "channel_ref": f"b-{key}-1", "description": "第一件"},
            {"channel": "web_portal", "channel_ref": f"b-{key}-2", "description": ""},
        ]
        bad = await intake.post("/internal/appeals/batch", json={"drafts": drafts})
        assert bad.status_code == 422
        assert await count_refs(f"b-{key}") == 0
