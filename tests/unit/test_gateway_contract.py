"""The gateway's public contract: `/openapi.json` is typed and names every credential, the route
table names who may write, and `/docs` and `/redoc` need nothing outside the gateway.

No database or service is needed: the document and the documentation pages come from the app
itself, and the access table is `tests.integration.security_support.ACCESS` (which the security
matrix proves against the running system).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.contracts import deadlines as deadline_contract
from services.gateway.api.app import app
from services.gateway.api.docs import ASSETS
from services.gateway.api.openapi import SECURITY_SCHEMES, unsecured_operations, untyped_operations
from services.gateway.api.table import WRITE_METHODS, WRITES
from tests.integration.security_support import ACCESS

# The scheme each kind of caller in the access table must be told to use.
SCHEME_OF_KIND = {
    "staff": {"staffBearer"},
    "resident": {"residentBearer"},
    "donor_key": {"donorKey"},
    "hotline": {"hotlineSignature", "hotlineTimestamp"},
    "wechat": {"wechatSignature"},
    "open311_key": {"open311ApiKey"},
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return app.openapi()


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_no_operation_has_an_untyped_body(document: dict[str, Any]) -> None:
    assert untyped_operations(document) == []
    assert len(operations(document)) >= 140


def test_the_checker_finds_an_untyped_body() -> None:
    # The check itself must be able to fail: a bare object, a list of them, a dict of anything.
    for schema in ({"type": "object"}, {}, {"type": "array", "items": {}}, {"additionalProperties": True}):
        doc = {
            "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}}}}},
            "components": {"schemas": {}},
        }
        assert untyped_operations(doc) == ["POST /x: request application/json"], schema


def test_every_credential_has_a_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == SECURITY_SCHEMES
    assert schemes["staffBearer"]["scheme"] == "bearer"
    assert schemes["donorKey"] == {**schemes["donorKey"], "in": "header", "name": "X-Donor-Key"}
    assert schemes["open311ApiKey"]["name"] == "api_key"
    assert {schemes["hotlineSignature"]["name"], schemes["hotlineTimestamp"]["name"]} == {
        "X-Signature",
        "X-Signature-Timestamp",
    }


def test_every_secured_operation_names_its_scheme(document: dict[str, Any]) -> None:
    ops = operations(document)
    secured = {key for key, access in ACCESS.items() if access.kind in SCHEME_OF_KIND and key in ops}
    assert len(secured) >= 115
    assert unsecured_operations(document, secured) == []
    for key in secured:
        named = {name for requirement in ops[key]["security"] for name in requirement}
        assert named == SCHEME_OF_KIND[ACCESS[key].kind], key
    # And nothing public claims a credential.
    for key, op in ops.items():
        if key in ACCESS and ACCESS[key].kind in ("public", "ops", "proof"):
            assert "security" not in op, key


def test_errors_are_documented_as_problems(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"code", "detail", "status"} <= set(problem["required"])
    for (method, path), op in operations(document).items():
        for status, response in op["responses"].items():
            if path.startswith("/open311/") or path == "/readyz" or not status.startswith(("4", "5")):
                continue
            content = response.get("content", {})
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_every_staff_write_names_its_roles_and_no_auditor() -> None:
    writes = {k: v for k, v in ACCESS.items() if v.kind == "staff" and k[0] in WRITE_METHODS}
    assert len(writes) >= 60
    for key, access in writes.items():
        assert access.roles and "auditor" not in access.roles, key
    for key, roles in WRITES.items():
        assert "auditor" not in roles and key in ACCESS, key
        # The table and the matrix agree on who may pass the door.
        if ACCESS[key].gate == "door":
            assert set(roles) == set(ACCESS[key].roles), key


def test_every_staff_write_tells_its_roles_in_the_document(document: dict[str, Any]) -> None:
    for key, op in operations(document).items():
        access = ACCESS.get(key)
        if access is None or access.kind != "staff" or key[0] not in WRITE_METHODS:
            continue
        roles = op.get("x-roles")
        assert roles and "auditor" not in roles, key
        assert set(roles) <= set(access.roles) or access.gate != "door", key


def test_contract_defaults_are_the_deadline_services() -> None:
    from deadlines.service import rules

    assert deadline_contract.WARN_RATIO == rules.WARN_RATIO
    assert deadline_contract.MAX_EXTENSIONS == rules.MAX_EXTENSIONS
    assert deadline_contract.MAX_EXTENSIONS_CEILING == rules.MAX_EXTENSIONS_CEILING


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_documentation_pages_reference_only_the_gateway(gateway: httpx.AsyncClient, page: str) -> None:
    r = await gateway.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not re.findall(r"(?:https?:)?//[\w.-]+", r.text), "an absolute URL would leave the gateway"
    for url in re.findall(r"""(?:src|href)=["']([^"']+)""", r.text):
        assert url.startswith("/docs/assets/"), url
        asset = await gateway.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    if page != "/docs/oauth2-redirect":
        assert "/openapi.json" in r.text


async def test_every_asset_is_served_and_nothing_else(gateway: httpx.AsyncClient) -> None:
    for name, media in ASSETS.items():
        r = await gateway.get(f"/docs/assets/{name}")
        assert r.status_code == 200 and r.headers["content-type"] == media, name
    for name in ("core.py", "..%2Fcore.py", "LICENSE"):
        r = await gateway.get(f"/docs/assets/{name}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_the_document_is_the_same_in_every_process(tmp_path: Path) -> None:
    # Generated clients and their diffs depend on it: no set order may leak into the document.
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"openapi-{seed}.json"
        subprocess.run(
            [sys.executable, "-m", "services.gateway.api.dump_openapi", str(out)],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
