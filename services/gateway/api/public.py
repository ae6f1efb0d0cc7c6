"""Public endpoints: no personal data, cacheable with ETag / 304 (DESIGN §10)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Annotated

from cachetools import TTLCache
from fastapi import APIRouter, Depends, Header, Query, Response

from services.common.errors import Conflict, NotFound, ServiceUnavailable, problem_responses
from services.common.settings import get_settings
from services.contracts.appeals import CodeEvaluation, CodeWithdrawal, PublicAppeal
from services.contracts.staff import EvaluationIn, Moved
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call, relay_response
from services.gateway.service.ratelimit import count_wrong_code, limit_public, refuse_if_guessed

router = APIRouter(prefix="/api/v1/public", tags=["public"], dependencies=[Depends(limit_public)])
TICKET_RE = re.compile(r"^MS\d{8,20}$")


def etag_of(body: bytes) -> str:
    """A strong validator over the exact bytes we send."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True, slots=True)
class _Cached:
    code_digest: bytes
    etag: str
    body: bytes


_status_cache: TTLCache[str, _Cached] | None = None


def _cache() -> TTLCache[str, _Cached] | None:
    """The process's public-status cache (per ticket), or None when switched off."""
    global _status_cache
    ttl = get_settings().public_cache_ttl_s
    if ttl <= 0:
        return None
    if _status_cache is None or _status_cache.ttl != ttl:
        _status_cache = TTLCache(maxsize=50_000, ttl=ttl)
    return _status_cache


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


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
    cache, digest = _cache(), _digest(code)
    hit = cache.get(ticket_no) if cache is not None else None
    # Only the holder of the right code is answered from memory; any other code goes to intake,
    # which answers 404 exactly as for an unknown ticket.
    if hit is not None and hmac.compare_digest(hit.code_digest, digest):
        etag, body = hit.etag, hit.body
    else:
        await refuse_if_guessed(ticket_no)
        upstream = await call("intake", "GET", f"/internal/public/appeals/{ticket_no}", params={"code": code})
        if upstream.status_code == 404:
            await count_wrong_code(ticket_no)
            raise NotFound()
        if upstream.status_code != 200:
            raise ServiceUnavailable()
        etag, body = etag_of(upstream.content), upstream.content
        if cache is not None:
            cache[ticket_no] = _Cached(digest, etag, body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@router.post(
    "/withdrawals",
    response_model=Moved,
    summary="撤回: withdraw an appeal with its query code (查询码), before work on it starts",
    description="After work started: `409 work_started`; an ended appeal: `409 illegal_transition`. "
    "Withdrawing again answers the same.",
    responses=problem_responses(NotFound, Conflict, TooManyRequests, ServiceUnavailable),
)
async def withdraw_with_code(body: CodeWithdrawal) -> Response:
    ticket_no = body.ticket_no
    if not TICKET_RE.match(ticket_no):
        raise NotFound()
    await refuse_if_guessed(ticket_no)
    upstream = await call("intake", "POST", "/internal/public/withdrawals", json=body.model_dump(mode="json"))
    if upstream.status_code == 404:
        await count_wrong_code(ticket_no)
        raise NotFound()
    return relay_response(upstream)


@router.post(
    "/appeals/{ticket_no}/evaluation",
    response_model=Moved,
    summary="满意度评价: rate the result with the query code (查询码), when the appeal waits for it",
    description="The mini-program's rules: the reporter's rating of the current round while the appeal "
    "is completed and waits for its return visit (回访); 不满意 reopens it, anything else closes it. "
    "Sending the same rating again answers the same; another rating of a rated round is "
    "`409 already_evaluated`, an appeal not waiting for one `409 not_awaiting_evaluation`. A wrong "
    "code is a `404`, counted like a wrong code on the status (too many: `429`).",
    responses=problem_responses(NotFound, Conflict, TooManyRequests, ServiceUnavailable),
)
async def rate_with_code(
    ticket_no: str,
    body: EvaluationIn,
    code: Annotated[str | None, Query(max_length=32, description="查询码")] = None,
) -> Response:
    if not code or not TICKET_RE.match(ticket_no):
        raise NotFound()
    await refuse_if_guessed(ticket_no)
    payload = CodeEvaluation(ticket_no=ticket_no, query_code=code, **body.model_dump())
    upstream = await call(
        "intake", "POST", "/internal/public/evaluations", json=payload.model_dump(mode="json")
    )
    if upstream.status_code == 404:
        await count_wrong_code(ticket_no)
        raise NotFound()
    if upstream.status_code == 200 and (cache := _cache()) is not None:
        cache.pop(ticket_no, None)  # the status just changed: the next read goes to intake
    return relay_response(upstream)
