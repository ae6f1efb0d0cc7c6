"""appeal.received through routing's real arq consumer: triage, first assignment, events; sign-off."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from routing.models import TriageCorrection
from routing.service import models_store
from routing.service.classifier.model import shipped_model
from services.common.db import session_scope
from tests.fixtures import auth, received, staff
from tests.routing.support import (
    BEIZHA,
    CITY,
    DIBAO,
    HUMEN,
    HUMEN_TOWN,
    HUMENZHAI,
    NANCHENG,
    NANCHENG_TOWN,
    STREET_LIGHTS,
    empty_queue,
    events_of,
    feed,
    queue_items,
    routing_client,
    triage_row,
    types_of,
)
from tests.routing.support import hops as assignments


@pytest.fixture(autouse=True)
async def _empty_queue() -> AsyncIterator[None]:
    """Each test starts on an empty routing queue: nothing left by another test runs inside it."""
    await empty_queue()
    yield


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with routing_client() as client:
        yield client


# --- triage and the first assignment -------------------------------------------------------------


async def test_street_lights_in_beizha_go_to_the_village_for_consultation() -> None:
    event = received(STREET_LIGHTS, title="路灯坏了", address="虎门镇北栅社区东方路12号")
    appeal_id = await feed(event)

    triage = await triage_row(appeal_id)
    assert triage is not None
    assert (triage.kind, triage.category, triage.town_code, triage.village_code) == (
        "micro_project",
        "facility",
        HUMEN,
        BEIZHA,
    )
    assert (triage.location_method, triage.ticket_no, triage.needs_manual) == (
        "address",
        event.data["ticket_no"],
        False,
    )
    assert triage.explanations, "a triage says why"

    (hop,) = await assignments(appeal_id)
    assert (hop.hop, hop.unit_type, hop.unit_code, hop.purpose, hop.state) == (
        1,
        "village",
        BEIZHA,
        "consult",
        "assigned",
    )

    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == ["appeal.triaged", "appeal.assigned"]
    assert all(e["source"] == "routing" and e["appeal_id"] == str(appeal_id) for e in events)
    triaged, assigned = events[0]["data"], events[1]["data"]
    assert (triaged["kind"], triaged["category"], triaged["track"]) == (
        "micro_project",
        "facility",
        triage.track,
    )
    assert (triaged["town_code"], triaged["village_code"]) == (HUMEN, BEIZHA)
    assert triaged["catalogue_version"] == triage.catalogue_version
    assert (assigned["unit_type"], assigned["unit_code"], assigned["purpose"], assigned["hop"]) == (
        "village",
        BEIZHA,
        "consult",
        1,
    )
    assert (assigned["kind"], assigned["policy_code"]) == ("micro_project", None)


async def test_a_dibao_appeal_goes_to_civil_affairs_on_the_policy_track() -> None:
    event = received(DIBAO, address="南城街道", town_code=NANCHENG)
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    await feed(event)

    triage = await triage_row(appeal_id)
    assert triage is not None
    assert (triage.kind, triage.category, triage.track, triage.department) == (
        "micro_wish",
        "living",
        "policy",
        "civil_affairs",
    )
    assert "civil_affairs.dibao" in triage.policy_codes
    # The channel said where: that wins over text matching.
    assert (triage.town_code, triage.village_code, triage.location_method) == (NANCHENG, None, "channel")

    (hop,) = await assignments(appeal_id)
    assert (hop.unit_type, hop.unit_code, hop.purpose) == ("department", "civil_affairs", "handle")
    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == ["appeal.triaged", "appeal.assigned"]
    assert events[0]["data"]["track"] == "policy"
    assert "civil_affairs.dibao" in events[0]["data"]["policy_codes"]
    assigned = events[1]["data"]
    assert (assigned["unit_type"], assigned["unit_code"], assigned["purpose"], assigned["policy_code"]) == (
        "department",
        "civil_affairs",
        "handle",
        "civil_affairs.dibao",
    )


async def test_an_appeal_from_nowhere_waits_in_the_citys_manual_queue() -> None:
    event = received("我想反映一个问题，具体情况电话里再说")
    appeal_id = await feed(event)
    triage = await triage_row(appeal_id)
    assert triage is not None and triage.town_code is None and triage.needs_manual
    assert triage.state == "pending"
    # Nothing is announced until a person decides: the triage clock keeps running meanwhile.
    assert await assignments(appeal_id) == []
    assert await events_of(appeal_id) == []
    (item,) = await queue_items(appeal_id)
    assert (item.level, item.town_code, item.reason, item.state) == ("city", None, "no_location", "open")
    # Words that say nothing: a person must both classify and place it, and staff read both.
    assert triage.unsure and triage.manual_reasons == ["low_confidence", "no_location"]


async def test_a_replay_triages_once() -> None:
    event = received(STREET_LIGHTS, address="虎门镇北栅社区东方路12号")
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    # The same event twice at once, again later, and a copy re-sent under a new event id.
    await feed(event, event)
    first = await triage_row(appeal_id)
    await feed(event, event.model_copy(update={"id": uuid.uuid4()}))

    again = await triage_row(appeal_id)
    assert first is not None and again is not None
    assert again.created_at == first.created_at
    assert len(await assignments(appeal_id)) == 1
    assert [e["type"] for e in await events_of(appeal_id)] == ["appeal.triaged", "appeal.assigned"]


# --- sign-off (签收) -----------------------------------------------------------------------------


async def test_sign_off_by_the_holding_unit_once(http: httpx.AsyncClient) -> None:
    event = received(STREET_LIGHTS, address="虎门镇北栅社区东方路12号")
    assert event.appeal_id is not None
    appeal_id = event.appeal_id
    await feed(event)
    url = f"/internal/assignments/{appeal_id}/sign-off"

    # Another village of the same town, and the town itself, do not hold it; the neighbour does not
    # even see it, so for it the appeal does not exist (issue 15).
    for outsider, status, code in (
        (staff("village_staff", HUMENZHAI), 404, "not_found"),
        (staff("town_staff", HUMEN), 403, "forbidden"),
    ):
        refused = await http.post(url, headers=auth(outsider))
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == code
    anonymous = await http.post(url, headers=auth(None))
    assert anonymous.status_code == 401, anonymous.text
    assert [e["type"] for e in await events_of(appeal_id)] == ["appeal.triaged", "appeal.assigned"]

    holder = staff("village_staff", BEIZHA)
    signed = await http.post(url, headers=auth(holder))
    assert signed.status_code == 200, signed.text
    view = signed.json()
    assert (view["appeal_id"], view["hop"], view["unit_code"], view["state"]) == (
        str(appeal_id),
        1,
        BEIZHA,
        "signed_off",
    )
    assert view["signed_off_at"] is not None

    twice = await http.post(url, headers=auth(holder))
    assert twice.status_code == 409, twice.text
    problem = twice.json()
    assert (problem["code"], problem["state"]) == ("conflict", "signed_off")
    assert problem["detail"]

    (hop,) = await assignments(appeal_id)
    assert hop.state == "signed_off" and hop.signed_off_at is not None
    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == ["appeal.triaged", "appeal.assigned", "appeal.signed_off"]
    assert events[-1]["data"] == {"unit_type": "village", "unit_code": BEIZHA, "hop": 1}


async def test_sign_off_of_an_unknown_appeal_is_a_404(http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"/internal/assignments/{uuid.uuid4()}/sign-off",
        headers=auth(staff("village_staff", BEIZHA)),
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


# --- confidences, explanations and the manual queue ----------------------------------------------


UNSURE = "麻烦你们来看一下，虎门镇北栅社区这边的情况"


async def test_a_triage_carries_confidences_and_says_why() -> None:
    appeal_id = await feed(received(STREET_LIGHTS, address="虎门镇北栅社区东方路12号"))
    row = await triage_row(appeal_id)
    assert row is not None
    assert row.kind_confidence is not None and row.kind_confidence >= 0.7
    assert row.category_confidence is not None and row.urgency_confidence is not None
    assert row.location_confidence is not None and row.location_confidence > 0.8
    assert row.model_version == shipped_model().version
    rules = {e["rule"]: e for e in row.explanations}
    assert "路灯" in rules["category.facility"]["matched"]
    assert rules["location.address"]["matched"] and rules["model"]["matched"]
    assert (row.title, row.description) == (None, STREET_LIGHTS)


async def test_an_unsure_appeal_waits_in_its_towns_queue(http: httpx.AsyncClient) -> None:
    appeal_id = await feed(received(UNSURE))
    row = await triage_row(appeal_id)
    assert row is not None and row.needs_manual and row.state == "pending"
    assert (row.town_code, row.village_code) == (HUMEN, BEIZHA)
    assert await events_of(appeal_id) == []
    (item,) = await queue_items(appeal_id)
    assert (item.level, item.town_code, item.reason) == ("town", HUMEN, "low_confidence")

    def listed(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {x["appeal_id"] for x in response.json()}

    assert str(appeal_id) in listed(await http.get("/internal/triage-queue", headers=auth(HUMEN_TOWN)))
    assert str(appeal_id) in listed(await http.get("/internal/triage-queue", headers=auth(CITY)))
    assert str(appeal_id) not in listed(await http.get("/internal/triage-queue", headers=auth(NANCHENG_TOWN)))
    village = await http.get("/internal/triage-queue", headers=auth(staff("village_staff", BEIZHA)))
    assert village.status_code == 403 and village.json()["code"] == "forbidden"
    entry = next(
        x
        for x in (await http.get("/internal/triage-queue", headers=auth(HUMEN_TOWN))).json()
        if x["appeal_id"] == str(appeal_id)
    )
    assert entry["description"] == UNSURE and entry["triage"]["needs_manual"] is True
    assert (entry["triage"]["unsure"], entry["triage"]["manual_reasons"]) == (True, ["low_confidence"])
    # The town can read the appeals the model could not classify apart from those it could.
    for unsure, listed_here in (("true", True), ("false", False)):
        page = await http.get("/internal/triage-queue", params={"unsure": unsure}, headers=auth(HUMEN_TOWN))
        assert (str(appeal_id) in listed(page)) is listed_here, unsure


async def test_the_towns_decision_is_announced_recorded_and_resolves_the_queue(
    http: httpx.AsyncClient,
) -> None:
    appeal_id = await feed(received(UNSURE))
    url = f"/internal/triage/{appeal_id}/decision"
    body = {"category": "facility", "reason": "现场核实为路灯损坏"}
    other_town = await http.post(url, json=body, headers=auth(NANCHENG_TOWN))
    assert other_town.status_code == 404, other_town.text  # outside its scope (issue 15)
    bad = await http.post(url, json={"category": "space_travel"}, headers=auth(HUMEN_TOWN))
    assert bad.status_code == 422 and bad.json()["detail"]

    decided = await http.post(url, json=body, headers=auth(HUMEN_TOWN))
    assert decided.status_code == 200, decided.text
    out = decided.json()
    assert (out["triage"]["kind"], out["triage"]["category"], out["triage"]["needs_manual"]) == (
        "micro_project",
        "facility",
        False,
    )
    assert out["triage"]["state"] in ("corrected", "confirmed")
    assert (out["assignment"]["unit_type"], out["assignment"]["unit_code"], out["assignment"]["purpose"]) == (
        "village",
        BEIZHA,
        "consult",
    )
    assert out["assignment"]["decided_by"] == "town"
    assert await types_of(appeal_id) == ["appeal.triaged", "appeal.assigned"]
    (item,) = await queue_items(appeal_id)
    assert item.state == "resolved" and item.resolved_by == HUMEN_TOWN.username
    async with session_scope() as session:
        (fix,) = (
            await session.scalars(select(TriageCorrection).where(TriageCorrection.appeal_id == appeal_id))
        ).all()
    assert (fix.kind, fix.category, fix.description, fix.staff_username) == (
        "micro_project",
        "facility",
        UNSURE,
        HUMEN_TOWN.username,
    )
    assert fix.after["category"] == "facility" and fix.reason == "现场核实为路灯损坏"
    # Decided and held by the village, it can still be passed up to the city (issue 16: from any
    # holder, by the holder or its town), once: then it waits in the city's queue.
    up = await http.post(
        f"/internal/triage/{appeal_id}/escalation", json={"note": "再议"}, headers=auth(HUMEN_TOWN)
    )
    assert up.status_code == 200, up.text
    assert (up.json()["level"], up.json()["reason"]) == ("city", "escalated")
    again = await http.post(
        f"/internal/triage/{appeal_id}/escalation", json={"note": "再议"}, headers=auth(HUMEN_TOWN)
    )
    assert again.status_code == 409 and again.json()["code"] == "not_in_queue"


async def test_correcting_an_automatic_triage_reassigns_and_every_hop_is_an_event(
    http: httpx.AsyncClient,
) -> None:
    appeal_id = await feed(received(DIBAO, town_code=NANCHENG))
    (first,) = await assignments(appeal_id)
    assert (first.unit_type, first.unit_code) == ("department", "civil_affairs")
    corrected = await http.post(
        f"/internal/triage/{appeal_id}/decision",
        json={
            "policy_code": "civil_affairs.temporary_assistance",
            "urgency": "emergency",
            "reason": "丈夫新近去世，急难",
        },
        headers=auth(NANCHENG_TOWN),
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["triage"]["policy_codes"][0] == "civil_affairs.temporary_assistance"
    # Same department: the hop stays; only the triage is announced again.
    assert len(await assignments(appeal_id)) == 1
    moved = await http.post(
        f"/internal/triage/{appeal_id}/decision",
        json={"category": "employment", "track": "direct", "reason": "主要诉求是就业"},
        headers=auth(NANCHENG_TOWN),
    )
    assert moved.status_code == 200, moved.text
    first, second = await assignments(appeal_id)
    assert (first.state, first.reason_code) == ("reassigned", "reassigned")
    assert (second.hop, second.unit_type, second.unit_code, second.decided_by) == (
        2,
        "town",
        NANCHENG,
        "town",
    )
    events = await events_of(appeal_id)
    assert [e["type"] for e in events] == [
        "appeal.triaged",
        "appeal.assigned",
        "appeal.triaged",
        "appeal.returned",
        "appeal.triaged",
        "appeal.assigned",
    ]
    returned = events[3]["data"]
    assert (returned["hop"], returned["reason_code"], returned["unit_code"]) == (
        1,
        "reassigned",
        "civil_affairs",
    )
    assert events[5]["data"]["hop"] == 2 and events[4]["data"]["category"] == "employment"


# --- corrections improve the model ----------------------------------------------------------------


@pytest.fixture
async def retrained() -> AsyncIterator[None]:
    yield
    from sqlalchemy import delete

    from routing.models import TriageModelRecord

    async with session_scope() as session:
        await session.execute(delete(TriageModelRecord).where(TriageModelRecord.version == "test-retrain"))
    models_store.reset_cache()


async def test_corrections_become_training_data_and_a_new_model_is_used(
    http: httpx.AsyncClient, retrained: None
) -> None:
    from routing.service.classifier import data, training

    appeal_id = await feed(received(UNSURE))
    await http.post(
        f"/internal/triage/{appeal_id}/decision", json={"category": "facility"}, headers=auth(HUMEN_TOWN)
    )
    async with session_scope() as session:
        fixes = await models_store.corrections(session)
    mine = [f for f in fixes if f.source == f"correction:{appeal_id}"]
    assert [(f.text, f.category, f.kind) for f in mine] == [(UNSURE, "facility", "micro_project")]

    # Retraining (a small subset keeps the test fast; `guanjia routing train` uses everything).
    examples = data.training_examples()[::8] + mine
    model = training.fit(training.prepare(examples), version="test-retrain")
    async with session_scope() as session:
        await models_store.store(session, model, created_by="test", examples=examples, heldout={})
    later = await feed(received(STREET_LIGHTS, address="虎门镇北栅社区"))
    row = await triage_row(later)
    assert row is not None and row.model_version == "test-retrain"
    listed = await http.get("/internal/triage-models", headers=auth(CITY))
    assert listed.status_code == 200 and listed.json()[0]["version"] == "test-retrain"
    assert listed.json()[0]["corrections"] == 1


async def test_a_department_sees_only_the_triage_of_appeals_it_held(http: httpx.AsyncClient) -> None:
    appeal_id = await feed(received(DIBAO, town_code=NANCHENG))
    civil = staff("department_staff", "civil_affairs")
    other = staff("department_staff", "justice")
    assert (await http.get(f"/internal/triage/{appeal_id}", headers=auth(civil))).status_code == 200
    hidden = await http.get(f"/internal/triage/{appeal_id}", headers=auth(other))
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert (await http.get(f"/internal/assignments/{appeal_id}", headers=auth(other))).status_code == 404
