"""Shared helpers for the intake API tests (test_intake_api, test_intake_api_views): drafts,
calls, problem checks and reads of the database."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from intake.models import Appeal, TimelineEntry, messaging
from services.common.auth import Principal
from services.common.db import session_scope
from services.common.personal import id_check_char
from tests.fixtures import auth, staff

PROBLEM = "application/problem+json"
HAN = re.compile(r"[\u4e00-\u9fff]")

# 虎门镇北栅社区 and, in the same town, 虎门寨社区.
TOWN = "441900121000"
VILLAGE = "441900121001"
OTHER_VILLAGE = "441900121016"

PHONE = "+8613912343210"
PHONE_DIGITS = "13912343210"
PHONE_MASKED = "139****3210"
ID_BODY = "44190019850315123"
ID_NUMBER = ID_BODY + id_check_char(ID_BODY)
NAME = "陈小明"


CITY_ADMIN = staff("city_admin", "city", username="city.admin")
AUDITOR = staff("auditor", "city", username="city.auditor")
VILLAGE_STAFF = staff("village_staff", VILLAGE, username="beizha.staff")
OTHER_VILLAGE_STAFF = staff("village_staff", OTHER_VILLAGE, username="humenzhai.staff")


def draft(channel_ref: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A mini-program draft from 虎门镇北栅社区, with a reporter who gave a phone and ID number."""
    body: dict[str, Any] = {
        "channel": "wechat_miniprogram",
        "channel_ref": channel_ref or f"mp-{uuid.uuid4().hex}",
        "reporter": {
            "name": NAME,
            "phone": PHONE,
            "id_number": ID_NUMBER,
            "openid": f"o-{uuid.uuid4().hex[:20]}",
            "hukou_local": True,
        },
        "title": "路灯坏了",
        "description": "东方路一带的路灯坏了好几盏，晚上黑漆漆的，老人小孩出行很不安全，希望尽快修好。",
        "location": {
            "address": "东莞市虎门镇北栅社区东方路12号",
            "town_code": TOWN,
            "village_code": VILLAGE,
            "lat": 22.85,
            "lng": 113.68,
            "datum": "gcj02",
        },
        "beneficiary_count": 300,
        "channel_extra": {"form_id": "street-light"},
    }
    body.update(overrides)
    return body


async def create(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/internal/appeals", json=body, headers=auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    assert HAN.search(body["detail"]), body  # a resident reads the detail: it is Chinese
    return body


def without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k != "instance"}


async def appeals_with_ref(channel_ref: str) -> int:
    async with session_scope() as session:
        count = await session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.channel_ref == channel_ref)
        )
    return int(count or 0)


async def outbox_of(appeal_id: uuid.UUID | str, type_: str) -> list[dict[str, Any]]:
    outbox = messaging.outbox
    async with session_scope() as session:
        rows = await session.execute(
            select(outbox.c.payload)
            .where(outbox.c.appeal_id == uuid.UUID(str(appeal_id)), outbox.c.type == type_)
            .order_by(outbox.c.seq)
        )
        return [dict(row.payload) for row in rows]


async def timeline_of(appeal_id: uuid.UUID | str) -> list[TimelineEntry]:
    async with session_scope() as session:
        entries = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == uuid.UUID(str(appeal_id)))
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
        return list(entries.all())


async def status_of(appeal_id: uuid.UUID | str) -> tuple[str, str | None]:
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(str(appeal_id)))
        assert appeal is not None
        return appeal.status, appeal.held_from


async def move(
    http: httpx.AsyncClient, appeal_id: str, to: str, actor: Principal | None, reason: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"to": to}
    if reason is not None:
        body["reason"] = reason
    return await http.post(f"/internal/appeals/{appeal_id}/transitions", json=body, headers=auth(actor))
