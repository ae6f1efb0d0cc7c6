"""保密 and audited reveals, public disclosure without personal data, a resident's own appeals,
statistics from the counters (with CSV / XLSX), demand analysis and the archive."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import httpx
from openpyxl import load_workbook

from intake.handlers import on_funds_disbursed, on_triaged
from intake.service.records import get_appeal
from services.common.crypto import lookup_hash
from services.common.db import session_scope
from services.common.personal import id_check_char
from services.common.timeutil import local_today
from services.contracts.events import AppealTriaged, FundsEvent, make_event
from tests.fixtures import auth, staff
from tests.intake.support import (
    AUDITOR,
    CHANGPING,
    CITY,
    HUANZHULI,
    QIAOZI,
    create,
    draft,
    force,
    post,
    row,
    settle,
)

ID_BODY = "44190019790601123"
ID_NUMBER = ID_BODY + id_check_char(ID_BODY)
TOWN = staff("town_staff", CHANGPING)
VILLAGE = staff("village_staff", QIAOZI)
STATION = staff("station_staff", "ST0101")


def person(name: str = "叶美玲", confidential: bool = False) -> dict[str, Any]:
    phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    return {
        "name": name,
        "phone": phone,
        "id_number": ID_NUMBER,
        "openid": f"o-{uuid.uuid4().hex[:12]}",
        "confidential": confidential,
    }


async def test_reveals_are_audited_and_limited_to_those_who_need_them(http: httpx.AsyncClient) -> None:
    reporter = person(confidential=True)
    accepted = await create(
        http, draft(QIAOZI, CHANGPING, "桥梓村委会对低保申请一直不回复，我要投诉。", reporter=reporter)
    )
    aid = accepted["appeal_id"]
    await force(
        aid,
        complained_unit_type="village",
        complained_unit_code=QIAOZI,
        holder_type="station",
        holder_code="ST0101",
    )

    # The village complained about sees nobody; the station handling it neither; the town sees masks.
    for who in (VILLAGE, STATION):
        (shown,) = (await http.get(f"/internal/appeals/{aid}", headers=auth(who))).json()["reporters"]
        assert shown["hidden"] is True and shown["phone"] is None and shown["name"] is None
    (masked,) = (await http.get(f"/internal/appeals/{aid}", headers=auth(TOWN))).json()["reporters"]
    assert masked["phone"].count("*") == 4 and masked["name"] is None

    ask = {"field": "phone", "reason": "电话回访核实情况"}
    for who in (VILLAGE, STATION, AUDITOR):
        assert (await post(http, f"/internal/appeals/{aid}/reveal", who, ask)).status_code == 403
    r = await post(http, f"/internal/appeals/{aid}/reveal", TOWN, ask)
    assert r.status_code == 200 and r.json()["value"] == reporter["phone"]
    r = await post(
        http, f"/internal/appeals/{aid}/reveal", CITY, {"field": "id_number", "reason": "核对身份"}
    )
    assert r.json()["value"] == ID_NUMBER
    assert (await post(http, f"/internal/appeals/{aid}/reveal", CITY, {"field": "phone"})).status_code == 422

    # The gateway's contacts call is audited too.
    contacts = await http.get(f"/internal/appeals/{aid}/contacts", headers=auth())
    assert contacts.status_code == 200 and contacts.json()["reporters"][0]["phone"] == reporter["phone"]

    assert (
        await http.get("/internal/audit/reveals", params={"appeal_id": aid}, headers=auth(TOWN))
    ).status_code == 403
    audit = (
        await http.get("/internal/audit/reveals", params={"appeal_id": aid}, headers=auth(AUDITOR))
    ).json()
    assert [(a["actor"], a["fields"], a["reason"]) for a in audit] == [
        ("service:gateway", "contacts", "feedback"),
        (f"staff:{CITY.username}", "reporter.id_number", "核对身份"),
        (f"staff:{TOWN.username}", "reporter.phone", "电话回访核实情况"),
    ]
    assert reporter["phone"] not in json.dumps(audit, ensure_ascii=False)


async def test_public_disclosure_carries_no_personal_data(http: httpx.AsyncClient) -> None:
    reporter = person("钟志强")
    project = await create(
        http,
        draft(
            QIAOZI,
            CHANGPING,
            f"我是钟志强，电话{reporter['phone'][3:]}，桥梓村文化广场的路灯全坏了，希望修好。",
            reporter=reporter,
            title="桥梓村文化广场路灯维修",
            location={"town_code": CHANGPING, "village_code": QIAOZI, "address": "常平镇桥梓村文化广场"},
        ),
    )
    wish_reporter = person("邱桂英")
    wish = await create(
        http,
        draft(
            QIAOZI,
            CHANGPING,
            f"邱桂英，身份证{ID_NUMBER}，住桥梓村新村三巷8号，丈夫重病住院，医药费凑不齐。",
            reporter=wish_reporter,
            location={"town_code": CHANGPING, "village_code": QIAOZI, "address": "常平镇桥梓村新村三巷8号"},
        ),
    )
    await force(
        project["appeal_id"], status="in_progress", kind="micro_project", category="facility", track="express"
    )
    await force(wish["appeal_id"], status="approved", kind="micro_wish", category="medical", track="direct")
    hidden = await create(http, draft(QIAOZI, CHANGPING, "桥梓村某处涉及个人隐私的诉求。"))
    await force(hidden["appeal_id"], status="triaged", kind="micro_wish", category="rights")
    assert (
        await post(http, f"/internal/appeals/{hidden['appeal_id']}/withhold", TOWN, {})
    ).status_code == 422
    assert (
        await post(http, f"/internal/appeals/{hidden['appeal_id']}/withhold", VILLAGE, {"reason": "涉及隐私"})
    ).status_code == 403
    assert (
        await post(
            http, f"/internal/appeals/{hidden['appeal_id']}/withhold", TOWN, {"reason": "涉及个人隐私"}
        )
    ).status_code == 200

    listed = await http.get(
        "/internal/public/disclosure", params={"village": QIAOZI, "page_size": 100}, headers=auth()
    )
    assert listed.status_code == 200
    items = {i["ticket_no"]: i for i in listed.json()["items"]}
    assert project["ticket_no"] in items and wish["ticket_no"] in items
    assert hidden["ticket_no"] not in items
    shown_project, shown_wish = items[project["ticket_no"]], items[wish["ticket_no"]]
    assert shown_project["title"] == "桥梓村文化广场路灯维修" and "路灯" in shown_project["description"]
    assert shown_wish["description"] is None and shown_wish["address"] is None
    assert "微心愿" in shown_wish["title"] and shown_wish["village"] == "桥梓村"
    detail = await http.get(f"/internal/public/disclosure/{wish['ticket_no']}", headers=auth())
    assert detail.status_code == 200 and detail.json()["timeline"]
    everything = listed.text + detail.text
    for personal in (
        "钟志强",
        "邱桂英",
        reporter["phone"][3:],
        wish_reporter["phone"][3:],
        ID_NUMBER,
        "三巷8号",
    ):
        assert personal not in everything, personal
    for secret in (project["query_code"], wish["query_code"], reporter["openid"]):
        assert f'"{secret}"' not in everything


async def test_a_resident_sees_their_own_appeals(http: httpx.AsyncClient) -> None:
    reporter = person("区丽华")
    first = await create(http, draft(QIAOZI, CHANGPING, "桥梓村幼儿园门口没有斑马线。", reporter=reporter))
    second = await create(http, draft(QIAOZI, CHANGPING, "桥梓村球场的灯坏了。", reporter=reporter))
    await create(http, draft(QIAOZI, CHANGPING, "别人的诉求。"))
    by_openid = (
        await http.get("/internal/residents/appeals", params={"openid": reporter["openid"]}, headers=auth())
    ).json()
    assert [a["ticket_no"] for a in by_openid] == [second["ticket_no"], first["ticket_no"]]
    assert (
        by_openid[0]["timeline"][0]["status"] == "received"
        and by_openid[0]["query_code"] == second["query_code"]
    )
    by_phone = await http.get(
        "/internal/residents/appeals", params={"phone_hash": lookup_hash(reporter["phone"])}, headers=auth()
    )
    assert [a["ticket_no"] for a in by_phone.json()] == [second["ticket_no"], first["ticket_no"]]
    assert "区丽华" not in by_phone.text and reporter["phone"] not in by_phone.text
    assert (await http.get("/internal/residents/appeals", headers=auth())).status_code == 422


async def test_statistics_come_from_the_counters_and_export(http: httpx.AsyncClient) -> None:
    today = local_today()
    params = {
        "level": "village",
        "code": HUANZHULI,
        "period": "month",
        "start": today.isoformat(),
        "by": "category",
    }

    async def figures() -> dict[str, Any]:
        r = await http.get("/internal/stats/kpis", params=params, headers=auth(CITY))
        assert r.status_code == 200, r.text
        return {row["dim_value"]: row for row in r.json()["rows"]}

    before = await figures()
    for n, rating in enumerate(("satisfied", "dissatisfied")):
        body = draft(HUANZHULI, CHANGPING, f"还珠沥村第{n}号路灯不亮（{uuid.uuid4().hex[:6]}）")
        accepted = await create(http, body)
        aid = accepted["appeal_id"]
        triage = make_event(
            "appeal.triaged",
            "routing",
            AppealTriaged(
                kind="micro_project",
                category="facility",
                urgency="normal",
                track="express",
                town_code=CHANGPING,
                village_code=HUANZHULI,
                catalogue_version="t",
                confidence=0.9,
            ),
            appeal_id=uuid.UUID(aid),
        )
        async with session_scope() as session:
            await get_appeal(session, uuid.UUID(aid))
            await on_triaged(session, triage, {})
        await force(aid, status="in_progress", holder_type="village", holder_code=HUANZHULI)
        await post(http, f"/internal/appeals/{aid}/complete", CITY, {"reason": "完工"})
        await post(
            http,
            f"/internal/appeals/{aid}/evaluation",
            None,
            {
                "result": "resolved" if n == 0 else "not",
                "rating": rating,
                "openid": body["reporter"]["openid"],
            },
        )
    await settle()  # the arrivals are counted after their commit, by intake's worker
    after = await figures()
    was = before.get("facility", {"counts": {}})["counts"]
    now = after["facility"]["counts"]
    gained = {
        k: now[k] - was.get(k, 0)
        for k in (
            "received",
            "completed",
            "completed_first",
            "evaluated",
            "satisfied",
            "dissatisfied",
            "closed",
            "reopened",
            "resolved",
        )
    }
    assert gained == {
        "received": 2,
        "completed": 2,
        "completed_first": 2,
        "evaluated": 2,
        "satisfied": 1,
        "dissatisfied": 1,
        "closed": 1,
        "reopened": 1,
        "resolved": 1,
    }
    kpis = after["facility"]["kpis"]
    assert kpis["satisfaction_rate"] is not None and 0 < kpis["satisfaction_rate"] < 1

    # Scope: a village sees only itself; the city exports CSV and XLSX.
    other = staff("village_staff", QIAOZI)
    assert (await http.get("/internal/stats/kpis", params=params, headers=auth(other))).status_code == 403
    as_csv = await http.get(
        "/internal/stats/kpis/export", params={**params, "format": "csv"}, headers=auth(CITY)
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert "满意率 satisfaction_rate" in table[0] and any(r[0] == "facility" for r in table[1:])
    as_xlsx = await http.get(
        "/internal/stats/kpis/export", params={**params, "format": "xlsx"}, headers=auth(CITY)
    )
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None and sheet.cell(1, 1).value == "dim_value"

    demand = await http.get(
        "/internal/stats/demand", params={"start": today.isoformat(), "town": CHANGPING}, headers=auth(CITY)
    )
    assert demand.status_code == 200
    assert any(
        s["village_code"] == HUANZHULI and s["category"] == "facility" for s in demand.json()["hot_spots"]
    )
    public = await http.get("/internal/stats/public", params={"start": today.isoformat()}, headers=auth())
    assert public.status_code == 200 and public.json()["rows"][0]["counts"]["received"] >= 2


async def test_the_archive_holds_the_whole_record(http: httpx.AsyncClient) -> None:
    body = draft(
        QIAOZI, CHANGPING, f"桥梓村祠堂前的排水沟堵了（{uuid.uuid4().hex[:6]}）", reporter=person("黎伟明")
    )
    body["attachments"] = [
        {"kind": "photo", "uri": "s3://guanjia/a.jpg", "media_type": "image/jpeg", "size_bytes": 2048}
    ]
    accepted = await create(http, body)
    aid = accepted["appeal_id"]
    assert (await http.get(f"/internal/appeals/{aid}/archive", headers=auth(CITY))).status_code == 409
    await force(aid, status="in_progress", kind="micro_project", category="environment")
    await post(http, f"/internal/appeals/{aid}/complete", CITY, {"reason": "已疏通"})
    paid = make_event(
        "funds.disbursed",
        "ledger",
        FundsEvent(
            amount_fen=120000,
            reference="D-1",
            detail={"by_source": {"town_matching": 60000, "city_finance": 60000}},
        ),
        appeal_id=uuid.UUID(aid),
    )
    async with session_scope() as session:
        await on_funds_disbursed(session, paid, {})
    await post(http, f"/internal/appeals/{aid}/close", CITY, {"result": "resolved", "rating": "satisfied"})
    assert (await http.get(f"/internal/appeals/{aid}/archive", headers=auth(VILLAGE))).status_code == 403
    record = (await http.get(f"/internal/appeals/{aid}/archive", headers=auth(AUDITOR))).json()
    assert record["status"] == "closed" and record["funds_used_fen"] == 120000
    assert record["funds_fen"] == {"town_matching": 60000, "city_finance": 60000}
    assert [v["rating"] for v in record["return_visits"]] == ["satisfied"]
    assert record["attachments"][0]["uri"] == "s3://guanjia/a.jpg"
    assert [t["to"] for t in record["timeline"]][-2:] == ["completed", "closed"]
    assert "黎伟明" not in json.dumps(record, ensure_ascii=False)
    assert (await row(aid)).funds_used_fen == 120000

    today = local_today().isoformat()
    export = await http.get(
        "/internal/archive/export", params={"from": today, "to": today}, headers=auth(CITY)
    )
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines() if line]
    assert accepted["ticket_no"] in {line["ticket_no"] for line in lines}
    assert (
        await http.get("/internal/archive/export", params={"from": today, "to": today}, headers=auth(TOWN))
    ).status_code == 403
