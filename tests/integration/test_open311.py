"""Open311 GeoReport v2 under /open311/v2/, JSON and XML, checked against the Open311 project's
own schemas (`../shared/open311-georeport-v2/`, used unchanged).

The gateway runs here (in-process ASGI) on the real database; intake runs as its own process;
the API key comes from `guanjia apikey create`, as an integrator would get it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import text

from services.common.db import session_scope
from services.gateway.api.app import app
from services.gateway.service.channels import open311_reads
from tests.fakes.live_service import environment, live_service
from tests.system.harness import ROOT

SCHEMAS = ROOT.parent / "shared" / "open311-georeport-v2"
BASE = "/open311/v2"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


REGISTRY: Registry[Any] = Registry().with_resources(
    (name, Resource.from_contents(_schema(name), default_specification=DRAFT7))
    for name in ("request.json", "service.json")
)


def validate(document: Any, schema_file: str) -> None:
    jsonschema.Draft7Validator(
        _schema(schema_file), registry=REGISTRY, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    ).validate(document)


def validate_swagger(document: Any, definition: str) -> None:
    """Against a definition of the project's swagger.json (answers the JSON schemas do not cover)."""
    definitions = _schema("swagger.json")["definitions"]
    schema = {"type": "array", "items": definitions[definition], "definitions": definitions}
    jsonschema.Draft4Validator(schema).validate(document)


@dataclass
class World:
    gateway: httpx.AsyncClient
    api_key: str


