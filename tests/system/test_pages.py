"""The pages (DESIGN §10, issue 17) in a real headless browser against a running `guanjia up`.

Debian's chromium, driven by Playwright (`executable_path`: no browser is ever downloaded). A few
appeals are filed through the signed 12345 webhook and one is walked to completed and closed
through the staff API; then each page must: render its charts (a canvas, an ECharts instance
holding data), show the same figures as the JSON endpoints it reads, request nothing outside the
gateway, log no console error, and leave a screenshot at 1920×1080 and 390×844 under
`tests/artifacts/pages/` (gitignored; `GUANJIA_SCREENSHOTS=docs` also refreshes the README's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.system.harness import ROOT, RunningSystem, hotline_body, signed_headers, start_system

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and not os.environ.get("GUANJIA_REQUIRE_BROWSER"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium); set GUANJIA_REQUIRE_BROWSER=1 to fail instead",
        allow_module_level=True,
    )
from playwright.sync_api import ConsoleMessage, Page, Request, Response, ViewportSize, sync_playwright  # noqa: E402

SECRET = os.environ["GUANJIA_HOTLINE_SECRET"]
ARTIFACTS = ROOT / "tests" / "artifacts" / "pages"
README_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}
ADMIN, ADMIN_PASSWORD = "pages-admin", "pages-admin-pass-1"
CLI = [sys.executable, "-m", "services.cli"]
ADMIN_ROLE = ["--role", "city_admin", "--org", "city"]
TOWN, TOWN_PASSWORD = "pages-humen", "pages-humen-pass-1"
TOWN_ROLE = ["--role", "town_staff", "--org", "虎门"]

# Calls from three towns; the first is walked to completed, the second to closed (rated).
CALLS: list[dict[str, Any]] = [
    {},
    {
        "summary": "来电反映长安镇乌沙社区江贝路段人行道地砖破损，老人行走容易绊倒，请求修缮。",
        "address": "东莞市长安镇乌沙社区江贝路",
        "transcript": [
            {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
            {
                "speaker": "caller",
                "text": "长安镇乌沙社区江贝路的人行道地砖坏了很多，老人容易摔倒。",
                "offset_ms": 2000,
            },
        ],
    },
    {
        "summary": "来电反映东城街道温塘社区公园的健身器材损坏，希望尽快维修更换。",
        "address": "东莞市东城街道温塘社区公园",
        "transcript": [
            {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
            {
                "speaker": "caller",
                "text": "东城温塘社区公园里的健身器材坏了，小孩玩很危险。",
                "offset_ms": 2000,
            },
        ],
    },
]


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@dataclass
class Seeded:
    """What the pages are opened against."""

    base_url: str
    admin_token: str
    appeals: list[dict[str, Any]] = field(default_factory=list)  # ticket_no, query_code, appeal_id

    @property
    def done(self) -> dict[str, Any]:
        """The appeal walked to completed."""
        return self.appeals[0]


def _staff_create(system: RunningSystem) -> None:
    for username, password, role in ((ADMIN, ADMIN_PASSWORD, ADMIN_ROLE), (TOWN, TOWN_PASSWORD, TOWN_ROLE)):
        subprocess.run(
            [*CLI, "staff", "create", "--username", username, "--password", password, *role],
            env=system.env,
            capture_output=True,
            text=True,
            check=True,
        )


def _walk_to_completed(client: httpx.Client, token: str, appeal: dict[str, Any]) -> None:
    """triaged / consulting → approved → in_progress → completed, as city staff would."""
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/public/appeals/{appeal['ticket_no']}"

    def status() -> str:
        return str(client.get(url, params={"code": appeal["query_code"]}).json()["status"])

    wait_for(lambda: status() in ("triaged", "consulting", "approved"))
    base = f"/api/v1/staff/appeals/{appeal['appeal_id']}"
    if status() != "approved":
        moved = client.post(
            f"{base}/transitions", json={"to": "approved", "reason": "议事会通过"}, headers=auth
        )
        assert moved.status_code == 200, moved.text
    for command in ("start", "complete"):
        done = client.post(f"{base}/{command}", json={"reason": "现场已修复"}, headers=auth)
        assert done.status_code == 200, done.text
    wait_for(lambda: status() == "completed")


CITY, HUMEN = "441900000000", "441900121000"


def _fund(client: httpx.Client, seeded: Seeded) -> None:
    """Money in from two sources to the city, and part of it paid to the completed project."""
    auth = {"Authorization": f"Bearer {seeded.admin_token}"}
    town = {"holder_type": "city", "holder_code": CITY}
    for source, fen in (("city_finance", 800_000), ("donation", 300_000)):
        r = client.post(
            "/api/v1/ledger/income",
            json={"source_code": source, "holder": town, "amount_fen": fen, "memo": "页面测试"},
            headers={**auth, "Idempotency-Key": f"pages-income-{source}-{uuid.uuid4().hex[:8]}"},
        )
        assert r.status_code == 201, r.text
    paid = client.post(
        "/api/v1/ledger/disbursements",
        json={
            "holder": town,
            "payee": {"payee_type": "project", "payee_code": seeded.done["appeal_id"]},
            "amount_fen": 450_000,
            "appeal_id": seeded.done["appeal_id"],
        },
        headers={**auth, "Idempotency-Key": f"pages-pay-{uuid.uuid4().hex[:8]}"},
    )
    assert paid.status_code == 201, paid.text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    system = start_system(tmp_path_factory.mktemp("pages"))
    try:
        _staff_create(system)
        with httpx.Client(base_url=system.base_url, timeout=15) as client:
            token = client.post("/api/v1/auth/staff", json={"username": ADMIN, "password": ADMIN_PASSWORD})
            assert token.status_code == 200, token.text
            seeded = Seeded(system.base_url, token.json()["access_token"])
            for overrides in CALLS:
                body = hotline_body(f"pages-{uuid.uuid4()}", **overrides)
                r = client.post(
                    "/api/v1/channels/hotline-12345/calls", content=body, headers=signed_headers(SECRET, body)
                )
                assert r.status_code == 202, r.text
                seeded.appeals.append(r.json())
            _walk_to_completed(client, seeded.admin_token, seeded.done)
            # A second one is closed with the return visit, so that the satisfaction rate has a rating.
            _walk_to_completed(client, seeded.admin_token, seeded.appeals[1])
            closed = client.post(
                f"/api/v1/staff/appeals/{seeded.appeals[1]['appeal_id']}/close",
                json={"result": "resolved", "rating": "satisfied"},
                headers={"Authorization": f"Bearer {seeded.admin_token}"},
            )
            assert closed.status_code == 200, closed.text
            _fund(client, seeded)
        yield seeded
    finally:
        system.stop()


@dataclass
class Watched:
    """A page with every request and console error it made."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # (url, status, the If-None-Match the page sent) of every API answer
    answers: list[tuple[str, int, str | None]] = field(default_factory=list)

    def assert_clean(self, base_url: str) -> None:
        own = urlsplit(base_url).netloc
        outside = [
            u
            for u in self.requests
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own
        ]
        assert not outside, f"requests outside the gateway: {outside}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[str, ViewportSize], Watched]]:
    contexts: list[Any] = []

    def opener(url: str, viewport: ViewportSize) -> Watched:
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                watched.errors.append(message.text)

        def on_request(request: Request) -> None:
            watched.requests.append(request.url)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: watched.errors.append(str(exc)))

        def on_response(response: Response) -> None:
            if "/api/" in response.url:
                sent = response.request.headers.get("if-none-match")
                watched.answers.append((response.url, response.status, sent))

        page.on("request", on_request)
        page.on("response", on_response)
        # A controllable clock: a test can let a minute of polling pass in an instant.
        page.clock.install()
        page.goto(url)
        return watched

    yield opener
    for context in contexts:
        context.close()


