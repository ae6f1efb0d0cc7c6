"""Intake's internal API over HTTP on the real database: recording, idempotency, privacy, moves."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from intake.models import Appeal
from services.common.auth import mint_service_token, mint_staff_token
from services.common.db import get_engine, session_scope
from services.common.timeutil import to_local
from tests.fixtures import auth
from tests.intake.api_support import (
    CITY_ADMIN,
    ID_NUMBER,
    NAME,
    PHONE,
    PHONE_DIGITS,
    PHONE_MASKED,
    TOWN,
    VILLAGE,
    appeals_with_ref,
    assert_problem,
    create,
    draft,
    outbox_of,
    timeline_of,
)

# --- recording an appeal -------------------------------------------------------------------------


class TestCreate:
    async def test_a_new_draft_is_recorded_with_a_ticket_and_a_query_code(
        self, http: httpx.AsyncClient
    ) -> None:
        before = to_local(datetime.now(UTC)).date()
        body = draft()
        response = await http.post("/internal/appeals", json=body, headers=auth())
        after = to_local(datetime.now(UTC)).date()

        assert response.status_code == 201, response.text
        accepted = response.json()
        assert set(accepted) == {"appeal_id", "ticket_no", "query_code"}
        uuid.UUID(accepted["appeal_id"])
        match = re.fullmatch(r"MS(\d{8})\d+", accepted["ticket_no"])
        assert match, accepted
        # The date in the ticket is the local (Asia/Shanghai) date of receipt.
        assert match.group(1) in {f"{before:%Y%m%d}", f"{after:%Y%m%d}"}
        assert re.fullmatch(r"\d{6}", accepted["query_code"]), accepted

        async with session_scope() as session:
            appeal = await session.get(Appeal, uuid.UUID(accepted["appeal_id"]))
        assert appeal is not None
        assert (appeal.status, appeal.ticket_no, appeal.channel, appeal.channel_ref) == (
            "received",
            accepted["ticket_no"],
            "wechat_miniprogram",
            body["channel_ref"],
        )
        assert (appeal.town_code, appeal.village_code, appeal.datum) == (TOWN, VILLAGE, "gcj02")
        assert appeal.channel_extra == {"form_id": "street-light"}
        timeline = await timeline_of(accepted["appeal_id"])
        assert [(t.from_status, t.to_status, t.actor) for t in timeline] == [
            (None, "received", "channel:wechat_miniprogram")
        ]
        assert accepted["ticket_no"] in timeline[0].public_description

    async def test_the_same_draft_again_gets_the_first_answer(self, http: httpx.AsyncClient) -> None:
        body = draft()
        first = await create(http, body)
        again = await http.post("/internal/appeals", json=body, headers=auth())
        assert again.status_code == 200, again.text
        assert again.json() == first
        assert await appeals_with_ref(body["channel_ref"]) == 1
        assert len(await outbox_of(first["appeal_id"], "appeal.received")) == 1

    async def test_the_same_key_with_another_body_is_a_conflict(self, http: httpx.AsyncClient) -> None:
        body = draft()
        first = await create(http, body)
        changed = {**body, "description": "小区门口的垃圾桶三天没人清理了"}
        response = await http.post("/internal/appeals", json=changed, headers=auth())
        assert_problem(response, 409, "idempotency_key_reused")
        assert await appeals_with_ref(body["channel_ref"]) == 1
        async with session_scope() as session:
            appeal = await session.get(Appeal, uuid.UUID(first["appeal_id"]))
        assert appeal is not None and appeal.description == body["description"]

    async def test_the_same_ref_on_another_channel_is_another_appeal(self, http: httpx.AsyncClient) -> None:
        ref = f"ref-{uuid.uuid4().hex}"
        one = await create(http, draft(ref))
        other = await create(http, draft(ref, channel="web_portal"))
        assert one["appeal_id"] != other["appeal_id"] and one["ticket_no"] != other["ticket_no"]
        assert await appeals_with_ref(ref) == 2

    async def test_ten_concurrent_copies_record_one_appeal(self, http: httpx.AsyncClient) -> None:
        body = draft()
        responses = await asyncio.gather(
            *(http.post("/internal/appeals", json=body, headers=auth()) for _ in range(10))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 9 + [201], [r.text for r in responses]
        assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
        assert await appeals_with_ref(body["channel_ref"]) == 1
        appeal_id = responses[0].json()["appeal_id"]
        assert len(await outbox_of(appeal_id, "appeal.received")) == 1
        assert len(await timeline_of(appeal_id)) == 1


# --- personal data -------------------------------------------------------------------------------


class TestPersonalData:
    async def test_phone_and_id_number_are_encrypted_at_rest(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        async with get_engine().connect() as conn:
            rows = (
                (
                    await conn.execute(
                        text("SELECT * FROM intake.reporters WHERE appeal_id = :id"),
                        {"id": uuid.UUID(accepted["appeal_id"])},
                    )
                )
                .mappings()
                .all()
            )
        assert len(rows) == 1
        row = rows[0]
        for column, value in row.items():
            if value is None:
                continue
            raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            for secret in (PHONE, PHONE_DIGITS, ID_NUMBER):
                assert secret.encode() not in raw, (column, value)
        assert isinstance(row["phone_enc"], bytes) and row["phone_enc"]
        assert isinstance(row["id_number_enc"], bytes) and row["id_number_enc"]
        assert row["phone_masked"] == PHONE_MASKED
        assert row["id_number_masked"] == f"{ID_NUMBER[:4]}{'*' * 10}{ID_NUMBER[-4:]}"
        # Lookup hashes: present, and keyed, not a plain digest one could reverse by brute force.
        assert row["phone_hash"] and row["id_number_hash"]
        plain = {hashlib.sha256(v.encode()).hexdigest() for v in (PHONE, PHONE_DIGITS, ID_NUMBER)}
        assert not plain & {row["phone_hash"], row["id_number_hash"]}
        assert row["name"] == NAME and row["relation"] == "reporter"

    async def test_the_received_event_carries_no_personal_data(self, http: httpx.AsyncClient) -> None:
        body = draft()
        accepted = await create(http, body)
        events = await outbox_of(accepted["appeal_id"], "appeal.received")
        assert len(events) == 1
        event = events[0]
        assert event["type"] == "appeal.received" and event["source"] == "intake"
        assert event["appeal_id"] == accepted["appeal_id"]
        assert event["data"]["ticket_no"] == accepted["ticket_no"]
        assert event["data"]["description"] == body["description"]
        dumped = json.dumps(event, ensure_ascii=False)
        for personal in (
            PHONE,
            PHONE_DIGITS,
            PHONE_MASKED,
            ID_NUMBER,
            NAME,
            body["reporter"]["openid"],
        ):
            assert personal not in dumped, personal

    async def test_a_phone_number_written_in_the_text_stays_out_of_the_event(
        self, http: httpx.AsyncClient
    ) -> None:
        body = draft(description=f"东方路的路灯坏了好几盏，有进展请打我电话{PHONE_DIGITS}，身份证{ID_NUMBER}")
        accepted = await create(http, body)
        (event,) = await outbox_of(accepted["appeal_id"], "appeal.received")
        dumped = json.dumps(event, ensure_ascii=False)
        assert PHONE_DIGITS not in dumped and ID_NUMBER not in dumped


# --- bad input and bad callers -------------------------------------------------------------------


class TestRefused:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"description": ""}, "description"),
            ({"channel": "fax"}, "channel"),
            ({"location": {"lat": 123.0}}, "location.lat"),
            ({"reporter": {"phone": "1" * 40}}, "reporter.phone"),
            ({"surprise": True}, "surprise"),
        ],
    )
    async def test_a_malformed_draft_is_a_422_in_chinese_and_writes_nothing(
        self, http: httpx.AsyncClient, change: dict[str, Any], field: str
    ) -> None:
        body = draft(**change)
        response = await http.post("/internal/appeals", json=body, headers=auth())
        problem = assert_problem(response, 422, "invalid_input")
        assert any(e["field"] == field for e in problem["errors"]), problem
        assert await appeals_with_ref(body["channel_ref"]) == 0

    async def test_a_body_that_is_not_json_is_a_422(self, http: httpx.AsyncClient) -> None:
        response = await http.post(
            "/internal/appeals",
            content=b"{not json",
            headers={**auth(), "content-type": "application/json"},
        )
        assert_problem(response, 422, "invalid_input")

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": mint_service_token("gateway")},  # no "Bearer "
            {"Authorization": f"Bearer {mint_service_token('gateway', ttl_s=-30)}"},  # expired
            {"Authorization": f"Bearer {mint_staff_token(CITY_ADMIN)[0]}"},  # staff, not service
        ],
        ids=["missing", "garbage", "no-scheme", "expired", "staff-token"],
    )
    async def test_without_a_valid_service_token_nothing_happens(
        self, http: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        body = draft()
        response = await http.post("/internal/appeals", json=body, headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert await appeals_with_ref(body["channel_ref"]) == 0
        public = await http.get("/internal/public/appeals/MS2026010100000001?code=123456", headers=headers)
        assert_problem(public, 401, "unauthorized")