def create_key(data_dir: Path) -> str:
    """`guanjia apikey create --name …`: the key is the last line of its output."""
    env = {**os.environ, "GUANJIA_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "apikey", "create", "--name", "fixmystreet-dg"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("open311")
    key = create_key(tmp)
    with live_service("intake", tmp) as intake_url:
        async with (
            environment({"GUANJIA_INTAKE_URL": intake_url, "GUANJIA_DATA_DIR": str(tmp)}),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as gateway,
        ):
            yield World(gateway=gateway, api_key=key)


# Distinct matters in distinct places: intake links look-alike appeals as duplicates.
PLACES = [
    ("22.8215", "113.6690", "东莞市虎门镇北栅社区东坊大街", "东坊大街的路灯坏了三盏，晚上很黑，请尽快维修。"),
    ("22.9801", "113.7702", "东莞市东城街道主山社区市场路", "市场路边的垃圾桶满了好几天没人清运，气味很大。"),
    ("23.0399", "113.7520", "东莞市莞城街道西隅社区文化广场", "文化广场的石凳断了两张，老人没地方坐。"),
    ("22.9712", "113.9820", "东莞市常平镇袁山贝村村口", "村口的排水沟堵塞，一下雨路面就积水。"),
    ("23.0106", "113.6402", "东莞市万江街道新村社区篮球场", "篮球场的照明灯全部不亮，晚上无法使用。"),
    ("22.7810", "113.8190", "东莞市长安镇霄边社区公园", "公园里的儿童滑梯有裂缝，容易划伤小孩。"),
]


def street_light(api_key: str, place: int = 5, **overrides: str) -> dict[str, str]:
    lat, lng, address, words = PLACES[place]
    form = {
        "api_key": api_key,
        "service_code": "environment",
        "lat": lat,
        "long": lng,
        "address_string": address,
        "description": words,
        "first_name": "小明",
        "last_name": "陈",
        "phone": "13912345678",
        "attribute[beneficiary_count]": "200",
    }
    form.update(overrides)
    return form


async def create(world: World, form: dict[str, str], fmt: str = "json") -> httpx.Response:
    return await world.gateway.post(f"{BASE}/requests.{fmt}", data=form, headers=FORM)


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    if response.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        return [
            {"code": int(e.findtext("code") or 0), "description": e.findtext("description")} for e in root
        ]
    body: list[dict[str, Any]] = response.json()
    return body


class TestDiscoveryAndServices:
    async def test_discovery(self, world: World) -> None:
        doc = (await world.gateway.get(f"{BASE}/discovery.json")).json()
        endpoint = doc["endpoints"][0]
        assert endpoint["url"].endswith("/open311/v2")
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert set(endpoint["formats"]) == {"application/json", "text/xml"}
        xml = await world.gateway.get(f"{BASE}/discovery.xml")
        assert xml.headers["content-type"].startswith("text/xml")
        root = ET.fromstring(xml.content)
        assert root.tag == "discovery"
        assert [f.text for f in root.iter("format")] == ["application/json", "text/xml"]

    async def test_services_are_our_categories(self, world: World) -> None:
        r = await world.gateway.get(f"{BASE}/services.json")
        assert r.headers["content-type"].startswith("application/json")
        services = r.json()
        validate(services, "services.json")
        codes = {s["service_code"] for s in services}
        assert codes == {
            "environment", "housing_repair", "facility", "public_service", "living", "medical", "education",
            "elderly_care", "employment", "housing", "counselling", "rights", "hospice",
        }  # fmt: skip
        assert (await world.gateway.get(f"{BASE}/services")).json() == services
        root = ET.fromstring((await world.gateway.get(f"{BASE}/services.xml")).content)
        assert root.tag == "services"
        assert {s.findtext("service_code") for s in root.findall("service")} == codes
        assert {s.findtext("metadata") for s in root.findall("service")} == {"true"}

    async def test_service_definitions(self, world: World) -> None:
        for code in ("environment", "medical"):
            definition = (await world.gateway.get(f"{BASE}/services/{code}.json")).json()
            validate(definition, "service-definition.json")
            assert definition["service_code"] == code
            attributes = {a["code"]: a for a in definition["attributes"]}
            assert {"town", "beneficiary_count", "urgency"} <= set(attributes)
            assert {"key": "441900121000", "name": "虎门"} in attributes["town"]["values"]
        root = ET.fromstring((await world.gateway.get(f"{BASE}/services/medical.xml")).content)
        assert root.tag == "service_definition"
        assert "hukou_local" in [a.findtext("code") for a in root.iter("attribute")]
        assert "emergency" in [v.findtext("key") for v in root.iter("value")]

    async def test_unknown_things_in_open311_error_format(self, world: World) -> None:
        missing = await world.gateway.get(f"{BASE}/services/potholes.json")
        assert missing.status_code == 404
        assert errors_of(missing)[0]["code"] == 404
        as_xml = await world.gateway.get(f"{BASE}/services/potholes.xml")
        assert as_xml.status_code == 404 and errors_of(as_xml)[0]["code"] == 404
        wrong_place = await world.gateway.get(f"{BASE}/services.json", params={"jurisdiction_id": "sf.gov"})
        assert wrong_place.status_code == 404
        bad_format = await world.gateway.get(f"{BASE}/services.yaml")
        assert bad_format.status_code == 400
        assert errors_of(bad_format)[0]["code"] == 400


class TestCreate:
    async def test_with_a_valid_key_files_an_appeal(self, world: World) -> None:
        form = street_light(world.api_key, 0, **{"attribute[town]": "441900121000"})
        r = await create(world, form)
        assert r.status_code == 200, r.text
        validate_swagger(r.json(), "RequestResponse")
        [answer] = r.json()
        request_id, token = answer["service_request_id"], answer["token"]
        assert request_id.startswith("MS") and "查询码" in answer["service_notice"]

        async with session_scope() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT a.channel, a.channel_extra, a.category_hint, a.lat, a.lng, a.datum, a.town_code,"
                        " a.beneficiary_count, r.phone_masked, r.name FROM intake.appeals a"
                        " JOIN intake.reporters r ON r.appeal_id = a.id WHERE a.ticket_no = :t"
                    ),
                    {"t": request_id},
                )
            ).one()
        assert (row.channel, row.category_hint, row.datum) == ("web_portal", "environment", "wgs84")
        assert row.channel_extra["via"] == "open311"
        assert row.channel_extra["open311"]["client"] == "fixmystreet-dg"
        assert (row.lat, row.lng, row.town_code, row.beneficiary_count) == (
            22.8215,
            113.669,
            "441900121000",
            200,
        )
        assert (row.phone_masked, row.name) == ("139****5678", "陈小明")

        # The same submission again is the same request; the token resolves to it.
        again = await create(world, form)
        assert again.json()[0]["service_request_id"] == request_id
        by_token = (await world.gateway.get(f"{BASE}/tokens/{token}.json")).json()
        validate_swagger(by_token, "TokenResponse")
        assert by_token == [{"service_request_id": request_id, "token": token}]
        root = ET.fromstring((await world.gateway.get(f"{BASE}/tokens/{token}.xml")).content)
        assert root.find("request/service_request_id").text == request_id  # type: ignore[union-attr]

        xml = await create(world, street_light(world.api_key, 1), fmt="xml")
        assert xml.status_code == 200
        root = ET.fromstring(xml.content)
        assert root.tag == "service_requests"
        assert (root.findtext("request/service_request_id") or "").startswith("MS")

    async def test_without_or_with_a_wrong_key_is_403(self, world: World) -> None:
        no_key = street_light("")
        no_key.pop("api_key")
        for form in (no_key, street_light("gj_deadbeef_not-a-real-key"), street_light("nonsense")):
            r = await create(world, form)
            assert r.status_code == 403
            [error] = errors_of(r)
            assert error["code"] == 403 and "api_key" in error["description"]
        r = await create(world, street_light("gj_deadbeef_not-a-real-key"), fmt="xml")
        assert r.status_code == 403 and errors_of(r)[0]["code"] == 403

    async def test_bad_requests(self, world: World) -> None:
        key = world.api_key
        cases = {
            "service_code was not provided": street_light(key, service_code=""),
            "a location is required": street_light(key, lat="", long="", address_string=""),
            "description was not provided": street_light(key, description=""),
            "lat is out of range": street_light(key, lat="123"),
            "电话号码无效": street_light(key, phone="12345"),
        }
        for expected, form in cases.items():
            r = await create(world, form)
            assert r.status_code == 400, (expected, r.text)
            assert expected in errors_of(r)[0]["description"]
        unknown = await create(world, street_light(key, service_code="potholes"))
        assert unknown.status_code == 404


