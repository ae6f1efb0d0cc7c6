"""The whole system in-process: the gateway in front of the real intake, routing, deadlines and
ledger apps, and their real workers run until every event has reached its consumers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from intake.models import Appeal
from services.common.db import session_scope
from services.common.relay import relay_once
from services.common.settings import ServiceName, get_settings
from services.gateway.service import client as gateway_client
from tests.fakes.live_service import environment
from tests.fakes.wechat_code2session import FakeCode2Session
from tests.fixtures import bearer, drain
from tests.integration.security_support.callers import STATION_CODE, TOWN

MINI_APP_ID, MINI_SECRET = "wx1a2b3c4d5e6f7a8b", "security-matrix-mini-secret"


@dataclass
class System:
    gateway: httpx.AsyncClient
    wechat: FakeCode2Session
    services: dict[ServiceName, httpx.AsyncClient] = field(default_factory=dict)

    async def login_resident(self, openid: str | None = None) -> tuple[str, dict[str, str]]:
        """A resident's session through WeChat's code2session, as the mini-program logs in."""
        openid = openid or "o" + secrets.token_hex(14)[:27]
        r = await self.gateway.post(
            "/api/v1/miniprogram/session", json={"code": self.wechat.issue_code(openid)}
        )
        assert r.status_code == 200, r.text
        return openid, {"Authorization": f"Bearer {r.json()['access_token']}"}


@asynccontextmanager
async def running_system(client_ip: str) -> AsyncIterator[System]:
    """The gateway app calling the real services' apps in-process (as it calls them over HTTP in
    production), WeChat's login played by its fake, from a client address of the test's own (rate
    limits are per address)."""
    from deadlines.api.app import app as deadlines_app
    from intake.api.app import app as intake_app
    from ledger.api.app import app as ledger_app
    from routing.api.app import app as routing_app
    from services.gateway.api.app import app as gateway_app

    wechat = FakeCode2Session(MINI_APP_ID, MINI_SECRET).start()
    env = {
        "GUANJIA_MINIPROGRAM_APP_ID": MINI_APP_ID,
        "GUANJIA_MINIPROGRAM_SECRET": MINI_SECRET,
        "GUANJIA_WECHAT_API_BASE": wechat.base,
        "GUANJIA_WECHAT_TOKEN": secrets.token_hex(16),
    }
    apps: dict[ServiceName, FastAPI] = {
        "intake": intake_app,
        "routing": routing_app,
        "deadlines": deadlines_app,
        "ledger": ledger_app,
    }
    try:
        async with environment(env):
            system = System(
                gateway=httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=gateway_app, client=(client_ip, 40000)),
                    base_url="http://gateway",
                ),
                wechat=wechat,
            )
            for name, app in apps.items():
                client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
                system.services[name] = client
                gateway_client._clients[name] = client
            try:
                yield system
            finally:
                await system.gateway.aclose()
    finally:
        wechat.stop()


async def register_station(gw: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Register the test station (`STATION_CODE`) as the town, or bring it to `body` when an earlier
    module of the same run registered it already (one database for the whole run)."""
    headers = bearer(TOWN)
    registered = await gw.post(f"/api/v1/stations/{STATION_CODE}", json=body, headers=headers)
    if registered.status_code == 409:
        registered = await gw.put(f"/api/v1/stations/{STATION_CODE}", json=body, headers=headers)
    assert registered.status_code in (200, 201), registered.text


async def settle(rounds: int = 8) -> None:
    """Carry every committed event to its consumers and run their real workers until quiet."""
    from deadlines.jobs import worker as deadlines_worker
    from deadlines.models import messaging as deadlines_messaging
    from intake.jobs import worker as intake_worker
    from intake.models import messaging as intake_messaging
    from ledger.jobs import worker as ledger_worker
    from ledger.models import messaging as ledger_messaging
    from routing.jobs import worker as routing_worker
    from routing.models import messaging as routing_messaging
    from services.common.db import get_sessionmaker
    from services.common.queue import connect

    outboxes = (
        ("intake", intake_messaging),
        ("routing", routing_messaging),
        ("deadlines", deadlines_messaging),
        ("ledger", ledger_messaging),
    )
    redis = await connect()
    try:
        for _ in range(rounds):
            moved = 0
            for producer, tables in outboxes:
                while n := await relay_once(get_sessionmaker(), tables, redis, producer, get_settings()):  # type: ignore[arg-type]
                    moved += n
            if not moved:
                return
            for make in (routing_worker, intake_worker, deadlines_worker, ledger_worker):
                await drain(make(burst=True))
    finally:
        await redis.aclose()


async def holder_of(appeal_id: str) -> tuple[str | None, str | None]:
    """The unit holding the appeal, as intake records it: its type and code."""
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(appeal_id))
        assert appeal is not None
        return appeal.holder_type, appeal.holder_code
