"""Intake's internal API over HTTP on the real database: the public view, staff moves and the
staff view."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from intake.models import Appeal
from services.common.auth import Principal
from services.common.db import session_scope
from tests.fixtures import auth, staff
from tests.intake.api_support import (
    AUDITOR,
    CITY_ADMIN,
    ID_NUMBER,
    NAME,
    OTHER_VILLAGE_STAFF,
    PHONE,
    PHONE_DIGITS,
    PHONE_MASKED,
    TOWN,
    VILLAGE,
    VILLAGE_STAFF,
    assert_problem,
    create,
    draft,
    move,
    outbox_of,
    status_of,
    timeline_of,
    without_instance,
)

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
