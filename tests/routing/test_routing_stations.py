"""莞家驿站 through routing's API: the registry, station-track appeals sent to a station (at triage or
by the town), service records, and their confirmation by the beneficiary or staff."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures import auth, received, staff
from tests.routing.support import (
    BEIZHA,
    CITY,
    HUMEN,
    HUMEN_TOWN,
    HUMENZHAI,
    NANCHENG,
    NANCHENG_TOWN,
    events_of,
    feed,
    hops,
    triage_row,
)

LONELY = "阿婆一个人住，行动不便，冇人照顾，希望有义工上门陪下佢"


def station_body(town: str, village: str | None, services: list[str]) -> dict[str, Any]:
    return {
        "name": "北栅莞家驿站",
        "town_code": town,
        "village_code": village,
        "services": services,
        "team": [
            {"role": "social_organisation", "name": "东莞市某社会工作服务中心"},
            {"role": "social_worker", "name": "驻站社工", "count": 2},
            {"role": "volunteer", "name": "北栅志愿服务队", "count": 35},
        ],
    }


async def _register(http: httpx.AsyncClient, town: str, village: str | None, who: object) -> str:
    code = f"GJYZ-{uuid.uuid4().hex[:6].upper()}"
    made = await http.post(
        f"/internal/stations/{code}",
        json=station_body(town, village, ["elderly_care", "counselling"]),
        headers=auth(who),  # type: ignore[arg-type]
    )
    assert made.status_code == 201, made.text
    return code


async def test_the_registry(http: httpx.AsyncClient) -> None:
    body = station_body(HUMEN, BEIZHA, ["elderly_care"])
    other_town = await http.post("/internal/stations/GJYZ-X1", json=body, headers=auth(NANCHENG_TOWN))
    assert other_town.status_code == 403
    wrong_village = await http.post(
        "/internal/stations/GJYZ-X1",
        json=station_body(NANCHENG, BEIZHA, ["elderly_care"]),
        headers=auth(CITY),
    )
    assert wrong_village.status_code == 422 and wrong_village.json()["detail"]
    unknown = await http.post(
        "/internal/stations/GJYZ-X1", json=station_body(HUMEN, BEIZHA, ["karaoke"]), headers=auth(HUMEN_TOWN)
    )
    assert unknown.status_code == 422
    code = await _register(http, HUMEN, BEIZHA, HUMEN_TOWN)
    dup = await http.post(f"/internal/stations/{code}", json=body, headers=auth(HUMEN_TOWN))
    assert dup.status_code == 409
    found = await http.get(
        "/internal/stations", params={"village_code": BEIZHA, "service": "counselling"}, headers=auth(None)
    )
    assert code in {s["code"] for s in found.json()}
    changed = await http.put(
        f"/internal/stations/{code}",
        json={**body, "services": ["hospice"], "active": True},
        headers=auth(HUMEN_TOWN),
    )
    assert changed.status_code == 200 and changed.json()["services"] == ["hospice"]
    await http.put(f"/internal/stations/{code}", json={**body, "active": False}, headers=auth(HUMEN_TOWN))


async def test_a_station_track_appeal_goes_to_the_villages_station_and_its_work_is_confirmed(
    http: httpx.AsyncClient,
) -> None:
    await _register(http, HUMEN, BEIZHA, HUMEN_TOWN)
    appeal_id = await feed(received(LONELY, address="虎门镇北栅社区", ticket_no="MS2026112700424242"))
    row = await triage_row(appeal_id)
    assert row is not None and (row.track, row.category) == ("station", "elderly_care")
    (hop,) = await hops(appeal_id)
    assert (hop.unit_type, hop.purpose) == ("station", "handle")
    # A station of the village (other tests of the run may have registered one there too).
    code = hop.unit_code
    held_by = await http.get(f"/internal/stations/{code}", headers=auth(HUMEN_TOWN))
    assert held_by.status_code == 200 and held_by.json()["village_code"] == BEIZHA, held_by.text
    worker = staff("station_staff", code)
    assert (
        await http.post(f"/internal/assignments/{appeal_id}/sign-off", headers=auth(worker))
    ).status_code == 200

    visit = {
        "appeal_id": str(appeal_id),
        "served_on": "2026-11-27",
        "visits": 1,
        "minutes": 90,
        "description": "上门探访，陪同就医预约，整理药品",
        "workers": [{"role": "social_worker", "name": "驻站社工"}],
    }
    stranger = staff("station_staff", "GJYZ-OTHER")
    assert (
        await http.post(f"/internal/stations/{code}/service-records", json=visit, headers=auth(stranger))
    ).status_code == 403
    first = await http.post(f"/internal/stations/{code}/service-records", json=visit, headers=auth(worker))
    assert first.status_code == 201, first.text
    second = await http.post(
        f"/internal/stations/{code}/service-records", json={**visit, "minutes": 60}, headers=auth(worker)
    )
    assert second.status_code == 201
    too_long = await http.post(
        f"/internal/stations/{code}/service-records", json={**visit, "minutes": 2000}, headers=auth(worker)
    )
    assert too_long.status_code == 422

    url1 = f"/internal/service-records/{first.json()['id']}/confirmation"
    assert (await http.post(url1, json={}, headers=auth(worker))).status_code == 403  # not its own work
    # A neighbouring village of the same town may not confirm work done in 北栅.
    neighbour = staff("village_staff", HUMENZHAI)
    assert (await http.post(url1, json={}, headers=auth(neighbour))).status_code == 403
    by_town = await http.post(url1, json={}, headers=auth(HUMEN_TOWN))
    assert by_town.status_code == 200 and by_town.json()["confirmed_by_kind"] == "staff"
    assert (await http.post(url1, json={}, headers=auth(HUMEN_TOWN))).status_code == 409

    url2 = f"/internal/service-records/{second.json()['id']}/confirmation"
    wrong = await http.post(url2, json={"ticket_no": "MS2026112700000001"}, headers=auth(None))
    assert wrong.status_code == 404
    by_beneficiary = await http.post(url2, json={"ticket_no": "MS2026112700424242"}, headers=auth(None))
    assert by_beneficiary.status_code == 200 and by_beneficiary.json()["confirmed_by_kind"] == "beneficiary"

    totals = await http.get(f"/internal/stations/{code}/totals", headers=auth(None))
    assert totals.json() == {"visits": 2, "minutes": 150, "records": 2}


async def test_the_town_dispatches_to_a_station(http: httpx.AsyncClient) -> None:
    appeal_id = await feed(received("女儿最近情绪很低落，经常一个人哭，不想出门", town_code=NANCHENG))
    (hop,) = await hops(appeal_id)
    if hop.unit_type == "station":  # another test registered a Nancheng counselling station first
        pytest.skip("a station already serves this")
    assert (hop.unit_type, hop.unit_code) == ("town", NANCHENG)
    code = await _register(http, NANCHENG, None, NANCHENG_TOWN)
    outsider = await http.post(
        f"/internal/stations/{code}/assignments", json={"appeal_id": str(appeal_id)}, headers=auth(HUMEN_TOWN)
    )
    assert outsider.status_code == 403
    sent = await http.post(
        f"/internal/stations/{code}/assignments",
        json={"appeal_id": str(appeal_id), "note": "心理疏导由驿站社工跟进"},
        headers=auth(NANCHENG_TOWN),
    )
    assert sent.status_code == 200, sent.text
    assert (sent.json()["hop"], sent.json()["unit_type"], sent.json()["unit_code"]) == (2, "station", code)
    types = [e["type"] for e in await events_of(appeal_id)]
    assert types[-3:] == ["appeal.returned", "appeal.triaged", "appeal.assigned"]
    again = await http.post(
        f"/internal/stations/{code}/assignments",
        json={"appeal_id": str(appeal_id)},
        headers=auth(NANCHENG_TOWN),
    )
    assert again.status_code == 409


async def test_a_walk_in_that_names_no_place_is_placed_at_its_station(http: httpx.AsyncClient) -> None:
    code = await _register(http, HUMEN, BEIZHA, HUMEN_TOWN)
    # Classified surely, placed by nothing in its words: the station's community is its place.
    walk_in = await feed(received(LONELY, channel="station_walk_in", station_code=code))
    row = await triage_row(walk_in)
    assert row is not None
    assert (row.town_code, row.village_code, row.location_method) == (HUMEN, BEIZHA, "station")
    assert (row.needs_manual, row.unsure, row.state) == (False, False, "auto")
    view = await http.get(f"/internal/triage/{walk_in}", headers=auth(HUMEN_TOWN))
    assert view.status_code == 200, view.text
    assert (view.json()["unsure"], view.json()["manual_reasons"]) == (False, [])
    assert any(
        e["rule"] == "location.station" and e["matched"] == [f"station:{code}"] for e in row.explanations
    )

    # The words win where they name a place; only the station's own door names a station.
    elsewhere = await feed(
        received(LONELY + "，佢住南城石鼓社区", channel="station_walk_in", station_code=code)
    )
    assert (row := await triage_row(elsewhere)) is not None and row.town_code == NANCHENG
    other_door = await feed(received(LONELY, channel="wechat_miniprogram", station_code=code))
    row = await triage_row(other_door)
    assert row is not None and row.town_code is None and row.needs_manual and not row.unsure
    view = await http.get(f"/internal/triage/{other_door}", headers=auth(CITY))
    assert (view.json()["unsure"], view.json()["manual_reasons"]) == (False, ["no_location"])
    # A station no register holds places nothing.
    unknown = await feed(received(LONELY, channel="station_walk_in", station_code="GJYZ-NOSUCH"))
    assert (row := await triage_row(unknown)) is not None and row.town_code is None