async def disclose(ticket_no: str, kind: str, category: str, withheld: bool = False) -> None:
    """What triage and staff do to public disclosure, straight on intake's row (intake alone runs)."""
    async with session_scope() as session:
        await session.execute(
            text(
                "UPDATE intake.appeals SET kind = :kind, category = :category, status = 'triaged',"
                " withheld = :withheld WHERE ticket_no = :t"
            ),
            {"t": ticket_no, "kind": kind, "category": category, "withheld": withheld},
        )


class TestRead:
    async def test_not_yet_disclosed_only_to_the_filer(self, world: World) -> None:
        light = (
            await create(world, street_light(world.api_key, 0, description="东坊大街第二盏路灯不亮。"))
        ).json()[0]["service_request_id"]
        mine = {"api_key": world.api_key}

        def ids(response: httpx.Response) -> set[str]:
            assert response.status_code == 200, response.text
            return {r["service_request_id"] for r in response.json()}

        # Not triaged yet: nobody but its filer sees it, and the filer by its id.
        assert light not in ids(await world.gateway.get(f"{BASE}/requests.json"))
        assert (await world.gateway.get(f"{BASE}/requests/{light}.json")).status_code == 404
        named = {"service_request_id": light}
        assert ids(await world.gateway.get(f"{BASE}/requests.json", params=named)) == set()
        assert ids(await world.gateway.get(f"{BASE}/requests.json", params={**named, **mine})) == {light}
        assert ids(await world.gateway.get(f"{BASE}/requests/{light}.json", params=mine)) == {light}
        wrong = await world.gateway.get(f"{BASE}/requests/{light}.json", params={"api_key": "gj_no_such"})
        assert wrong.status_code == 403 and errors_of(wrong)[0]["code"] == 403

        await disclose(light, "micro_project", "environment")
        assert light in ids(await world.gateway.get(f"{BASE}/requests.json"))
        [one] = (await world.gateway.get(f"{BASE}/requests/{light}.json")).json()
        assert one["lat"] == float(PLACES[0][0])  # from the gateway's own row

        # Withheld by staff: gone from the public again, still there for its filer.
        await disclose(light, "micro_project", "environment", withheld=True)
        assert light not in ids(await world.gateway.get(f"{BASE}/requests.json"))
        assert light not in ids(await world.gateway.get(f"{BASE}/requests.json", params=named))
        assert (await world.gateway.get(f"{BASE}/requests/{light}.xml")).status_code == 404
        assert ids(await world.gateway.get(f"{BASE}/requests/{light}.json", params=mine)) == {light}

    async def test_every_public_request_is_reachable(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Paging is intake's, in SQL: no cap before the page cuts the list short."""
        for place in (1, 2):
            filed = (await create(world, street_light(world.api_key, place))).json()[0]["service_request_id"]
            await disclose(filed, "micro_project", "environment")
        listed = [r["service_request_id"] for r in (await world.gateway.get(f"{BASE}/requests.json")).json()]
        assert len(listed) >= 2
        monkeypatch.setattr(open311_reads, "MAX_REQUESTS", 1)
        monkeypatch.setattr(open311_reads, "DISCLOSURE_PAGE", 1)
        paged = []
        for page in range(1, len(listed) + 2):
            r = await world.gateway.get(f"{BASE}/requests.json", params={"page": str(page), "page_size": "1"})
            assert r.status_code == 200, r.text
            paged += [d["service_request_id"] for d in r.json()]
        assert paged == listed

    async def test_requests_validate_and_filter(self, world: World) -> None:
        light_form = street_light(world.api_key, 2)
        light = (await create(world, light_form)).json()[0]["service_request_id"]
        wish = (
            await create(
                world,
                street_light(
                    world.api_key,
                    3,
                    service_code="medical",
                    description="我母亲住院做手术，医药费还差两万元，家里实在困难。",
                    address_string="东莞市虎门镇北栅社区某巷3号",
                    **{"attribute[hukou_local]": "yes", "attribute[urgency]": "emergency"},
                ),
            )
        ).json()[0]["service_request_id"]
        await disclose(light, "micro_project", "environment")
        await disclose(wish, "micro_wish", "medical")

        listed = (await world.gateway.get(f"{BASE}/requests.json")).json()
        validate(listed, "requests.json")
        by_id = {r["service_request_id"]: r for r in listed}
        assert {light, wish} <= set(by_id)
        assert by_id[light]["status"] == "open"
        assert by_id[light]["service_code"] == "environment"
        assert by_id[light]["address"] == light_form["address_string"]
        assert by_id[light]["lat"] == float(light_form["lat"])
        assert by_id[light]["description"] == light_form["description"]
        assert by_id[light]["status_notes"]
        # A micro-wish is about a family: no address, words or coordinates in public.
        assert by_id[wish]["description"] is None
        assert by_id[wish]["address"] is None and by_id[wish]["lat"] is None
        assert "13912345678" not in json.dumps(listed) and "陈" not in json.dumps(listed)

        some = (
            await world.gateway.get(f"{BASE}/requests.json", params={"service_request_id": f"{light},{wish}"})
        ).json()
        assert {r["service_request_id"] for r in some} == {light, wish}
        medical = (
            await world.gateway.get(f"{BASE}/requests.json", params={"service_code": "medical"})
        ).json()
        assert wish in {r["service_request_id"] for r in medical} and light not in {
            r["service_request_id"] for r in medical
        }
        closed = (await world.gateway.get(f"{BASE}/requests.json", params={"status": "closed"})).json()
        assert light not in {r["service_request_id"] for r in closed}
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        future = await world.gateway.get(f"{BASE}/requests.json", params={"start_date": tomorrow})
        assert future.status_code == 400  # start after the default end (now)
        week = (datetime.now(UTC) - timedelta(days=7)).isoformat()
        recent = (
            await world.gateway.get(
                f"{BASE}/requests.json", params={"start_date": week, "end_date": tomorrow}
            )
        ).json()
        assert {light, wish} <= {r["service_request_id"] for r in recent}
        too_long = await world.gateway.get(
            f"{BASE}/requests.json", params={"start_date": "2026-01-01T00:00:00+08:00", "end_date": tomorrow}
        )
        assert too_long.status_code == 400

        page = (
            await world.gateway.get(f"{BASE}/requests.json", params={"page_size": "1", "page": "2"})
        ).json()
        assert len(page) == 1 and page[0]["service_request_id"] == listed[1]["service_request_id"]

        root = ET.fromstring((await world.gateway.get(f"{BASE}/requests.xml")).content)
        assert root.tag == "service_requests"
        assert light in [r.findtext("service_request_id") for r in root.findall("request")]

    async def test_one_request(self, world: World) -> None:
        request_id = (await create(world, street_light(world.api_key, 4))).json()[0]["service_request_id"]
        await disclose(request_id, "micro_project", "environment")
        one = (await world.gateway.get(f"{BASE}/requests/{request_id}.json")).json()
        validate(one, "requests.json")
        assert [r["service_request_id"] for r in one] == [request_id]
        root = ET.fromstring((await world.gateway.get(f"{BASE}/requests/{request_id}.xml")).content)
        assert root.findtext("request/status") == "open"
        missing = await world.gateway.get(f"{BASE}/requests/MS20260101999999.json")
        assert missing.status_code == 404 and errors_of(missing)[0]["code"] == 404
