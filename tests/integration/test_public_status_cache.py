"""The public status as a document (issue 14.4): intake keeps each appeal's status, body and ETag,
at the revision of its last public change, in PostgreSQL and in Redis, so a poll through the gateway
is one Redis read (or, when Redis lacks it, one indexed read in intake); a change — made by any
path, even a bare UPDATE — shows at the very next poll; `304` on `If-None-Match`; a wrong code is a
404 exactly like an unknown ticket, and counted. Against the real intake app and Redis; intake's
statements are counted at the engine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from intake.api.app import app as intake_app
from intake.models import Appeal
from intake.service import notices
from services.common import status_documents
from services.common.db import session_scope
from services.common.settings import get_settings
from services.contracts.events import ConsultationChanged, make_event
from services.gateway.api.app import app as gateway_app
from services.gateway.service import client as gateway_client
from tests.fixtures import statements_sent
from tests.intake.support import CHANGPING, SIMA, create, draft, force

Wired = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def wired() -> AsyncIterator[Wired]:
    intake = httpx.AsyncClient(transport=httpx.ASGITransport(app=intake_app), base_url="http://intake")
    saved = gateway_client._clients.get("intake")
    gateway_client._clients["intake"] = intake
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app, client=("10.14.4.1", 40000)), base_url="http://gw"
        ) as gw:
            yield gw, intake
    finally:
        await intake.aclose()
        if saved is not None:
            gateway_client._clients["intake"] = saved
        else:
            gateway_client._clients.pop("intake", None)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to intake's tables while the test runs."""
    with statements_sent("intake.") as seen:
        yield seen


async def new_appeal(intake: httpx.AsyncClient) -> dict[str, Any]:
    return await create(intake, draft(SIMA, CHANGPING, f"司马村路口积水（{uuid.uuid4().hex[:6]}）"))


async def execute(sql: str, **params: Any) -> None:
    async with session_scope() as session:
        await session.execute(text(sql), params)


async def public_rev(appeal_id: str) -> int:
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(appeal_id))
        assert appeal is not None
        return appeal.public_rev


async def project_notice(appeal_id: str, ticket_no: str) -> None:
    """Routing's `consultation.changed`, through intake's projection."""
    ends = datetime.now(UTC) + timedelta(days=5)
    data = ConsultationChanged(
        consultation_id=uuid.uuid4(),
        ticket_no=ticket_no,
        unit_type="village",
        unit_code=SIMA,
        town_code=CHANGPING,
        village_code=SIMA,
        form="party_masses_joint",
        body="representatives",
        held_at=ends - timedelta(days=6),
        eligible_count=30,
        present_count=21,
        quorum_met=True,
        necessity="路口积水",
        feasibility="一周可完成",
        budget_fen=100_000,
        implementer="村委会",
        track="express",
        votes={"necessity": {"yes": 21, "no": 0, "abstain": 0}},
        state="notice",
        notice_days=5,
        notice_starts_at=ends - timedelta(days=5),
        notice_ends_at=ends,
    )
    event = make_event("consultation.changed", "routing", data, appeal_id=uuid.UUID(appeal_id))
    async with session_scope() as session:
        appeal = await session.get(Appeal, uuid.UUID(appeal_id))
        assert appeal is not None
        await notices.project(session, appeal, event)


async def test_a_kept_status_is_one_redis_read_or_one_indexed_read(
    wired: Wired, statements: list[str]
) -> None:
    gw, intake = wired
    accepted = await new_appeal(intake)
    ticket, code = accepted["ticket_no"], {"code": accepted["query_code"]}
    url = f"/api/v1/public/appeals/{ticket}"

    first = await gw.get(url, params=code)
    assert first.status_code == 200 and first.json()["status"] == "received"
    statements.clear()
    again = await gw.get(url, params=code)
    not_modified = await gw.get(url, params=code, headers={"If-None-Match": first.headers["etag"]})
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert not_modified.status_code == 304 and not_modified.content == b""
    # Unchanged since it was kept: the gateway answered from Redis, intake's tables untouched.
    assert statements == []

    # Redis lost it: intake answers with one statement (the appeal and its document) and shares it.
    await status_documents.redis().delete(status_documents.key(ticket))
    refilled = await gw.get(url, params=code, headers={"If-None-Match": first.headers["etag"]})
    assert refilled.status_code == 304
    assert len(statements) == 1 and "public_status" in statements[0] and "JOIN" in statements[0], statements
    statements.clear()
    assert (await gw.get(url, params=code)).content == first.content
    assert statements == []


