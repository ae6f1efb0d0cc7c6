"""The deadlines service's internal API over HTTP, and the calendar through the gateway, on the
real database."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from deadlines.api.app import app
from deadlines.models import Clock
from deadlines.service.calendar import (
    TZ,
    WorkingCalendar,
    end_of_day,
    estimated_rest_days,
    statutory_holidays,
)
from services.common.auth import Principal
from services.common.db import session_scope
from tests.deadlines.support import VILLAGE, announced, assigned, clocks_of, feed, received
from tests.fixtures import auth, bearer, drain, staff

PROBLEM_JSON = "application/problem+json"
# The first year the installed calendar package does not cover; found, not assumed, so that a
# package upgrade moves the test on instead of breaking it.
ESTIMATED_YEAR = next(y for y in count(2025) if not WorkingCalendar().has_official_data(y))


async def _due(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/internal/calendar/due", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"]  # in Chinese, for people
    return body


class TestDue:
    async def test_national_day_2025(self, client: httpx.AsyncClient) -> None:
        assert await _due(client, start="2025-09-30", working_days=1) == {
            "due": "2025-10-09",
            "provisional": False,
        }

    async def test_spring_festival_2026_make_up_saturday(self, client: httpx.AsyncClient) -> None:
        # Saturday Feb 14 2026 is a make-up working day: one day after Friday Feb 13 is that Saturday.
        assert await _due(client, start="2026-02-13", working_days=1) == {
            "due": "2026-02-14",
            "provisional": False,
        }
        # Then the holiday, Feb 15–23: the next working day is Tuesday Feb 24.
        assert (await _due(client, start="2026-02-13", working_days=2))["due"] == "2026-02-24"

    async def test_six_months_ending_in_a_holiday(self, client: httpx.AsyncClient) -> None:
        # Nominally Oct 1 2025, National Day: the period ends on the first working day after it.
        assert await _due(client, start="2025-04-01", months=6) == {"due": "2025-10-09", "provisional": False}

    async def test_datetime_start_is_taken_at_its_dongguan_date(self, client: httpx.AsyncClient) -> None:
        # 17:00 UTC on Sep 30 is already Oct 1 in Dongguan: the count starts after the holiday day.
        assert (await _due(client, start="2025-09-30T17:00:00Z", working_days=1))["due"] == "2025-10-09"
        assert (await _due(client, start="2025-10-09T23:30:00", working_days=1))["due"] == "2025-10-10"
        assert (await _due(client, start="2025-10-09T10:00:00+08:00", working_days=1))["due"] == "2025-10-10"


async def _gateway_due(gateway: httpx.AsyncClient, start: date) -> dict[str, Any]:
    params: dict[str, str | int] = {"start": start.isoformat(), "working_days": 1}
    response = await gateway.get("/api/v1/calendar/due", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _first_weekday_after(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class TestYearsBeyondTheData:
    """Past the package's data (2027 with chinesecalendar 1.11), through the gateway: an estimate
    that counts the statutory holidays, not only weekends, marked provisional; city staff upload the
    year (``PUT /api/v1/calendar/years/{year}``) and the answer is exact; the clocks events started on
    the estimate are recomputed and announced again. A year can also arrive with a newer package:
    the worker settles it as it starts."""

    async def test_provisional_until_the_city_uploads_the_year_then_exact_and_clocks_recomputed(
        self, gateway: httpx.AsyncClient
    ) -> None:
        year = ESTIMATED_YEAR
        # A hypothetical notice: National Day Oct 1–7 off, the Saturday after it worked.
        holidays = sorted(estimated_rest_days(year) | {date(year, 10, d) for d in range(1, 8)})
        saturday = date(year, 10, 8) + timedelta(days=(5 - date(year, 10, 8).weekday()) % 7)
        schedule = {"holidays": [d.isoformat() for d in holidays], "workdays": [saturday.isoformat()]}
        # Clocks started by events: triage counting into National Day of the estimated year, and a
        # handling clock assigned on Dec 30 of the year before whose ten working days reach into it.
        national_day, new_year = uuid.uuid4(), uuid.uuid4()
        assigned_at = datetime(year - 1, 12, 30, 10, tzinfo=TZ)
        await feed(received(national_day, datetime(year, 9, 30, 10, tzinfo=TZ)))
        await feed(received(new_year, assigned_at), assigned(new_year, assigned_at))

        estimate = await _gateway_due(gateway, date(year, 9, 30))
        estimated = date.fromisoformat(estimate["due"])
        assert estimate["provisional"] is True
        # Oct 1–3 are statutory and their weekend days owed back: later than weekends alone give.
        assert estimated > _first_weekday_after(date(year, 9, 30)) and estimated.weekday() < 5
        assert estimated not in {h.day for h in statutory_holidays(year)}

        triage = (await clocks_of(national_day))["triage", 0]
        handling = (await clocks_of(new_year))["handling", 1]
        assert (triage.due_date, triage.provisional) == (estimated, True)
        assert handling.provisional and handling.due_date.year == year
        assert not (await clocks_of(new_year))["sign_off", 1].provisional  # Dec 31: official data

        path = f"/api/v1/calendar/years/{year}"
        village = bearer(staff("village_staff", VILLAGE))
        _assert_problem(await gateway.put(path, json=schedule), 401, "unauthorized")
        _assert_problem(await gateway.put(path, json=schedule, headers=village), 403, "forbidden")
        city = bearer(staff("city_admin"))
        uploaded = await gateway.put(path, json=schedule, headers=city)
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["year"] == year and uploaded.json()["recomputed"] >= 2
        reported = {c["clock_id"]: c for c in uploaded.json()["clocks"]}
        assert len(reported) == uploaded.json()["recomputed"]
        assert reported[str(triage.id)]["due_date_before"] == estimated.isoformat()

        exact = await _gateway_due(gateway, date(year, 9, 30))
        assert exact["provisional"] is False and exact["due"] != estimate["due"]
        if year == 2027:  # Friday Oct 1: estimated Oct 1–5 off; the notice gives Oct 1–7
            assert (estimate["due"], exact["due"]) == ("2027-10-06", "2027-10-08")

        again = await gateway.put(path, json=schedule, headers=city)
        assert again.json() == {"year": year, "recomputed": 0, "now_off": [], "now_working": [], "clocks": []}

        recomputed = (await clocks_of(national_day))["triage", 0]
        assert (recomputed.due_date.isoformat(), recomputed.original_due_date.isoformat()) == (
            exact["due"],
            exact["due"],
        )
        assert not recomputed.provisional
        settled = (await clocks_of(new_year))["handling", 1]
        assert (settled.due_date, settled.provisional) == (handling.due_date, False)
        # Each refined clock is announced again as deadline.started, for the same clock id.
        assert [
            (d["due_date"], d["provisional"])
            for t, d in await announced(clock_ids=[triage.id])
            if t == "deadline.started"
        ] == [(estimate["due"], True), (exact["due"], False)]
        assert [
            d["provisional"] for t, d in await announced(clock_ids=[handling.id]) if t == "deadline.started"
        ] == [True, False]

    async def test_a_year_a_newer_package_brings_is_settled_when_the_worker_starts(self) -> None:
        appeal_id = uuid.uuid4()
        at = datetime(2025, 12, 30, 10, tzinfo=TZ)
        await feed(received(appeal_id, at), assigned(appeal_id, at))
        handling = (await clocks_of(appeal_id))["handling", 1]
        assert not handling.provisional and handling.due_date.year == 2026
        # As a release of chinesecalendar without 2026 left it: an estimate, one day off.
        guess = handling.due_date + timedelta(days=1)
        async with session_scope() as session:
            await session.execute(
                update(Clock)
                .where(Clock.id == handling.id)
                .values(provisional=True, due_date=guess, original_due_date=guess, due_at=end_of_day(guess))
            )

        await drain("deadlines")  # the worker starts (nothing queued) and settles the years that have arrived

        settled = (await clocks_of(appeal_id))["handling", 1]
        assert (settled.due_date, settled.original_due_date, settled.provisional) == (
            handling.due_date,
            handling.due_date,
            False,
        )
        assert settled.due_at == handling.due_at
        started = [d for t, d in await announced(clock_ids=[handling.id]) if t == "deadline.started"]
        assert [(d["due_date"], d["provisional"]) for d in started][-1] == (
            handling.due_date.isoformat(),
            False,
        )
        assert len(started) == 2
        await drain("deadlines")  # and a second start finds nothing more to do
        assert len([t for t, _ in await announced(clock_ids=[handling.id]) if t == "deadline.started"]) == 2


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"working_days": "1"}, "invalid_start"),
            ({"start": "next tuesday", "working_days": "1"}, "invalid_start"),
            ({"start": "2025-02-30", "working_days": "1"}, "invalid_start"),
            ({"start": "1850-01-01", "working_days": "1"}, "invalid_start"),
            ({"start": "2025-09-30"}, "invalid_period"),
            ({"start": "2025-09-30", "working_days": "1", "months": "1"}, "invalid_period"),
            ({"start": "2025-09-30", "working_days": "0"}, "invalid_period"),
            ({"start": "2025-09-30", "months": "-2"}, "invalid_period"),
            ({"start": "2025-09-30", "working_days": "ten"}, "invalid_period"),
            ({"start": "2025-09-30", "working_days": "99999999"}, "invalid_period"),
        ],
    )
    async def test_due(self, client: httpx.AsyncClient, params: dict[str, str], code: str) -> None:
        _assert_problem(await client.get("/internal/calendar/due", params=params), 422, code)

    @pytest.mark.parametrize(
        ("year", "body", "code"),
        [
            (1999, {"holidays": [], "workdays": []}, "invalid_year"),
            (2031, {"holidays": ["2031-10-01"], "workdays": ["2031-10-01"]}, "invalid_schedule"),
            (2031, {"holidays": ["2035-10-01"], "workdays": []}, "invalid_schedule"),
            (2031, {"holidays": ["2031-13-01"], "workdays": []}, "invalid_input"),
            (2031, {"holidays": [], "weekends": []}, "invalid_input"),
        ],
    )
    async def test_upload(
        self, client: httpx.AsyncClient, year: int, body: dict[str, Any], code: str
    ) -> None:
        _assert_problem(await client.put(f"/internal/calendar/years/{year}", json=body), 422, code)

    async def test_clocks_need_a_uuid(self, client: httpx.AsyncClient) -> None:
        _assert_problem(
            await client.get("/internal/clocks", params={"appeal_id": "MS2025"}), 422, "invalid_input"
        )

    async def test_unknown_appeal_has_no_clocks(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/internal/clocks", params={"appeal_id": str(uuid.uuid4())})
        assert response.status_code == 200 and response.json() == []


class TestAuth:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/internal/calendar/due?start=2025-09-30&working_days=1"),
            ("PUT", "/internal/calendar/years/2031"),
            ("GET", f"/internal/clocks?appeal_id={uuid.uuid4()}"),
        ],
    )
    async def test_missing_token(self, method: str, path: str) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deadlines") as anonymous:
            response = await anonymous.request(method, path, json={"holidays": [], "workdays": []})
        _assert_problem(response, 401, "unauthorized")

    async def test_bad_token(self) -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer not-a-token"}
        async with httpx.AsyncClient(transport=transport, base_url="http://deadlines", headers=headers) as c:
            response = await c.get(
                "/internal/calendar/due", params={"start": "2025-09-30", "working_days": 1}
            )
        _assert_problem(response, 401, "unauthorized")

    async def test_only_city_staff_upload_a_schedule(self, client: httpx.AsyncClient) -> None:
        village = Principal(
            staff_id="s1", username="cadre", role="village_staff", org_type="village", org_code="441900001001"
        )
        response = await client.put(
            "/internal/calendar/years/2031", json={"holidays": [], "workdays": []}, headers=auth(village)
        )
        _assert_problem(response, 403, "forbidden")
