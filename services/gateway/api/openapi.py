"""The gateway's `/openapi.json`: the contract clients generate from (DESIGN §10).

FastAPI's document, completed in one pass:
- `components.securitySchemes` names every credential the gateway takes, and each secured
  operation names its scheme, found from what the route itself depends on (the staff or resident
  principal, the donor key) or, for the signed integrations, from its path;
- every `application/problem+json` answer refers to the `Problem` schema (RFC 9457 with our `code`);
- `untyped_operations` lists any operation whose JSON request or answer is an `object` without
  properties, so a test and CI keep the document typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final, Literal

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.common.auth import staff_principal
from services.common.errors import PROBLEM_JSON
from services.gateway.service.channels.miniprogram import resident

STAFF, RESIDENT, DONOR = "staffBearer", "residentBearer", "donorKey"
OPEN311, HOTLINE_SIGNATURE, HOTLINE_TIMESTAMP, WECHAT = (
    "open311ApiKey",
    "hotlineSignature",
    "hotlineTimestamp",
    "wechatSignature",
)
HOTLINE_PATH: Final = "/api/v1/channels/hotline-12345/calls"
WECHAT_PATH: Final = "/api/v1/channels/wechat-official"
OPEN311_CREATE: Final = frozenset({"/open311/v2/requests.{fmt}", "/open311/v2/requests"})

SECURITY_SCHEMES: Final[dict[str, dict[str, Any]]] = {
    STAFF: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A member of staff: `access_token` of `POST /api/v1/auth/staff` "
        '(`{"username", "password"}`), sent as `Authorization: Bearer <token>`; it carries the role '
        "and organisation that scope every answer.",
    },
    RESIDENT: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A resident of the mini-program: `access_token` of `POST /api/v1/miniprogram/session` "
        '(`{"code"}` from `wx.login`), sent as `Authorization: Bearer <token>`. A staff token is refused here.',
    },
    DONOR: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Donor-Key",
        "description": "A donor of the 爱心资源库: the `key` that `POST /api/v1/donors` answered once.",
    },
    OPEN311: {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "An Open311 client's key (`guanjia apikey create --name NAME` prints it): the "
        "`api_key` field of the form-encoded body of `POST /open311/v2/requests.json` (or the query).",
    },
    HOTLINE_SIGNATURE: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": "12345 hotline: hex HMAC-SHA256 with `GUANJIA_HOTLINE_SECRET` over "
        '`"{X-Signature-Timestamp}.{raw body}"`.',
    },
    HOTLINE_TIMESTAMP: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature-Timestamp",
        "description": "12345 hotline: Unix seconds of the signature; older than `GUANJIA_HOTLINE_WINDOW` "
        "(300 s) is refused.",
    },
    WECHAT: {
        "type": "apiKey",
        "in": "query",
        "name": "signature",
        "description": "WeChat's server signature: SHA-1 of the sorted `GUANJIA_WECHAT_TOKEN`, `timestamp` "
        "and `nonce` query parameters (safe mode adds `msg_signature` over the encrypted message).",
    },
}

PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details: a stable English `code` for machines, a Chinese `detail` "
    "for people.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the problem type"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable, e.g. `invalid_input`, `read_only`"},
        "detail": {"type": "string", "description": "in Chinese, for the person"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "for `invalid_input`: each field and why",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "reason": {"type": ["string", "null"]},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}


class Readiness(BaseModel):
    """`/readyz`: each dependency's state (`ok` or `error: …`); `503` while any is not ok."""

    status: Literal["ready", "not_ready"]
    service: str
    checks: dict[str, str]


def _readiness(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["Readiness"] = Readiness.model_json_schema()
    ref = {"$ref": "#/components/schemas/Readiness"}
    responses = doc["paths"].get("/readyz", {}).get("get", {}).get("responses", {})
    responses.setdefault("200", {"description": "Ready"})["content"] = {"application/json": {"schema": ref}}
    responses["503"] = {"description": "Not ready", "content": {"application/json": {"schema": ref}}}


JSON_MEDIA: Final = ("application/json", "application/problem+json")


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def security_of(route: APIRoute, path: str) -> list[dict[str, list[str]]]:
    """The security requirement of a route (at its full `path`): what it depends on, or its
    integration's signature."""
    calls: set[Any] = set()
    headers: set[str] = set()
    for dependant in _dependants(route.dependant):
        calls.add(dependant.call)
        headers.update((param.alias or param.name).lower() for param in dependant.header_params)
    if staff_principal in calls:
        return [{STAFF: []}]
    if resident in calls:
        return [{RESIDENT: []}]
    if "x-donor-key" in headers:
        return [{DONOR: []}]
    if path == HOTLINE_PATH:
        return [{HOTLINE_SIGNATURE: [], HOTLINE_TIMESTAMP: []}]
    if path == WECHAT_PATH:
        return [{WECHAT: []}]
    if path in OPEN311_CREATE and "POST" in (route.methods or ()):
        return [{OPEN311: []}]
    return []


def api_routes(app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    """Every API route of the app with its full path (FastAPI keeps included routers as branches)."""
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield route, context.path or route.path


def _problem_contents(doc: dict[str, Any]) -> None:
    ref = {"$ref": "#/components/schemas/Problem"}
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_JSON in content and not content[PROBLEM_JSON].get("schema"):
                    content[PROBLEM_JSON]["schema"] = ref
                # FastAPI documents its own 422 as JSON with HTTPValidationError; ours is a problem.
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").endswith("/HTTPValidationError"):
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The completed document, made once per process."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    for route, path in api_routes(app):
        if not route.include_in_schema:
            continue
        security = security_of(route, path)
        item = doc["paths"].get(path, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None and security:
                operation["security"] = security
    _problem_contents(doc)
    _readiness(doc)
    app.openapi_schema = doc
    return doc


def _untyped(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _untyped(components.get(ref.rsplit("/", 1)[-1], {}), components)
    if "items" in schema:
        return _untyped(schema["items"], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return all(_untyped(s, components) for s in schema[key] if s.get("type") != "null")
    if not schema:
        return True
    if schema.get("type") == "object" or "type" not in schema:
        typed_extra = isinstance(schema.get("additionalProperties"), dict) and bool(
            schema["additionalProperties"]
        )
        return not schema.get("properties") and not typed_extra
    return False


def untyped_operations(doc: dict[str, Any]) -> list[str]:
    """Every `METHOD path: where` whose JSON request or response body has no typed schema."""
    components = doc.get("components", {}).get("schemas", {})
    found: list[str] = []
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                if "json" in media and _untyped(content.get("schema", {}), components):
                    found.append(f"{where}: request {media}")
            for status, response in operation.get("responses", {}).items():
                for media, content in response.get("content", {}).items():
                    if media in JSON_MEDIA and _untyped(content.get("schema", {}), components):
                        found.append(f"{where}: {status} {media}")
    return found


def unsecured_operations(doc: dict[str, Any], secured: set[tuple[str, str]]) -> list[str]:
    """Operations that take a credential (`secured`: method and path) but name no scheme."""
    schemes = doc.get("components", {}).get("securitySchemes", {})
    missing = []
    for method, path in sorted(secured):
        operation = doc.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            continue
        named = [name for requirement in operation.get("security", []) for name in requirement]
        if not named or any(name not in schemes for name in named):
            missing.append(f"{method} {path}")
    return missing


__all__ = [
    "SECURITY_SCHEMES",
    "api_routes",
    "build_openapi",
    "security_of",
    "unsecured_operations",
    "untyped_operations",
]
