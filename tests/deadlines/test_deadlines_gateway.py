"""The gateway's deadline routes: staff tokens, early scope refusals, forwarding to the deadlines
service (in-process behind the gateway's own client) and the appeal check through intake."""

from __future__ import annotations

import uuid

import httpx
import pytest

from deadlines.service.hierarchy import Unit
from intake.service import records
from services.common.auth import Principal
from services.common.db import session_scope
from services.contracts.appeals import AppealDraft
from services.gateway.api.deadlines import check_unit
from services.gateway.errors import DeadlinesOutOfScope as OutOfScope
from tests.deadlines.support import TOWN, VILLAGE, ago, assert_problem, new_clock
from tests.fixtures import bearer, staff


class TestScope:
    """The gateway's early refusals, as a pure function of the token and the unit asked for."""

    @pytest.mark.parametrize(
        ("principal", "unit_type", "unit_code", "allowed"),
        [
            (staff("village_staff", VILLAGE), "village", VILLAGE, True),
            (staff("village_staff", VILLAGE), "village", "441900121002", False),
            (staff("station_staff", "ST-1"), "station", "ST-1", True),
            (staff("station_staff", "ST-1"), "village", VILLAGE, False),
            (staff("department_staff", "health"), "department", "civil_affairs", False),
            (staff("town_staff", TOWN), "village", VILLAGE, True),
            (staff("town_staff", TOWN), "village", "441900003001", False),
            (staff("town_staff", TOWN), "town", "441900003000", False),
            (staff("town_staff", TOWN), "department", "health", False),
            (staff("town_staff", TOWN), "station", "ST-9", True),  # its town is the service's to check
            (staff("city_admin"), "department", "health", True),
            (staff("auditor"), "village", VILLAGE, True),
            (staff("village_staff", VILLAGE), None, None, True),
        ],
    )
    def test_check_unit(
        self, principal: Principal, unit_type: str | None, unit_code: str | None, allowed: bool
    ) -> None:
        if allowed:
            check_unit(principal, unit_type, unit_code)
        else:
            with pytest.raises(OutOfScope):
                check_unit(principal, unit_type, unit_code)


