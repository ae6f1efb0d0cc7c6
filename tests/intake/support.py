"""Helpers for intake's own integration tests: staff principals, drafts, calls, reads."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from intake.models import Appeal, TimelineEntry, messaging
from services.common.auth import Principal
from services.common.db import session_scope
from services.contracts.events import Event
from tests.fixtures import auth, drain, enqueue, staff

HUMEN = "441900121000"
BEIZHA = "441900121001"
CHANGPING = "441900110000"
SIMA = "441900110207"  # 常平镇司马村
QIAOZI = "441900110201"  # 常平镇桥梓村
TANGXIA = "441900116000"
LINCUN = "441900116001"  # 塘厦镇林村社区
HUANZHULI = "441900110208"  # 常平镇还珠沥村 (statistics tests only)
MUGUI = "441900110202"  # 常平镇木棆村 (duplicates tests only)


CITY = staff("city_admin", "city", username="city.admin")
AUDITOR = staff("auditor", "city", username="city.auditor")


def draft(village: str, town: str, description: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "wechat_miniprogram",
        "channel_ref": f"t-{uuid.uuid4().hex}",
        "reporter": {
            "name": "梁小芳",
            "phone": f"+86139{uuid.uuid4().int % 10**8:08d}",
            "openid": f"o-{uuid.uuid4().hex[:16]}",
        },
        "description": description,
        "location": {"town_code": town, "village_code": village},
    }
    body.update(overrides)
    return body


async def create(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post("/internal/appeals", json=body, headers=auth())
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def create_settled(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """`create`, then what intake's worker does after the commit (`settle`): the appeal is analysed
    (duplicates, counters) before the next one arrives, as on a live system a moment later."""
    out = await create(http, body)
    await settle()
    return out


async def post(
    http: httpx.AsyncClient, path: str, actor: Principal | None, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await http.post(path, json=body or {}, headers=auth(actor))


async def row(appeal_id: str | uuid.UUID) -> Appeal:
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(str(appeal_id)))
    assert appeal is not None
    return appeal


async def timeline(appeal_id: str | uuid.UUID) -> list[TimelineEntry]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == uuid.UUID(str(appeal_id)))
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
        return list(rows.all())


async def events(appeal_id: str | uuid.UUID, type_: str) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload)
            .where(outbox.c.appeal_id == uuid.UUID(str(appeal_id)), outbox.c.type == type_)
            .order_by(outbox.c.seq)
        )
        return [dict(r.payload) for r in rows]


async def force(appeal_id: str | uuid.UUID, **fields: Any) -> None:
    """Set fields directly (what routing's events would have set), for tests of later steps."""
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(str(appeal_id)))
        assert appeal is not None
        for k, v in fields.items():
            setattr(appeal, k, v)


_STREET_CHARS = "安宝北昌诚春翠丹德东凤福富港光广桂海和河宏华吉佳嘉金锦景康乐立利林龙茂美民明南平启庆荣瑞盛泰桃天田同旺文祥新兴秀旭阳怡永裕元悦振正志中竹紫"


def street_name() -> str:
    """A street of the test's own in 木棆村 (常平), named as streets are (three characters and 路), so
    that the duplicate detector reads it as a road: tests never meet each other's appeals. A name
    the detector would cut into words (木棆和安华路 -> 和 + 安华路) is drawn again: two tests' streets
    that lose their distinguishing characters would read as one street."""
    from intake.service.duplicates.similarity import analyse

    while True:
        name = "".join(_STREET_CHARS[byte % len(_STREET_CHARS)] for byte in uuid.uuid4().bytes[:3])
        if analyse(None, f"木棆村木棆{name}路的路灯坏了", f"常平镇木棆村木棆{name}路").places == {
            f"{name}路"
        }:
            return f"木棆{name}路"


async def settle() -> int:
    """Run what follows recording (intake's worker on its own `appeal.received`: counters,
    duplicate detection) for every appeal recorded so far and not yet analysed, as the relay
    would deliver it; returns how many events were handled. Tests that read duplicates, repeats
    or counters right after filing call this first: that work happens after the commit now."""
    outbox, inbox = messaging.outbox, messaging.inbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload)
            .where(
                outbox.c.type == "appeal.received",
                ~outbox.c.event_id.in_(select(inbox.c.event_id).where(inbox.c.consumer == "intake")),
            )
            .order_by(outbox.c.seq)
        )
        pending = [Event.model_validate(r.payload) for r in rows]
    if pending:
        await enqueue("intake", *pending)
        await drain("intake")
    return len(pending)
