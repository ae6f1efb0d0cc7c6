"""Public disclosure (信息公开): anyone may read, no personal data, ETag / 304.

`GET /api/v1/public/appeals` lists the disclosed appeals (micro-projects in full, micro-wishes
anonymised); `GET /api/v1/public/disclosure/{ticket_no}` is one of them with its whole public
timeline. (`GET /api/v1/public/appeals/{ticket_no}?code=` — the status for the holder of the
query code — stays in `public.py`, DESIGN §10.) `GET /api/v1/public/notices` lists the public
notices (公示) of community consultations, current and past (DESIGN §10).
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Header, Query, Response

from services.common.errors import NotFound, ServiceUnavailable, problem_responses
from services.common.etag import etag_matches, etag_of
from services.contracts.disclosure import DisclosedAppeal, DisclosurePage
from services.contracts.notices import NoticePage, NoticeQuery
from services.gateway.api.public import TICKET_RE
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call
from services.gateway.service.ratelimit import limit_public

router = APIRouter(prefix="/api/v1/public", tags=["public"], dependencies=[Depends(limit_public)])
ERRORS = problem_responses(NotFound, TooManyRequests, ServiceUnavailable)


def cached(upstream: httpx.Response, if_none_match: str | None) -> Response:
    """The upstream JSON with a strong ETag; 304 when the client has it already."""
    if upstream.status_code == 404:
        raise NotFound()
    if upstream.status_code != 200:
        raise ServiceUnavailable()
    etag = etag_of(upstream.content)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=upstream.content, media_type="application/json", headers=headers)


@router.get(
    "/appeals",
    response_model=DisclosurePage,
    responses={304: {"description": "Not modified"}, **ERRORS},
    summary="Publicly disclosed appeals, newest first, with progress, deadlines and funds used",
)
async def disclosed_appeals(
    town: Annotated[str | None, Query(max_length=12)] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    params: dict[str, Any] = {"page": page, "page_size": page_size}
    for key, value in (
        ("town", town),
        ("village", village),
        ("kind", kind),
        ("category", category),
        ("status", status),
    ):
        if value is not None:
            params[key] = value
    return cached(await call("intake", "GET", "/internal/public/disclosure", params=params), if_none_match)


@router.get(
    "/disclosure/{ticket_no}",
    response_model=DisclosedAppeal,
    responses={304: {"description": "Not modified"}, **ERRORS},
    summary="One disclosed appeal with its public timeline",
)
async def disclosed_appeal(ticket_no: str, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    if not TICKET_RE.match(ticket_no):
        raise NotFound()
    return cached(await call("intake", "GET", f"/internal/public/disclosure/{ticket_no}"), if_none_match)


@router.get(
    "/notices",
    response_model=NoticePage,
    responses={304: {"description": "Not modified"}, **ERRORS},
    summary="Public notices (公示): the appeal's ticket, the meeting, attendance, votes on the five points, "
    "the notice period and its outcome; current (notice running) or past",
)
async def public_notices(
    query: Annotated[NoticeQuery, Query()], if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    params = query.model_dump(mode="json", exclude_none=True)
    return cached(await call("intake", "GET", "/internal/public/notices", params=params), if_none_match)
