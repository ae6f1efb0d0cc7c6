"""Every role against every route of the gateway, the only public surface (DESIGN §7).

Proves that:
- every route the gateway answers is classified in `security_support.ACCESS` (a new route fails
  here until someone decides who may call it);
- every staff or resident route refuses a request without credentials, with a token signed with
  another secret, an expired token, or a token of the other kind with a `401` problem;
- every integration refuses an unsigned or unkeyed call;
- every route whose role check sits at the door refuses each role outside its table with a `403`
  problem, and lets each role inside it through to the next check.
Scope with real appeals, reveals and personal data are in `test_security_scope.py` and
`test_security_privacy.py`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.common.auth import ROLES
from services.gateway.api.app import app as gateway_app
from tests.integration.security_support import (
    ACCESS,
    BY_ROLE,
    CITY,
    PROBLEM,
    VILLAGE,
    System,
    bearer,
    forged,
    resident_bearer,
    running_system,
    sample_path,
    sample_request,
)
from tests.system.harness import signed_headers

PROTECTED = sorted(k for k, v in ACCESS.items() if v.kind in ("staff", "resident"))
STAFF_ROUTES = sorted(k for k, v in ACCESS.items() if v.kind == "staff")
DOOR_ROUTES = sorted(k for k, v in ACCESS.items() if v.kind == "staff" and v.gate == "door")


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    async with running_system("10.8.0.1") as running:
        yield running


def assert_problem(response: httpx.Response, status: int, where: str) -> dict[str, object]:
    assert response.status_code == status, f"{where}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith(PROBLEM), where
    body: dict[str, object] = response.json()
    assert body["status"] == status and isinstance(body.get("code"), str) and body["code"], where
    return body


async def send(
    gw: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], who_for_sample: object = None
) -> httpx.Response:
    sample = sample_request(method, path)
    url = sample_path(path)
    return await gw.request(
        method, url, params=sample["params"], json=sample["json"], headers={**sample["headers"], **headers}
    )


def test_every_route_of_the_gateway_is_classified() -> None:
    from tests.integration.security_support import gateway_routes

    routes = gateway_routes(gateway_app)
    unclassified = sorted(routes - ACCESS.keys())
    assert not unclassified, f"classify these routes in security_support.ACCESS: {unclassified}"
    stale = sorted(ACCESS.keys() - routes)
    assert not stale, f"ACCESS names routes the gateway no longer has: {stale}"
    assert len(routes) >= 150


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
async def test_no_or_bad_credentials_are_a_401_problem(system: System, method: str, path: str) -> None:
    gw = system.gateway
    kind = ACCESS[(method, path)].kind
    who = CITY  # the strongest role: only the credentials are wrong
    attempts: dict[str, dict[str, str]] = {
        "none": {},
        "not bearer": {"Authorization": "Basic Y2l0eTphZG1pbg=="},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "wrong secret": forged(who, secret="an-attackers-own-secret-of-32-bytes!"),
        "expired": forged(who, expired=True),
    }
    if kind == "staff":
        attempts["resident token"] = resident_bearer("o-resident-security")
    else:
        attempts["staff token"] = bearer(who)
        attempts["staff token, resident audience forged"] = forged(
            who, secret="x" * 32, audience="guanjia-resident"
        )
    for label, headers in attempts.items():
        r = await send(gw, method, path, headers)
        assert_problem(r, 401, f"{method} {path} with {label}")


async def test_integrations_refuse_unsigned_or_unkeyed_calls(system: System) -> None:
    gw = system.gateway
    body = json.dumps({"call_id": "sec-1"}).encode()
    unsigned = await gw.post(
        "/api/v1/channels/hotline-12345/calls", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(unsigned, 401, "hotline without signature")
    wrong = await gw.post(
        "/api/v1/channels/hotline-12345/calls", content=body, headers=signed_headers("x" * 32, body)
    )
    assert_problem(wrong, 401, "hotline signed with another secret")
    stale = await gw.post(
        "/api/v1/channels/hotline-12345/calls",
        content=body,
        headers=signed_headers(system_hotline_secret(), body, timestamp=1_600_000_000),
    )
    assert_problem(stale, 401, "hotline replayed from long ago")

    for method in ("GET", "POST"):
        r = await gw.request(
            method,
            "/api/v1/channels/wechat-official",
            params={"signature": "0" * 40, "timestamp": "1", "nonce": "1", "echostr": "1"},
            content=b"<xml></xml>",
        )
        assert_problem(r, 401, f"{method} wechat-official with a bad signature")
        bare = await gw.request(method, "/api/v1/channels/wechat-official", content=b"<xml></xml>")
        assert_problem(bare, 401, f"{method} wechat-official unsigned")

    # GeoReport's own error format: a missing or wrong api_key is a 403 list of errors.
    form = {"service_code": "environment", "description": "路灯坏了", "address_string": "虎门镇"}
    for path in ("/open311/v2/requests.json", "/open311/v2/requests"):
        for extra in ({}, {"api_key": "gj_nothing_here"}, {"api_key": "not-a-key"}):
            r = await gw.post(path, data={**form, **extra})
            assert r.status_code == 403, r.text
            assert r.json()[0]["code"] == 403

    for (method, path), access in sorted(ACCESS.items()):
        if access.kind != "donor_key":
            continue
        for headers in ({}, {"X-Donor-Key": "dk_not_a_real_key"}):
            sample = sample_request(method, path)
            r = await gw.request(
                method,
                sample_path(path),
                json=sample["json"],
                headers={**sample["headers"], **headers},
            )
            assert_problem(r, 401, f"{method} {path} with donor key {headers}")


def system_hotline_secret() -> str:
    from services.common.settings import get_settings

    return get_settings().require("hotline_secret")


async def test_beneficiary_confirmations_need_the_query_code(system: System) -> None:
    for (method, path), access in sorted(ACCESS.items()):
        if access.kind != "proof":
            continue
        proof: dict[str, str] = {"ticket_no": "MS2026112799999999", "query_code": "000000"}
        params: dict[str, str] = {}
        if path.endswith("/evaluation"):  # the rating's code is a query parameter; its body is whole
            proof, params = {"result": "resolved", "rating": "satisfied"}, {"code": "000000"}
        r = await system.gateway.request(method, sample_path(path), json=proof, params=params)
        assert_problem(r, 404, f"{method} {path} with a wrong query code")


@pytest.mark.parametrize(("method", "path"), DOOR_ROUTES, ids=[f"{m} {p}" for m, p in DOOR_ROUTES])
async def test_roles_outside_the_table_are_refused_at_the_door(
    system: System, method: str, path: str
) -> None:
    access = ACCESS[(method, path)]
    for role in ROLES:
        who = BY_ROLE[role]
        sample = sample_request(method, path, who)
        r = await system.gateway.request(
            method,
            sample_path(path, who),
            params=sample["params"],
            json=sample["json"],
            headers={**sample["headers"], **bearer(who)},
        )
        where = f"{method} {path} as {role}"
        if role in access.roles:
            assert r.status_code not in (401, 403), f"{where}: {r.status_code} {r.text[:300]}"
        else:
            assert_problem(r, 403, where)


async def test_a_staff_token_carries_no_power_outside_its_audience(system: System) -> None:
    # A resident token is signed with the same secret as a staff token: only the audience tells
    # them apart, so a resident can never call a staff route, nor a forged audience a resident one.
    r = await system.gateway.get(
        sample_path("/api/v1/staff/appeals/{appeal_id}"), headers=resident_bearer("o-x")
    )
    assert_problem(r, 401, "resident token on a staff route")
    r = await system.gateway.get("/api/v1/miniprogram/appeals", headers=bearer(VILLAGE))
    assert_problem(r, 401, "staff token on a resident route")


WRITE_ROUTES = sorted(
    k for k, v in ACCESS.items() if v.kind == "staff" and k[0] in ("POST", "PUT", "PATCH", "DELETE")
)


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES, ids=[f"{m} {p}" for m, p in WRITE_ROUTES])
async def test_an_auditor_never_writes(system: System, method: str, path: str) -> None:
    # Issue 15.1: an auditor holds the city's scope, so a check of scope alone would let it act.
    # Every write checks the role, whatever gate its scope check sits behind.
    assert "auditor" not in ACCESS[(method, path)].roles
    who = BY_ROLE["auditor"]
    sample = sample_request(method, path, who)
    r = await system.gateway.request(
        method,
        sample_path(path, who),
        params=sample["params"],
        json=sample["json"],
        headers={**sample["headers"], **bearer(who)},
    )
    assert_problem(r, 403, f"{method} {path} as auditor")
