"""What the page tests share (issue 17): the running system seeded with appeals, the browser,
and the checks every page must pass. Each page module gets its own seeded system (module scope).
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
    """The two accounts the pages log in with, made by the CLI once per test database (each page
    module seeds a system of its own on the same database)."""
    for username, password, role in ((ADMIN, ADMIN_PASSWORD, ADMIN_ROLE), (TOWN, TOWN_PASSWORD, TOWN_ROLE)):
        with httpx.Client(base_url=system.base_url, timeout=15) as client:
            known = client.post("/api/v1/auth/staff", json={"username": username, "password": password})
        if known.status_code == 200:
            continue
        subprocess.run(
            [*CLI, "staff", "create", "--username", username, "--password", password, *role],
            env=system.env,
            capture_output=True,
            text=True,
            check=True,
        )


def _public_status(client: httpx.Client, appeal: dict[str, Any]) -> str:
    """An appeal's status as the resident reads it with the query code."""
    url = f"/api/v1/public/appeals/{appeal['ticket_no']}"
    return str(client.get(url, params={"code": appeal["query_code"]}).json()["status"])


def _walk_to_completed(client: httpx.Client, token: str, appeal: dict[str, Any]) -> None:
    """triaged / consulting → approved → in_progress → completed, as city staff would."""
    auth = {"Authorization": f"Bearer {token}"}

    def status() -> str:
        return _public_status(client, appeal)

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


def _settle(client: httpx.Client, seeded: Seeded, timeout: float = 120) -> None:
    """Wait until the work that follows each call (counting, linking, triage) has reached the
    public figures: every seeded appeal past `received`, and the figures the pages read the same
    on two reads a few seconds apart. A page and the endpoint read after it then agree, however
    slow the machine."""

    def figures() -> list[Any]:
        read = [
            client.get("/api/v1/stats/public", params={"period": period, "by": by}).json()["rows"]
            for period in ("month", "year")
            for by in ("all", "kind")
        ]
        funds = client.get("/api/v1/public/funds").json()
        funds.pop("generated_at")  # the time of the answer, not a figure
        return [*read, funds]

    wait_for(lambda: all(_public_status(client, a) != "received" for a in seeded.appeals), timeout=timeout)
    deadline = time.monotonic() + timeout
    previous = figures()
    while True:
        time.sleep(3)  # long enough for the workers' next change to reach the figures
        now = figures()
        if now == previous:
            return
        assert time.monotonic() < deadline, "the public figures never settled"
        previous = now


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
            _settle(client, seeded)
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


__all__ = [
    "ADMIN",
    "ADMIN_PASSWORD",
    "HUMEN",
    "PHONE",
    "TOWN",
    "TOWN_PASSWORD",
    "WIDE",
    "Any",
    "Callable",
    "Page",
    "Seeded",
    "ViewportSize",
    "Watched",
    "as_rate",
    "assert_accessible_structure",
    "assert_fits",
    "assert_no_axe_violations",
    "browser",
    "figure",
    "open_page",
    "public_row",
    "seeded",
    "shoot",
]