async def test_recording_an_appeal_is_one_statement_and_leaves_no_note_to_read() -> None:
    """The caller's answer waits on one recording statement (and, once in a block, the draw of
    ticket numbers), each its own transaction (no unit of work around them: nothing to mark before
    a COMMIT, since a new ticket has no document anywhere), and a connection it used leaves no mark
    for the next unit of work."""
    with statements_sent() as sent:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake_app), base_url="http://intake"
        ) as intake:
            accepted = await new_appeal(intake)
        recorded = list(sent)
        # Every pooled connection, as the next units of work find them: none reads a note.
        for _ in range(get_settings().db_pool_size + get_settings().db_max_overflow):
            async with session_scope() as session:
                await session.execute(text("SELECT 1"))
    # The recording, after the draw of a block of ticket numbers when this process had none left.
    assert recorded[-1].lstrip().startswith("WITH recorded"), recorded
    assert len(recorded) == 1 or (len(recorded) == 2 and "ticket_seq" in recorded[0]), recorded
    assert not any("current_setting" in statement for statement in sent), sent
    assert (await public_rev(accepted["appeal_id"])) >= 1


async def test_a_document_never_goes_back_past_a_marked_change() -> None:
    ticket = f"MS{uuid.uuid4().int % 10**14:014d}"
    await status_documents.mark({ticket: 5})
    # Read before the change committed (revision 4): refused, so the change is what shows next.
    assert not await status_documents.fill(ticket, "123456", 4, '"old"', b"{}")
    assert await status_documents.read(ticket) is None
    assert await status_documents.fill(ticket, "123456", 5, '"new"', b'{"a": 1}')
    assert not await status_documents.fill(ticket, "123456", 5, '"other"', b"{}")
    await status_documents.mark({ticket: 5})  # an older or equal mark changes nothing
    stored = await status_documents.read(ticket)
    assert stored is not None and stored.etag == '"new"' and stored.body == b'{"a": 1}'
    # Revision 0 (never changed since revisions began) is never stored, and a first step not marked.
    assert not await status_documents.fill(f"{ticket}0", "123456", 0, '"zero"', b"{}")
    assert status_documents.to_mark({ticket: 1, f"{ticket}0": 2}) == {f"{ticket}0": 2}
    assert (
        stored.mac
        == status_documents.code_mac(ticket, "123456")
        != status_documents.code_mac(ticket, "654321")
    )
    await status_documents.mark({ticket: 6})
    assert await status_documents.read(ticket) is None


