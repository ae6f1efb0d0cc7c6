"""Duplicates across channels on the real database: linked on arrival, suggested, confirmed, undone;
repeats of the same person; every reporter of a linked appeal still hears back and rates."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from intake.api.app import app
from intake.handlers import on_received
from intake.models import Appeal, messaging
from intake.service.duplicates import lsh
from intake.service.duplicates.scorer import model
from intake.service.duplicates.service import arrival
from intake.service.duplicates.similarity import analyse
from services.common.db import session_scope
from services.common.messaging import claim
from services.common.timeutil import local_today
from services.contracts.events import Event
from tests.fixtures import auth, drain, enqueue, staff
from tests.intake.support import (
    CHANGPING,
    CITY,
    LINCUN,
    MUGUI,
    TANGXIA,
    draft,
    events,
    force,
    post,
    row,
    settle,
    street_name,
    timeline,
)
from tests.intake.support import create as create_unsettled
from tests.intake.support import create_settled as create

VILLAGE = staff("village_staff", MUGUI)


@pytest.fixture(autouse=True)
def _linking_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared test environment turns automatic linking off (conftest); these tests need it."""

    async def shipped(session: object) -> tuple[float, float]:
        return model().link_at, model().suggest_at

    # Patched where arrival looks it up (`service.arrival`), not on the package that re-exports it.
    monkeypatch.setattr(arrival, "current_thresholds", shipped)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client


def tag() -> str:
    # A street of our own per test, so that tests never match each other's appeals.
    return street_name()


