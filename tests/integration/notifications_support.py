"""The staff notifications' shared world (DESIGN §10, issue 16.2): a running system whose
gateway pushes by SMS to the local fake SMS gateway, with the appeals and helpers both
notification test modules use."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from services.common.auth import Principal
from services.common.db import session_scope
from services.common.queue import connect, queue_name
from services.common.settings import get_settings
from services.gateway.config import feedback_settings
from services.gateway.jobs import worker as gateway_worker
from services.gateway.models import StaffAccount
from services.gateway.service.identity import create_staff
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fixtures import drain
from tests.integration.security_support import (
    CITY,
    OTHER_VILLAGE,
    VILLAGE,
    System,
    bearer,
    person,
    running_system,
    settle,
)
from tests.integration.test_security_scope import FAMILY_PHONE, file, visit

NOTES = "/api/v1/staff/notifications"
CONTACT = "/api/v1/staff/me/contact"
VILLAGE_PHONE = "13926640001"
TOWN_PHONE = "13926640002"


@dataclass
class World:
    system: System
    sms: FakeSmsGateway
    own: str  # 北栅社区's appeal
    other: str  # 虎门寨社区's appeal (same town)
    project: str  # 北栅社区's micro-project, for its community to consult on
    holder: Principal  # a member of the unit that holds `own`
    holder_phone: str | None
    tag: str = ""
    town_login: dict[str, str] | None = None  # a real 虎门 account that set its own phone


@contextmanager
def sms_url(url: str) -> Iterator[None]:
    """Point the SMS sender at the fake, without dropping the in-process service clients."""
    saved = os.environ.get("GUANJIA_SMS_URL")
    os.environ["GUANJIA_SMS_URL"] = url
    get_settings.cache_clear()
    feedback_settings.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("GUANJIA_SMS_URL", None)
        else:
            os.environ["GUANJIA_SMS_URL"] = saved
        get_settings.cache_clear()
        feedback_settings.cache_clear()


async def notify() -> None:
    """Every event to its consumers, then the gateway's worker (notifications, pushes)."""
    await settle()
    await drain(gateway_worker(burst=True))


async def holder_of(system: System, appeal_id: str) -> dict[str, Any]:
    r = await system.gateway.get(
        "/api/v1/staff/appeals", params={"q": await ticket_of(system, appeal_id)}, headers=bearer(CITY)
    )
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    holder: dict[str, Any] = item["holder"]
    return holder


async def ticket_of(system: System, appeal_id: str) -> str:
    r = await system.gateway.get(f"/api/v1/staff/appeals/{appeal_id}", headers=bearer(CITY))
    ticket: str = r.json()["ticket_no"]
    return ticket


ROLE = {
    "village": "village_staff",
    "town": "town_staff",
    "station": "station_staff",
    "department": "department_staff",
}


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    redis = await connect()
    await redis.delete(queue_name("gateway"))  # nothing of another module's in our worker's way
    await redis.aclose()
    sms = FakeSmsGateway().start()
    try:
        with sms_url(sms.url):
            async with running_system("10.8.0.16") as system:
                tag = uuid.uuid4().hex[:6]
                gw = system.gateway
                own = await file(
                    gw,
                    VILLAGE,
                    "village-visit",
                    visit(f"北栅社区荔枝路{tag}号楼道灯坏了，老人上下楼摔倒过。"),
                )
                other = await file(
                    gw,
                    OTHER_VILLAGE,
                    "village-visit",
                    visit(f"虎门寨社区寨前街{tag}号排水沟堵塞，下雨就积水。"),
                )
                project = await file(
                    gw,
                    VILLAGE,
                    "village-visit",
                    visit(
                        f"北栅社区东方路{tag}号一带的路灯坏了好几盏，晚上黑漆漆的，居民出行很不安全，希望尽快修好"
                    ),
                )
                await settle()
                unit = await holder_of(system, own)
                holder = person(ROLE[unit["type"]], unit["type"], unit["code"])  # type: ignore[arg-type]
                phone = None
                if unit["type"] in ROLE:
                    # A real account with a phone: the notifications to its unit are texted to it.
                    async with session_scope() as session:
                        await create_staff(
                            session,
                            f"notify.{tag}",
                            "a-long-password",
                            ROLE[unit["type"]],
                            unit["code"],
                            phone=VILLAGE_PHONE,
                        )
                    phone = "+86" + VILLAGE_PHONE
                await drain(gateway_worker(burst=True))
                yield World(system, sms, own, other, project, holder, phone, tag)
                async with session_scope() as session:
                    # Later modules' appeals in 北栅 and 虎门 are not these accounts' to be texted about.
                    await session.execute(
                        update(StaffAccount)
                        .where(StaffAccount.username.in_([f"notify.{tag}", f"contact.{tag}"]))
                        .values(active=False)
                    )
    finally:
        sms.stop()


async def notes(gw: httpx.AsyncClient, who: Principal, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await gw.get(NOTES, params=query, headers=bearer(who))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def family_texts(world: World, ticket: str) -> list[str]:
    return [s.params["text"] for s in world.sms.sent_to("+86" + FAMILY_PHONE) if ticket in s.params["text"]]