async def test_every_change_shows_at_the_next_poll(wired: Wired) -> None:
    gw, intake = wired
    accepted = await new_appeal(intake)
    master = await new_appeal(intake)
    url, code = f"/api/v1/public/appeals/{accepted['ticket_no']}", {"code": accepted["query_code"]}
    seen = await gw.get(url, params=code)
    assert seen.status_code == 200

    async def changed(check: Any) -> None:
        nonlocal seen
        now = await gw.get(url, params=code, headers={"If-None-Match": seen.headers["etag"]})
        assert now.status_code == 200, "a change answered 304: the kept status was stale"
        assert now.headers["etag"] != seen.headers["etag"]
        assert check(now.json()), now.json()
        seen = now

    # Through the ORM, as intake's own code changes an appeal.
    await force(accepted["appeal_id"], status="triaged", kind="micro_wish", category="living")
    await changed(lambda body: (body["status"], body["kind"]) == ("triaged", "micro_wish"))
    # A bare UPDATE, as any other path might: the database itself notes the change.
    await execute("UPDATE intake.appeals SET track = 'fast' WHERE id = :id", id=accepted["appeal_id"])
    await changed(lambda body: body["track"] == "fast")
    await execute(
        "UPDATE intake.appeals SET duplicate_of = :master WHERE id = :id",
        master=master["appeal_id"],
        id=accepted["appeal_id"],
    )
    await changed(lambda body: body["duplicate_of"] == master["ticket_no"])
    # A new public step of the timeline.
    await execute(
        "INSERT INTO intake.timeline (appeal_id, at, to_status, actor, public_description, public, round) "
        "VALUES (:id, now(), 'assigned', 'test', '已交办东坑镇处理', true, 1)",
        id=accepted["appeal_id"],
    )
    await changed(lambda body: body["timeline"][-1]["description"] == "已交办东坑镇处理")
    # A clock, as the deadlines projection keeps it, and then its state.
    clock = uuid.uuid4()
    due = datetime.now(UTC) + timedelta(days=3)
    await execute(
        "INSERT INTO intake.appeal_deadlines (clock_id, appeal_id, clock, due_at, provisional, state, as_of) "
        "VALUES (:clock, :id, 'handling', :due, false, 'running', now())",
        clock=clock,
        id=accepted["appeal_id"],
        due=due,
    )
    await changed(lambda body: [d["state"] for d in body["deadlines"]] == ["running"])
    await execute("UPDATE intake.appeal_deadlines SET state = 'met' WHERE clock_id = :clock", clock=clock)
    await changed(lambda body: [d["state"] for d in body["deadlines"]] == ["met"])

    # A public notice (公示), as intake's own projection keeps it: the database counts the change.
    await project_notice(accepted["appeal_id"], accepted["ticket_no"])
    await changed(lambda body: [n["state"] for n in body["notices"]] == ["notice"])

    # What the public does not see changes nothing: the kept document is served as it is.
    rev = await public_rev(accepted["appeal_id"])
    await execute("UPDATE intake.appeal_deadlines SET counted = true WHERE clock_id = :clock", clock=clock)
    await execute("UPDATE intake.appeals SET holder_code = 'X' WHERE id = :id", id=accepted["appeal_id"])
    # A staff-only step of the timeline (a resident's 补充材料 photo), and a change to it.
    await execute(
        "INSERT INTO intake.timeline (appeal_id, at, to_status, actor, public_description, public, round) "
        "VALUES (:id, now(), 'assigned', 'reporter:wechat_official', '居民补充了照片', false, 1)",
        id=accepted["appeal_id"],
    )
    await execute(
        "UPDATE intake.timeline SET public_description = '居民补充了照片、位置' "
        "WHERE appeal_id = :id AND NOT public",
        id=accepted["appeal_id"],
    )
    assert await public_rev(accepted["appeal_id"]) == rev
    same = await gw.get(url, params=code, headers={"If-None-Match": seen.headers["etag"]})
    assert same.status_code == 304
    # Made public, it is a public step, and deleted again, it is gone: both show.
    await execute(
        "UPDATE intake.timeline SET public = true WHERE appeal_id = :id AND NOT public",
        id=accepted["appeal_id"],
    )
    await changed(lambda body: body["timeline"][-1]["description"] == "居民补充了照片、位置")
    await execute(
        "DELETE FROM intake.timeline WHERE appeal_id = :id AND actor = 'reporter:wechat_official'",
        id=accepted["appeal_id"],
    )
    await changed(lambda body: body["timeline"][-1]["description"] == "已交办东坑镇处理")
    assert await public_rev(accepted["appeal_id"]) == rev + 2


async def test_a_wrong_code_is_an_unknown_ticket_and_is_counted(wired: Wired) -> None:
    gw, intake = wired
    accepted = await new_appeal(intake)
    url, right = f"/api/v1/public/appeals/{accepted['ticket_no']}", accepted["query_code"]
    assert (await gw.get(url, params={"code": right})).status_code == 200  # kept now
    wrong = await gw.get(url, params={"code": "000000" if right != "000000" else "111111"})
    unknown = await gw.get("/api/v1/public/appeals/MS99999999999999", params={"code": right})
    assert wrong.status_code == unknown.status_code == 404
    assert (
        wrong.json()["code"] == unknown.json()["code"] and wrong.json()["detail"] == unknown.json()["detail"]
    )
    # The per-ticket throttle still counts wrong codes against the kept document.
    for _ in range(12):
        last = await gw.get(url, params={"code": "000000" if right != "000000" else "111111"})
    assert last.status_code == 429
    assert (await gw.get(url, params={"code": right})).status_code == 429
