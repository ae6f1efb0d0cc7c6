"""Calendar upload (issue 16.10) through the gateway on the real database: every date in its
year, nothing removed unless the upload says so, every clock the change touches recomputed
(provisional or not, running or met) and reported.

Far years that no other test uses, so that what is uploaded here changes no other test's clocks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest

from deadlines.service import clocks as service
from deadlines.service.calendar import TZ, WorkingCalendar, YearSchedule, estimated_rest_days
from deadlines.service.hierarchy import Unit
from deadlines.service.uploads import changed_days, current_schedule, merged_schedule
from services.common.db import session_scope
from tests.deadlines.support import VILLAGE, announced, assert_problem, new_clock
from tests.fixtures import bearer, staff

CITY = bearer(staff("city_admin"))


async def _put(gateway: httpx.AsyncClient, year: int, body: dict[str, Any]) -> httpx.Response:
    return await gateway.put(f"/api/v1/calendar/years/{year}", json=body, headers=CITY)


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


async def test_an_upload_adds_and_only_named_days_are_removed(gateway: httpx.AsyncClient) -> None:
    year = 2062
    rest = sorted(d for d in estimated_rest_days(year) if d.weekday() < 5)
    kept = rest[0]  # an estimated day off (New Year's Day or its substitute)
    extra = date(year, 6, 15) if date(year, 6, 15).weekday() < 5 else date(year, 6, 17)

    # The old body shape adds: the estimate's days off stay off.
    added = await _put(gateway, year, {"holidays": [extra.isoformat()], "workdays": []})
    assert added.status_code == 200, added.text
    assert added.json()["now_off"] == [extra.isoformat()] and added.json()["now_working"] == []
    day_before = date.fromordinal(kept.toordinal() - 1)
    assert await _due(gateway, day_before, 1) != kept.isoformat()

    # Leaving a day out of a later upload removes nothing.
    again = await _put(gateway, year, {"holidays": [], "workdays": []})
    assert again.json()["now_off"] == [] and again.json()["now_working"] == []

    # A day that is off is made a working day only when named.
    assert_problem(await _put(gateway, year, {"workdays": [kept.isoformat()]}), 422, "invalid_schedule")
    removed = await _put(gateway, year, {"remove_holidays": [kept.isoformat()]})
    assert removed.json()["now_working"] == [kept.isoformat()]
    assert await _due(gateway, day_before, 1) == kept.isoformat()

    # replace: the lists are the whole year; every other weekday off becomes a working day.
    replaced = await _put(gateway, year, {"holidays": [extra.isoformat()], "replace": True})
    assert set(replaced.json()["now_working"]) == {d.isoformat() for d in rest if d != kept}


async def test_every_clock_the_change_touches_is_recomputed_and_reported(gateway: httpx.AsyncClient) -> None:
    year = 2063
    assert (await _put(gateway, year, {})).status_code == 200  # official now: clocks are not provisional
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
    response = await _put(gateway, year, {"holidays": [wednesday.isoformat()]})
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


def test_merging_is_pure_arithmetic() -> None:
    base = YearSchedule(2070, frozenset({date(2070, 1, 1)}), frozenset({date(2070, 1, 4)}))
    merged = merged_schedule(2070, base, holidays=[date(2070, 5, 1)], workdays=[])
    assert merged.holidays == {date(2070, 1, 1), date(2070, 5, 1)} and merged.workdays == {date(2070, 1, 4)}
    removed = merged_schedule(2070, base, holidays=[], workdays=[], remove_workdays=[date(2070, 1, 4)])
    assert removed.workdays == frozenset()
    with pytest.raises(ValueError, match="不在 2070 年内"):
        merged_schedule(2070, base, holidays=[date(2069, 12, 31)], workdays=[])
    calendar = WorkingCalendar()
    now = current_schedule(calendar, 2070)
    after = WorkingCalendar({2070: merged_schedule(2070, now, holidays=[date(2070, 3, 12)], workdays=[])})
    assert changed_days(calendar, after, 2070) == ([date(2070, 3, 12)], [])
