"""The public pages (DESIGN §10, issue 17), the big screen and the status page, in a real headless
browser against a running `guanjia up` (the cockpit: `test_pages_cockpit.py`; shared: `pages_support.py`).

Debian's chromium, driven by Playwright (`executable_path`: no browser is ever downloaded). A few
appeals are filed through the signed 12345 webhook and one is walked to completed and closed
through the staff API; then each page must: render its charts (a canvas, an ECharts instance
holding data), show the same figures as the JSON endpoints it reads, request nothing outside the
gateway, log no console error, and leave a screenshot at 1920×1080 and 390×844 under
`tests/artifacts/pages/` (gitignored; `GUANJIA_SCREENSHOTS=docs` also refreshes the README's).
"""

from __future__ import annotations

import httpx

from tests.system.pages_support import (
    PHONE,
    WIDE,
    Callable,
    Seeded,
    ViewportSize,
    Watched,
    as_rate,
    assert_accessible_structure,
    assert_fits,
    assert_no_axe_violations,
    figure,
    public_row,
    shoot,
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


def test_screen_shows_the_public_figures(
    seeded: Seeded, open_page: Callable[[str, ViewportSize], Watched]
) -> None:
    watched = open_page(f"{seeded.base_url}/screen", WIDE)
    page = watched.page
    page.wait_for_selector('body[data-loaded="true"]', timeout=30_000)
    page.wait_for_selector('#towns-map[data-towns="33"]', timeout=30_000)

    with httpx.Client(base_url=seeded.base_url, timeout=15) as client:
        month = public_row(client, period="month")
        year = public_row(client, period="year")
        wish = public_row(client, "micro_wish", period="year", by="kind")
        project = public_row(client, "micro_project", period="year", by="kind")
        funds = client.get("/api/v1/public/funds").json()
        completed = client.get("/api/v1/public/appeals", params={"status": "completed"}).json()

    assert year["counts"]["received"] >= len(seeded.appeals)
    assert figure(page, "month.received") == str(month["counts"].get("received", 0))
    assert figure(page, "month.completed") == str(month["counts"].get("completed", 0))
    assert figure(page, "year.received") == str(year["counts"]["received"])
    assert figure(page, "year.completed") == str(year["counts"].get("completed", 0)) != "0"
    assert as_rate(figure(page, "year.on_time_rate")) == year["kpis"].get("on_time_rate")
    assert as_rate(figure(page, "year.satisfaction_rate")) == year["kpis"]["satisfaction_rate"] is not None
    assert page.inner_text('[data-figure="year.satisfaction_rate"]').endswith("%")
    assert figure(page, "year.micro_wish.completed") == str(wish["counts"].get("completed", 0))
    assert figure(page, "year.micro_project.completed") == str(project["counts"].get("completed", 0))
    # What the card says matches its value, and its unit stands beside it.
    assert page.inner_text('[data-figure="year.received"]') == str(year["counts"]["received"])
    assert all(
        n.strip() for n in page.eval_on_selector_all(".card .note", "ns => ns.map(n => n.textContent)")
    )

    # Money per source: the table and the chart hold the endpoint's figures.
    shown = page.eval_on_selector_all(
        "#funds-table tr",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.source, Number(r.querySelector('td').dataset.fen)]))",
    )
    assert shown == {s["source_code"]: s["disbursed_fen"] for s in funds["sources"]}
    chart_values = page.evaluate("GJ_CHARTS.funds.getOption().series[0].data")
    assert chart_values == [s["disbursed_fen"] / 100 for s in funds["sources"]]

    # 33 towns on the map and in the ranking; their sum is the towns' own reports.
    assert page.evaluate("GJ_CHARTS.map.getOption().series[0].data.length") == 33
    assert page.evaluate("GJ_CHARTS.rank.getOption().yAxis[0].data.length") == 33
    ranked = page.evaluate("GJ_CHARTS.rank.getOption().series[0].data")
    assert sum(ranked) == int(page.get_attribute("#towns-map", "data-received") or -1)
    assert sum(ranked) >= len(seeded.appeals)
    assert ranked == sorted(ranked, reverse=True)
    for chart in ("#funds-chart", "#towns-map", "#towns-rank"):
        assert page.query_selector(f"{chart} canvas") is not None
        assert page.get_attribute(chart, "aria-label")
    assert "镇街" in page.inner_text("#towns-summary")

    # Recently completed, from the disclosure list.
    tickets = page.eval_on_selector_all("#recent tr[data-ticket]", "rows => rows.map(r => r.dataset.ticket)")
    assert seeded.done["ticket_no"] in tickets
    assert seeded.done["ticket_no"] in [a["ticket_no"] for a in completed["items"]]

    # A minute later the screen polls again, conditionally: unchanged figures come back as 304.
    first = len(watched.answers)
    page.clock.fast_forward(61_000)
    for _ in range(100):  # the page's events are dispatched only while Playwright waits
        if len(watched.answers) >= first + 6:
            break
        page.wait_for_timeout(200)
    page.wait_for_load_state("networkidle")
    again = watched.answers[first:]
    assert all(sent for _, _, sent in again), again
    assert {status for _, status, _ in again} == {304}, again
    assert figure(page, "year.received") == str(year["counts"]["received"])

    assert_accessible_structure(page)
    assert_no_axe_violations(page)
    shoot(page, "screen-1920x1080", readme=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert_fits(page)
    shoot(page, "screen-390x844")
    watched.assert_clean(seeded.base_url)


def test_status_page_with_the_query_code(
    seeded: Seeded, open_page: Callable[[str, ViewportSize], Watched]
) -> None:
    appeal = seeded.done
    watched = open_page(f"{seeded.base_url}/s/{appeal['ticket_no']}", PHONE)
    page = watched.page
    assert page.inner_text("#ticket") == appeal["ticket_no"]

    # A wrong code says so, and shows nothing.
    wrong = "000000" if appeal["query_code"] != "000000" else "111111"
    page.fill("#code", wrong)
    page.click("button[type=submit]")
    page.wait_for_function("() => document.getElementById('code-state').textContent.includes('查询码不正确')")
    assert page.is_hidden("#result")
    # Chromium logs every non-2xx fetch as a console error: that one 404 is the answer asked for.
    assert watched.errors and all("404" in e for e in watched.errors), watched.errors
    watched.errors.clear()

    page.fill("#code", appeal["query_code"])
    page.click("button[type=submit]")
    page.wait_for_selector('body[data-loaded="true"]')
    with httpx.Client(base_url=seeded.base_url, timeout=15) as client:
        doc = client.get(
            f"/api/v1/public/appeals/{appeal['ticket_no']}", params={"code": appeal["query_code"]}
        ).json()
    assert page.get_attribute("#status-badge", "data-status") == doc["status"] == "completed"
    assert page.inner_text("#status-badge") == "已办结，待回访"
    steps = page.eval_on_selector_all("#timeline li", "items => items.map(i => i.dataset.status)")
    assert steps == [t["status"] for t in doc["timeline"]]
    texts = page.eval_on_selector_all("#timeline li span", "items => items.map(i => i.textContent)")
    assert texts == [t["description"] for t in doc["timeline"]]
    clocks = page.eval_on_selector_all("#deadlines tr[data-clock]", "rows => rows.map(r => r.dataset.clock)")
    assert clocks == [d["clock"] for d in doc["deadlines"]]
    assert page.is_visible("#rate") and "小程序" in page.inner_text("#rate")
    # The code is in no URL the page shows or keeps.
    assert appeal["query_code"] not in page.url
    assert page.evaluate("document.cookie") == "" and page.evaluate("localStorage.length") == 0

    assert_accessible_structure(page)
    assert_no_axe_violations(page)
    assert_fits(page)
    shoot(page, "status-390x844", readme=True)
    page.set_viewport_size(WIDE)
    shoot(page, "status-1920x1080")
    page.set_viewport_size(PHONE)

    # Rated when asked: with the code, under the mini-program's rules; the page then shows it closed.
    page.check("#result-resolved")
    page.check("#rating-satisfied")
    page.fill("#rate-comment", "修得很及时")
    page.click("#rate-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('rate-state').textContent.includes('感谢')")
    page.wait_for_selector('#status-badge[data-status="closed"]')
    assert page.is_hidden("#rate")
    url = f"/api/v1/public/appeals/{appeal['ticket_no']}"
    code = {"code": appeal["query_code"]}
    with httpx.Client(base_url=seeded.base_url, timeout=15) as client:
        doc = client.get(url, params=code).json()
        assert doc["status"] == "closed" and doc["timeline"][-1]["status"] == "closed"
        steps = page.eval_on_selector_all("#timeline li", "items => items.map(i => i.dataset.status)")
        assert steps == [t["status"] for t in doc["timeline"]]
        # The same rating again answers the same; another rating of the round is refused.
        body = {"result": "resolved", "rating": "satisfied", "comment": "修得很及时"}
        again = client.post(f"{url}/evaluation", params=code, json=body)
        assert again.status_code == 200 and again.json()["status"] == "closed", again.text
        other = client.post(f"{url}/evaluation", params=code, json={**body, "rating": "dissatisfied"})
        assert other.status_code == 409 and other.json()["code"] == "already_evaluated", other.text
        # A wrong code learns nothing; an appeal not yet completed waits for no rating.
        wrong_code = client.post(f"{url}/evaluation", params={"code": wrong}, json=body)
        assert wrong_code.status_code == 404
        waiting = seeded.appeals[2]
        early = client.post(
            f"/api/v1/public/appeals/{waiting['ticket_no']}/evaluation",
            params={"code": waiting["query_code"]},
            json=body,
        )
        assert early.status_code == 409 and early.json()["code"] == "not_awaiting_evaluation", early.text
    assert_fits(page)
    shoot(page, "status-rated-390x844")
    watched.assert_clean(seeded.base_url)


def test_pages_carry_a_strict_content_security_policy(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.base_url, timeout=15) as client:
        for path in ("/screen", "/cockpit", f"/s/{seeded.done['ticket_no']}"):
            r = client.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "connect-src 'self'" in csp
        assert client.get("/s/not-a-ticket").status_code == 404
