"""保密 (issue 15.3): the unit an appeal complains about never holds it and never reads who filed
it, in any field: not in the reporter block, not in the description ("我是赵丽华", a phone number in
Chinese numerals), title or address. Whoever else may know (the town) still reads the words as
written.

The whole system in-process: gateway in front of the real services and their real workers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.intake.support import force
from tests.integration.security_support import (
    BEIZHA,
    CITY,
    HUMEN,
    TOWN,
    VILLAGE,
    System,
    bearer,
    holder_of,
    running_system,
    settle,
)

NAME, SPOKEN_PHONE, DIGITS = "赵丽华", "一三八二三四五六七九二", "13823456792"
WRITTEN_PHONE = "139-2664-7315"  # written in digits: kept apart as a quoted number
NOT_THE_PERSON = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|MS\d{14}|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?"
)


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    async with running_system("10.8.0.13") as running:
        yield running


async def _file_against_the_village(gw: httpx.AsyncClient) -> str:
    tag = uuid.uuid4().hex[:6]
    body = {
        "title": f"投诉{NAME}家门口路灯无人修",
        "description": (
            f"我是{NAME}，电话{SPOKEN_PHONE}，手机{WRITTEN_PHONE}。北栅社区东方路{tag}号门口的路灯坏了半年，"
            f"我多次向社区反映都没人管，我要投诉社区不作为。"
        ),
        "submitter": {"name": NAME, "phone": DIGITS, "confidential": True},
        "location": {"town": HUMEN, "village_code": BEIZHA, "address": f"虎门镇北栅社区东方路{tag}号"},
    }
    headers = {**bearer(TOWN), "Idempotency-Key": f"conf-{uuid.uuid4().hex}"}
    r = await gw.post("/api/v1/channels/web-portal/appeals", json=body, headers=headers)
    assert r.status_code == 201, r.text
    appeal_id: str = r.json()["appeal_id"]
    return appeal_id


async def test_the_unit_complained_about_neither_holds_the_appeal_nor_reads_the_reporter(
    system: System,
) -> None:
    gw = system.gateway
    appeal_id = await _file_against_the_village(gw)
    await settle()
    # Whatever triage chose, the town hands it to the village (as a town may) before the complaint
    # about that village is recorded: the realistic order, and the one that must be undone.
    handed = await gw.post(
        f"/api/v1/routing/triage/{appeal_id}/decision",
        json={"unit_type": "village", "unit_code": BEIZHA, "reason": "属地办理"},
        headers=bearer(TOWN),
    )
    assert handed.status_code == 200, handed.text
    await settle()
    assert await holder_of(appeal_id) == ("village", BEIZHA)

    noted = await gw.put(
        f"/api/v1/staff/appeals/{appeal_id}/complained-unit",
        json={"unit_type": "village", "unit_code": BEIZHA},
        headers=bearer(TOWN),
    )
    assert noted.status_code == 200, noted.text
    await settle()
    # The village no longer holds it: the town does, and cannot hand it back to the village.
    assert await holder_of(appeal_id) == ("town", HUMEN)
    again = await gw.post(
        f"/api/v1/routing/triage/{appeal_id}/decision",
        json={"unit_type": "village", "unit_code": BEIZHA, "reason": "再派社区"},
        headers=bearer(TOWN),
    )
    assert again.status_code == 200, again.text
    await settle()
    assert await holder_of(appeal_id) == ("town", HUMEN)
    signed = await gw.post(
        f"/api/v1/routing/assignments/{appeal_id}/sign-off", json={}, headers=bearer(VILLAGE)
    )
    assert signed.status_code in (403, 404), signed.text

    # The village reads the matter, never the person: not in any field of any answer about it.
    seen = await gw.get(f"/api/v1/staff/appeals/{appeal_id}", headers=bearer(VILLAGE))
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["reporters"][0]["hidden"] is True
    assert "路灯" in view["description"]
    text = json.dumps(view, ensure_ascii=False)
    # Ids, ticket numbers and times are digits of their own: a fragment of the phone inside one
    # (…-839223282138, MS20261207000138) is no leak.
    bare = NOT_THE_PERSON.sub("", text)
    for secret in (NAME, SPOKEN_PHONE, DIGITS, "138", "139", "7315", "丽华"):
        assert secret not in bare, (secret, text)
    assert view["quoted_numbers"] == []
    timeline = await gw.get(f"/api/v1/staff/appeals/{appeal_id}/timeline", headers=bearer(VILLAGE))
    assert timeline.status_code == 200 and NAME not in timeline.text and SPOKEN_PHONE not in timeline.text

    # The town, which must be able to call the reporter back, reads the words as written.
    town_view = (await gw.get(f"/api/v1/staff/appeals/{appeal_id}", headers=bearer(TOWN))).json()
    assert f"我是{NAME}" in town_view["description"]
    assert [q["masked"][:3] for q in town_view["quoted_numbers"]] == ["139"]


async def test_a_town_complained_about_hands_the_appeal_to_the_city_and_reads_no_reporter(
    system: System,
) -> None:
    gw = system.gateway
    appeal_id = await _file_against_the_village(gw)
    await settle()
    noted = await gw.put(
        f"/api/v1/staff/appeals/{appeal_id}/complained-unit",
        json={"unit_type": "town", "unit_code": HUMEN},
        headers=bearer(CITY),
    )
    assert noted.status_code == 200, noted.text
    handed = await gw.post(
        f"/api/v1/routing/triage/{appeal_id}/decision",
        json={"unit_type": "town", "unit_code": HUMEN, "reason": "镇街办理"},
        headers=bearer(CITY),
    )
    assert handed.status_code == 200, handed.text
    await settle()
    assert await holder_of(appeal_id) == ("city", "city")

    text = (await gw.get(f"/api/v1/staff/appeals/{appeal_id}", headers=bearer(TOWN))).text
    assert NAME not in text and SPOKEN_PHONE not in text and "路灯" in text
    await force(appeal_id, status="closed")  # the archive holds finished appeals only
    archived = await gw.get(f"/api/v1/staff/appeals/{appeal_id}/archive", headers=bearer(TOWN))
    assert archived.status_code == 200, archived.text
    for secret in (NAME, SPOKEN_PHONE, DIGITS, "丽华"):
        assert secret not in archived.text, (secret, archived.text[:600])
    assert archived.json()["reporters"][0]["hidden"] is True
    # The city, which the complaint is not about, reads the archive as written.
    assert NAME in (await gw.get(f"/api/v1/staff/appeals/{appeal_id}/archive", headers=bearer(CITY))).text
