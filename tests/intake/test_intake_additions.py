"""补充材料: a reporter's addition to their own open appeal (issue 16.6), through intake's API on
the real database: once per (channel, channel_ref), only the sender's, only while open."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from intake.models import Addition, Attachment
from services.common.db import session_scope
from tests.fixtures import auth, staff
from tests.intake.support import CHANGPING, CITY, SIMA, create, draft, force, timeline

TEXT = "常平镇司马村村口的路灯坏了"
DEPARTMENT = staff("department_staff", "civil_affairs", username="civil.affairs")
TOWN = staff("town_staff", CHANGPING, username="changping.staff")


def addition(openid: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "wechat_official",
        "channel_ref": ref,
        "openid": openid,
        "sent_at": datetime.now(UTC).isoformat(),
        "attachments": [
            {
                "kind": "photo",
                "uri": f"https://mmbiz.qpic.cn/{ref}",
                "media_type": "image/jpeg",
                "size_bytes": 0,
            }
        ],
        **extra,
    }


async def count(model: Any, appeal_id: str) -> int:
    async with session_scope() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(model).where(model.appeal_id == uuid.UUID(appeal_id))
            )
            or 0
        )


async def test_kept_once_only_the_senders_only_while_open(http: httpx.AsyncClient) -> None:
    body = draft(SIMA, CHANGPING, f"{TEXT}（{uuid.uuid4().hex[:6]}）")
    mine = await create(http, body)
    me = body["reporter"]["openid"]
    path = f"/internal/appeals/{mine['appeal_id']}/additions"
    ref = str(uuid.uuid4().int % 10**19)

    first = await http.post(path, json=addition(me, ref, note="电话 13926641258"), headers=auth())
    assert first.status_code == 201, first.text
    assert first.json()["ticket_no"] == mine["ticket_no"] and first.json()["created"] is True
    replay = await http.post(path, json=addition(me, ref), headers=auth())
    assert replay.status_code == 200
    assert replay.json()["addition_id"] == first.json()["addition_id"] and replay.json()["created"] is False
    assert await count(Addition, mine["appeal_id"]) == 1
    assert await count(Attachment, mine["appeal_id"]) == 1
    async with session_scope() as session:
        note = await session.scalar(select(Addition.note).where(Addition.channel_ref == ref))
    assert note == "电话 139****1258"  # numbers masked at rest, as in the appeal's own words
    steps = await timeline(mine["appeal_id"])
    assert [(s.public_description, s.public) for s in steps if s.to_status == s.from_status] == [
        ("居民补充了照片、说明", False)
    ]

    stranger = await http.post(
        path, json=addition("o-somebody-else", str(uuid.uuid4().int % 10**19)), headers=auth()
    )
    assert stranger.status_code == 404
    unknown = await http.post(
        f"/internal/appeals/{uuid.uuid4()}/additions",
        json=addition(me, str(uuid.uuid4().int % 10**19)),
        headers=auth(),
    )
    assert unknown.status_code == 404

    withdrawn = await http.post(
        f"/internal/appeals/{mine['appeal_id']}/withdraw-by-resident",
        json={"openid": me, "reason": "已自行解决"},
        headers=auth(),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    late = await http.post(path, json=addition(me, str(uuid.uuid4().int % 10**19)), headers=auth())
    assert late.status_code == 409 and late.json()["code"] == "appeal_finished"
    assert await count(Addition, mine["appeal_id"]) == 1


async def test_a_hidden_reporters_own_words_and_position_reach_no_one_they_are_hidden_from(
    http: httpx.AsyncClient,
) -> None:
    name, spoken = "赵丽华", "一三九二六六四一二五八"
    body = draft(SIMA, CHANGPING, f"{TEXT}（{uuid.uuid4().hex[:6]}）")
    body["reporter"] |= {"name": name, "confidential": True}
    mine = await create(http, body)
    me = body["reporter"]["openid"]
    await force(mine["appeal_id"], holder_type="department", holder_code="civil_affairs")
    note = f"（语音）我是{name}，住在3栋502，电话{spoken}，路灯到现在还没修。"
    place = {"address": "常平镇司马村幸福路3栋", "lat": 22.987654, "lng": 113.987654, "datum": "gcj02"}
    added = await http.post(
        f"/internal/appeals/{mine['appeal_id']}/additions",
        json=addition(me, str(uuid.uuid4().int % 10**19), note=note, location=place),
        headers=auth(),
    )
    assert added.status_code == 201, added.text
    secrets = (name, "丽华", spoken, "3栋", "502", "22.987654", "113.987654")

    def reason(steps: list[dict[str, Any]]) -> str:
        (said,) = [s["reason"] for s in steps if s["description"] == "居民补充了照片、位置、说明"]
        assert isinstance(said, str)
        return said

    # 保密: the holding department reads what was added, never who sent it or from which door.
    path = f"/internal/appeals/{mine['appeal_id']}/timeline"
    seen = await http.get(path, headers=auth(DEPARTMENT))
    assert seen.status_code == 200, seen.text
    said = reason(seen.json())
    assert "路灯" in said and "22.99,113.99" in said, said
    for secret in secrets:
        assert secret not in said, (secret, said)
    assert name not in seen.text and spoken not in seen.text
    # The town, which may know the reporter, reads it as written.
    town_said = reason((await http.get(path, headers=auth(TOWN))).json())
    assert name in town_said and "22.987654,113.987654" in town_said and "3栋502" in town_said

    # The archive of a town complained about is as blind; the city's is as written.
    await force(
        mine["appeal_id"], complained_unit_type="town", complained_unit_code=CHANGPING, status="closed"
    )
    archived = await http.get(f"/internal/appeals/{mine['appeal_id']}/archive", headers=auth(TOWN))
    assert archived.status_code == 200, archived.text
    said = reason(archived.json()["timeline"])
    assert "路灯" in said
    for secret in secrets:
        assert secret not in said, (secret, said)
    assert name not in archived.text and spoken not in archived.text
    city = await http.get(f"/internal/appeals/{mine['appeal_id']}/archive", headers=auth(CITY))
    assert name in reason(city.json()["timeline"]) and "22.987654" in city.text
