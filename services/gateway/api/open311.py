"""`/open311/v2/`: Open311 GeoReport v2, read and write, JSON and XML (DESIGN §10).

Each document is served with the format suffix the spec uses (`services.json`, `services.xml`)
and without one (JSON). Errors are GeoReport's own list, `[{"code", "description"}]` or
`<errors><error>…`, with the HTTP status of the code: a missing or wrong `api_key` is `403`.

`requests.json` lists every public request, whichever channel it came by: those filed through
Open311 (from the gateway's own rows) and every appeal public disclosure shows (intake's
`/internal/public/disclosure`, public-safe text only; a micro-wish shows neither its words nor its
place). A request not yet disclosed (not triaged, withheld, withdrawn) is shown only to the
Open311 client that filed it, presenting its `api_key`, when it names the request
(`requests/{id}`, or `requests.json?service_request_id=`); a window (`start_date`, `end_date`) lists
what disclosure shows, paged by intake so every public request is reachable.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.common.db import session_scope
from services.common.errors import DomainError, Unauthorized
from services.common.messaging import utcnow
from services.common.settings import get_settings
from services.contracts.appeals import AppealAccepted
from services.contracts.open311 import (
    Discovery,
    GeoReportError,
    RequestCreated,
    Service,
    ServiceDefinition,
    ServiceRequest,
)
from services.gateway.models import Open311Request
from services.gateway.service.channels.open311 import (
    JURISDICTION,
    SERVICES,
    SERVICES_BY_CODE,
    Format,
    Open311Error,
    definition_doc,
    discovery_doc,
    error_list,
    parse_new_request,
    public_description,
    service_doc,
    to_draft,
    to_xml,
)
from services.gateway.service.channels.open311_reads import MAX_PARAM, list_requests, one_request
from services.gateway.service.client import call
from services.gateway.service.identity import verify_api_key
from services.gateway.service.normalise import normalise_draft
from services.gateway.service.ratelimit import Limit, client_ip, hit

router = APIRouter(prefix="/open311/v2", tags=["open311"])
log = structlog.get_logger(__name__)
MEDIA: Final[dict[str, str]] = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The limit is documented but enforced in `list_requests`: FastAPI's own check would answer
# with our problem+json, and an Open311 client expects GeoReport's error list.
Param = Annotated[str | None, Query(json_schema_extra={"maxLength": MAX_PARAM})]
ReaderKey = Annotated[
    str | None,
    Query(
        description="optional: the Open311 client's key; it then also sees the requests it filed "
        "that public disclosure does not show yet (by id)",
        json_schema_extra={"maxLength": MAX_PARAM},
    ),
]
_XML: Final[dict[str, Any]] = {"schema": {"type": "string", "description": "the same document in XML"}}


def _doc(model: Any, status: int = 200) -> dict[str, Any]:
    """A GeoReport document in JSON (typed) and XML, and GeoReport's own error list."""
    return {
        "response_model": model,
        "status_code": status,
        "responses": {
            status: {"content": {"text/xml": _XML}, "description": "GeoReport document"},
            "4XX": {
                "description": 'GeoReport errors: `[{"code": 403, "description": "..."}]` (or XML)',
                "model": list[GeoReportError],
                "content": {"text/xml": _XML},
            },
        },
    }


def _format(raw: str | None) -> Format:
    fmt = (raw or "json").lower()
    if fmt not in ("json", "xml"):
        raise Open311Error(400, f"unknown format {raw}: use .json or .xml")
    return fmt  # type: ignore[return-value]


def _split(name: str) -> tuple[str, Format]:
    stem, dot, suffix = name.rpartition(".")
    return (stem, _format(suffix)) if dot else (name, "json")


def _render(fmt: Format, root: str, body: Any, status: int = 200) -> Response:
    content = json.dumps(body, ensure_ascii=False).encode() if fmt == "json" else to_xml(root, body)
    return Response(content=content, status_code=status, media_type=MEDIA[fmt])


async def _serve(
    request: Request, fmt_raw: str | None, root: str, produce: Callable[[], Awaitable[Any]], status: int = 200
) -> Response:
    """Run one endpoint; every error leaves in GeoReport's format."""
    fmt: Format = "xml" if (fmt_raw or "").lower() == "xml" else "json"
    try:
        fmt = _format(fmt_raw)
        jurisdiction = request.query_params.get("jurisdiction_id")
        if jurisdiction and jurisdiction != JURISDICTION:
            raise Open311Error(404, f"jurisdiction_id {jurisdiction} was not found")
        await hit("open311", client_ip(request), Limit.parse(get_settings().rate_public))
        return _render(fmt, root, await produce(), status)
    except Open311Error as exc:
        return _render(fmt, "errors", error_list(exc.code, exc.description), exc.code)
    except DomainError as exc:
        return _render(fmt, "errors", error_list(exc.status, exc.title), exc.status)