def shoot(page: Page, name: str, *, readme: bool = False) -> Path:
    """Keep a screenshot as a test artifact (and as the README's when asked)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    # The whole page too: a phone scrolls through every chart.
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
    print(f"screenshot: {path}")
    if readme and os.environ.get("GUANJIA_SCREENSHOTS") == "docs":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SHOTS / f"{name}.png")
    return path


def assert_accessible_structure(page: Page) -> None:
    """Landmarks, one h1, headings on every section, and every chart named and summarised in text."""
    assert page.locator("header[role=banner]").count() == 1
    assert page.locator("main").count() == 1 and page.locator("footer[role=contentinfo]").count() == 1
    assert page.locator("h1").count() == 1 and page.get_attribute("html", "lang") == "zh-CN"
    for section in page.query_selector_all("section"):
        labelled = section.get_attribute("aria-labelledby")
        assert labelled and page.locator(f"#{labelled}").inner_text().strip(), labelled
    for chart in page.query_selector_all(".chart"):
        assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-label")
        summary = chart.get_attribute("aria-describedby")
        assert summary and page.locator(f"#{summary}").inner_text().strip() not in ("", "正在载入…")
    for field_ in page.query_selector_all("input"):
        assert page.locator(f'label[for="{field_.get_attribute("id")}"]').count() == 1


AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"


def assert_no_axe_violations(page: Page) -> None:
    """axe-core's WCAG 2.x A/AA rules (contrast, names, landmarks, ARIA) find nothing. The
    script goes in through the DevTools protocol, which the page's CSP does not govern."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"]}});
            return r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    assert result == [], result


def assert_fits(page: Page) -> None:
    """Nothing wider than the viewport: a phone scrolls down, never sideways."""
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .filter(e => !(e.parentElement && e.parentElement.closest(".table-wrap")))
            .slice(0, 5).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], too_wide


def public_row(client: httpx.Client, value: str = "all", **params: str) -> dict[str, Any]:
    rows = client.get("/api/v1/stats/public", params=params).json()["rows"]
    found = next((r for r in rows if r["dim_value"] == value), None)
    return found or {"counts": {}, "kpis": {}}


def figure(page: Page, name: str) -> str:
    return str(page.get_attribute(f'[data-figure="{name}"]', "data-value"))


def as_rate(shown: str) -> float | None:
    """A rate as the page holds it (empty when there is none yet)."""
    return None if shown == "" else float(shown)


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


def test_cockpit_after_staff_login(seeded: Seeded, open_page: Callable[[str, ViewportSize], Watched]) -> None:
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
    notes = page.locator('a[data-list="notes"]')
    assert notes.get_attribute("data-value") == str(len(unread))
    listed = page.eval_on_selector_all("#notes-list li[data-note]", "items => items.map(i => i.dataset.note)")
    assert listed == [n["id"] for n in unread]

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
