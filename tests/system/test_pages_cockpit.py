"""The leaders' and staff cockpit (DESIGN §10, issue 17) in a real headless browser: after staff
login, scoped to the viewer, every number a link to the work list behind it. As `test_pages`:
Debian's chromium driven by Playwright, against a running `guanjia up` seeded with appeals.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from deadlines.models import messaging
from services.common.db import async_url
from services.common.messaging import park
from services.contracts.events import AppealCompleted, make_event
from tests.system.pages_support import (
    ADMIN,
    ADMIN_PASSWORD,
    HUMEN,
    PHONE,
    TOWN,
    TOWN_PASSWORD,
    WIDE,
    Any,
    Callable,
    Page,
    Seeded,
    ViewportSize,
    Watched,
    assert_accessible_structure,
    assert_fits,
    assert_no_axe_violations,
    shoot,
    wait_for,
)
from tests.system.pages_support import (
    browser as browser,  # a fixture (of open_page)
)
from tests.system.pages_support import (
    open_page as open_page,  # a fixture
)
from tests.system.pages_support import (
    seeded as seeded,  # a fixture
)

NOTES_READ = 5 * 200  # worklist.js: COUNT_PAGES pages of COUNT_PAGE unread notifications


def park_a_letter(appeal_id: str) -> int:
    """A clock's event parked in the deadlines service, as its worker parks one that keeps failing
    (the same function), on the database the running system uses."""

    async def run() -> int:
        engine = create_async_engine(async_url(os.environ["DATABASE_URL"]), poolclass=NullPool)
        try:
            async with AsyncSession(engine) as session, session.begin():
                event = make_event(
                    "appeal.completed", "intake", AppealCompleted(), appeal_id=uuid.UUID(appeal_id)
                )
                await park(
                    session,
                    messaging,
                    job_name="deadlines.handle_event",
                    job_id=str(event.id),
                    args={"args": [event.model_dump(mode="json")], "kwargs": {}},
                    error="RuntimeError('cockpit test')",
                    tries=8,
                )
                dead = messaging.dead_letters
                return int(await session.scalar(select(func.max(dead.c.id))) or 0)
        finally:
            await engine.dispose()

    # In a thread of its own: the browser's driver runs an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def open_letters(seeded: Seeded) -> int:
    """How many parked jobs, in all services, no one has resolved yet."""
    auth = {"Authorization": f"Bearer {seeded.admin_token}"}
    with httpx.Client(base_url=seeded.base_url, timeout=15, headers=auth) as client:
        answer = client.get("/api/v1/admin/dead-letters", params={"limit": 1})
        answer.raise_for_status()
        return int(answer.json()["open"])


def test_cockpit_after_staff_login(seeded: Seeded, open_page: Callable[[str, ViewportSize], Watched]) -> None:
    letter = park_a_letter(seeded.done["appeal_id"])
    # The running system's own workers may park a job while the page loads: the number shown
    # lies between the counts read before and after it.
    open_before = open_letters(seeded)
    watched = open_page(f"{seeded.base_url}/cockpit", WIDE)
    page = watched.page
    assert page.is_hidden("#board")
    page.fill("#username", ADMIN)
    page.fill("#password", "not-the-password")
    page.click("#login-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('login-state').textContent.includes('不正确')")
    assert watched.errors and all("401" in e for e in watched.errors), watched.errors
    watched.errors.clear()

    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector('body[data-loaded="true"]', timeout=60_000)
    assert "pages-admin" in page.inner_text("#viewer")
    assert_accessible_structure(page)
    assert_no_axe_violations(page)
    shoot(page, "cockpit-1920x1080", readme=True)

    auth = {"Authorization": f"Bearer {seeded.admin_token}"}
    with httpx.Client(base_url=seeded.base_url, timeout=15, headers=auth) as client:
        kpis = client.get("/api/v1/stats/kpis", params={"level": "city", "code": "city", "period": "month"})
        row = next(r for r in kpis.json()["rows"] if r["dim_value"] == "all")
        queue = client.get("/api/v1/routing/queue", params={"limit": 500}).json()
        # As the cockpit reads them: up to five pages of 200 (the system tests share a database).
        overdue_items: list[Any] = []
        for number in range(1, 6):
            answer = client.get("/api/v1/deadlines/overdue", params={"page_size": 200, "page": number}).json()
            overdue_items += answer["items"]
            if not answer["has_more"]:
                break
        demand = client.get("/api/v1/stats/demand").json()
        letters = client.get("/api/v1/admin/dead-letters", params={"limit": 200}).json()

    def linked(name: str) -> list[str]:
        return [
            str(v)
            for v in page.eval_on_selector_all(
                f'a[data-list="{name}"]', "links => links.map(a => a.dataset.value)"
            )
        ]

    assert str(row["counts"]["received"]) in linked("kpis")
    assert str(row["counts"]["completed"]) in linked("kpis")
    assert linked("queue") == [str(len(queue))]
    assert linked("overdue") == [str(len(overdue_items))]
    assert linked("hot") == [str(len(demand["hot_spots"]))]
    to_place = [q for q in queue if not q["triage"]["unsure"] and q["reason"] == "no_location"]
    assert linked("place") == [str(len(to_place))]
    # Jobs parked in any service, the one just parked among them, each row naming its appeal.
    shown = linked("deadletters")
    assert len(shown) == 1 and 1 <= open_before <= int(shown[0]) <= letters["open"], (open_before, shown)
    page.click('a[data-list="deadletters"]')
    rows = page.eval_on_selector_all(
        "#detail-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert ["时限服务", str(letter), "appeal.completed", seeded.done["appeal_id"]] in [r[:4] for r in rows]

    # A number is a link to the list behind it, drawn from the same answer.
    page.click('a[data-list="kpis"] >> nth=0')
    assert page.get_attribute("#detail-table", "data-list") == "kpis"
    cells = page.eval_on_selector_all(
        "#detail-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert ["received", str(row["counts"]["received"])] in [c[:2] for c in cells]
    page.click('a[data-list="returns"]')
    assert page.get_attribute("#detail-table", "data-list") == "returns"
    assert page.locator("#detail-table tbody tr").count() == 33

    for chart in ("clocks", "demand", "returns", "funds"):
        assert page.query_selector(f"#{chart}-chart canvas") is not None
    assert page.evaluate("GJ_CHARTS.returns.getOption().yAxis[0].data.length") == 15
    assert page.evaluate("GJ_CHARTS.funds.getOption().xAxis[0].data.length") == 33
    # The token is in no cookie and no storage.
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.evaluate("() => window.scrollTo(0, 0)")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert_fits(page)
    shoot(page, "cockpit-390x844")
    page.click("#logout")
    assert page.is_hidden("#board") and page.is_visible("#login")
    watched.assert_clean(seeded.base_url)

    # The running system told the city's administrators of the parked job, naming its appeal;
    # then one of them closes it, with a note.
    with httpx.Client(base_url=seeded.base_url, timeout=15, headers=auth) as client:

        def told() -> list[Any]:
            items = client.get("/api/v1/staff/notifications", params={"limit": 100}).json()["items"]
            # Each service numbers its own letters: the number names ours only with the service.
            return [
                n
                for n in items
                if n["kind"] == "job_parked"
                and f"编号{letter}）" in n["text"]
                and "时限服务未能处理" in n["text"]
            ]

        (notice,) = wait_for(told, timeout=60)
        assert notice["appeal_id"] == seeded.done["appeal_id"]
        closed = client.post(
            f"/api/v1/admin/dead-letters/deadlines/{letter}/resolution",
            json={"action": "dismiss", "note": "驾驶舱测试：已核实，无需重放"},
        )
        assert closed.status_code == 200 and closed.json()["resolution"] == "dismissed", closed.text


def test_cockpit_is_scoped_to_a_town_viewer(
    seeded: Seeded, open_page: Callable[[str, ViewportSize], Watched]
) -> None:
    watched = open_page(f"{seeded.base_url}/cockpit", PHONE)
    page = watched.page
    page.fill("#username", TOWN)
    page.fill("#password", TOWN_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector('body[data-loaded="true"]', timeout=60_000)
    assert "虎门" in page.inner_text("#viewer")

    with httpx.Client(base_url=seeded.base_url, timeout=15) as client:
        login = client.post("/api/v1/auth/staff", json={"username": TOWN, "password": TOWN_PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        params = {"level": "town", "code": HUMEN, "period": "month"}
        kpis = client.get("/api/v1/stats/kpis", params=params, headers=auth).json()
        city = client.get("/api/v1/stats/kpis", params={"period": "month"}, headers=auth)
    assert city.status_code == 403  # the town sees its own figures, not the city's
    row = next(r for r in kpis["rows"] if r["dim_value"] == "all")
    received = page.get_attribute('a[data-list="kpis"] >> nth=0', "data-value")
    # The system tests share one database: the town has its own appeals and those of earlier tests.
    assert received == str(row["counts"]["received"]) and int(received) >= 1
    assert page.evaluate("GJ_CHARTS.funds.getOption().xAxis[0].data") == ["虎门"]
    page.click('a[data-list="returns"]')
    assert page.locator("#detail-table tbody tr").count() == 1
    assert (
        page.evaluate("localStorage.length + sessionStorage.length") == 0
        and page.evaluate("document.cookie") == ""
    )
    watched.assert_clean(seeded.base_url)


def _staff_pages(client: httpx.Client, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a cursor-paged staff list."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        r = client.get(path, params={**params, "limit": "200", **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def _open_work_list(page: Page, selector: str) -> list[str]:
    """Click a number, page through the list it opens; the tickets shown."""
    page.click(selector)
    page.wait_for_selector('#work-table:is([data-state="done"], [data-state="more"])')
    while page.get_attribute("#work-table", "data-state") == "more":
        page.click("#work-more")
        page.wait_for_selector('#work-table:is([data-state="done"], [data-state="more"])')
    tickets = page.eval_on_selector_all("#work-table tbody tr", "rows => rows.map(r => r.dataset.ticket)")
    assert page.get_attribute("#work-table", "data-count") == str(len(tickets))
    return [str(t) for t in tickets]


def test_cockpit_numbers_open_the_work_list(
    seeded: Seeded, open_page: Callable[[str, ViewportSize], Watched]
) -> None:
    watched = open_page(f"{seeded.base_url}/cockpit", WIDE)
    page = watched.page
    page.fill("#username", ADMIN)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector('body[data-loaded="true"]', timeout=60_000)

    auth = {"Authorization": f"Bearer {seeded.admin_token}"}
    with httpx.Client(base_url=seeded.base_url, timeout=15, headers=auth) as client:
        summary = client.get("/api/v1/staff/appeals/summary").json()
        unread = _staff_pages(client, "/api/v1/staff/notifications", {"unread": "true"})

        def work(filter_: str) -> dict[str, Any]:
            link = page.locator(f'#work-cards a[data-list="work"][data-filter="{filter_}"]')
            assert link.count() == 1, filter_
            return {
                "value": link.get_attribute("data-value"),
                "selector": f'#work-cards a[data-filter="{filter_}"]',
            }

        assert work("")["value"] == str(summary["total"]) and summary["total"] >= len(seeded.appeals)
        assert work("overdue=true")["value"] == str(summary["overdue"])
        for status, n in summary["counts"].items():
            shown = page.locator(f'#work-cards a[data-filter="status={status}"]')
            assert (shown.get_attribute("data-value") if n else shown.count()) == (str(n) if n else 0), status
        # The due-soon number is the work list's own count under the same filter.
        soon = page.locator('#work-cards a[data-filter^="overdue=false"]')
        soon_filter = dict(pair.split("=", 1) for pair in str(soon.get_attribute("data-filter")).split("&"))
        assert set(soon_filter) == {"overdue", "due_before"}
        soon_items = _staff_pages(client, "/api/v1/staff/appeals", soon_filter)
        assert soon.get_attribute("data-value") == str(len(soon_items))

        # A number clicked: the list shows as many rows as the number and as the API, the same tickets.
        closed = _open_work_list(page, work("status=closed")["selector"])
        api_closed = [
            i["ticket_no"] for i in _staff_pages(client, "/api/v1/staff/appeals", {"status": "closed"})
        ]
        assert len(closed) == summary["counts"]["closed"] == len(api_closed) >= 1
        assert closed == api_closed and seeded.appeals[1]["ticket_no"] in closed
        assert "状态：已回访，办理结束" in page.inner_text("#work-state")
        assert page.input_value("#work-status") == "closed"
        everything = _open_work_list(page, work("")["selector"])
        assert len(everything) == summary["total"]
        overdue = _open_work_list(page, work("overdue=true")["selector"])
        # A clock may run out while the page is read (the system tests share one database, with
        # clocks of earlier tests): the list lies between the count before and the count after.
        overdue_now = client.get("/api/v1/staff/appeals/summary").json()["overdue"]
        assert summary["overdue"] <= len(overdue) <= overdue_now
        assert page.locator("#work-table tbody .badge.bad").count() == len(overdue)

        # The form narrows the list too: one ticket (the overdue filter of the last number cleared).
        assert page.input_value("#work-overdue") == "true"
        page.select_option("#work-overdue", "")
        page.select_option("#work-status", "")
        page.fill("#work-q", seeded.done["ticket_no"])
        page.click("#work-form button[type=submit]")
        page.wait_for_selector('#work-table[data-state="done"]')
        assert page.eval_on_selector_all(
            "#work-table tbody tr", "rows => rows.map(r => r.dataset.ticket)"
        ) == [seeded.done["ticket_no"]]

    # The viewer's unread notifications: the count is a link to the list beside it.
    # The page reads up to five pages of 200 and says "≥" beyond (the system tests share one
    # database, whose city administrators hear of every earlier test's escalations and parked jobs).
    counted = min(len(unread), NOTES_READ)
    notes = page.locator('a[data-list="notes"]')
    assert notes.get_attribute("data-value") == str(counted)
    assert notes.inner_text().startswith("≥") is (len(unread) > NOTES_READ)
    listed = page.eval_on_selector_all("#notes-list li[data-note]", "items => items.map(i => i.dataset.note)")
    assert listed == [n["id"] for n in unread][:counted]

    assert_accessible_structure(page)
    assert_no_axe_violations(page)
    page.locator("#work").scroll_into_view_if_needed()
    shoot(page, "cockpit-worklist-1920x1080")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert_fits(page)
    shoot(page, "cockpit-worklist-390x844")
    assert (
        page.evaluate("localStorage.length + sessionStorage.length") == 0
        and page.evaluate("document.cookie") == ""
    )
    watched.assert_clean(seeded.base_url)
