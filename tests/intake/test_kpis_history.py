"""Every KPI of DESIGN §8 on a hand-built history (issue 16.8): six appeals of one village, driven
through intake's real worker (routing's and deadlines' events) and API (staff commands, return
visits, a duplicate link), then read from `GET /internal/stats/kpis`. Each expected figure is
worked out by hand from the history below, not from the code.

| appeal | what happened | counts |
| --- | --- | --- |
| A | handled by the village, signed off in time, done in time, 已解决 / 满意 | first time |
| B | the department sent it back (退单), then the village: signed off late, overdue, 部分解决 / 基本满意 | not first time |
| C | the town handed it to its station (a hop), done in time, 已解决 / 满意 | first time |
| D | 未解决 / 不满意 → round 2 → closed unrated when the return visit lapsed | not first time |
| E | the same resident as A, about something else | a repeat |
| F | another resident, the same matter as A: linked by staff | a duplicate |
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx

from intake.service.evaluations import close_unrated
from services.common.db import session_scope
from services.common.timeutil import local_today
from services.contracts.events import (
    AppealAssigned,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    DeadlineChanged,
    Event,
    EventType,
    make_event,
)
from services.contracts.vocabulary import Track, UnitType
from tests.fixtures import auth, staff
from tests.intake.projection_support import feed as feed_together
from tests.intake.support import create, draft, force, post, row

TOWN = "441900121000"  # 虎门镇
VILLAGE = "441900121012"  # 村头社区: no other test files appeals here
STATION = "ST-KPI-CUNTOU"
VILLAGE_STAFF = staff("village_staff", VILLAGE)
TOWN_STAFF = staff("town_staff", TOWN)
CITY = staff("city_admin", "city")

Rated = tuple[
    Literal["resolved", "partly", "not"], Literal["satisfied", "basically_satisfied", "dissatisfied"]
]


async def feed(*events: Event) -> None:
    """One event after the other, as routing's relay delivers one appeal's events in order."""
    for item in events:
        await feed_together(item)


def _routing(type_: EventType, appeal_id: uuid.UUID, data: Any) -> Event:
    return make_event(type_, "routing", data, appeal_id=appeal_id)


def _triaged(appeal_id: uuid.UUID, track: Track = "express") -> Event:
    data = AppealTriaged(
        kind="micro_wish",
        category="living",
        urgency="normal",
        track=track,
        town_code=TOWN,
        village_code=VILLAGE,
        catalogue_version="2026.1",
        confidence=0.9,
    )
    return _routing("appeal.triaged", appeal_id, data)


def _assigned(appeal_id: uuid.UUID, unit: tuple[UnitType, str], hop: int, track: Track = "express") -> Event:
    data = AppealAssigned(
        unit_type=unit[0],
        unit_code=unit[1],
        purpose="handle",
        kind="micro_wish",
        urgency="normal",
        track=track,
        hop=hop,
    )
    return _routing("appeal.assigned", appeal_id, data)


def _signed_off(appeal_id: uuid.UUID, unit: tuple[UnitType, str], hop: int) -> Event:
    return _routing(
        "appeal.signed_off", appeal_id, AppealSignedOff(unit_type=unit[0], unit_code=unit[1], hop=hop)
    )


def _returned(appeal_id: uuid.UUID, unit: tuple[UnitType, str], hop: int, reason: str) -> Event:
    data = AppealReturned(
        unit_type=unit[0], unit_code=unit[1], reason_code=reason, policy_basis="按职责调整", hop=hop
    )
    return _routing("appeal.returned", appeal_id, data)


def _clock(appeal_id: uuid.UUID, clock: str, state: Literal["met", "overdue"], due: date) -> Event:
    data = DeadlineChanged(
        clock_id=uuid.uuid4(),
        clock=clock,
        unit_type="village",
        unit_code=VILLAGE,
        due_at=datetime.combine(due, datetime.max.time(), tzinfo=UTC),
        due_date=due,
        provisional=False,
        state=state,
        original_due_date=due,
    )
    type_: EventType = "deadline.met" if state == "met" else "deadline.overdue"
    return make_event(type_, "deadlines", data, appeal_id=appeal_id)


async def _file(http: httpx.AsyncClient, text: str, phone: str | None = None) -> tuple[uuid.UUID, str, str]:
    """A new appeal of the village: (id, the reporter's openid, their phone)."""
    body = draft(VILLAGE, TOWN, text)
    if phone is not None:
        body["reporter"]["phone"] = phone
    accepted = await create(http, body)
    return uuid.UUID(accepted["appeal_id"]), str(body["reporter"]["openid"]), str(body["reporter"]["phone"])


async def _complete(
    http: httpx.AsyncClient, appeal_id: uuid.UUID, days_since_receipt: int | None = None
) -> None:
    if days_since_receipt is not None:
        # The receipt moved back: the first completion comes that many days after it.
        await force(appeal_id, received_at=datetime.now(UTC) - timedelta(days=days_since_receipt))
    r = await post(http, f"/internal/appeals/{appeal_id}/complete", CITY, {"reason": "已办结"})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text


async def _rate(http: httpx.AsyncClient, appeal_id: uuid.UUID, openid: str, rated: Rated) -> str:
    body = {"result": rated[0], "rating": rated[1], "openid": openid, "by": "reporter"}
    r = await post(http, f"/internal/appeals/{appeal_id}/evaluation", None, body)
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


async def _history(http: httpx.AsyncClient) -> dict[str, Any]:
    village: tuple[UnitType, str] = ("village", VILLAGE)
    # A: first time, in time, resolved and satisfied.
    a, a_openid, a_phone = await _file(http, "村头社区李伯家的热水器坏了，老人冬天洗不了热水澡")
    await feed(_triaged(a), _assigned(a, village, 1), _signed_off(a, village, 1))
    await feed(_clock(a, "sign_off", "met", local_today()), _clock(a, "handling", "met", local_today()))

    # E: A's reporter again (same phone), about something else: a repeat, never merged.
    await _file(http, "村头社区李伯想问问孙子读小学的学位怎么申请", phone=a_phone)
    # F: another resident, the same matter as A: linked (by the detector, else by staff).
    f, _, _ = await _file(http, "李伯家那台热水器还是坏的，老人洗不了热水澡，邻居帮忙再反映一下")
    if (await row(f)).status != "merged":
        link = await post(
            http, f"/internal/appeals/{f}/duplicates/{a}/confirm", VILLAGE_STAFF, {"reason": "同一事项"}
        )
        assert link.status_code == 200 and link.json()["status"] == "merged", link.text

    await _complete(http, a, days_since_receipt=2)
    assert await _rate(http, a, a_openid, ("resolved", "satisfied")) == "closed"

    # B: the department sends it back (退单); then the village, late on both clocks.
    b, b_openid, _ = await _file(http, "村头社区陈姨下岗后没有收入，生活困难想申请补助")
    department: tuple[UnitType, str] = ("department", "civil_affairs")
    await feed(_triaged(b, "policy"), _assigned(b, department, 1, "policy"), _signed_off(b, department, 1))
    await feed(_returned(b, department, 1, "not_our_remit"))
    assert (await row(b)).status == "returned"
    await feed(_triaged(b), _assigned(b, village, 2), _signed_off(b, village, 2))
    yesterday = local_today() - timedelta(days=1)
    await feed(_clock(b, "sign_off", "met", yesterday), _clock(b, "handling", "overdue", yesterday))
    await _complete(http, b, days_since_receipt=4)
    assert await _rate(http, b, b_openid, ("partly", "basically_satisfied")) == "closed"

    # C: the town hands it over to its own station: a hop, not a return.
    c, c_openid, _ = await _file(http, "村头社区独居的黄婆婆腿脚不便，希望有人定期上门探访")
    town: tuple[UnitType, str] = ("town", TOWN)
    station: tuple[UnitType, str] = ("station", STATION)
    await feed(_triaged(c, "station"), _assigned(c, town, 1, "station"), _signed_off(c, town, 1))
    await feed(_returned(c, town, 1, "reassigned"))
    await feed(_triaged(c, "station"), _assigned(c, station, 2, "station"), _signed_off(c, station, 2))
    assert (await row(c)).returns_count == 0
    await feed(_clock(c, "handling", "met", local_today()))
    await _complete(http, c, days_since_receipt=6)
    assert await _rate(http, c, c_openid, ("resolved", "satisfied")) == "closed"

    # D: not satisfied → round 2 → the return visit lapses: closed unrated (an injected clock).
    d, d_openid, _ = await _file(http, "村头社区菜市场旁的公厕下水道堵塞，臭味很大")
    await feed(_triaged(d), _assigned(d, village, 1), _signed_off(d, village, 1))
    await _complete(http, d, days_since_receipt=8)
    assert await _rate(http, d, d_openid, ("not", "dissatisfied")) == "reopened"
    assert (
        await post(http, f"/internal/appeals/{d}/start", VILLAGE_STAFF, {"reason": "重新疏通"})
    ).status_code == 200
    await _complete(http, d)
    due = (await row(d)).evaluation_due_at
    assert due is not None
    async with session_scope() as session:
        assert await close_unrated(session, now=due + timedelta(minutes=1)) >= 1
    assert (await row(d)).closed_unrated

    r = await http.get(
        "/internal/stats/kpis",
        params={"level": "village", "code": VILLAGE, "period": "month", "start": local_today().isoformat()},
        headers=auth(TOWN_STAFF),
    )
    assert r.status_code == 200, r.text
    (figures,) = r.json()["rows"]
    return dict(figures)


_FIGURES: dict[str, Any] = {}


async def _kpis(http: httpx.AsyncClient) -> dict[str, Any]:
    """The village's figures after the history (built once, by whichever test asks first)."""
    if not _FIGURES:
        _FIGURES.update(await _history(http))
    kpis: dict[str, Any] = _FIGURES["kpis"]
    return kpis


async def test_counts_of_the_history(http: httpx.AsyncClient) -> None:
    await _kpis(http)
    counts = _FIGURES["counts"]
    assert (counts["received"], counts["closed"], counts["completed_first"], counts["completed_redone"]) == (
        6,
        4,
        4,
        1,
    )
    assert (counts["returned"], counts["closed_first_time"]) == (1, 2)  # B's send-back only


async def test_response_rate(http: httpx.AsyncClient) -> None:
    # Sign-off clocks judged: A in time, B late.
    assert (await _kpis(http))["response_rate"] == 0.5


async def test_on_time_rate(http: httpx.AsyncClient) -> None:
    # Handling clocks judged: A and C met in time, B overdue.
    assert (await _kpis(http))["on_time_rate"] == round(2 / 3, 4)


async def test_resolution_rate(http: httpx.AsyncClient) -> None:
    # Return visits: A and C resolved, B partly, D (round 1) not.
    assert (await _kpis(http))["resolution_rate"] == 0.5


async def test_satisfaction_rate(http: httpx.AsyncClient) -> None:
    # Ratings: A and C 满意, B 基本满意, D 不满意.
    assert (await _kpis(http))["satisfaction_rate"] == 0.75


async def test_first_time_rate_counts_a_hand_over_as_a_hop(http: httpx.AsyncClient) -> None:
    # Closed: A and C first time (C's hand-over to the station is a hop), B sent back, D redone.
    assert (await _kpis(http))["first_time_rate"] == 0.5


async def test_duplicate_rate(http: httpx.AsyncClient) -> None:
    assert (await _kpis(http))["duplicate_rate"] == round(1 / 6, 4)  # F of six received


async def test_repeat_rate(http: httpx.AsyncClient) -> None:
    assert (await _kpis(http))["repeat_rate"] == round(1 / 6, 4)  # E of six received


async def test_unrated_share(http: httpx.AsyncClient) -> None:
    assert (await _kpis(http))["unrated_share"] == 0.25  # D of four closed


async def test_average_handling_days(http: httpx.AsyncClient) -> None:
    # First completions 2, 4, 6 and 8 days after receipt (D's redone round does not count).
    assert (await _kpis(http))["average_handling_days"] == 5.0
