"""The deadlines service's internal API over HTTP, on the real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from deadlines import schedules, service
from deadlines.app import app
from deadlines.calendar import TZ, WorkingCalendar, YearSchedule, estimated_rest_days
from deadlines.models import messaging
from deadlines.rules import DEFAULT_RULES
from services.common.auth import Principal, mint_service_token
from services.common.db import session_scope

PROBLEM_JSON = "application/problem+json"
# The first year the installed calendar package does not cover; found, not assumed, so that a
# package upgrade moves the test on instead of breaking it.
ESTIMATED_YEAR = next(y for y in count(2025) if not WorkingCalendar().has_official_data(y))


def _auth(actor: Principal | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token('gateway', actor)}"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://deadlines", headers=_auth()) as c:
        yield c


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

    async def test_estimated_year_is_provisional_until_its_schedule_arrives(
        self, client: httpx.AsyncClient
    ) -> None:
        year = ESTIMATED_YEAR
        holidays = sorted(estimated_rest_days(year) | {date(year, 10, d) for d in range(1, 8)})
        saturday = date(year, 10, 8) + timedelta(days=(5 - date(year, 10, 8).weekday()) % 7)
        schedule = YearSchedule(year, frozenset(holidays), frozenset({saturday}))
        start = datetime(year, 9, 30, 10, tzinfo=TZ)
        estimated = WorkingCalendar().add_working_days(start, 1)
        exact = WorkingCalendar({year: schedule}).add_working_days(start, 1)
        assert estimated.provisional and not exact.provisional and estimated.due != exact.due

        before = await _due(client, start=start.date().isoformat(), working_days=1)
        assert before == {"due": estimated.due.isoformat(), "provisional": True}
        clock_id, appeal_id = await _start_triage_clock(start)

        response = await client.put(
            f"/internal/calendar/years/{year}",
            json={"holidays": [d.isoformat() for d in holidays], "workdays": [saturday.isoformat()]},
        )
        assert response.status_code == 200, response.text
        assert response.json()["year"] == year
        assert response.json()["recomputed"] >= 1

        after = await _due(client, start=start.date().isoformat(), working_days=1)
        assert after == {"due": exact.due.isoformat(), "provisional": False}

        clocks = (await client.get("/internal/clocks", params={"appeal_id": str(appeal_id)})).json()
        assert [(c["id"], c["due_date"], c["original_due_date"], c["provisional"]) for c in clocks] == [
            (str(clock_id), exact.due.isoformat(), exact.due.isoformat(), False)
        ]
        # The refined date is announced again as deadline.started for the same clock.
        announced = await _outbox(appeal_id)
        assert [(t, p["data"]["due_date"], p["data"]["provisional"]) for t, p in announced] == [
            ("deadline.started", estimated.due.isoformat(), True),
            ("deadline.started", exact.due.isoformat(), False),
        ]

        # Uploading the same schedule again changes nothing.
        again = await client.put(
            f"/internal/calendar/years/{year}",
            json={"holidays": [d.isoformat() for d in holidays], "workdays": [saturday.isoformat()]},
        )
        assert again.json() == {"year": year, "recomputed": 0}


async def _start_triage_clock(started_at: datetime) -> tuple[uuid.UUID, uuid.UUID]:
    appeal_id = uuid.uuid4()
    rule = DEFAULT_RULES.rule_for("triage")
    assert rule is not None
    async with session_scope() as session:
        appeal = await service.lock_appeal(session, appeal_id)
        calendar = await schedules.current_calendar(session)
        clock = await service.start_clock(
            session,
            calendar,
            appeal,
            rule,
            rules_version=DEFAULT_RULES.version,
            started_at=started_at,
            unit=service.CITY,
        )
        assert clock is not None
        return clock.id, appeal_id


async def _outbox(appeal_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.type, outbox.c.payload)
            .where(outbox.c.appeal_id == appeal_id)
            .order_by(outbox.c.seq)
        )
        return [(row.type, row.payload) for row in rows]


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
            "/internal/calendar/years/2031", json={"holidays": [], "workdays": []}, headers=_auth(village)
        )
        _assert_problem(response, 403, "forbidden")
