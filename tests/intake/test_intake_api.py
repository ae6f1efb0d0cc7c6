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
from sqlalchemy import func, select, text

from intake.models import Appeal, TimelineEntry, messaging
from services.common.auth import Principal, mint_service_token, mint_staff_token
from services.common.db import get_engine, session_scope
from services.common.personal import id_check_char
from services.common.timeutil import to_local
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


# --- the public view -----------------------------------------------------------------------------


class TestPublicStatus:
    async def test_the_public_sees_the_appeal_without_personal_data(self, http: httpx.AsyncClient) -> None:
        body = draft()
        accepted = await create(http, body)
        response = await http.get(
            f"/internal/public/appeals/{accepted['ticket_no']}",
            params={"code": accepted["query_code"]},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        public = response.json()
        assert public["ticket_no"] == accepted["ticket_no"]
        assert (public["status"], public["kind"], public["category"], public["track"]) == (
            "received",
            None,
            None,
            None,
        )
        assert public["town"] == "虎门" and public["village"] == "北栅社区"
        assert public["deadlines"] == [] and public["duplicate_of"] is None
        assert [t["status"] for t in public["timeline"]] == ["received"]
        assert accepted["ticket_no"] in public["timeline"][0]["description"]
        assert set(public) <= {
            "ticket_no",
            "status",
            "kind",
            "category",
            "track",
            "town",
            "village",
            "received_at",
            "timeline",
            "deadlines",
            "duplicate_of",
            # Additions of issue 16: the top-up beside a policy benefit, the public notices (公示).
            "secondary_track",
            "notices",
        }
        assert public["notices"] == [] and public["secondary_track"] is None
        dumped = response.text
        for personal in (NAME, PHONE_DIGITS, PHONE_MASKED, ID_NUMBER, body["reporter"]["openid"]):
            assert personal not in dumped
        assert accepted["query_code"] not in dumped and accepted["appeal_id"] not in dumped

    async def test_a_wrong_code_is_exactly_an_unknown_ticket(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        ticket, code = accepted["ticket_no"], accepted["query_code"]
        wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
        wrong = await http.get(
            f"/internal/public/appeals/{ticket}", params={"code": wrong_code}, headers=auth()
        )
        unknown_ticket = f"MS20200101{uuid.uuid4().int % 10**8:08d}"
        unknown = await http.get(
            f"/internal/public/appeals/{unknown_ticket}", params={"code": code}, headers=auth()
        )
        empty = await http.get(f"/internal/public/appeals/{ticket}", params={"code": ""}, headers=auth())
        first = assert_problem(wrong, 404, "not_found")
        for other in (unknown, empty):
            assert other.status_code == 404
            assert other.headers["content-type"] == wrong.headers["content-type"]
            assert without_instance(other.json()) == without_instance(first)
        assert ticket not in wrong.text.replace(first.get("instance", ""), "")


# --- staff moves ---------------------------------------------------------------------------------


class TestTransitions:
    async def test_hold_and_resume_write_the_timeline_and_the_outbox(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        appeal_id = accepted["appeal_id"]

        held = await move(http, appeal_id, "on_hold", CITY_ADMIN, "等待群众补充现场照片")
        assert held.status_code == 200, held.text
        assert held.json() == {"status": "on_hold", "ticket_no": accepted["ticket_no"]}
        assert await status_of(appeal_id) == ("on_hold", "received")

        # Resuming anywhere but where it was held is refused, naming the state.
        elsewhere = await move(http, appeal_id, "triaged", CITY_ADMIN)
        problem = assert_problem(elsewhere, 409, "illegal_transition")
        assert (problem["state"], problem["target"]) == ("on_hold", "triaged")

        resumed = await move(http, appeal_id, "received", CITY_ADMIN, "群众已补充照片")
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "received"
        assert await status_of(appeal_id) == ("received", None)

        timeline = await timeline_of(appeal_id)
        assert [(t.from_status, t.to_status, t.actor, t.reason) for t in timeline] == [
            (None, "received", "channel:wechat_miniprogram", None),
            ("received", "on_hold", "staff:city.admin", "等待群众补充现场照片"),
            ("on_hold", "received", "staff:city.admin", "群众已补充照片"),
        ]
        assert all(t.public_description for t in timeline)
        changes = await outbox_of(appeal_id, "appeal.status_changed")
        assert [(e["data"]["from_status"], e["data"]["to_status"], e["data"]["reason"]) for e in changes] == [
            ("received", "on_hold", "等待群众补充现场照片"),
            ("on_hold", "received", "群众已补充照片"),
        ]
        assert all(e["source"] == "intake" and e["appeal_id"] == appeal_id for e in changes)

    async def test_an_illegal_move_is_a_409_naming_the_state(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        appeal_id = accepted["appeal_id"]
        response = await move(http, appeal_id, "completed", CITY_ADMIN, "已修好")
        problem = assert_problem(response, 409, "illegal_transition")
        assert (problem["state"], problem["target"]) == ("received", "completed")
        assert "received" in problem["detail"]
        assert await status_of(appeal_id) == ("received", None)
        assert [t.to_status for t in await timeline_of(appeal_id)] == ["received"]
        assert await outbox_of(appeal_id, "appeal.status_changed") == []
        assert await outbox_of(appeal_id, "appeal.completed") == []

    async def test_an_unknown_target_is_a_422(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        response = await move(http, accepted["appeal_id"], "finished", CITY_ADMIN)
        assert_problem(response, 422, "invalid_input")
        assert await status_of(accepted["appeal_id"]) == ("received", None)

    async def test_an_auditor_may_look_but_not_act(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        appeal_id = accepted["appeal_id"]
        response = await move(http, appeal_id, "on_hold", AUDITOR, "试试")
        assert_problem(response, 403, "forbidden")
        assert (await http.get(f"/internal/appeals/{appeal_id}", headers=auth(AUDITOR))).status_code == 200
        assert await status_of(appeal_id) == ("received", None)
        assert len(await timeline_of(appeal_id)) == 1
        assert await outbox_of(appeal_id, "appeal.status_changed") == []

    async def test_another_village_does_not_learn_the_appeal_exists(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        appeal_id = accepted["appeal_id"]
        moved = await move(http, appeal_id, "on_hold", OTHER_VILLAGE_STAFF, "不是我们村的")
        first = assert_problem(moved, 404, "not_found")
        nobody = await move(http, str(uuid.uuid4()), "on_hold", OTHER_VILLAGE_STAFF)
        assert without_instance(nobody.json()) == without_instance(first)
        seen = await http.get(f"/internal/appeals/{appeal_id}", headers=auth(OTHER_VILLAGE_STAFF))
        assert_problem(seen, 404, "not_found")
        assert await status_of(appeal_id) == ("received", None)
        assert len(await timeline_of(appeal_id)) == 1

    async def test_the_appeals_own_village_may_act(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        response = await move(http, accepted["appeal_id"], "on_hold", VILLAGE_STAFF, "联系不上群众")
        assert response.status_code == 200, response.text
        assert [(t.to_status, t.actor) for t in await timeline_of(accepted["appeal_id"])][-1] == (
            "on_hold",
            "staff:beizha.staff",
        )

    async def test_a_move_needs_a_member_of_staff(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        response = await move(http, accepted["appeal_id"], "on_hold", None)
        assert_problem(response, 401, "unauthorized")
        assert await status_of(accepted["appeal_id"]) == ("received", None)

    async def test_withdrawn_is_final(self, http: httpx.AsyncClient) -> None:
        accepted = await create(http, draft())
        appeal_id = accepted["appeal_id"]
        assert (await move(http, appeal_id, "withdrawn", CITY_ADMIN, "群众撤回")).status_code == 200
        for target in ("received", "triaged", "on_hold"):
            problem = assert_problem(
                await move(http, appeal_id, target, CITY_ADMIN), 409, "illegal_transition"
            )
            assert problem["state"] == "withdrawn"
        assert [t.to_status for t in await timeline_of(appeal_id)] == ["received", "withdrawn"]


# --- the staff view ------------------------------------------------------------------------------


class TestStaffView:
    async def test_village_staff_see_masked_data_and_no_confidential_name(
        self, http: httpx.AsyncClient
    ) -> None:
        body = draft(
            reporter={"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "confidential": True},
            on_behalf_of={"name": "李阿婆", "phone": "+8613800138000", "hukou_local": False},
        )
        accepted = await create(http, body)
        response = await http.get(f"/internal/appeals/{accepted['appeal_id']}", headers=auth(VILLAGE_STAFF))
        assert response.status_code == 200, response.text
        view = response.json()
        assert (view["id"], view["ticket_no"], view["status"], view["village_code"]) == (
            accepted["appeal_id"],
            accepted["ticket_no"],
            "received",
            VILLAGE,
        )
        people = {p["relation"]: p for p in view["reporters"]}
        assert set(people) == {"reporter", "on_behalf_of"}
        reporter = people["reporter"]
        assert reporter["confidential"] is True
        assert reporter["name"] is None
        assert reporter["phone"] == PHONE_MASKED
        assert reporter["id_number"] == f"{ID_NUMBER[:4]}{'*' * 10}{ID_NUMBER[-4:]}"
        family = people["on_behalf_of"]
        assert (family["name"], family["phone"], family["confidential"]) == ("李阿婆", "138****8000", False)
        for secret in (NAME, PHONE_DIGITS, ID_NUMBER, "13800138000"):
            assert secret not in response.text

    async def test_an_anonymous_reporter_has_no_name_either(self, http: httpx.AsyncClient) -> None:
        body = draft(reporter={"name": NAME, "phone": PHONE, "anonymous": True})
        accepted = await create(http, body)
        response = await http.get(f"/internal/appeals/{accepted['appeal_id']}", headers=auth(CITY_ADMIN))
        assert response.status_code == 200, response.text
        (reporter,) = response.json()["reporters"]
        assert reporter["name"] is None and reporter["phone"] == PHONE_MASKED
        assert NAME not in response.text

    async def test_the_work_list_search_never_finds_a_hidden_reporter_by_their_words(
        self, http: httpx.AsyncClient
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        said = f"反映人{NAME}（{tag}）"
        department = staff("department_staff", "civil_affairs", username="civil.affairs")
        town = staff("town_staff", TOWN, username="humen.staff")

        async def found(who: Principal, q: str) -> set[str]:
            r = await http.get("/internal/worklist", params={"q": q, "limit": 200}, headers=auth(who))
            assert r.status_code == 200, r.text
            return {i["appeal_id"] for i in r.json()["items"]}

        hidden = await create(
            http,
            draft(
                reporter={"name": NAME, "phone": PHONE, "confidential": True},
                description=f"{said}：东方路的路灯坏了。",
            ),
        )
        plain = await create(http, draft(description=f"{said}：东方路的路灯坏了。"))
        for accepted in (hidden, plain):
            await force_fields(accepted["appeal_id"], holder_type="department", holder_code="civil_affairs")
        # 保密: the holding department, from whom the reporter is hidden, cannot confirm by name
        # who filed it; it still finds the appeal by its ticket, and a plain one by its words.
        assert await found(department, said) == {plain["appeal_id"]}
        assert hidden["appeal_id"] in await found(department, hidden["ticket_no"])
        assert hidden["appeal_id"] in await found(department, hidden["ticket_no"][-8:])
        # The town, which may know the reporter, searches the words as before.
        assert await found(town, said) == {hidden["appeal_id"], plain["appeal_id"]}

        # Anonymous, to the unit complained about: hidden there too, not from the town.
        anonymous = await create(
            http,
            draft(
                reporter={"name": NAME, "phone": PHONE, "anonymous": True},
                description=f"{said}：投诉社区不作为。",
            ),
        )
        await force_fields(
            anonymous["appeal_id"], complained_unit_type="village", complained_unit_code=VILLAGE
        )
        assert anonymous["appeal_id"] not in await found(VILLAGE_STAFF, said)
        assert anonymous["appeal_id"] in await found(VILLAGE_STAFF, anonymous["ticket_no"])
        assert anonymous["appeal_id"] in await found(town, said)


async def force_fields(appeal_id: str, **fields: Any) -> None:
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(appeal_id))
        assert appeal is not None
        for name, value in fields.items():
            setattr(appeal, name, value)