class TestRoutes:
    async def test_a_staff_token_is_required(self, gateway: httpx.AsyncClient) -> None:
        for path in ("/api/v1/deadlines/due", "/api/v1/deadlines/rules", "/api/v1/deadlines/extensions"):
            assert_problem(await gateway.get(path), 401, "unauthorized")
        bad = {"Authorization": "Bearer nonsense"}
        assert_problem(await gateway.get("/api/v1/deadlines/overdue", headers=bad), 401, "unauthorized")

    async def test_lists_are_forwarded_within_scope(self, gateway: httpx.AsyncClient) -> None:
        clock = await new_clock("handling", ago(0), Unit("village", VILLAGE))
        village = bearer(staff("village_staff", VILLAGE))
        own = await gateway.get("/api/v1/deadlines/due", params={"page_size": 200}, headers=village)
        assert own.status_code == 200, own.text
        assert {c["unit_code"] for c in own.json()["items"]} == {VILLAGE}
        town = bearer(staff("town_staff", TOWN))
        named = await gateway.get(
            "/api/v1/deadlines/due",
            params={"unit_type": "village", "unit_code": VILLAGE, "page_size": 200},
            headers=town,
        )
        assert str(clock.id) in [c["id"] for c in named.json()["items"]]
        refused = await gateway.get(
            "/api/v1/deadlines/overdue",
            params={"unit_type": "village", "unit_code": "441900121002"},
            headers=village,
        )
        assert_problem(refused, 403, "out_of_scope")
        assert_problem(
            await gateway.get("/api/v1/deadlines/due?unit_type=planet&unit_code=x", headers=village),
            422,
            "invalid_input",
        )
        rates = await gateway.get("/api/v1/deadlines/rates?from=2025-10-01&to=2025-10-31", headers=town)
        assert rates.status_code == 200 and rates.json()["start"] == "2025-10-01"
        # The service's own refusal passes through as it is.
        half = await gateway.get(
            "/api/v1/deadlines/due?unit_type=village", headers=bearer(staff("city_admin"))
        )
        assert_problem(half, 422, "invalid_scope")

    async def test_an_extension_through_the_gateway(self, gateway: httpx.AsyncClient) -> None:
        clock = await new_clock("handling", ago(0), Unit("village", VILLAGE))
        village, town = bearer(staff("village_staff", VILLAGE)), bearer(staff("town_staff", TOWN))
        body = {"days": 2, "reason": "等待村民补充材料"}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        asked = await gateway.post(
            f"/api/v1/deadlines/clocks/{clock.id}/extensions", json=body, headers=village | key
        )
        assert asked.status_code == 201, asked.text
        replay = await gateway.post(
            f"/api/v1/deadlines/clocks/{clock.id}/extensions", json=body, headers=village | key
        )
        assert (replay.status_code, replay.json()["id"]) == (200, asked.json()["id"])
        queue = (await gateway.get("/api/v1/deadlines/extensions?status=requested", headers=town)).json()
        assert asked.json()["id"] in [e["id"] for e in queue["items"]]
        decided = await gateway.post(
            f"/api/v1/deadlines/extensions/{asked.json()['id']}/decision",
            json={"decision": "approve"},
            headers=town,
        )
        assert decided.status_code == 200 and decided.json()["status"] == "approved"
        seen = (await gateway.get(f"/api/v1/deadlines/clocks/{clock.id}", headers=village)).json()
        assert (seen["extensions_used"], seen["original_due_date"]) == (
            1,
            clock.original_due_date.isoformat(),
        )
        other_village = bearer(staff("village_staff", "441900121002"))
        assert_problem(
            await gateway.get(f"/api/v1/deadlines/clocks/{clock.id}", headers=other_village),
            404,
            "clock_not_found",
        )

    async def test_rules_are_read_by_staff_and_published_by_the_city(
        self, gateway: httpx.AsyncClient
    ) -> None:
        village = bearer(staff("village_staff", VILLAGE))
        versions = await gateway.get("/api/v1/deadlines/rules", headers=village)
        assert versions.status_code == 200 and versions.json()[-1]["builtin"] is True
        one = await gateway.get(f"/api/v1/deadlines/rules/{versions.json()[-1]['version']}", headers=village)
        assert one.status_code == 200
        assert_problem(
            await gateway.post("/api/v1/deadlines/rules", json={}, headers=village), 403, "forbidden"
        )
        city = bearer(staff("city_admin"))
        assert_problem(
            await gateway.post("/api/v1/deadlines/rules", json={}, headers=city), 422, "invalid_input"
        )

    async def test_the_history_needs_the_appeal_to_be_visible(self, gateway: httpx.AsyncClient) -> None:
        draft = AppealDraft.model_validate(
            {
                "channel": "village_visit",
                "channel_ref": f"visit-{uuid.uuid4().hex}",
                "description": "村口路灯不亮",
                "location": {"town_code": TOWN, "village_code": VILLAGE},
            }
        )
        async with session_scope() as session:
            accepted, _ = await records.create_appeal(session, draft)
        city = bearer(staff("city_admin"))
        history = await gateway.get(f"/api/v1/deadlines/appeals/{accepted.appeal_id}/history", headers=city)
        assert history.status_code == 200, history.text
        assert history.json() == {"appeal_id": str(accepted.appeal_id), "clocks": []}
        unknown = await gateway.get(f"/api/v1/deadlines/appeals/{uuid.uuid4()}/history", headers=city)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")

    async def test_the_calendar_contract_is_unchanged(self, gateway: httpx.AsyncClient) -> None:
        due = await gateway.get("/api/v1/calendar/due", params={"start": "2025-09-30", "working_days": 1})
        assert due.json() == {"due": "2025-10-09", "provisional": False}
