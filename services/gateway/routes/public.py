"""Public endpoints: no personal data, cacheable with ETag / 304 (DESIGN §10)."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.common.errors import NotFound, ServiceUnavailable, problem_responses
from services.contracts.appeals import PublicAppeal
from services.gateway.client import call
from services.gateway.ratelimit import TooManyRequests, limit_public

router = APIRouter(prefix="/api/v1/public", tags=["public"], dependencies=[Depends(limit_public)])
TICKET_RE = re.compile(r"^MS\d{8,20}$")


def etag_of(body: bytes) -> str:
    """A strong validator over the exact bytes we send."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison for If-None-Match, including `*` and lists."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in wanted


@router.get(
    "/appeals/{ticket_no}",
    response_model=PublicAppeal,
    summary="The public status of an appeal, for whoever holds its query code (查询码)",
    responses={
        304: {"description": "Not modified"},
        **problem_responses(NotFound, TooManyRequests, ServiceUnavailable),
    },
)
async def public_appeal(
    ticket_no: str,
    code: Annotated[str | None, Query(max_length=32, description="查询码")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # A missing or malformed code is as unknown as a wrong one: nothing to learn by probing.
    if not code or not TICKET_RE.match(ticket_no):
        raise NotFound()
    upstream = await call("intake", "GET", f"/internal/public/appeals/{ticket_no}", params={"code": code})
    if upstream.status_code == 404:
        raise NotFound()
    if upstream.status_code != 200:
        raise ServiceUnavailable()
    etag = etag_of(upstream.content)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=upstream.content, media_type="application/json", headers=headers)
