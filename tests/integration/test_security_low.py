"""Defence in depth (issue 15, low): Open311 discovery names the configured public URL, never the
caller's `Host`; the internal services serve no open `/docs` or `/openapi.json` and cap bodies
too; a staff account is made only for a unit that exists, for every role (station codes too); an
Open311 e-mail is kept encrypted, also in the rows stored before."""

from __future__ import annotations

import importlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import FastAPI
from sqlalchemy import text

from services.cli import station_registered
from services.common.auth import ROLES, Role
from services.common.crypto import decrypt_pii_text
from services.common.db import get_engine, session_scope
from services.common.errors import InvalidInput
from services.gateway.service.identity import create_api_key, create_staff
from tests.fakes.live_service import environment
from tests.fixtures import auth
from tests.integration.security_support import HUMEN, TOWN, bearer, running_system

PUBLIC = "https://guanjia.example.gov.cn/gw"


async def test_discovery_names_the_configured_url_whatever_the_host_header() -> None:
    async with environment({"GUANJIA_PUBLIC_URL": PUBLIC}), running_system("10.8.0.31") as system:
        for fmt in ("json", "xml"):
            r = await system.gateway.get(
                f"/open311/v2/discovery.{fmt}",
                headers={"Host": "attacker.example", "X-Forwarded-Host": "x.example"},
            )
            assert r.status_code == 200, r.text
            assert "attacker.example" not in r.text and "x.example" not in r.text
            assert f"{PUBLIC}/open311/v2" in r.text


def _internal_apps() -> dict[str, FastAPI]:
    from deadlines.api.app import app as deadlines_app
    from intake.api.app import app as intake_app
    from ledger.api.app import app as ledger_app
    from routing.api.app import app as routing_app

    return {"intake": intake_app, "routing": routing_app, "deadlines": deadlines_app, "ledger": ledger_app}


@pytest.fixture
async def services() -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
        for name, app in _internal_apps().items()
    }
    yield clients
    for client in clients.values():
        await client.aclose()


async def test_internal_services_keep_their_documents_to_service_callers(
    services: dict[str, httpx.AsyncClient],
) -> None:
    for name, client in services.items():
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert (await client.get(path)).status_code == 404, (name, path)
        anonymous = await client.get("/internal/openapi.json")
        assert anonymous.status_code == 401, (name, anonymous.text)
        staff_token = await client.get("/internal/openapi.json", headers=bearer(TOWN))
        assert staff_token.status_code == 401, (name, staff_token.text)
        served = await client.get("/internal/openapi.json", headers=auth())
        assert served.status_code == 200 and served.json()["paths"], name


