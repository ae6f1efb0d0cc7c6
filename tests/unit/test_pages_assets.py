"""The pages' assets (issue 17): the vendored ECharts is the pinned one, the town centres are the
reference data's, and the gateway serves every page with a strict policy and no inline script."""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.common.errors import install_error_handlers
from services.common.reference import DONGGUAN_LAT_RANGE, DONGGUAN_LNG_RANGE, load_reference
from services.gateway.api import pages

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "services" / "gateway" / "static"
VENDOR = ROOT / "tools" / "vendor"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(pages.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def test_vendored_echarts_is_the_pinned_version() -> None:
    pinned = json.loads((VENDOR / "package.json").read_text())["dependencies"]["echarts"]
    locked = json.loads((VENDOR / "package-lock.json").read_text())["packages"]["node_modules/echarts"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin an exact version, not a range"
    assert locked["version"] == pinned
    bundle = (STATIC / "vendor" / "echarts" / "echarts.min.js").read_text(encoding="utf-8")
    assert set(re.findall(r'\bversion="(\d+\.\d+\.\d+)"', bundle)) == {pinned}
    for licence in ("LICENSE", "NOTICE", "LICENSE-d3", "LICENSE-zrender", "LICENSE-tslib"):
        assert (STATIC / "vendor" / "echarts" / licence).stat().st_size > 0


def test_town_centres_are_the_reference_datas() -> None:
    tool = runpy.run_path(str(ROOT / "tools" / "pages" / "town_centres.py"))
    shipped = (STATIC / "pages" / "towns.json").read_text(encoding="utf-8")
    assert shipped == tool["render"](), "run tools/pages/town_centres.py"
    towns = json.loads(shipped)["towns"]
    assert [t["code"] for t in towns] == [t.code for t in load_reference().towns]
    assert len(towns) == 33
    for town in towns:
        assert DONGGUAN_LAT_RANGE[0] < town["lat"] < DONGGUAN_LAT_RANGE[1]
        assert DONGGUAN_LNG_RANGE[0] < town["lng"] < DONGGUAN_LNG_RANGE[1]


@pytest.mark.parametrize("path", ["/screen", "/cockpit", "/s/MS20261206000001"])
async def test_pages_carry_the_security_headers(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert csp[directive] == "'self'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    again = await client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_unknown_pages_and_assets_are_404(client: httpx.AsyncClient) -> None:
    for path in (
        "/s/not-a-ticket",
        "/static/pages/nothing.js",
        "/static/pages/..%2F..%2Fapp.py",
        "/static/vendor/echarts/..%2F..%2Fpages%2Fscreen.html",
        "/static/vendor/../api/pages.py",
    ):
        assert (await client.get(path)).status_code == 404, path
    js = await client.get("/static/vendor/echarts/echarts.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    licence = await client.get("/static/vendor/echarts/LICENSE")
    assert licence.headers["content-type"].startswith("text/plain")


def test_pages_have_no_inline_script_and_no_outside_address() -> None:
    for html in (STATIC / "pages").glob("*.html"):
        text = html.read_text(encoding="utf-8")
        scripts = re.findall(r"<script\b[^>]*>", text)
        assert scripts and all('src="/static/' in s for s in scripts), html.name
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline handler in {html.name}"
        assert " style=" not in text, f"inline style in {html.name}"
    for asset in (STATIC / "pages").iterdir():
        text = asset.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), f"an outside address in {asset.name}"
        if asset.suffix == ".js":
            # Text from the APIs goes in with textContent: no markup is ever built from data.
            assert not re.search(r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write", text), (
                asset.name
            )


def test_vendored_axe_core_is_the_pinned_version() -> None:
    pinned = json.loads((VENDOR / "package.json").read_text())["devDependencies"]["axe-core"]
    locked = json.loads((VENDOR / "package-lock.json").read_text())["packages"]["node_modules/axe-core"]
    assert locked["version"] == pinned
    axe = ROOT / "tests" / "system" / "vendor" / "axe-core"
    assert f"axe v{pinned}" in (axe / "axe.min.js").read_text(encoding="utf-8")[:300]
    assert (axe / "LICENSE").stat().st_size > 0
