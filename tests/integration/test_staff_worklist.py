"""Staff work lists through the gateway on the real services (DESIGN §10, issue 16.1).

The appeals are those of the scope test's world: filed through the gateway's staff channels,
triaged and assigned by routing's real worker, clocked by the deadlines worker and projected back
into intake (holder, next deadline). Each member of staff's list holds exactly the appeals of
their scope; filters, order, paging and the summary agree with each other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from services.common.auth import Principal
from tests.integration.security_support import PROBLEM, bearer
from tests.integration.test_security_scope import PEOPLE, World, sees
from tests.integration.test_security_scope import world as world  # the module's fixture, reused

LIST = "/api/v1/staff/appeals"


async def every_page(gw: httpx.AsyncClient, who: Principal, **params: Any) -> list[dict[str, Any]]:
    """The whole list, page by page, asserting that no row comes twice."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": params.get("limit", 200), **({"cursor": cursor} if cursor else {})}
        r = await gw.get(LIST, params=query, headers=bearer(who))
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [i["appeal_id"] for i in items]
    assert len(ids) == len(set(ids)), "a row came twice across pages"
    return items


def deadline_order(items: list[dict[str, Any]]) -> list[tuple[bool, datetime, datetime]]:
    return [
        (
            i["next_due_at"] is None,
            datetime.fromisoformat(i["next_due_at"] or i["received_at"]),
            datetime.fromisoformat(i["received_at"]),
        )
        for i in items
    ]


async def test_each_member_of_staff_lists_exactly_the_appeals_of_their_scope(world: World) -> None:
    gw = world.system.gateway
    ours = set(sees(world))
    for name, who in PEOPLE.items():
        listed = {i["appeal_id"] for i in await every_page(gw, who)} & ours
        expected = {appeal for appeal, allowed in sees(world).items() if name in allowed}
        assert listed == expected, name


async def test_rows_carry_the_projected_holder_and_next_deadline(world: World) -> None:
    gw = world.system.gateway
    village = PEOPLE["village"]
    rows = {i["appeal_id"]: i for i in await every_page(gw, village)}
    row = rows[world.department]
    assert row["holder"]["type"] == "department" and row["holder"]["code"] == "civil_affairs"
    assert row["village"] == "北栅社区" and row["town"] is not None
    assert row["ticket_no"].startswith("MS") and row["kind"] is not None
    for appeal_id in (world.village, world.department, world.station):
        clocks = (await gw.get(f"/api/v1/staff/appeals/{appeal_id}/clocks", headers=bearer(village))).json()
        live = [
            datetime.fromisoformat(c["due_at"]) for c in clocks if c["state"] == "running" and c["due_at"]
        ]
        listed = rows[appeal_id]["next_due_at"]
        assert (datetime.fromisoformat(listed) if listed else None) == (min(live) if live else None), (
            appeal_id
        )
        assert rows[appeal_id]["overdue"] is False


async def test_the_list_is_sorted_by_next_deadline_and_pages_without_gaps(world: World) -> None:
    gw = world.system.gateway
    city = PEOPLE["city"]
    whole = await every_page(gw, city)
    paged = await every_page(gw, city, limit=2)
    assert [i["appeal_id"] for i in paged] == [i["appeal_id"] for i in whole]
    assert deadline_order(whole) == sorted(deadline_order(whole))
    assert any(i["next_due_at"] for i in whole)


async def test_filters(world: World) -> None:
    gw = world.system.gateway
    town, department = PEOPLE["town"], PEOPLE["department"]
    ticket = next(i["ticket_no"] for i in await every_page(gw, town) if i["appeal_id"] == world.village)
    by_ticket = await every_page(gw, town, q=ticket)
    assert [i["appeal_id"] for i in by_ticket] == [world.village]
    by_text = {i["appeal_id"] for i in await every_page(gw, town, q="龙眼路")}
    assert world.village in by_text and world.other_village not in by_text
    mine = {i["appeal_id"] for i in await every_page(gw, department, holder="mine")}
    assert world.department in mine
    assert all(
        i["holder"]["code"] == "civil_affairs" for i in await every_page(gw, department, holder="mine")
    )
    in_village = await every_page(gw, town, village_code="441900121016")
    assert world.other_village in {i["appeal_id"] for i in in_village}
    assert all(i["village_code"] == "441900121016" for i in in_village)
    for item in await every_page(gw, town, overdue="false", status="approved"):
        assert item["status"] == "approved" and not item["overdue"]
    soon = await every_page(gw, town, due_before="2000-01-01T00:00:00Z")
    assert soon == []
    # A date alone is that day's start in Beijing time: every appeal with a deadline comes before 2100.
    dated = {i["appeal_id"] for i in await every_page(gw, town) if i["next_due_at"]}
    assert dated and {i["appeal_id"] for i in await every_page(gw, town, due_before="2100-01-01")} == dated
    assert {i["appeal_id"] for i in await every_page(gw, town, due_before="2100-01-01T08:00:00")} == dated
    # Another village's filter does not widen a village's scope.
    other = await every_page(gw, PEOPLE["village"], village_code="441900121016")
    assert other == []


async def test_a_cursor_that_is_not_ours_is_a_422_problem(world: World) -> None:
    gw = world.system.gateway
    city = bearer(PEOPLE["city"])
    page = (await gw.get(LIST, params={"limit": 1}, headers=city)).json()
    assert page["next_cursor"]
    tampered = page["next_cursor"][:-2] + ("AA" if not page["next_cursor"].endswith("AA") else "BB")
    for bad in (tampered, "not-a-cursor", uuid.uuid4().hex):
        r = await gw.get(LIST, params={"cursor": bad}, headers=city)
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), r.text
        assert r.json()["code"] == "invalid_cursor"
    r = await gw.get(LIST, params={"limit": 0}, headers=city)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = await gw.get(LIST, params={"status": "nonsense"}, headers=city)
    assert r.status_code == 422
    r = await gw.get(LIST, params={"due_before": "9999-12-31T23:00:00-10:00"}, headers=city)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


async def test_summary_counts_what_the_list_shows(world: World) -> None:
    gw = world.system.gateway
    for name in ("village", "town", "department", "station", "other_town"):
        who = PEOPLE[name]
        listed = await every_page(gw, who)
        r = await gw.get(f"{LIST}/summary", headers=bearer(who))
        assert r.status_code == 200, r.text
        summary = r.json()
        assert summary["total"] == len(listed) == sum(summary["counts"].values()), name
        for status, n in summary["counts"].items():
            assert n == sum(1 for i in listed if i["status"] == status), (name, status)
    assert (await gw.get(f"{LIST}/summary")).status_code == 401