# --- discovery and services ----------------------------------------------------------------------


async def _discovery(request: Request, fmt: str | None) -> Response:
    base = get_settings().public_base()  # configured, never the caller's Host header
    return await _serve(request, fmt, "discovery", lambda: _value(discovery_doc(base)))


async def _value(value: Any) -> Any:
    return value


@router.get("/discovery.{fmt}", summary="Where this endpoint is and what it speaks", **_doc(Discovery))
async def discovery(request: Request, fmt: str) -> Response:
    return await _discovery(request, fmt)


@router.get("/discovery", summary="Discovery (JSON)", include_in_schema=False)
async def discovery_json(request: Request) -> Response:
    return await _discovery(request, None)


async def _services(request: Request, fmt: str | None) -> Response:
    return await _serve(request, fmt, "services", lambda: _value([service_doc(s) for s in SERVICES]))


@router.get("/services.{fmt}", summary="Service types: our appeal categories", **_doc(list[Service]))
async def services(request: Request, fmt: str) -> Response:
    return await _services(request, fmt)


@router.get("/services", summary="Service types (JSON)", include_in_schema=False)
async def services_json(request: Request) -> Response:
    return await _services(request, None)


@router.get(
    "/services/{name}",
    summary="A service definition: `services/{service_code}.json|.xml`",
    **_doc(ServiceDefinition),
)
async def service_definition(request: Request, name: str) -> Response:
    fmt = name.rpartition(".")[2] if "." in name else None

    async def produce() -> Any:
        code, _ = _split(name)
        service = SERVICES_BY_CODE.get(code)
        if service is None:
            raise Open311Error(404, f"service_code {code} was not found")
        return definition_doc(service)

    return await _serve(request, fmt, "service_definition", produce)


async def _reader(request: Request) -> uuid.UUID | None:
    """The Open311 client reading (its key's id) when it presents an `api_key`: it also sees the
    requests it filed that are not disclosed yet. A wrong key is refused, as when filing."""
    api_key = request.query_params.get("api_key")
    if not api_key:
        return None
    try:
        async with session_scope() as session:
            return (await verify_api_key(session, api_key)).id
    except Unauthorized:
        raise Open311Error(403, "api_key is not valid") from None


async def _requests(request: Request, fmt: str | None) -> Response:
    q = request.query_params
    names = ("service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size")
    params = {n: q.get(n) for n in names}

    async def produce() -> Any:
        return await list_requests(params, await _reader(request))

    return await _serve(request, fmt, "service_requests", produce)


@router.get(
    "/requests.{fmt}",
    summary="Service requests, newest first (filters: service_request_id, service_code, start_date, "
    "end_date, status; page, page_size)",
    **_doc(list[ServiceRequest]),
)
async def requests_list(
    request: Request,
    fmt: str,
    service_request_id: Param = None,
    service_code: Param = None,
    start_date: Param = None,
    end_date: Param = None,
    status: Param = None,
    page: Param = None,
    page_size: Param = None,
    api_key: ReaderKey = None,
) -> Response:
    return await _requests(request, fmt)


@router.get("/requests", summary="Service requests (JSON)", include_in_schema=False)
async def requests_list_json(request: Request) -> Response:
    return await _requests(request, None)


@router.get(
    "/requests/{name}",
    summary="One service request: `requests/{service_request_id}.json|.xml`",
    **_doc(list[ServiceRequest]),
)
async def request_one(request: Request, name: str, api_key: ReaderKey = None) -> Response:
    fmt = name.rpartition(".")[2] if "." in name else None

    async def produce() -> Any:
        request_id, _ = _split(name)
        found = await one_request(request_id, await _reader(request))
        if found is None:
            # Unknown and not yet disclosed look the same: the latter is nobody else's business.
            raise Open311Error(404, f"service_request_id {request_id} was not found")
        return [found]

    return await _serve(request, fmt, "service_requests", produce)