async def public_of(http: httpx.AsyncClient, accepted: dict[str, Any]) -> dict[str, Any]:
    r = await http.get(
        f"/internal/public/appeals/{accepted['ticket_no']}",
        params={"code": accepted["query_code"]},
        headers=auth(),
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_the_same_matter_through_two_doors_is_linked_and_both_hear_back(
    http: httpx.AsyncClient,
) -> None:
    street = tag()
    first = await create(
        http,
        draft(
            MUGUI,
            CHANGPING,
            f"来电反映木棆村{street}多盏路灯损坏，夜间照明不足，存在安全隐患。",
            channel="hotline_12345",
            location={"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"},
        ),
    )
    body = draft(MUGUI, CHANGPING, f"{street}的路灯坏了好几盏，晚上黑漆漆的，老人小孩走路很危险。")
    second = await create(http, body)

    shown = await public_of(http, second)
    assert (shown["status"], shown["duplicate_of"]) == ("merged", first["ticket_no"])
    assert "合并办理" in shown["timeline"][-1]["description"]
    (merged,) = await events(second["appeal_id"], "appeal.merged")
    assert merged["data"]["master_id"] == first["appeal_id"] and merged["data"]["auto"] is True
    assert merged["data"]["score"] >= model().link_at

    listed = await http.get(f"/internal/appeals/{first['appeal_id']}/duplicates", headers=auth(CITY))
    # Other open appeals of the village (earlier tests) may be suggested beside it.
    (link,) = [d for d in listed.json() if d["appeal_id"] == second["appeal_id"]]
    assert (link["ticket_no"], link["role"], link["state"], link["auto"]) == (
        second["ticket_no"],
        "duplicate",
        "linked",
        True,
    )
    assert any("路灯" in reason for reason in link["reasons"])

    # The master is handled; the duplicate's reporter is told and rates on their own.
    await force(first["appeal_id"], status="in_progress", kind="micro_project", category="facility")
    assert (
        await post(http, f"/internal/appeals/{first['appeal_id']}/complete", CITY, {"reason": "已更换灯具"})
    ).status_code == 200
    told = await events(second["appeal_id"], "appeal.progressed")
    assert told and told[-1]["data"]["master_status"] == "completed"
    assert "办结" in (await public_of(http, second))["timeline"][-1]["description"]
    rating = {"result": "resolved", "rating": "basically_satisfied", "openid": body["reporter"]["openid"]}
    r = await post(http, f"/internal/appeals/{second['appeal_id']}/evaluation", None, rating)
    assert r.status_code == 200, r.text
    again = await post(http, f"/internal/appeals/{second['appeal_id']}/evaluation", None, rating)
    assert again.status_code == 409
    assert (await row(first["appeal_id"])).status == "completed"  # the master waits for its own reporter


async def test_staff_undo_a_wrong_link_and_confirm_a_suggestion(http: httpx.AsyncClient) -> None:
    street = tag()
    where = {"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"}
    first = await create(
        http, draft(MUGUI, CHANGPING, f"{street}下水道堵塞，污水漫到路面上。", location=where)
    )
    second = await create(
        http, draft(MUGUI, CHANGPING, f"来电反映{street}下水道堵了，污水溢出路面，请求疏通。", location=where)
    )
    assert (await row(second["appeal_id"])).status == "merged"
    path = f"/internal/appeals/{second['appeal_id']}/duplicates/undo"
    assert (await post(http, path, VILLAGE, {})).status_code == 422
    r = await post(http, path, VILLAGE, {"reason": "经核实是两处不同的下水道"})
    assert r.status_code == 200 and r.json()["status"] == "received"
    appeal = await row(second["appeal_id"])
    assert (appeal.duplicate_of, appeal.pre_merge_status) == (None, None)
    assert (await public_of(http, second))["duplicate_of"] is None
    assert (await timeline(second["appeal_id"]))[-1].reason == "经核实是两处不同的下水道"

    # Staff link it again by hand; an auditor may not.
    confirm = f"/internal/appeals/{second['appeal_id']}/duplicates/{first['appeal_id']}/confirm"
    assert (await post(http, confirm, staff("auditor", "city"), {})).status_code == 403
    r = await post(http, confirm, VILLAGE, {"reason": "确认同一处"})
    assert r.status_code == 200 and r.json()["status"] == "merged"
    listed = (
        await http.get(f"/internal/appeals/{second['appeal_id']}/duplicates", headers=auth(VILLAGE))
    ).json()
    # Other tests' appeals of the same village may be suggested beside it: only one link, to `first`.
    assert [
        (d["appeal_id"], d["state"], d["auto"], d["decided_by"]) for d in listed if d["state"] != "suggested"
    ] == [(first["appeal_id"], "linked", False, f"staff:{VILLAGE.username}")]


async def test_look_alikes_are_suggested_not_linked_and_other_problems_left_alone(
    http: httpx.AsyncClient,
) -> None:
    street = tag()
    where = {"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"}
    first = await create(
        http, draft(MUGUI, CHANGPING, f"{street}路口的井盖不见了，晚上很危险。", location=where)
    )
    other_problem = await create(
        http, draft(MUGUI, CHANGPING, f"{street}晚上广场舞音响太吵了。", location=where)
    )
    assert (await row(other_problem["appeal_id"])).status == "received"
    listed = (await http.get(f"/internal/appeals/{first['appeal_id']}/duplicates", headers=auth(CITY))).json()
    # At most a low suggestion for staff (the suggestion threshold is set for recall), never a link.
    mine = [d for d in listed if d["appeal_id"] == other_problem["appeal_id"]]
    assert all(d["state"] == "suggested" and d["score"] < model().link_at for d in mine), mine


async def test_the_same_person_again_is_a_repeat_not_a_merge(http: httpx.AsyncClient) -> None:
    body = draft(LINCUN, TANGXIA, f"林村社区{tag()}的公厕一直锁着，群众如厕不便。")
    first = await create(http, body)
    again = {
        **body,
        "channel": "hotline_12345",
        "channel_ref": f"t-{uuid.uuid4().hex}",
        "description": body["description"] + "又来反映。",
    }
    second = await create(http, again)
    appeal = await row(second["appeal_id"])
    assert (appeal.status, appeal.repeat_of) == ("received", uuid.UUID(first["appeal_id"]))
    listed = (
        await http.get(f"/internal/appeals/{second['appeal_id']}/duplicates", headers=auth(CITY))
    ).json()
    assert listed and listed[0]["repeat"] is True and listed[0]["state"] == "suggested"
    view = (await http.get(f"/internal/appeals/{second['appeal_id']}", headers=auth(CITY))).json()
    assert view["repeat_of"] == first["ticket_no"]


async def test_candidates_come_from_the_gin_index_not_a_scan() -> None:
    doc = analyse(None, "东方路路灯坏了", None, town_code="441900121000", village_code="441900121001")
    fine, coarse = lsh.query_keys(doc, datetime.now(UTC), 30)
    keys = fine + coarse
    async with session_scope() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in await session.execute(
                text(
                    "EXPLAIN SELECT appeal_id FROM intake.fingerprints WHERE keys && CAST(:k AS bigint[]) "
                    "AND received_at >= now() - interval '30 days' ORDER BY received_at DESC LIMIT 60"
                ),
                {"k": keys},
            )
        )
    assert "ix_fingerprints_keys" in plan, plan


async def _received_event(appeal_id: str) -> Event:
    (payload,) = await events(appeal_id, "appeal.received")
    return Event.model_validate(payload)