async def test_internal_services_cap_request_bodies(services: dict[str, httpx.AsyncClient]) -> None:
    big = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    for name, client in services.items():
        declared = await client.post(
            "/internal/anything", content=big, headers={**auth(), "Content-Type": "application/json"}
        )
        assert declared.status_code == 413 and declared.json()["code"] == "body_too_large", name

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b" " * (1024 * 1024)

    # Streamed without a length, to a route that reads its body: refused once past the cap.
    streamed = await services["intake"].post(
        "/internal/appeals", content=chunks(), headers={**auth(), "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text


UNKNOWN: dict[Role, str] = {
    "city_admin": "NOSUCH",
    "auditor": "NOSUCH",
    "town_staff": "NOSUCH",
    "village_staff": "NOSUCH",
    "department_staff": "NOSUCH",
    "station_staff": "NOSUCH",
}


async def test_staff_are_made_only_for_units_that_exist_for_every_role() -> None:
    assert set(UNKNOWN) == set(ROLES)
    for role, org in UNKNOWN.items():
        with pytest.raises(InvalidInput):
            async with session_scope() as session:
                await create_staff(
                    session, f"nosuch-{uuid.uuid4().hex[:8]}", "long-enough-1", role, org,
                    station_exists=station_registered,
                )  # fmt: skip
    # A station must be in routing's register; without a way to look, no station account at all.
    code = f"GJYZ-LOW-{uuid.uuid4().hex[:4].upper()}"
    async with running_system("10.8.0.32") as system:
        registered = await system.gateway.post(
            f"/api/v1/stations/{code}",
            json={"name": "低项测试驿站", "town_code": HUMEN, "services": ["elderly_care"]},
            headers=bearer(TOWN),
        )
        assert registered.status_code in (200, 201), registered.text
    with pytest.raises(InvalidInput):
        async with session_scope() as session:
            await create_staff(session, f"st-{uuid.uuid4().hex[:8]}", "long-enough-1", "station_staff", code)
    async with session_scope() as session:
        account = await create_staff(
            session, f"st-{uuid.uuid4().hex[:8]}", "long-enough-1", "station_staff", code,
            station_exists=station_registered,
        )  # fmt: skip
    assert (account.org_type, account.org_code) == ("station", code)


EMAIL = "chen.xiaoming.open311@example.com"


async def _channel_extra(appeal_id: uuid.UUID) -> dict[str, Any]:
    async with session_scope() as session:
        extra: dict[str, Any] = await session.scalar(
            text("SELECT channel_extra FROM intake.appeals WHERE id = :id"), {"id": appeal_id}
        )
    return extra


async def test_an_open311_email_is_kept_encrypted_and_shown_masked() -> None:
    async with session_scope() as session:
        key = await create_api_key(session, f"low-{uuid.uuid4().hex[:6]}")
    form = {
        "api_key": key,
        "service_code": "environment",
        "lat": "22.9571",
        "long": "113.8021",
        "address_string": "东莞市虎门镇北栅社区低项路",
        "description": f"低项路{uuid.uuid4().hex[:4]}号的路灯坏了，晚上很黑。",
        "email": EMAIL,
    }
    async with running_system("10.8.0.33") as system:
        r = await system.gateway.post(
            "/open311/v2/requests.json",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200, r.text
    request_id = r.json()[0]["service_request_id"]
    async with session_scope() as session:
        appeal_id = await session.scalar(
            text("SELECT appeal_id FROM gateway.open311_requests WHERE service_request_id = :id"),
            {"id": request_id},
        )
    extra = await _channel_extra(appeal_id)
    assert EMAIL not in json.dumps(extra) and "chen.xiaoming" not in json.dumps(extra)
    kept = extra["open311"]
    assert kept["email_masked"] == "c***@example.com"
    assert decrypt_pii_text(kept["email_enc"]) == EMAIL


def _upgrade_with(module: Any) -> Callable[[Any], None]:
    def run(connection: Any) -> None:
        with Operations.context(MigrationContext.configure(connection)):
            module.upgrade()

    return run


async def test_the_migration_encrypts_the_emails_already_stored() -> None:
    migration = importlib.import_module(
        "intake.migrations.versions.20261206_intake_open311_email_enc_e3a9c7d1f402"
    )
    async with running_system("10.8.0.34") as system:
        filed = await system.services["intake"].post(
            "/internal/appeals",
            json={
                "channel": "web_portal",
                "channel_ref": f"low-{uuid.uuid4().hex}",
                "description": "旧数据：路灯坏了。",
                "channel_extra": {
                    "via": "open311",
                    "open311": {"email": EMAIL, "service_code": "environment"},
                },
            },
            headers=auth(),
        )
        assert filed.status_code == 201, filed.text
    appeal_id = uuid.UUID(filed.json()["appeal_id"])
    assert (await _channel_extra(appeal_id))["open311"]["email"] == EMAIL  # as rows were kept before
    async with get_engine().begin() as connection:
        await connection.run_sync(_upgrade_with(migration))
    kept = (await _channel_extra(appeal_id))["open311"]
    assert "email" not in kept and kept["service_code"] == "environment"
    assert kept["email_masked"] == "c***@example.com" and decrypt_pii_text(kept["email_enc"]) == EMAIL


async def test_internal_routes_answer_a_caller_without_a_token_alike_for_real_and_unknown_ids(
    services: dict[str, httpx.AsyncClient],
) -> None:
    filed = await services["intake"].post(
        "/internal/appeals",
        json={"channel": "web_portal", "channel_ref": f"low-{uuid.uuid4().hex}", "description": "路灯坏了。"},
        headers=auth(),
    )
    assert filed.status_code == 201, filed.text
    real = filed.json()["appeal_id"]
    checked = 0
    for name, app in _internal_apps().items():
        for template, operations in app.openapi()["paths"].items():
            if "{" not in template:
                continue
            for method in operations:
                answers = set()
                for appeal_id in (real, str(uuid.uuid4())):
                    path = re.sub(
                        r"{(\w+)}",
                        lambda m, a=appeal_id: a if m.group(1) == "appeal_id" else str(uuid.uuid4()),  # type: ignore[misc]
                        template,
                    )
                    r = await services[name].request(method.upper(), path, json={})
                    answers.add((r.status_code, r.json().get("code")))
                assert answers == {(401, "unauthorized")}, (name, method, template, answers)
                checked += 1
    assert checked > 50
