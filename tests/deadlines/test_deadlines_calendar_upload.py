"""Calendar upload (issue 16.10) through the gateway on the real database: every date in its
year, the body the whole year, nothing of an official schedule removed unless the upload says so, every clock the change touches recomputed
(provisional or not, running or met) and reported.

Far years that no other test uses, so that what is uploaded here changes no other test's clocks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from deadlines.models import Clock, Reminder
from deadlines.service import clocks as service
from deadlines.service import uploads
from deadlines.service.calendar import TZ, WorkingCalendar, YearSchedule, end_of_day, estimated_rest_days
from deadlines.service.hierarchy import Unit
from deadlines.service.uploads import changed_days, current_schedule, new_schedule
from services.common.db import session_scope
from tests.deadlines.support import VILLAGE, announced, assert_problem, new_clock
from tests.fixtures import bearer, staff


def city() -> dict[str, str]:
    return bearer(staff("city_admin"))


VILLAGE_UNIT = Unit("village", VILLAGE)


async def _put(gateway: httpx.AsyncClient, year: int, body: dict[str, Any]) -> httpx.Response:
    return await gateway.put(f"/api/v1/calendar/years/{year}", json=body, headers=city())


async def _due(gateway: httpx.AsyncClient, start: date, working_days: int) -> str:
    r = await gateway.get(
        "/api/v1/calendar/due", params={"start": start.isoformat(), "working_days": working_days}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["due"])


async def test_a_date_outside_the_year_is_refused_and_nothing_is_stored(gateway: httpx.AsyncClient) -> None:
    year = 2061
    before = await _due(gateway, date(year, 1, 1), 1)
    problem = assert_problem(
        await _put(gateway, year, {"holidays": [f"{year - 1}-01-01"]}), 422, "invalid_schedule"
    )
    assert f"{year - 1}-01-01" in problem["detail"]
    for bad in ({"workdays": [f"{year + 1}-01-03"]}, {"remove_holidays": [f"{year - 1}-10-01"]}):
        assert_problem(await _put(gateway, year, bad), 422, "invalid_schedule")
    assert await _due(gateway, date(year, 1, 1), 1) == before
    # replace and remove at once is ambiguous: refused.
    body: dict[str, Any] = {"holidays": [], "replace": True, "remove_holidays": [f"{year}-01-01"]}
    assert_problem(await _put(gateway, year, body), 422, "invalid_input")


async def test_an_upload_is_the_whole_year_and_only_named_days_are_removed(
    gateway: httpx.AsyncClient,
) -> None:
    year = 2062
    rest = sorted(d for d in estimated_rest_days(year) if d.weekday() < 5)
    kept = rest[0]  # an estimated day off (New Year's Day or its substitute)
    extra = date(year, 6, 15) if date(year, 6, 15).weekday() < 5 else date(year, 6, 17)
    saturday = next(date(year, 3, d) for d in range(1, 8) if date(year, 3, d).weekday() == 5)
    day_before = date.fromordinal(kept.toordinal() - 1)

    # The first schedule of a year takes the estimate's place as sent.
    official = [kept, extra]
    first = await _put(
        gateway, year, {"holidays": [d.isoformat() for d in official], "workdays": [saturday.isoformat()]}
    )
    assert first.status_code == 200, first.text
    assert first.json()["now_off"] == [extra.isoformat()]
    assert set(first.json()["now_working"]) == {d.isoformat() for d in rest if d != kept} | {
        saturday.isoformat()
    }
    assert await _due(gateway, day_before, 1) != kept.isoformat()

    # A later upload is the whole year too: leaving out a day it has is refused, naming the day,
    # and nothing changes.
    partial: dict[str, Any]
    for partial in ({"holidays": [extra.isoformat()], "workdays": [saturday.isoformat()]}, {"holidays": []}):
        problem = assert_problem(await _put(gateway, year, partial), 422, "invalid_schedule")
        assert kept.isoformat() in problem["detail"] and "replace" in problem["detail"]
    moved = {"holidays": [extra.isoformat()], "workdays": [saturday.isoformat()]}  # without `kept`
    assert await _due(gateway, day_before, 1) != kept.isoformat()

    # Named, the day off is taken away, and the year is exactly what was sent.
    removed = await _put(gateway, year, {**moved, "remove_holidays": [kept.isoformat()]})
    assert removed.status_code == 200, removed.text
    assert removed.json()["now_working"] == [kept.isoformat()] and removed.json()["now_off"] == []
    assert await _due(gateway, day_before, 1) == kept.isoformat()

    # The corrected full schedule with replace: true drops what it leaves out (the make-up Saturday).
    corrected = {"holidays": [kept.isoformat(), extra.isoformat()], "workdays": [], "replace": True}
    replaced = await _put(gateway, year, corrected)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["now_off"] == sorted([kept.isoformat(), saturday.isoformat()])
    again = await _put(gateway, year, {key: v for key, v in corrected.items() if key != "replace"})
    assert again.json()["now_off"] == [] and again.json()["now_working"] == []


async def test_every_clock_the_change_touches_is_recomputed_and_reported(gateway: httpx.AsyncClient) -> None:
    year = 2063
    holidays = sorted(d.isoformat() for d in estimated_rest_days(year) if d.weekday() < 5)
    first = await _put(gateway, year, {"holidays": holidays})  # official now: clocks are not provisional
    assert first.status_code == 200, first.text
    monday = next(date(year, 3, d) for d in range(1, 8) if date(year, 3, d).weekday() == 0)
    start = datetime(monday.year, monday.month, monday.day, 10, tzinfo=TZ)
    running = await new_clock("handling", start, Unit("village", VILLAGE))  # 10 working days
    met = await new_clock("handling", start, Unit("village", VILLAGE))
    untouched = await new_clock("sign_off", start, Unit("village", VILLAGE))  # due Tuesday
    async with session_scope() as session:
        (row,) = await service.clocks_of(session, met.appeal_id, lock=True)
        await service.meet_clocks(session, [row], start)
    assert not running.provisional and running.due_date.isoformat() > monday.isoformat()
    # Wednesday of the second week becomes a day off: both handling clocks move by a day.
    wednesday = date.fromordinal(monday.toordinal() + 9)
    response = await _put(gateway, year, {"holidays": sorted([*holidays, wednesday.isoformat()])})
    body = response.json()
    assert body["now_off"] == [wednesday.isoformat()]
    reported = {c["clock_id"]: c for c in body["clocks"]}
    assert set(reported) == {str(running.id), str(met.id)}
    assert body["recomputed"] == 2
    for clock in (running, met):
        item = reported[str(clock.id)]
        assert item["due_date_before"] == clock.due_date.isoformat()
        assert date.fromisoformat(item["due_date"]) == date.fromordinal(clock.due_date.toordinal() + 1)
        assert item["original_due_date"] == item["due_date"] and item["provisional"] is False
    assert {reported[str(running.id)]["state"], reported[str(met.id)]["state"]} == {"running", "met"}
    # Announced again for the same clock, with its present state.
    last = [d for t, d in await announced(clock_ids=[met.id]) if t == "deadline.started"][-1]
    assert (last["state"], last["due_date"]) == ("met", reported[str(met.id)]["due_date"])
    assert str(untouched.id) not in reported


def test_the_new_schedule_is_pure_arithmetic() -> None:
    base = YearSchedule(2070, frozenset({date(2070, 1, 1)}), frozenset({date(2070, 1, 4)}))
    added = new_schedule(
        2070, base, holidays=[date(2070, 1, 1), date(2070, 5, 1)], workdays=[date(2070, 1, 4)]
    )
    assert added.holidays == {date(2070, 1, 1), date(2070, 5, 1)} and added.workdays == {date(2070, 1, 4)}
    with pytest.raises(ValueError, match="2070-01-04"):
        new_schedule(2070, base, holidays=[date(2070, 1, 1)], workdays=[])
    removed = new_schedule(
        2070, base, holidays=[date(2070, 1, 1)], workdays=[], remove_workdays=[date(2070, 1, 4)]
    )
    assert removed.workdays == frozenset()
    replaced = new_schedule(2070, base, holidays=[date(2070, 5, 1)], workdays=[], replace=True)
    assert replaced == YearSchedule(2070, frozenset({date(2070, 5, 1)}), frozenset())
    first = new_schedule(2070, None, holidays=[date(2070, 5, 1)], workdays=[])  # only an estimate before
    assert first.holidays == {date(2070, 5, 1)}
    with pytest.raises(ValueError, match="既要保留又要去掉"):
        new_schedule(2070, base, holidays=[date(2070, 1, 1)], workdays=[], remove_holidays=[date(2070, 1, 1)])
    with pytest.raises(ValueError, match="不在 2070 年内"):
        new_schedule(2070, base, holidays=[date(2069, 12, 31)], workdays=[])
    calendar = WorkingCalendar()
    now = current_schedule(calendar, 2070)
    after = WorkingCalendar(
        {
            2070: new_schedule(
                2070, None, holidays=[*now.holidays, date(2070, 3, 12)], workdays=[*now.workdays]
            )
        }
    )
    assert changed_days(calendar, after, 2070) == ([date(2070, 3, 12)], [])


async def test_an_overdue_clock_whose_deadline_moves_ahead_runs_again(
    gateway: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    year = 2064
    holidays = sorted(d.isoformat() for d in estimated_rest_days(year) if d.weekday() < 5)
    assert (await _put(gateway, year, {"holidays": holidays})).status_code == 200
    monday = next(date(year, 3, d) for d in range(1, 8) if date(year, 3, d).weekday() == 0)
    friday = date.fromordinal(monday.toordinal() - 3)
    # 10 working days each: one due on the third Monday, one (a working day earlier) on the Friday before.
    late = await new_clock(
        "handling", datetime(monday.year, monday.month, monday.day, 10, tzinfo=TZ), VILLAGE_UNIT
    )
    early = await new_clock(
        "handling", datetime(friday.year, friday.month, friday.day, 10, tzinfo=TZ), VILLAGE_UNIT
    )
    assert late.due_date == date.fromordinal(monday.toordinal() + 14)
    now = end_of_day(late.due_date) + timedelta(hours=1)  # both are past their deadline
    async with session_scope() as session:  # as the sweep leaves them: overdue, told, escalated
        for clock in (late, early):
            row = await session.get(Clock, clock.id)
            assert row is not None
            row.state, row.overdue_notified_at = "overdue", now
            row.escalation_level, row.escalate_at = 1, now + timedelta(days=1)
            for stage in ("warning", "overdue", "escalation:1"):
                session.add(Reminder(clock_id=clock.id, stage=stage, appeal_id=clock.appeal_id, sent_at=now))
    monkeypatch.setattr(uploads, "utcnow", lambda: now)

    # Wednesday of the second week becomes a day off: each deadline moves a working day later.
    wednesday = date.fromordinal(monday.toordinal() + 9)
    response = await _put(gateway, year, {"holidays": sorted([*holidays, wednesday.isoformat()])})
    assert response.status_code == 200, response.text
    reported = {c["clock_id"]: c for c in response.json()["clocks"]}
    # The later deadline now lies ahead: the clock runs again; the earlier one is still overdue.
    assert reported[str(late.id)]["state"] == "running"
    assert reported[str(late.id)]["due_date"] == date.fromordinal(late.due_date.toordinal() + 1).isoformat()
    assert reported[str(early.id)]["state"] == "overdue"
    last = [d for t, d in await announced(clock_ids=[late.id]) if t == "deadline.started"][-1]
    assert last["state"] == "running"
    async with session_scope() as session:
        rows = {
            c.id: c for c in await session.scalars(select(Clock).where(Clock.id.in_([late.id, early.id])))
        }
        stages = {
            (r.clock_id, r.stage)
            for r in await session.scalars(select(Reminder).where(Reminder.clock_id.in_([late.id, early.id])))
        }
    running = rows[late.id]
    assert (running.state, running.escalation_level, running.escalate_at, running.overdue_notified_at) == (
        "running",
        0,
        None,
        None,
    )
    # Its overdue and escalation are forgotten, so that they are told when the new deadline passes.
    assert stages == {(late.id, "warning")} | {(early.id, s) for s in ("warning", "overdue", "escalation:1")}
    assert rows[early.id].state == "overdue" and rows[early.id].escalation_level == 1