async def _city_received(http: httpx.AsyncClient) -> int:
    r = await http.get("/internal/stats/public", params={"start": local_today().isoformat()}, headers=auth())
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    return int(rows[0]["counts"]["received"]) if rows else 0


async def test_a_duplicate_is_linked_moments_after_the_caller_has_its_ticket(http: httpx.AsyncClient) -> None:
    street = tag()
    where = {"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"}
    first = await create(
        http, draft(MUGUI, CHANGPING, f"木棆村{street}的路灯坏了三盏，晚上一片漆黑。", location=where)
    )
    # The answer comes from the recording alone: the ticket is there before any analysis.
    second = await create_unsettled(
        http, draft(MUGUI, CHANGPING, f"{street}路灯坏了好几盏，夜里很黑，行人不安全。", location=where)
    )
    assert second["ticket_no"].startswith("MS") and len(second["query_code"]) == 6
    before = await public_of(http, second)
    assert (before["status"], before["duplicate_of"]) == ("received", None)

    assert await settle() >= 1  # intake's worker, on the appeal.received the relay delivers
    after = await public_of(http, second)
    assert (after["status"], after["duplicate_of"]) == ("merged", first["ticket_no"])


async def test_a_replayed_or_interrupted_arrival_has_exactly_one_effect(http: httpx.AsyncClient) -> None:
    street = tag()
    where = {"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"}
    counted_before = await _city_received(http)
    first = await create(
        http, draft(MUGUI, CHANGPING, f"木棆村{street}有个沙井盖不见了，很危险。", location=where)
    )
    second = await create_unsettled(
        http, draft(MUGUI, CHANGPING, f"{street}沙井盖冇咗，个窿好大，好危险。", location=where)
    )
    event = await _received_event(second["appeal_id"])

    # A worker killed after writing the effects and before its commit leaves nothing behind.
    with pytest.raises(RuntimeError):
        async with session_scope() as session:
            assert await claim(session, messaging, event, "intake")
            await on_received(session, event, {})
            assert (await session.get(Appeal, uuid.UUID(second["appeal_id"]))).status == "merged"  # type: ignore[union-attr]
            raise RuntimeError("killed before commit")
    assert (await row(second["appeal_id"])).status == "received"

    # Delivered (the relay), then again and again (a replay): the inbox keeps one effect.
    await settle()
    await enqueue("intake", event, event)
    await drain("intake")
    shown = await public_of(http, second)
    assert (shown["status"], shown["duplicate_of"]) == ("merged", first["ticket_no"])
    async with session_scope() as session:
        fingerprints = await session.scalar(
            text("SELECT count(*) FROM intake.fingerprints WHERE appeal_id = :id"),
            {"id": second["appeal_id"]},
        )
        links = await session.scalar(
            text("SELECT count(*) FROM intake.duplicate_links WHERE appeal_id = :id AND state = 'linked'"),
            {"id": second["appeal_id"]},
        )
    assert (fingerprints, links) == (1, 1)
    assert len(await events(second["appeal_id"], "appeal.merged")) == 1
    assert await _city_received(http) == counted_before + 2  # each arrival counted once


async def test_a_later_arrival_analyses_the_towns_earlier_ones_first(http: httpx.AsyncClient) -> None:
    await settle()  # nothing of earlier tests left pending
    street = tag()
    where = {"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"}
    first = await create_unsettled(
        http, draft(MUGUI, CHANGPING, f"木棆村{street}的路灯坏了三盏，晚上一片漆黑。", location=where)
    )
    second = await create_unsettled(
        http, draft(MUGUI, CHANGPING, f"{street}路灯坏了好几盏，夜里很黑，行人不安全。", location=where)
    )
    # The later one's event comes first: it analyses the earlier arrival before itself, so it
    # still meets its fingerprint; the earlier one's own event then finds nothing left to do.
    await enqueue("intake", await _received_event(second["appeal_id"]))
    await drain("intake")
    shown = await public_of(http, second)
    assert (shown["status"], shown["duplicate_of"]) == ("merged", first["ticket_no"])
    await enqueue("intake", await _received_event(first["appeal_id"]))
    await drain("intake")
    assert (await row(first["appeal_id"])).status == "received"
    async with session_scope() as session:
        left = await session.scalar(
            text("SELECT count(*) FROM intake.pending_arrivals WHERE appeal_id IN (:a, :b)"),
            {"a": first["appeal_id"], "b": second["appeal_id"]},
        )
    assert left == 0
