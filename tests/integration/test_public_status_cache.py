"""The gateway's public status answered from memory for a short while (GUANJIA_PUBLIC_CACHE_TTL):
the right code is served without asking intake, a wrong code never is, and a change shows once the
entry expires. Against the real intake app; intake's requests are counted at its transport."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from intake.api.app import app as intake_app
from services.common.settings import get_settings
from services.gateway.api import public
from services.gateway.api.app import app as gateway_app
from services.gateway.service import client as gateway_client
from tests.intake.support import CHANGPING, SIMA, create, draft, force


class CountingTransport(httpx.ASGITransport):
    """Intake's real app, with a count of the public-status requests it receives."""

    def __init__(self) -> None:
        super().__init__(app=intake_app)
        self.status_calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/internal/public/appeals/"):
            self.status_calls += 1
        return await super().handle_async_request(request)


@pytest.fixture
def ttl(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """The cache switched on for this test (the shared test settings switch it off)."""
    settings = get_settings().model_copy(update={"public_cache_ttl_s": 30.0})
    monkeypatch.setattr(public, "get_settings", lambda: settings)
    monkeypatch.setattr(public, "_status_cache", None)
    yield settings.public_cache_ttl_s


@pytest.fixture
async def wired() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, CountingTransport]]:
    transport = CountingTransport()
    intake = httpx.AsyncClient(transport=transport, base_url="http://intake")
    saved = gateway_client._clients.get("intake")
    gateway_client._clients["intake"] = intake
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw"
        ) as gw:
            yield gw, intake, transport
    finally:
        await intake.aclose()
        if saved is not None:
            gateway_client._clients["intake"] = saved
        else:
            gateway_client._clients.pop("intake", None)


async def test_the_right_code_is_served_from_memory_and_a_change_shows_after_expiry(
    ttl: float, wired: tuple[httpx.AsyncClient, httpx.AsyncClient, CountingTransport]
) -> None:
    gw, intake, counted = wired
    accepted = await create(intake, draft(SIMA, CHANGPING, f"司马村路口积水（{uuid.uuid4().hex[:6]}）"))
    url = f"/api/v1/public/appeals/{accepted['ticket_no']}"
    code = {"code": accepted["query_code"]}

    first = await gw.get(url, params=code)
    assert first.status_code == 200 and first.json()["status"] == "received"
    again = await gw.get(url, params=code)
    not_modified = await gw.get(url, params=code, headers={"If-None-Match": first.headers["etag"]})
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert not_modified.status_code == 304
    assert counted.status_calls == 1

    # A wrong code is never answered from memory: intake is asked and says it does not exist.
    wrong = await gw.get(url, params={"code": "000000" if code["code"] != "000000" else "111111"})
    assert wrong.status_code == 404
    assert counted.status_calls == 2

    await force(accepted["appeal_id"], status="triaged", kind="micro_wish", category="living")
    assert public._status_cache is not None
    public._status_cache.expire(time.monotonic() + ttl + 1)  # the entry's lifetime has passed
    changed = await gw.get(url, params=code, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["status"] == "triaged"
    assert changed.headers["etag"] != first.headers["etag"]
    assert counted.status_calls == 3


async def test_switched_off_every_poll_asks_intake(
    wired: tuple[httpx.AsyncClient, httpx.AsyncClient, CountingTransport],
) -> None:
    gw, intake, counted = wired
    assert get_settings().public_cache_ttl_s == 0  # as tests/conftest.py sets it
    accepted = await create(intake, draft(SIMA, CHANGPING, f"司马村垃圾未清运（{uuid.uuid4().hex[:6]}）"))
    url = f"/api/v1/public/appeals/{accepted['ticket_no']}"
    for _ in range(3):
        assert (await gw.get(url, params={"code": accepted["query_code"]})).status_code == 200
    assert counted.status_calls == 3