@router.get(
    "/tokens/{name}",
    summary="The service_request_id behind a token: `tokens/{token}.json|.xml`",
    **_doc(list[RequestCreated]),
)
async def token_lookup(request: Request, name: str) -> Response:
    fmt = name.rpartition(".")[2] if "." in name else None

    async def produce() -> Any:
        token, _ = _split(name)
        async with session_scope() as session:
            row = await session.scalar(select(Open311Request).where(Open311Request.token == token))
        if row is None:
            raise Open311Error(404, "token was not found")
        return [{"service_request_id": row.service_request_id, "token": row.token}]

    return await _serve(request, fmt, "service_requests", produce)


# --- requests: creating --------------------------------------------------------------------------


def _form_digest(form: dict[str, str]) -> str:
    canonical = json.dumps({k: v for k, v in sorted(form.items()) if k != "api_key"}, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _answer(row: Open311Request) -> list[dict[str, Any]]:
    return [
        {
            "service_request_id": row.service_request_id,
            "token": row.token,
            "service_notice": f"您的诉求已受理，受理编号 {row.service_request_id}，查询码 {row.query_code}。",
        }
    ]


async def _create(request: Request) -> list[dict[str, Any]]:
    try:
        async with request.form(max_files=0, max_fields=60) as parsed:
            form = {k: v for k, v in parsed.items() if isinstance(v, str)}
    except Exception:
        raise Open311Error(400, "the body must be application/x-www-form-urlencoded") from None
    api_key = form.get("api_key") or request.query_params.get("api_key")
    if not api_key:
        raise Open311Error(403, "api_key was not provided")
    try:
        async with session_scope() as session:
            key = await verify_api_key(session, api_key)
    except Unauthorized:
        raise Open311Error(403, "api_key is not valid") from None
    new = parse_new_request(form)
    client_ref = f"open311:{key.prefix}:{request.headers.get('idempotency-key') or _form_digest(form)}"[:128]
    async with session_scope() as session:
        known = await session.scalar(select(Open311Request).where(Open311Request.client_ref == client_ref))
    if known is not None:
        return _answer(known)
    try:
        draft = normalise_draft(to_draft(new, client_ref, key.name))
    except DomainError as exc:
        raise Open311Error(400, exc.detail) from None
    upstream = await call("intake", "POST", "/internal/appeals", json=draft)
    if upstream.status_code == 409:
        raise Open311Error(409, "this Idempotency-Key was used for another request")
    if upstream.status_code not in (200, 201):
        log.warning("open311_intake_refused", status=upstream.status_code, body=upstream.text[:300])
        raise Open311Error(503 if upstream.status_code >= 500 else 400, "the request could not be recorded")
    accepted = AppealAccepted.model_validate_json(upstream.content)
    public_place = new.service.kind == "micro_project"
    async with session_scope() as session:
        await session.execute(
            pg_insert(Open311Request)
            .values(
                service_request_id=accepted.ticket_no,
                appeal_id=accepted.appeal_id,
                token=secrets.token_urlsafe(16),
                client_ref=client_ref,
                api_key_id=key.id,
                query_code=accepted.query_code,
                service_code=new.service.code,
                requested_at=utcnow(),
                address=draft.location.address if public_place else None,
                lat=new.lat,
                lng=new.lng,
                description=public_description(draft.description, [draft.reporter.name]),
                media_url=new.media_url,
                status="received",
            )
            .on_conflict_do_nothing()
        )
        row = await session.get(Open311Request, accepted.ticket_no)
    assert row is not None
    return _answer(row)


async def _post(request: Request, fmt: str | None) -> Response:
    return await _serve(request, fmt, "service_requests", lambda: _create(request))


CREATE_DOC: Final[dict[str, Any]] = {
    **_doc(list[RequestCreated]),
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["api_key", "service_code", "description"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "api_key",
                                "jurisdiction_id",
                                "service_code",
                                "lat",
                                "long",
                                "address_string",
                                "address_id",
                                "description",
                                "media_url",
                                "first_name",
                                "last_name",
                                "phone",
                                "email",
                                "device_id",
                                "account_id",
                            )
                        },
                    }
                }
            },
        }
    },
}


@router.post("/requests.{fmt}", summary="Create a service request (form-encoded, with api_key)", **CREATE_DOC)
async def requests_create(request: Request, fmt: str) -> Response:
    return await _post(request, fmt)


@router.post("/requests", summary="Create a service request (JSON answer)", include_in_schema=False)
async def requests_create_json(request: Request) -> Response:
    return await _post(request, None)
