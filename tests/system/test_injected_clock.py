"""Issue 16's flows that need days to pass, on a real `guanjia up` whose clock the test moves
(`GUANJIA_CLOCK_FILE`, services.common.clock): every process reads the same offset, and the
workers' own crons (or the run-now endpoints and jobs the system has) do the rest.

- 公示: a 北栅社区 residents' council passes a plan; 5 days later nobody objected, so the routing
  worker approves it, the public notice says so, and the plan (莞家直达) is listed for donors.
- Donors: a verified donor pledges; 15 days later the pledge has not been fulfilled and expires.
- Overdue and escalation: a street-light appeal nobody acts on goes overdue; the holding
  community's staff are notified, the town hears of the escalation, the work list flags it.
- Unrated close: a completed 最低生活保障 referral nobody rates within the return-visit days is
  closed unrated (回访 not answered).

One system for the module (2 cores): its time only moves forward, so the tests run in order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from deadlines.service.calendar import WorkingCalendar
from deadlines.service.uploads import current_schedule
from services.common.settings import get_settings
from services.gateway.service.feedback.messages import phrase
from tests.conftest import TEST_DB, _admin, _db_url
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.wechat_code2session import FakeCode2Session
from tests.fixtures import bearer
from tests.system.clock_support import (
    CITY,
    DEPARTMENT,
    HUMEN,
    POINTS,
    TOWN,
    VILLAGE,
    advance,
    call,
    enqueue,
    listings_of,
    minutes,
    notes,
    person,
    problem,
    public,
    resident,
    street_lights,
    verified_donor,
    wait_for,
    wait_note,
    wait_status,
)
from tests.system.harness import RunningSystem, db_scalar, start_system

MINI_APP_ID, MINI_SECRET = "wx1a2b3c4d5e6f7a8b", "injected-clock-mini-secret"
WECHAT = FakeCode2Session(MINI_APP_ID, MINI_SECRET)
SMS = FakeSmsGateway()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    tmp = tmp_path_factory.mktemp("clock")
    (tmp / "clock").write_text("0")
    env = {
        "GUANJIA_CLOCK_FILE": str(tmp / "clock"),
        "GUANJIA_MINIPROGRAM_APP_ID": MINI_APP_ID,
        "GUANJIA_MINIPROGRAM_SECRET": MINI_SECRET,
        "GUANJIA_WECHAT_API_BASE": WECHAT.base,
        "GUANJIA_SMS_URL": SMS.url,
    }
    # A database of its own: moving the clock 20 days makes every clock of the shared test database
    # due at once, and a sweep would work through other tests' clocks before reaching these.
    name = f"{TEST_DB}_clock"
    _admin(f'CREATE DATABASE "{name}"')
    shared = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = _db_url(name)  # `up` migrates it; db_scalar reads it too
    # Redis keys of its own too: its tickets start again at 000001 in its own database, and a status
    # document another test's system kept for the same ticket number would answer for it. The jobs
    # this module enqueues (`clock_support.enqueue`) go to the same queues.
    shared_prefix = os.environ["GUANJIA_QUEUE_PREFIX"]
    os.environ["GUANJIA_QUEUE_PREFIX"] = f"{shared_prefix}-clock"
    get_settings.cache_clear()
    WECHAT.start()
    SMS.start()
    try:
        running = start_system(tmp, env)
        try:
            yield running
        finally:
            running.stop()
    finally:
        WECHAT.stop()
        SMS.stop()
        os.environ["DATABASE_URL"] = shared
        os.environ["GUANJIA_QUEUE_PREFIX"] = shared_prefix
        get_settings.cache_clear()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def client(system: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base_url, timeout=20) as c:
        yield c


class State:
    """What the earlier steps left for the later ones (the module's clock only moves forward)."""

    noticed: ClassVar[dict[str, Any]] = {}
    consultation_id = ""
    idle: ClassVar[dict[str, Any]] = {}
    completed = ""


def test_before_time_passes(system: RunningSystem, client: httpx.Client) -> None:
    # 公示: the council's plan passes on all five points and is noticed for 5 days.
    noticed = street_lights(client, system, "东方路")
    plan = minutes(noticed["appeal_id"], "东方路一带", budget_fen=3_600_000, residents=1200)
    r = client.post("/api/v1/consultations", json=plan, headers=bearer(VILLAGE))
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "notice" and r.json()["notice_days"] == 5
    State.noticed, State.consultation_id = noticed, r.json()["id"]
    # Not before its end: staff cannot approve early, and the notice says it is running.
    early = client.post(f"/api/v1/consultations/{State.consultation_id}/approval", headers=bearer(VILLAGE))
    assert early.status_code == 409, early.text
    notice = wait_for(lambda: public(client, noticed)["notices"], what="notice on the public status")
    assert notice[0]["notice"]["outcome"] == "running", notice

    # An appeal nobody acts on: its clocks run at the community.
    State.idle = street_lights(client, system, "南栅路")

    # A 最低生活保障 referral done by the department, awaiting its return visit (回访).
    accepted = call(
        client,
        caller_number="137 1357 2468",
        transcript=[
            {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
            {
                "speaker": "caller",
                "text": "我住南城街道，一个人带两个孩子，没有收入，想申请低保。",
                "offset_ms": 2100,
            },
        ],
        summary="来电人独自抚养两个孩子，无收入，咨询申请最低生活保障。",
        category_hint="社会救助",
        address="东莞市南城街道",
    )
    appeal = f"/api/v1/staff/appeals/{accepted['appeal_id']}"
    wait_status(client, accepted, "approved")
    signed = client.post(
        f"/api/v1/routing/assignments/{accepted['appeal_id']}/sign-off", headers=bearer(DEPARTMENT)
    )
    assert signed.status_code == 200, signed.text
    wait_status(client, accepted, "in_progress")
    done = client.post(f"{appeal}/complete", json={"reason": "已审核发放"}, headers=bearer(DEPARTMENT))
    assert done.status_code == 200, done.text
    wait_status(client, accepted, "completed")
    State.completed = accepted["appeal_id"]


def test_twenty_days_later(system: RunningSystem, client: httpx.Client) -> None:
    if not State.consultation_id:
        pytest.skip("the first step failed")
    advance(system, 20)

    # 公示 ended without objection: the routing worker approves the plan (every minute).
    def approved() -> dict[str, Any] | None:
        found = [
            n
            for n in public(client, State.noticed)["notices"]
            if n["consultation_id"] == State.consultation_id
        ]
        return found[0] if found and found[0]["state"] == "approved" else None

    notice = wait_for(approved, timeout=150, what="the plan approved at the notice's end")
    assert notice["notice"]["outcome"] != "running", notice
    listed = client.get("/api/v1/public/notices", params={"ticket_no": State.noticed["ticket_no"]})
    assert listed.status_code == 200 and listed.json()["items"][0]["state"] == "approved", listed.text

    # Overdue: the community hears of it, the town of the escalation; the work list flags it.
    ticket = State.idle["ticket_no"]
    overdue = wait_note(client, VILLAGE, ticket, "overdue")
    assert ticket in overdue[0]["text"]
    escalated = wait_note(client, TOWN, ticket, "escalated")
    assert ticket in escalated[0]["text"]
    r = client.get("/api/v1/staff/appeals", params={"q": ticket, "overdue": "true"}, headers=bearer(VILLAGE))
    assert r.status_code == 200, r.text
    assert [(i["appeal_id"], i["overdue"]) for i in r.json()["items"]] == [(State.idle["appeal_id"], True)]
    assert db_scalar(
        "SELECT count(*) FROM deadlines.clocks WHERE appeal_id = CAST(:a AS uuid) AND state = 'overdue'"
        " AND escalation_level >= 1",
        a=State.idle["appeal_id"],
    )
    summary = client.get("/api/v1/staff/appeals/summary", headers=bearer(VILLAGE)).json()
    assert summary["overdue"] >= 1 and summary["total"] == sum(summary["counts"].values()), summary
    # The holder reads the notice; it is read for them, and no other community can touch it.
    read = client.post(f"/api/v1/staff/notifications/{overdue[0]['id']}/read", headers=bearer(VILLAGE))
    assert read.status_code == 200, read.text
    assert next(n for n in notes(client, VILLAGE, ticket) if n["id"] == overdue[0]["id"])["read"] is True
    other = person("village_staff", "village", "441900121016")
    hidden = client.post(f"/api/v1/staff/notifications/{overdue[0]['id']}/read", headers=bearer(other))
    assert hidden.status_code == 404, hidden.text
    # A fresh appeal is not overdue.
    fresh = client.get(
        "/api/v1/staff/appeals",
        params={"q": State.noticed["ticket_no"], "overdue": "true"},
        headers=bearer(VILLAGE),
    )
    assert fresh.status_code == 200 and fresh.json()["items"] == [], fresh.text

    # Nobody answered the return visit in 7 days: closed unrated (the job, not its 10-minute cron).
    enqueue("intake", "intake.close_unrated")
    status = wait_for(
        lambda: (
            (s := client.get(f"/api/v1/staff/appeals/{State.completed}", headers=bearer(CITY)).json())
            and s["status"] == "closed"
            and s
        ),
        what="closed unrated",
    )
    assert status["status"] == "closed", status
    assert db_scalar(
        "SELECT count(*) FROM intake.evaluations WHERE appeal_id = CAST(:a AS uuid) AND by = 'system'",
        a=State.completed,
    )


def test_a_pledge_expires(system: RunningSystem, client: httpx.Client) -> None:
    if not State.consultation_id:
        pytest.skip("the first step failed")
    _, key = verified_donor(client)
    appeal_id = State.noticed["appeal_id"]
    listings = wait_for(lambda: listings_of(client, key, appeal_id), what="the approved plan listed")
    assert listings[0]["target_fen"] == 3_600_000
    pledged = client.post(
        "/api/v1/donors/claims",
        json={"appeal_id": appeal_id, "kind": "money", "amount_fen": 1_000_000},
        headers={"X-Donor-Key": key, "Idempotency-Key": f"pledge-{uuid.uuid4().hex[:16]}"},
    )
    assert pledged.status_code == 201, pledged.text
    claim = pledged.json()
    assert claim["state"] == "pledged"

    # Not yet due: the run-now endpoint leaves it alone.
    r = client.post("/api/v1/donors/claims/expiry", headers=bearer(CITY))
    assert r.status_code == 200 and claim["id"] not in [c["id"] for c in r.json()], r.text

    advance(system, 16)
    r = client.post("/api/v1/donors/claims/expiry", headers=bearer(CITY))
    assert r.status_code == 200, r.text
    assert claim["id"] in [c["id"] for c in r.json()]
    mine = client.get("/api/v1/donors/claims", headers={"X-Donor-Key": key})
    assert [(c["id"], c["state"]) for c in mine.json()] == [(claim["id"], "expired")], mine.text
    (listing,) = listings_of(client, key, appeal_id)
    assert listing["pledged_fen"] == 0, listing


def test_no_quorum_is_not_claimable_and_a_rejected_plan_stays_disclosed(
    system: RunningSystem, client: httpx.Client
) -> None:
    filed = street_lights(client, system, "北栅大道")
    plan = minutes(
        filed["appeal_id"],
        "北栅大道",
        budget_fen=2_000_000,
        residents=800,
        present=10,
        votes={p: {"yes": 9, "no": 1, "abstain": 0} for p in POINTS},
    )
    short = client.post("/api/v1/consultations", json=plan, headers=bearer(VILLAGE))
    assert short.status_code == 201 and short.json()["state"] == "no_quorum", short.text
    listing = client.put(
        f"/api/v1/donors/listings/{filed['appeal_id']}",
        json={"summary": "北栅社区北栅大道路灯维修", "target_fen": 2_000_000},
        headers=bearer(TOWN),
    )
    problem(listing, 409, "not_claimable")
    _, donor_key = verified_donor(client)
    key = {"X-Donor-Key": donor_key}
    pledge = client.post(
        "/api/v1/donors/claims",
        json={"appeal_id": filed["appeal_id"], "kind": "money", "amount_fen": 100_000},
        headers={**key, "Idempotency-Key": f"pledge-{uuid.uuid4().hex[:16]}"},
    )
    problem(pledge, 409, "not_claimable")

    # The next meeting rejects the budget: the appeal ends, disclosed with its reason.
    tie = {"yes": 10, "no": 10, "abstain": 0}
    plan.update(
        present_count=20,
        held_at="2026-12-06T19:30:00+08:00",
        votes={p: tie if p == "budget" else {"yes": 16, "no": 4} for p in POINTS},
    )
    rejected = client.post("/api/v1/consultations", json=plan, headers=bearer(VILLAGE))
    assert rejected.status_code == 201 and rejected.json()["state"] == "rejected", rejected.text
    wait_status(client, filed, "rejected")
    disclosed = client.get(f"/api/v1/public/disclosure/{filed['ticket_no']}")
    assert disclosed.status_code == 200, disclosed.text
    assert "预算" in disclosed.json()["rejection_reason"]
    assert [n["state"] for n in disclosed.json()["notices"]] == ["no_quorum", "rejected"]


def test_a_caller_withdraws_escalation_from_the_holder_and_open311_lists_hotline_requests(
    system: RunningSystem, client: httpx.Client
) -> None:
    first = street_lights(client, system, "栅口路")
    wrong = {"ticket_no": first["ticket_no"], "query_code": "000000", "reason": "已自行解决"}
    problem(client.post("/api/v1/public/withdrawals", json=wrong), 404, "not_found")
    done = client.post("/api/v1/public/withdrawals", json={**wrong, "query_code": first["query_code"]})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn", done.text
    assert wait_for(lambda: public(client, first)["timeline"][-1]["status"] == "withdrawn" or None)

    # The community holding an appeal passes it up; another community cannot even see it.
    second = street_lights(client, system, "东坊大街")
    escalate = f"/api/v1/routing/triage/{second['appeal_id']}/escalation"
    other = person("village_staff", "village", "441900121016")
    problem(client.post(escalate, json={"note": "不属本社区"}, headers=bearer(other)), 404, "not_found")
    up = client.post(escalate, json={"note": "涉及市政主干线路，需上级协调"}, headers=bearer(VILLAGE))
    assert up.status_code == 200, up.text
    assert up.json()["reason"] == "escalated", up.json()

    # Open311 lists requests of every channel, this hotline one included, public-safe.
    category = public(client, second)["category"]
    listed = client.get("/open311/v2/requests.json", params={"service_code": category})
    assert listed.status_code == 200, listed.text
    mine = [x for x in listed.json() if x["service_request_id"] == second["ticket_no"]]
    assert len(mine) == 1 and "139" not in str(mine[0]), mine


def test_ledger_edges_through_the_gateway(client: httpx.Client) -> None:
    idem = f"income-{uuid.uuid4().hex[:16]}"
    headers = {**bearer(CITY), "Idempotency-Key": idem}
    body = {
        "source_code": "city_charity",
        "holder": {"holder_type": "city", "holder_code": "city"},
        "amount_fen": 0,
    }
    problem(client.post("/api/v1/ledger/income", json=body, headers=headers), 422, "invalid_input")
    # The key was not burned by the invalid body; the city's one code is `city`, also in postings.
    done = client.post("/api/v1/ledger/income", json={**body, "amount_fen": 1_500}, headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["holder_code"] == "city"
    assert {p["holder_code"] for p in done.json()["postings"] if p["holder_type"] == "city"} == {"city"}
    again = client.post("/api/v1/ledger/income", json={**body, "amount_fen": 1_500}, headers=headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed"), again.json()) == (
        200,
        "true",
        done.json(),
    )


def test_a_calendar_upload_must_stay_in_its_year(client: httpx.Client) -> None:
    due = client.get("/api/v1/calendar/due", params={"start": "2027-02-03", "working_days": 5}).json()
    r = client.put("/api/v1/calendar/years/2027", json={"holidays": ["2026-01-01"]}, headers=bearer(CITY))
    assert "2027" in problem(r, 422, "invalid_schedule")["detail"]
    # Nothing was written: the Spring Festival of 2027 still counts as days off.
    assert client.get("/api/v1/calendar/due", params={"start": "2027-02-03", "working_days": 5}).json() == due


def test_a_resident_objects_to_a_notice_from_the_mini_program(
    system: RunningSystem, client: httpx.Client
) -> None:
    session = resident(client, WECHAT)
    filed = street_lights(client, system, "北栅新村")
    plan = minutes(filed["appeal_id"], "北栅新村", budget_fen=1_200_000, residents=500, track="express")
    made = client.post("/api/v1/consultations", json=plan, headers=bearer(VILLAGE))
    assert made.status_code == 201 and made.json()["state"] == "notice", made.text
    path = f"/api/v1/miniprogram/notices/{made.json()['id']}/objections"
    reason = {"reason": "巷子里的路灯更暗，应该先修巷内的"}
    key = {**session, "Idempotency-Key": f"obj-{uuid.uuid4().hex[:12]}"}
    objected = client.post(path, json=reason, headers=key)
    assert objected.status_code == 201, objected.text
    assert (objected.json()["state"], objected.json()["ticket_no"]) == ("objected", filed["ticket_no"])
    replay = client.post(path, json=reason, headers=key)
    assert replay.status_code == 200 and replay.json()["objection_id"] == objected.json()["objection_id"]

    # The community hears of it (without the resident's words in public), the notice shows it.
    assert wait_note(client, VILLAGE, filed["ticket_no"], "objection")

    def shown() -> list[dict[str, Any]] | None:
        r = client.get("/api/v1/public/notices", params={"ticket_no": filed["ticket_no"]})
        items: list[dict[str, Any]] = r.json()["items"]
        return items if [n["state"] for n in items] == ["objected"] else None

    past = wait_for(shown, what="the objected notice in public")
    assert past[0]["notice"]["objections"] == 1, past
    assert "巷子" not in str(past)


def test_the_caller_was_told_of_each_change_in_order(client: httpx.Client) -> None:
    if not State.consultation_id:
        pytest.skip("the first step failed")
    # The 公示 appeal went through triage, consultation and approval, workers racing each other
    # and the clock jumping: its caller's texts arrived in the order of its public timeline.
    accepted = State.noticed

    def told_of_all() -> tuple[list[str], list[str]] | None:
        changes = [t["status"] for t in public(client, accepted)["timeline"]][1:]
        told = [
            x.params["status"]
            for x in SMS.state.sent.values()
            if x.params["ticket_no"] == accepted["ticket_no"]
        ]
        # One text per change, and one more when the plan went on public notice (公示).
        return (changes, told) if "approved" in changes and len(told) == len(changes) + 1 else None

    changes, told = wait_for(told_of_all, what="a text per change")
    expected = [phrase(status) for status in changes]
    expected.insert(changes.index("approved"), "方案公示")
    assert told == expected, (told, changes)


def test_a_calendar_correction_recomputes_the_clocks_it_moves(
    system: RunningSystem, client: httpx.Client
) -> None:
    offset = float(Path(system.env["GUANJIA_CLOCK_FILE"]).read_text())
    today = (datetime.now(UTC) + timedelta(seconds=offset)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    row = db_scalar(
        "SELECT json_build_array(id, due_date) FROM deadlines.clocks WHERE state = 'running'"
        " AND due_date > :d AND extract(year FROM due_date) = :y ORDER BY due_date, id LIMIT 1",
        d=today + timedelta(days=1),
        y=today.year,
    )
    if not row:
        pytest.skip("no running clock ends later this year")
    clock_id, due = row[0], row[1]
    # The city declares the clock's last day a day off: that clock ends later, and says so. An
    # upload is the year's whole schedule: the package's days, and the new one.
    year = current_schedule(WorkingCalendar(), today.year)
    schedule = {
        "holidays": sorted(d.isoformat() for d in year.holidays),
        "workdays": sorted(d.isoformat() for d in year.workdays),
    }
    path = f"/api/v1/calendar/years/{today.year}"
    added = client.put(
        path, json={**schedule, "holidays": [*schedule["holidays"], due]}, headers=bearer(CITY)
    )
    assert added.status_code == 200, added.text
    assert added.json()["now_off"] == [due]
    moved = {c["clock_id"]: c for c in added.json()["clocks"]}
    assert (
        clock_id in moved and moved[clock_id]["due_date_before"] == due and moved[clock_id]["due_date"] > due
    )
    # The correction takes the day away again, explicitly: the clock is back where it was.
    removed = client.put(path, json={**schedule, "remove_holidays": [due]}, headers=bearer(CITY))
    assert removed.status_code == 200, removed.text
    assert removed.json()["now_working"] == [due]
    back = {c["clock_id"]: c for c in removed.json()["clocks"]}
    assert back[clock_id]["due_date"] == due, back[clock_id]


def test_a_policy_benefit_topped_up_by_donors(system: RunningSystem, client: httpx.Client) -> None:
    session = resident(client, WECHAT)
    filed = client.post(
        "/api/v1/miniprogram/appeals",
        json={
            "description": f"我老公去年去世，我一个人带两个孩子，没有收入，想申请低保（{uuid.uuid4().hex[:4]}）",
            "town_code": HUMEN,
        },
        headers={**session, "Idempotency-Key": f"sys16-{uuid.uuid4().hex[:20]}"},
    )
    assert filed.status_code == 201, filed.text
    accepted = filed.json()
    wait_for(lambda: public(client, accepted)["status"] != "received", what="triaged")
    decided = client.post(
        f"/api/v1/routing/triage/{accepted['appeal_id']}/decision",
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

    def topped_up() -> dict[str, Any] | None:
        doc = public(client, accepted)
        return doc if doc.get("secondary_track") == "direct" else None

    status = wait_for(topped_up, what="the secondary track in public")
    assert status["track"] == "policy"
    listed = client.put(
        f"/api/v1/donors/listings/{accepted['appeal_id']}",
        json={"summary": "虎门镇一户单亲家庭临时生活困难", "target_fen": 200_000},
        headers=bearer(TOWN),
    )
    assert listed.status_code == 200 and listed.json()["state"] == "open", listed.text
