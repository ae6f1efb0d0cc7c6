"""The policy catalogue as versioned data: seeded, read, edited by city staff, used by triage."""

from __future__ import annotations

import httpx

from tests.fixtures import auth, received
from tests.routing.support import CITY, HUMEN_TOWN, NANCHENG, feed, triage_row

HEATING = {
    "name": "困难群众冬季取暖补贴",
    "department": "civil_affairs",
    "kind": "micro_wish",
    "category": "living",
    "eligibility": "低保、特困家庭冬季取暖困难",
    "materials": ["身份证", "困难身份证明"],
    "time_limit_working_days": 10,
    "keywords": ["取暖", "冬天太冷", "电暖器"],
    "aliases": ["取暖补贴"],
}


async def test_the_seeded_catalogue_has_17_departments_and_42_policies(http: httpx.AsyncClient) -> None:
    first = await http.get("/internal/catalogue/versions/2026.1", headers=auth(None))
    assert first.status_code == 200, first.text
    doc = first.json()
    assert doc["version"] == "2026.1" and doc["created_by"] == "seed"
    assert len(doc["departments"]) == 17 and len(doc["policies"]) == 42
    assert {p["department"] for p in doc["policies"]} == set(doc["departments"])
    legal_aid = next(p for p in doc["policies"] if p["code"] == "justice.legal_aid")
    assert (legal_aid["time_limit_working_days"], legal_aid["name"]) == (7, "法律援助")
    missing = await http.get("/internal/catalogue/versions/1999.1", headers=auth(None))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_city_staff_edit_and_every_edit_is_a_new_version(http: httpx.AsyncClient) -> None:
    before = (await http.get("/internal/catalogue", headers=auth(None))).json()
    url = "/internal/catalogue/policies/civil_affairs.heating"
    town = await http.put(url, json=HEATING, headers=auth(HUMEN_TOWN))
    assert town.status_code == 403 and town.json()["code"] == "forbidden"
    bad = await http.put(url, json={**HEATING, "department": "space_agency"}, headers=auth(CITY))
    assert bad.status_code == 422 and bad.json()["detail"]

    added = await http.put(url, json={**HEATING, "base_version": before["version"]}, headers=auth(CITY))
    assert added.status_code == 200, added.text
    v1 = added.json()
    assert v1["version"] != before["version"] and len(v1["policies"]) == len(before["policies"]) + 1
    stale = await http.put(url, json={**HEATING, "base_version": before["version"]}, headers=auth(CITY))
    assert stale.status_code == 409 and stale.json()["code"] == "catalogue_version_conflict"
    assert stale.json()["current_version"] == v1["version"]

    # The old version reads as it was; the history lists both.
    old = (await http.get(f"/internal/catalogue/versions/{before['version']}", headers=auth(None))).json()
    assert "civil_affairs.heating" not in {p["code"] for p in old["policies"]}
    history = (await http.get("/internal/catalogue/versions", headers=auth(None))).json()
    assert [h["version"] for h in history][:2] == [v1["version"], before["version"]]
    assert history[0]["based_on"] == before["version"] and history[0]["created_by"] == CITY.username

    # Triage routes with the current version and records it.
    appeal_id = await feed(
        received("家里是低保户，冬天太冷了，老人受不了，想申请取暖补贴", town_code=NANCHENG)
    )
    row = await triage_row(appeal_id)
    assert row is not None and row.catalogue_version == v1["version"]
    assert row.policy_codes[0] == "civil_affairs.heating" and row.department == "civil_affairs"

    retired = await http.post(f"{url}/retirement", json={"note": "并入临时救助"}, headers=auth(CITY))
    assert retired.status_code == 200, retired.text
    v2 = retired.json()
    assert "civil_affairs.heating" not in {p["code"] for p in v2["policies"]}
    again = await http.post(f"{url}/retirement", json={}, headers=auth(CITY))
    assert again.status_code == 422 and again.json()["code"] == "unknown_policy"
    assert row.catalogue_version != v2["version"]  # the appeal keeps the version it was routed with
