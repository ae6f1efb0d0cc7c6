"""Due and overdue lists per unit (paged, in deadline order, scoped) and on-time rates per unit and
period, judged against the original deadline, through the internal API on the real database."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import httpx
import pytest

from deadlines.models import Clock
from deadlines.schemas import DecisionIn, ExtensionIn
from deadlines.service import clocks as service
from deadlines.service import extensions, schedules
from deadlines.service.hierarchy import Unit
from deadlines.service.rates import judge, tally
from deadlines.service.sweep import sweep_once
from services.common.db import session_scope
from services.common.messaging import utcnow
from tests.deadlines.support import (
    OTHER_TOWN,
    TOWN,
    VILLAGE,
    ago,
    assert_problem,
    local,
    new_clock,
)
from tests.fixtures import auth, staff


def _department() -> Unit:
    return Unit("department", f"dept_{uuid.uuid4().hex[:10]}")


class TestLists:
    async def test_a_unit_pages_through_its_own_clocks_in_deadline_order(
        self, client: httpx.AsyncClient
    ) -> None:
        unit = _department()
        clocks = [await new_clock("handling", ago(days), unit) for days in (1, 5, 3, 0, 2)]
        expected = [str(c.id) for c in sorted(clocks, key=lambda c: (c.due_at, c.id))]
        own = auth(staff("department_staff", unit.code or ""))
        first = (await client.get("/internal/deadlines/due?page_size=3", headers=own)).json()
        second = (await client.get("/internal/deadlines/due?page_size=3&page=2", headers=own)).json()
        assert [c["id"] for c in first["items"] + second["items"]] == expected
        assert (first["has_more"], second["has_more"]) == (True, False)
        before = min(c.due_date for c in clocks)
        due_soon = (await client.get(f"/internal/deadlines/due?before={before}", headers=own)).json()
        assert [c["due_date"] for c in due_soon["items"]] == [before.isoformat()] * len(due_soon["items"])
        # The city names the unit; another department may not.
        city = (
            await client.get(
                "/internal/deadlines/due",
                params={"unit_type": "department", "unit_code": unit.code, "page_size": 10},
                headers=auth(staff("city_admin")),
            )
        ).json()
        assert [c["id"] for c in city["items"]] == expected
        other = auth(staff("department_staff", "civil_affairs"))
        response = await client.get(
            "/internal/deadlines/due",
            params={"unit_type": "department", "unit_code": unit.code},
            headers=other,
        )
        assert_problem(response, 403, "out_of_scope")

    async def test_overdue_list_after_the_sweep(self, client: httpx.AsyncClient) -> None:
        unit = _department()
        late = [await new_clock("sign_off", ago(days), unit) for days in (6, 9)]
        await new_clock("handling", ago(0), unit)
        await sweep_once()
        own = auth(staff("department_staff", unit.code or ""))
        listed = (await client.get("/internal/deadlines/overdue", headers=own)).json()["items"]
        assert [c["id"] for c in listed] == [str(late[1].id), str(late[0].id)]
        assert all(c["state"] == "overdue" and c["escalation_level"] >= 1 for c in listed)
        running = (await client.get("/internal/deadlines/due", headers=own)).json()["items"]
        assert [c["clock"] for c in running] == ["handling"]

    async def test_a_town_sees_its_villages_and_stations_and_nothing_else(
        self, client: httpx.AsyncClient
    ) -> None:
        station = f"ST-{uuid.uuid4().hex[:8]}"
        mine = [
            await new_clock("handling", ago(0), Unit("village", VILLAGE)),
            await new_clock("handling", ago(0), Unit("station", station), appeal_town=TOWN),
            await new_clock("handling", ago(0), Unit("town", TOWN)),
        ]
        foreign = await new_clock(
            "handling", ago(0), Unit("station", f"ST-{uuid.uuid4().hex[:8]}"), appeal_town=OTHER_TOWN
        )
        town = auth(staff("town_staff", TOWN))
        seen: set[str] = set()
        page = 1
        while True:
            body = (
                await client.get(f"/internal/deadlines/due?page_size=200&page={page}", headers=town)
            ).json()
            seen |= {c["id"] for c in body["items"]}
            assert all(c["scope_town"] == TOWN for c in body["items"])
            if not body["has_more"]:
                break
            page += 1
        assert {str(c.id) for c in mine} <= seen and str(foreign.id) not in seen
        named = await client.get(
            "/internal/deadlines/due", params={"unit_type": "station", "unit_code": station}, headers=town
        )
        assert [c["id"] for c in named.json()["items"]] == [str(mine[1].id)]
        for unit_type, code in (("village", "441900003001"), ("town", OTHER_TOWN), ("department", "health")):
            refused = await client.get(
                "/internal/deadlines/due", params={"unit_type": unit_type, "unit_code": code}, headers=town
            )
            assert_problem(refused, 403, "out_of_scope")
        # A village sees only itself.
        village = auth(staff("village_staff", VILLAGE))
        own = (await client.get("/internal/deadlines/due?page_size=200", headers=village)).json()["items"]
        assert {c["unit_code"] for c in own} == {VILLAGE}

    @pytest.mark.parametrize(
        ("query", "code"),
        [
            ("unit_type=village", "invalid_scope"),
            ("unit_code=441900121001", "invalid_scope"),
            ("unit_type=planet&unit_code=mars", "invalid_scope"),
            ("page=0", "invalid_input"),
            ("page_size=1000", "invalid_input"),
            ("before=tomorrow", "invalid_input"),
        ],
    )
    async def test_bad_input(self, client: httpx.AsyncClient, query: str, code: str) -> None:
        assert_problem(await client.get(f"/internal/deadlines/due?{query}"), 422, code)


async def _meet(clock: Clock, at: datetime) -> None:
    async with session_scope() as session:
        row = await session.get(Clock, clock.id, with_for_update=True)
        assert row is not None
        await service.meet_clocks(session, [row], at)


class TestRates:
    async def test_rates_per_unit_and_period_against_the_original_deadline(
        self, client: httpx.AsyncClient
    ) -> None:
        unit = _department()
        start = local(2025, 10, 13)  # handling: 10 working days, due Oct 27; sign-off due Oct 14
        on_time, extended, late, stopped = [await new_clock("handling", start, unit) for _ in range(4)]
        signed, unsigned = (
            (await new_clock("sign_off", start, unit)),
            (await new_clock("sign_off", start, unit)),
        )
        november = await new_clock("handling", local(2025, 11, 20), unit)

        await _meet(on_time, local(2025, 10, 20))
        # Extended by 3 working days before the deadline and met within the extension: still late.
        head = staff("department_staff", unit.code or "")
        async with session_scope() as session:
            calendar = await schedules.current_calendar(session)
            asked = (
                await extensions.request_extension(
                    session,
                    calendar,
                    extended.id,
                    head,
                    ExtensionIn(days=3, reason="会商"),
                    local(2025, 10, 22),
                )
            ).value
            await extensions.decide_extension(
                session,
                calendar,
                asked.id,
                staff("city_admin"),
                DecisionIn(decision="approve"),
                local(2025, 10, 23),
            )
        await _meet(extended, local(2025, 10, 29))
        await _meet(late, local(2025, 11, 5))
        async with session_scope() as session:
            row = await session.get(Clock, stopped.id, with_for_update=True)
            assert row is not None
            await service.stop_clocks(session, [row], local(2025, 10, 15))
        await _meet(signed, local(2025, 10, 14, 16))
        await _meet(november, local(2025, 12, 1))

        params = {"from": "2025-10-01", "to": "2025-10-31", "unit_type": "department", "unit_code": unit.code}
        october = (await client.get("/internal/deadlines/rates", params=params)).json()
        assert october["units"] == [
            {
                "unit_type": "department",
                "unit_code": unit.code,
                "response": {"due": 2, "on_time": 1, "rate": 0.5},
                "completion": {"due": 3, "on_time": 1, "rate": 0.3333},
            }
        ]
        assert october["total"]["completion"] == {"due": 3, "on_time": 1, "rate": 0.3333}
        later = (
            await client.get(
                "/internal/deadlines/rates", params={**params, "from": "2025-11-01", "to": "2025-12-31"}
            )
        ).json()
        assert later["units"][0]["completion"] == {"due": 1, "on_time": 1, "rate": 1.0}
        assert later["units"][0]["response"] == {"due": 0, "on_time": 0, "rate": None}

        # The SQL judges exactly as the pure rule does.
        now = utcnow()
        async with session_scope() as session:
            rows = [await session.get(Clock, c.id) for c in (on_time, extended, late, stopped, november)]
        verdicts = [
            judge(r.state, r.original_due_date, met_at=r.met_at, paused_at=r.paused_at, now=now)
            for r in rows
            if r is not None
        ]
        window = (local(2025, 10, 1, 0), local(2025, 11, 1, 0))
        counted = tally(verdicts, *window)
        assert (counted.due, counted.on_time) == (3, 1)
        assert unsigned.original_due_date == date(2025, 10, 14)

    async def test_scope_and_bad_periods(self, client: httpx.AsyncClient) -> None:
        village = auth(staff("village_staff", VILLAGE))
        mine = await client.get("/internal/deadlines/rates?from=2025-01-01&to=2025-12-31", headers=village)
        assert mine.status_code == 200
        assert {u["unit_code"] for u in mine.json()["units"]} <= {VILLAGE}
        refused = await client.get(
            "/internal/deadlines/rates?from=2025-01-01&unit_type=village&unit_code=441900121002",
            headers=village,
        )
        assert_problem(refused, 403, "out_of_scope")
        for query, code in (
            ("from=2025-10-31&to=2025-10-01", "invalid_range"),
            ("from=2024-01-01&to=2025-12-31", "invalid_range"),
            ("to=2025-12-31", "invalid_input"),
            ("from=2025-13-01", "invalid_input"),
        ):
            assert_problem(await client.get(f"/internal/deadlines/rates?{query}"), 422, code)
        today = (utcnow() + timedelta(hours=8)).date()
        default = await client.get(f"/internal/deadlines/rates?from={today - timedelta(days=30)}")
        assert default.json()["end"] == today.isoformat()
